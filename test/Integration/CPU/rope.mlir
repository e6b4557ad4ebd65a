// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// out = x * cos + rotate_half(x) * sin over the first R channels,
// rotate_half([a, b]) = [-b, a]; channels past R are copied. The tables hold
// arbitrary exact binary values so that every result is exact; expected
// values from numpy.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  // (L, R) tables shared by the batch; x is (1, 2, 1, 6) with R = 4, so the
  // last two channels of each row pass through.
  // CHECK: rank = 2 offset = 0 sizes = [2, 6]
  // CHECK-NEXT: [1, -1, 1, 0, 5, 6]
  // CHECK-NEXT: [-1, 2.5, 3.5, -5.75, 7, 8]
  %x = arith.constant dense<[[[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], [[-1.0, 0.5, 2.0, -3.0, 7.0, 8.0]]]]> : tensor<1x2x1x6xf32>
  %cos = arith.constant dense<[[1.0, 0.5, 0.0, 0.25], [0.5, -1.0, 0.75, 2.0]]> : tensor<2x4xf32>
  %sin = arith.constant dense<[[0.0, 0.5, 1.0, -0.5], [0.25, 1.0, -2.0, 0.5]]> : tensor<2x4xf32>
  %r = wm.rope %x, %cos, %sin {rotary_dims = 4 : i64} : (tensor<1x2x1x6xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x1x6xf32>
  %r2 = tensor.collapse_shape %r [[0, 1, 2], [3]] : tensor<1x2x1x6xf32> into tensor<2x6xf32>
  %rd = tensor.cast %r2 : tensor<2x6xf32> to tensor<?x?xf32>
  call @print2d(%rd) : (tensor<?x?xf32>) -> ()

  // Per-batch (B, L, R) tables: x is (2, 1, 2, 4) and batch b reads table b.
  // Batch 1 repeats batch 0's x, so its rows differ from batch 0's only
  // through the tables (with batch 0's table, row 2 would be [-2.5, 4, 6.5, 0]).
  // CHECK: rank = 2 offset = 0 sizes = [4, 4]
  // CHECK-NEXT: [-2.5, 4, 6.5, 0]
  // CHECK-NEXT: [-2.5, -1, 3.5, 4]
  // CHECK-NEXT: [1, -8, -0.25, 14]
  // CHECK-NEXT: [2, -6, -1.875, 8]
  %xb = arith.constant dense<[[[[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 2.0, -3.0]]], [[[1.0, 2.0, 3.0, 4.0], [2.0, -1.0, 0.5, 3.0]]]]> : tensor<2x1x2x4xf32>
  %cb = arith.constant dense<[[[0.5, 1.0, 2.0, -1.0]], [[1.0, 0.0, 0.25, 3.0]]]> : tensor<2x1x4xf32>
  %sb = arith.constant dense<[[[1.0, -0.5, 0.5, 2.0]], [[0.0, 2.0, -1.0, 1.0]]]> : tensor<2x1x4xf32>
  %rb = wm.rope %xb, %cb, %sb {rotary_dims = 4 : i64} : (tensor<2x1x2x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32>) -> tensor<2x1x2x4xf32>
  %rb2 = tensor.collapse_shape %rb [[0, 1, 2], [3]] : tensor<2x1x2x4xf32> into tensor<4x4xf32>
  %rbd = tensor.cast %rb2 : tensor<4x4xf32> to tensor<?x?xf32>
  call @print2d(%rbd) : (tensor<?x?xf32>) -> ()
  return
}
