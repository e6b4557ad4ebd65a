// Every tiling of the attention (query and key block sizes, partial tiles,
// with and without block skipping, with key compaction) computes the same
// result, equal to the spec's definition computed with numpy.
// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s
// RUN: wm-opt %s "--wm-to-cpu=block-q=2 block-k=2" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s
// RUN: wm-opt %s "--wm-to-cpu=block-q=2 block-k=2 skip-blocks=false" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s
// RUN: wm-opt %s "--wm-to-cpu=block-q=3 block-k=3" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s
// RUN: wm-opt %s "--wm-to-cpu=block-q=4 block-k=2 compact-keys" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// Causal, window 3 over Lk = 8 keys, two query heads on one kv head, D = 2.
// bias = [-0.12, -0.52, -0.2, -0.81, 0.94, -0.57, 0.34, -0.4]: with 2 keys
// per block the block [2, 4) is below every threshold from row 4 on, so it is
// skipped there, and many tiles are active for some rows of a query block but
// not for all (where a careless online softmax computes exp(-inf - -inf)).

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  %q = arith.constant dense<[[[[0.25, 0.79], [0.55, -0.55]], [[-0.40, 0.75], [-0.99, 0.64]], [[0.59, -0.06], [-0.39, -0.44]], [[-0.49, -0.11], [0.01, 0.11]], [[0.99, 0.59], [0.24, 0.98]], [[-0.57, -0.68], [0.23, -0.91]], [[-0.93, 0.03], [-0.07, 0.83]], [[0.26, 0.03], [-0.01, -0.50]]]]> : tensor<1x8x2x2xf32>
  %k = arith.constant dense<[[[[-0.98, -0.62]], [[0.38, -0.60]], [[-0.26, -0.99]], [[0.66, -0.69]], [[-0.46, 0.76]], [[0.02, 0.69]], [[0.28, 0.48]], [[-0.82, 0.08]]]]> : tensor<1x8x1x2xf32>
  %v = arith.constant dense<[[[[0.03, 1.49]], [[-0.55, 0.39]], [[-1.76, -0.45]], [[-0.71, -1.40]], [[1.27, -0.48]], [[1.91, 0.36]], [[0.42, 0.55]], [[0.71, -1.40]]]]> : tensor<1x8x1x2xf32>
  %bias = arith.constant dense<[[[-0.12, -0.52, -0.20, -0.81, 0.94, -0.57, 0.34, -0.40]]]> : tensor<1x1x8xf32>
  %o, %l = wm.dma_attention %q, %k, %v, %bias {causal, window = 3 : i64}
      : (tensor<1x8x2x2xf32>, tensor<1x8x1x2xf32>, tensor<1x8x1x2xf32>, tensor<1x1x8xf32>)
      -> (tensor<1x8x2x2xf32>, tensor<1x2x8xf32>)

  // out as (Lq * H, D), rows (i, h).
  // CHECK: sizes = [16, 2]
  // CHECK-NEXT: [0.03, 1.49]
  // CHECK-NEXT: [0.03, 1.49]
  // CHECK-NEXT: [-0.153049, 1.14284]
  // CHECK-NEXT: [-0.090070{{[12]}}, 1.26228]
  // CHECK-NEXT: [-0.82619{{[89]}}, 0.400539]
  // CHECK-NEXT: [-0.743995, 0.55759{{[89]}}]
  // CHECK-NEXT: [-0.69632, 0.61155{{[67]}}]
  // CHECK-NEXT: [-0.74804{{[23]}}, 0.522876]
  // CHECK-NEXT: [0.73292{{[45]}}, -0.27278{{[67]}}]
  // CHECK-NEXT: [{{(0\.90181|0\.901811)}}, -0.28078{{[78]}}]
  // CHECK-NEXT: [0.0359073, 0.178218]
  // CHECK-NEXT: [-0.17899, 0.076760{{[67]}}]
  // CHECK-NEXT: [0.78776{{[45]}}, 0.226735]
  // CHECK-NEXT: [0.91053{{[78]}}, 0.0015832{{[89]}}]
  // CHECK-NEXT: [0.79845{{[67]}}, 0.165423]
  // CHECK-NEXT: [0.71001{{[56]}}, {{(0\.32062|0\.320621)}}]
  %o2 = tensor.collapse_shape %o [[0, 1, 2], [3]] : tensor<1x8x2x2xf32> into tensor<16x2xf32>
  %od = tensor.cast %o2 : tensor<16x2xf32> to tensor<?x?xf32>
  call @print2d(%od) : (tensor<?x?xf32>) -> ()

  // lse as (H, Lq).
  // CHECK: sizes = [2, 8]
  // CHECK-NEXT: [-0.639582, 0.207596, 0.73509{{[78]}}, 1.03701, 1.20709, 1.6818{{[45]}}, 1.85139, 1.5295{{[12]}}]
  // CHECK-NEXT: [-0.260007, 0.517409, 1.17912, 0.772386, 1.5876{{[89]}}, 1.4030{{[78]}}, 1.88321, 1.4489]
  // CHECK-NOT: nan
  %l2 = tensor.collapse_shape %l [[0, 1], [2]] : tensor<1x2x8xf32> into tensor<2x8xf32>
  %ld = tensor.cast %l2 : tensor<2x8xf32> to tensor<?x?xf32>
  call @print2d(%ld) : (tensor<?x?xf32>) -> ()
  return
}
