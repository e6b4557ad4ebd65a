// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// With window 1 each query row keeps only its highest-bias allowed key, so
// out[i, h] is that key's value row and lse[h, i] = scale * q.k + bias of that
// key (scale = 2^-1/2 for D = 2). Two query heads share the one kv head.
// bias = [0.3, 1.2, -0.4, 2.0]; values v = [1, 2], [3, -1], [-2, 4], [0.5, 0.25].
// Expected values from numpy.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// Prints out as (Lq * H, D) rows (i, h) and lse as (H, Lq).
func.func @show(%out: tensor<1x?x2x2xf32>, %lse: tensor<1x2x?xf32>) {
  %o2 = tensor.collapse_shape %out [[0, 1, 2], [3]] : tensor<1x?x2x2xf32> into tensor<?x2xf32>
  %od = tensor.cast %o2 : tensor<?x2xf32> to tensor<?x?xf32>
  call @print2d(%od) : (tensor<?x?xf32>) -> ()
  %l2 = tensor.collapse_shape %lse [[0, 1], [2]] : tensor<1x2x?xf32> into tensor<2x?xf32>
  %ld = tensor.cast %l2 : tensor<2x?xf32> to tensor<?x?xf32>
  call @print2d(%ld) : (tensor<?x?xf32>) -> ()
  return
}

func.func @main() {
  %q = arith.constant dense<[[[[1.0, 0.0], [0.5, -1.0]], [[0.0, 2.0], [1.0, 1.0]], [[-1.0, 0.5], [2.0, 0.0]], [[0.25, 0.25], [-2.0, 1.0]]]]> : tensor<1x4x2x2xf32>
  %k = arith.constant dense<[[[[1.0, 1.0]], [[0.0, -1.0]], [[2.0, 0.5]], [[-1.0, 0.0]]]]> : tensor<1x4x1x2xf32>
  %v = arith.constant dense<[[[[1.0, 2.0]], [[3.0, -1.0]], [[-2.0, 4.0]], [[0.5, 0.25]]]]> : tensor<1x4x1x2xf32>
  %bias = arith.constant dense<[[[0.3, 1.2, -0.4, 2.0]]]> : tensor<1x1x4xf32>

  // Causal: rows 0..3 keep keys 0, 1, 1, 3.
  // CHECK: sizes = [8, 2]
  // CHECK-NEXT: [1, 2]
  // CHECK-NEXT: [1, 2]
  // CHECK-NEXT: [3, -1]
  // CHECK-NEXT: [3, -1]
  // CHECK-NEXT: [3, -1]
  // CHECK-NEXT: [3, -1]
  // CHECK-NEXT: [0.5, 0.25]
  // CHECK-NEXT: [0.5, 0.25]
  // CHECK: sizes = [2, 4]
  // CHECK-NEXT: [1.00711, -0.21421{{[34]}}, 0.84644{{[67]}}, 1.82322]
  // CHECK-NEXT: [-0.0535534, 0.492893, 1.2, 3.4142{{[12]}}]
  %o1, %l1 = wm.dma_attention %q, %k, %v, %bias {causal, window = 1 : i64}
      : (tensor<1x4x2x2xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1x2xf32>, tensor<1x1x4xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x4xf32>)
  %o1d = tensor.cast %o1 : tensor<1x4x2x2xf32> to tensor<1x?x2x2xf32>
  %l1d = tensor.cast %l1 : tensor<1x2x4xf32> to tensor<1x2x?xf32>
  call @show(%o1d, %l1d) : (tensor<1x?x2x2xf32>, tensor<1x2x?xf32>) -> ()

  // Not causal: every row keeps key 3, the largest bias overall.
  // CHECK: sizes = [8, 2]
  // CHECK-COUNT-8: [0.5, 0.25]
  // CHECK: sizes = [2, 4]
  // CHECK-NEXT: [1.29289, 2, 2.70711, 1.82322]
  // CHECK-NEXT: [1.64645, 1.29289, 0.58578{{[67]}}, 3.4142{{[12]}}]
  %o2, %l2 = wm.dma_attention %q, %k, %v, %bias {window = 1 : i64}
      : (tensor<1x4x2x2xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1x2xf32>, tensor<1x1x4xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x4xf32>)
  %o2d = tensor.cast %o2 : tensor<1x4x2x2xf32> to tensor<1x?x2x2xf32>
  %l2d = tensor.cast %l2 : tensor<1x2x4xf32> to tensor<1x2x?xf32>
  call @show(%o2d, %l2d) : (tensor<1x?x2x2xf32>, tensor<1x2x?xf32>) -> ()

  // Causal with Lq = 2 < Lk = 4 (bottom-right aligned): row 0 sees keys 0..2
  // and keeps key 1, row 1 sees all four and keeps key 3.
  // CHECK: sizes = [4, 2]
  // CHECK-NEXT: [3, -1]
  // CHECK-NEXT: [3, -1]
  // CHECK-NEXT: [0.5, 0.25]
  // CHECK-NEXT: [0.5, 0.25]
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [1.2, 2]
  // CHECK-NEXT: [1.90711, 1.29289]
  %q2 = tensor.extract_slice %q[0, 0, 0, 0] [1, 2, 2, 2] [1, 1, 1, 1] : tensor<1x4x2x2xf32> to tensor<1x2x2x2xf32>
  %o3, %l3 = wm.dma_attention %q2, %k, %v, %bias {causal, window = 1 : i64}
      : (tensor<1x2x2x2xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1x2xf32>, tensor<1x1x4xf32>)
      -> (tensor<1x2x2x2xf32>, tensor<1x2x2xf32>)
  %o3d = tensor.cast %o3 : tensor<1x2x2x2xf32> to tensor<1x?x2x2xf32>
  %l3d = tensor.cast %l3 : tensor<1x2x2xf32> to tensor<1x2x?xf32>
  call @show(%o3d, %l3d) : (tensor<1x?x2x2xf32>, tensor<1x2x?xf32>) -> ()
  return
}
