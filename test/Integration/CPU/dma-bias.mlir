// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// dt[b, j, g] = concat_h(v[b, j, h, :]) . w_dt[g, :] (+ dt_bias[g]);
// linear: bias[b, g, j] = a[g] * softplus(dt), exp: exp of that. Here
// dt = [[-0.5, 5.25], [0.875, 0], [1.75, -4]] (rows j, columns g) before
// dt_bias. Expected values from numpy.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @show(%bias: tensor<1x2x3xf32>) {
  %b2 = tensor.collapse_shape %bias [[0, 1], [2]] : tensor<1x2x3xf32> into tensor<2x3xf32>
  %bd = tensor.cast %b2 : tensor<2x3xf32> to tensor<?x?xf32>
  call @print2d(%bd) : (tensor<?x?xf32>) -> ()
  return
}

func.func @main() {
  // values (B = 1, Lk = 3, Hk = 2, D = 2), w_dt (Hk, Hk * D).
  %v = arith.constant dense<[[[[0.5, -1.0], [1.0, 2.0]], [[0.0, 0.25], [-0.5, 1.0]], [[2.0, 1.0], [0.0, -3.0]]]]> : tensor<1x3x2x2xf32>
  %w = arith.constant dense<[[1.0, 0.5, -1.0, 0.25], [0.5, -2.0, 1.0, 1.0]]> : tensor<2x4xf32>
  %a = arith.constant dense<[-0.5, -2.0]> : tensor<2xf32>
  %db = arith.constant dense<[0.25, -1.0]> : tensor<2xf32>

  // linear with dt_bias.
  // CHECK: sizes = [2, 3]
  // CHECK-NEXT: [-0.28797, -0.703075, -1.06346]
  // CHECK-NEXT: [-8.5283{{[23]}}, -0.62652{{[34]}}, -0.0134307]
  %l = wm.dma_bias linear %v, %w, %a dt_bias(%db) : (tensor<1x3x2x2xf32>, tensor<2x4xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3xf32>
  call @show(%l) : (tensor<1x2x3xf32>) -> ()

  // exp without dt_bias.
  // CHECK: sizes = [2, 3]
  // CHECK-NEXT: [0.788961, 0.542416, 0.384769]
  // CHECK-NEXT: [2.72497e-05, 0.25, 0.96435{{[12]}}]
  %e = wm.dma_bias exp %v, %w, %a : (tensor<1x3x2x2xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<1x2x3xf32>
  call @show(%e) : (tensor<1x2x3xf32>) -> ()

  // exp with dt_bias.
  // CHECK: sizes = [2, 3]
  // CHECK-NEXT: [0.74978{{[45]}}, {{(0\.49506|0\.495061)}}, 0.345258]
  // CHECK-NEXT: [0.000197786, 0.53444{{[67]}}, {{(0\.986659|0\.98666)}}]
  %eb = wm.dma_bias exp %v, %w, %a dt_bias(%db) : (tensor<1x3x2x2xf32>, tensor<2x4xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3xf32>
  call @show(%eb) : (tensor<1x2x3xf32>) -> ()
  return
}
