// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// Global scope ranks all keys of the (batch, kv head) once, then applies
// causality: with bias = [0.1, -0.5, 1.0, 0.7] and window 2 the set is keys
// {2, 3}, so causal rows 0 and 1 keep no key at all and must give out = 0 and
// lse = -inf (never NaN). The prefix scope on the same inputs ranks each
// row's own prefix instead. Two query heads share one kv head; expected
// values from numpy.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// Prints out as (Lq * H, D) rows (i, h) and lse as (H, Lq).
func.func @show(%out: tensor<1x4x2x2xf32>, %lse: tensor<1x2x4xf32>) {
  %o2 = tensor.collapse_shape %out [[0, 1, 2], [3]] : tensor<1x4x2x2xf32> into tensor<8x2xf32>
  %od = tensor.cast %o2 : tensor<8x2xf32> to tensor<?x?xf32>
  call @print2d(%od) : (tensor<?x?xf32>) -> ()
  %l2 = tensor.collapse_shape %lse [[0, 1], [2]] : tensor<1x2x4xf32> into tensor<2x4xf32>
  %ld = tensor.cast %l2 : tensor<2x4xf32> to tensor<?x?xf32>
  call @print2d(%ld) : (tensor<?x?xf32>) -> ()
  return
}

func.func @main() {
  %q = arith.constant dense<[[[[1.0, 0.0], [0.5, -1.0]], [[0.0, 2.0], [1.0, 1.0]], [[-1.0, 0.5], [2.0, 0.0]], [[0.25, 0.25], [-2.0, 1.0]]]]> : tensor<1x4x2x2xf32>
  %k = arith.constant dense<[[[[1.0, 1.0]], [[0.0, -1.0]], [[2.0, 0.5]], [[-1.0, 0.0]]]]> : tensor<1x4x1x2xf32>
  %v = arith.constant dense<[[[[1.0, 2.0]], [[3.0, -1.0]], [[-2.0, 4.0]], [[0.5, 0.25]]]]> : tensor<1x4x1x2xf32>
  %bias = arith.constant dense<[[[0.1, -0.5, 1.0, 0.7]]]> : tensor<1x1x4xf32>

  // Global, causal: rows 0 and 1 are empty, row 2 keeps key 2 (its value
  // row exactly), row 3 keeps keys 2 and 3.
  // CHECK: sizes = [8, 2]
  // CHECK-NEXT: [0, 0]
  // CHECK-NEXT: [0, 0]
  // CHECK-NEXT: [0, 0]
  // CHECK-NEXT: [0, 0]
  // CHECK-NEXT: [-2, 4]
  // CHECK-NEXT: [-2, 4]
  // CHECK-NEXT: [-1.28695, 2.93043]
  // CHECK-NEXT: [0.43279{{[78]}}, 0.350804]
  // CHECK: sizes = [2, 4]
  // CHECK-NEXT: [-inf, -inf, -0.237437, 1.77772]
  // CHECK-NEXT: [-inf, -inf, 3.82843, 2.14146]
  %o1, %l1 = wm.dma_attention %q, %k, %v, %bias {causal, window = 2 : i64, scope = #wm.scope<global>}
      : (tensor<1x4x2x2xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1x2xf32>, tensor<1x1x4xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x4xf32>)
  call @show(%o1, %l1) : (tensor<1x4x2x2xf32>, tensor<1x2x4xf32>) -> ()

  // Prefix, causal: rows keep {0}, {0, 1}, {0, 2}, {2, 3}; no row is empty.
  // CHECK: sizes = [8, 2]
  // CHECK-NEXT: [1, 2]
  // CHECK-NEXT: [1, 2]
  // CHECK-NEXT: [1.06284, 1.90574]
  // CHECK-NEXT: [1.12345, 1.81482]
  // CHECK-NEXT: [-0.512087, 3.00806]
  // CHECK-NEXT: [-1.73014, {{(3\.82009|3\.8201)}}]
  // CHECK-NEXT: [-1.28695, 2.93043]
  // CHECK-NEXT: [0.43279{{[78]}}, 0.350804]
  // CHECK: sizes = [2, 4]
  // CHECK-NEXT: [0.80710{{[67]}}, 1.54614, 0.44768{{[45]}}, 1.77772]
  // CHECK-NEXT: [-0.25355{{[34]}}, 1.57793, 3.9226{{[89]}}, 2.14146]
  %o2, %l2 = wm.dma_attention %q, %k, %v, %bias {causal, window = 2 : i64}
      : (tensor<1x4x2x2xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1x2xf32>, tensor<1x1x4xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x4xf32>)
  call @show(%o2, %l2) : (tensor<1x4x2x2xf32>, tensor<1x2x4xf32>) -> ()

  // Global, not causal: every row keeps keys {2, 3}.
  // CHECK: sizes = [8, 2]
  // CHECK-NEXT: [-1.7961, 3.6941{{[45]}}]
  // CHECK-NEXT: [-1.33113, 2.9967]
  // CHECK-NEXT: [-1.33113, 2.9967]
  // CHECK-NEXT: [-1.85326, 3.7798{{[89]}}]
  // CHECK-NEXT: [0.095380{{[67]}}, {{(0\.856929|0\.85693)}}]
  // CHECK-NEXT: [-1.97367, 3.9605]
  // CHECK-NEXT: [-1.28695, 2.93043]
  // CHECK-NEXT: [0.43279{{[78]}}, 0.350804]
  // CHECK: sizes = [2, 4]
  // CHECK-NEXT: [2.49929, 2.01846, 1.58366, 1.77772]
  // CHECK-NEXT: [1.66491, 2.82826, 3.8390{{[12]}}, 2.14146]
  %o3, %l3 = wm.dma_attention %q, %k, %v, %bias {window = 2 : i64, scope = #wm.scope<global>}
      : (tensor<1x4x2x2xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1x2xf32>, tensor<1x1x4xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x4xf32>)
  call @show(%o3, %l3) : (tensor<1x4x2x2xf32>, tensor<1x2x4xf32>) -> ()
  return
}
