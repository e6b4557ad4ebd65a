// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// The DMA chain of a model layer: the bias computed from the values
// (wm.dma_bias linear, with dt_bias) feeds wm.dma_attention (causal,
// window 2, two query heads on one kv head). The bias is
// [-0.549924, -0.313962, -0.172392, -0.179058, -0.843564], so rows 0..4 keep
// keys {0}, {0, 1}, {1, 2}, {2, 3}, {2, 3}. Expected values from numpy.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  %q = arith.constant dense<[[[[-0.83, -0.53], [0.60, 0.16]], [[-0.81, -0.13], [-0.04, -0.68]], [[0.47, -0.77], [-0.22, 0.03]], [[-0.14, 0.17], [0.48, 0.91]], [[-0.43, 0.30], [0.39, -0.41]]]]> : tensor<1x5x2x2xf32>
  %k = arith.constant dense<[[[[-1.00, 0.95]], [[-0.40, -0.37]], [[0.78, 0.17]], [[-0.06, 0.55]], [[-0.94, 0.41]]]]> : tensor<1x5x1x2xf32>
  %v = arith.constant dense<[[[[-0.50, -1.64]], [[0.64, 1.73]], [[-1.17, 0.52]], [[-0.81, 0.97]], [[0.89, -1.13]]]]> : tensor<1x5x1x2xf32>
  %w_dt = arith.constant dense<[[0.75, -0.5]]> : tensor<1x2xf32>
  %a = arith.constant dense<[-0.5]> : tensor<1xf32>
  %dt_bias = arith.constant dense<[0.25]> : tensor<1xf32>

  %bias = wm.dma_bias linear %v, %w_dt, %a dt_bias(%dt_bias)
      : (tensor<1x5x1x2xf32>, tensor<1x2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x5xf32>
  // CHECK: sizes = [1, 5]
  // CHECK-NEXT: [-0.549924, -0.313962, -0.17239{{[12]}}, -0.179058, -0.84356{{[45]}}]
  %b2 = tensor.collapse_shape %bias [[0, 1], [2]] : tensor<1x1x5xf32> into tensor<1x5xf32>
  %bd = tensor.cast %b2 : tensor<1x5xf32> to tensor<?x?xf32>
  call @print2d(%bd) : (tensor<?x?xf32>) -> ()

  %o, %l = wm.dma_attention %q, %k, %v, %bias {causal, window = 2 : i64}
      : (tensor<1x5x2x2xf32>, tensor<1x5x1x2xf32>, tensor<1x5x1x2xf32>, tensor<1x1x5xf32>)
      -> (tensor<1x5x2x2xf32>, tensor<1x2x5xf32>)
  // out as (Lq * H, D), rows (i, h); row 0 keeps key 0 only: v[0].
  // CHECK: sizes = [10, 2]
  // CHECK-NEXT: [-0.5, -1.64]
  // CHECK-NEXT: [-0.5, -1.64]
  // CHECK-NEXT: [0.073889{{[56]}}, 0.0564981]
  // CHECK-NEXT: [0.29952{{[89]}}, 0.72351{{[89]}}]
  // CHECK-NEXT: [-0.372955, 1.05283]
  // CHECK-NEXT: [-0.251182, 1.13424]
  // CHECK-NEXT: [-0.97901{{[89]}}, 0.75872{{[67]}}]
  // CHECK-NEXT: [-0.99425{{[23]}}, 0.73968{{[45]}}]
  // CHECK-NEXT: [-0.96062{{[34]}}, {{(0\.78172|0\.781721)}}]
  // CHECK-NEXT: [-1.02105, 0.70618{{[78]}}]
  %o2 = tensor.collapse_shape %o [[0, 1, 2], [3]] : tensor<1x5x2x2xf32> into tensor<10x2xf32>
  %od = tensor.cast %o2 : tensor<10x2xf32> to tensor<?x?xf32>
  call @print2d(%od) : (tensor<?x?xf32>) -> ()
  // lse as (H, Lq).
  // CHECK: sizes = [2, 5]
  // CHECK-NEXT: [-0.31905{{[34]}}, {{(0\.635499|0\.6355)}}, 0.57472{{[89]}}, 0.52692{{[34]}}, 0.497828]
  // CHECK-NEXT: [-0.86670{{[78]}}, 0.23002{{[12]}}, 0.418409, 0.87153{{[78]}}, 0.527435]
  %l2 = tensor.collapse_shape %l [[0, 1], [2]] : tensor<1x2x5xf32> into tensor<2x5xf32>
  %ld = tensor.cast %l2 : tensor<2x5xf32> to tensor<?x?xf32>
  call @print2d(%ld) : (tensor<?x?xf32>) -> ()
  return
}
