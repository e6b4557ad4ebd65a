// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// Thresholds of the top-W key selection (W = 2) and per-block bias
// summaries, on two kv heads of Lk = 6 keys:
//   g = 0: bias = [0.5, -1, 2, 0.25, 1.5, -0.5]
//   g = 1: bias = [3, 1, -2, 0.75, 4, 2.5]
// tau[g, i] is the 2nd largest bias among the keys row i ranks, -inf when
// there are fewer than 2 of them.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @show(%t: tensor<1x2x?xf32>) {
  %t2 = tensor.collapse_shape %t [[0, 1], [2]] : tensor<1x2x?xf32> into tensor<2x?xf32>
  %td = tensor.cast %t2 : tensor<2x?xf32> to tensor<?x?xf32>
  call @print2d(%td) : (tensor<?x?xf32>) -> ()
  return
}

func.func @main() {
  %bias = arith.constant dense<[[[0.5, -1.0, 2.0, 0.25, 1.5, -0.5], [3.0, 1.0, -2.0, 0.75, 4.0, 2.5]]]> : tensor<1x2x6xf32>

  // Causal prefix, Lq = Lk: row i ranks keys 0..i; tau never decreases.
  // CHECK: sizes = [2, 6]
  // CHECK-NEXT: [-inf, -1, 0.5, 0.5, 1.5, 1.5]
  // CHECK-NEXT: [-inf, 1, 1, 1, 3, 3]
  %t1 = wm.dma_select %bias {causal, query_len = 6 : i64, window = 2 : i64} : (tensor<1x2x6xf32>) -> tensor<1x2x6xf32>
  %t1d = tensor.cast %t1 : tensor<1x2x6xf32> to tensor<1x2x?xf32>
  call @show(%t1d) : (tensor<1x2x?xf32>) -> ()

  // Causal prefix, Lq = 3 < Lk: bottom-right alignment, row i ranks keys
  // 0..i + 3.
  // CHECK: sizes = [2, 3]
  // CHECK-NEXT: [0.5, 1.5, 1.5]
  // CHECK-NEXT: [1, 3, 3]
  %t2 = wm.dma_select %bias {causal, query_len = 3 : i64, window = 2 : i64} : (tensor<1x2x6xf32>) -> tensor<1x2x3xf32>
  %t2d = tensor.cast %t2 : tensor<1x2x3xf32> to tensor<1x2x?xf32>
  call @show(%t2d) : (tensor<1x2x?xf32>) -> ()

  // Causal prefix, Lq = 8 > Lk: rows 0 and 1 see no key, row 2 one key.
  // CHECK: sizes = [2, 8]
  // CHECK-NEXT: [-inf, -inf, -inf, -1, 0.5, 0.5, 1.5, 1.5]
  // CHECK-NEXT: [-inf, -inf, -inf, 1, 1, 1, 3, 3]
  %t3 = wm.dma_select %bias {causal, query_len = 8 : i64, window = 2 : i64} : (tensor<1x2x6xf32>) -> tensor<1x2x8xf32>
  %t3d = tensor.cast %t3 : tensor<1x2x8xf32> to tensor<1x2x?xf32>
  call @show(%t3d) : (tensor<1x2x?xf32>) -> ()

  // Global scope: one threshold per kv head over all keys, in every row.
  // CHECK: sizes = [2, 4]
  // CHECK-NEXT: [1.5, 1.5, 1.5, 1.5]
  // CHECK-NEXT: [3, 3, 3, 3]
  %t4 = wm.dma_select %bias {causal, query_len = 4 : i64, window = 2 : i64, scope = #wm.scope<global>} : (tensor<1x2x6xf32>) -> tensor<1x2x4xf32>
  %t4d = tensor.cast %t4 : tensor<1x2x4xf32> to tensor<1x2x?xf32>
  call @show(%t4d) : (tensor<1x2x?xf32>) -> ()

  // Not causal: every row ranks all keys, as in the global scope.
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [1.5, 1.5]
  // CHECK-NEXT: [3, 3]
  %t5 = wm.dma_select %bias {query_len = 2 : i64, window = 2 : i64} : (tensor<1x2x6xf32>) -> tensor<1x2x2xf32>
  %t5d = tensor.cast %t5 : tensor<1x2x2xf32> to tensor<1x2x?xf32>
  call @show(%t5d) : (tensor<1x2x?xf32>) -> ()

  // Block summaries with 4 keys per block: blocks [0, 4) and the partial [4, 6).
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [2, 1.5]
  // CHECK-NEXT: [3, 4]
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [-1, -0.5]
  // CHECK-NEXT: [-2, 2.5]
  %max, %min = wm.dma_block_summary %bias {block_size = 4 : i64} : (tensor<1x2x6xf32>) -> (tensor<1x2x2xf32>, tensor<1x2x2xf32>)
  %maxd = tensor.cast %max : tensor<1x2x2xf32> to tensor<1x2x?xf32>
  call @show(%maxd) : (tensor<1x2x?xf32>) -> ()
  %mind = tensor.cast %min : tensor<1x2x2xf32> to tensor<1x2x?xf32>
  call @show(%mind) : (tensor<1x2x?xf32>) -> ()
  return
}
