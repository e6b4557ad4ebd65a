// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// CDMoE on two tokens (d = 2, hidden 2, K = 2 so N = 4 experts), against
// numpy. Router scores r = w_router x: token 0 has sx = [1, -1.375],
// sy = [0, 0.5], so its pair scores are [1, 1.5, -1.375, -0.875] for experts
// e = i * K + j; token 1 has [2.75, -1.5, 3.25, -1].
//   y = w_down(silu(w_gate x) * (w_up x)) + sum_m silu(<x, down[e_m]>) w_m up[e_m]

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  %x = arith.constant dense<[[1.0, -0.5], [0.5, 2.0]]> : tensor<2x2xf32>
  %wg = arith.constant dense<[[0.5, 1.0], [-1.0, 0.25]]> : tensor<2x2xf32>
  %wu = arith.constant dense<[[1.0, 0.5], [0.5, -1.0]]> : tensor<2x2xf32>
  %wd = arith.constant dense<[[1.0, -0.5], [0.25, 1.0]]> : tensor<2x2xf32>
  %wr = arith.constant dense<[[1.0, 0.0], [-1.0, 0.75], [0.5, 1.0], [0.0, -1.0]]> : tensor<4x2xf32>
  %down = arith.constant dense<[[1.0, 1.0], [0.5, -1.0], [-1.0, 2.0], [2.0, 0.5]]> : tensor<4x2xf32>
  %up = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0], [0.5, 0.5]]> : tensor<4x2xf32>

  // top_k = 1 picks one expert with weight 1: expert 1 (i = 0, j = 1) for
  // token 0 and expert 2 (i = 1, j = 0) for token 1. Token 0's shared part
  // is [0.13786, -0.275721], and silu(<x, down[1]>) = silu(1) scales up[1].
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [0.13786, 0.455338]
  // CHECK-NEXT: [-0.34421{{[12]}}, {{(4\.1607|4\.16071)}}]
  %y1 = wm.cdmoe %x, %wg, %wu, %wd, %wr, %down, %up {top_k = 1 : i64}
      : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %y1d = tensor.cast %y1 : tensor<2x2xf32> to tensor<?x?xf32>
  call @print2d(%y1d) : (tensor<?x?xf32>) -> ()

  // top_k = 2: experts {1, 0} and {2, 0}, softmax-weighted.
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [0.255362, 0.179334]
  // CHECK-NEXT: [1.8107, 2.87805]
  %y2 = wm.cdmoe %x, %wg, %wu, %wd, %wr, %down, %up {top_k = 2 : i64}
      : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %y2d = tensor.cast %y2 : tensor<2x2xf32> to tensor<?x?xf32>
  call @print2d(%y2d) : (tensor<?x?xf32>) -> ()

  // top_k = 3 > K: every side keeps both of its scores and the best three of
  // the four pairs are {1, 0, 3} and {2, 0, 3}.
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [0.28973, 0.195227]
  // CHECK-NEXT: [1.82939, 2.86719]
  %y3 = wm.cdmoe %x, %wg, %wu, %wd, %wr, %down, %up {top_k = 3 : i64}
      : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %y3d = tensor.cast %y3 : tensor<2x2xf32> to tensor<?x?xf32>
  call @print2d(%y3d) : (tensor<?x?xf32>) -> ()
  return
}
