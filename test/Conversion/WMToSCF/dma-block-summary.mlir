// RUN: wm-opt %s --split-input-file --convert-wm-to-scf | FileCheck %s

// ceil(40 / 16) = 3 blocks; block kb covers keys [kb * 16, min(Lk, kb * 16 + 16))
// so the last one is partial. The maximum starts at -inf, the minimum at +inf.
// CHECK-LABEL: func.func @dma_block_summary
// CHECK-SAME: (%[[BIAS:.*]]: tensor<1x2x40xf32>)
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[BIAS]] read_only
// CHECK: memref.dim %[[BB]]
// CHECK: memref.dim %[[BB]]
// CHECK: %[[LK:.*]] = memref.dim %[[BB]]
// CHECK: %[[BS:.*]] = arith.constant 16 : index
// CHECK: %[[NBLK:.*]] = arith.ceildivui %[[LK]], %[[BS]] : index
// CHECK-DAG: %[[MAX:.*]] = memref.alloc() : memref<1x2x3xf32>
// CHECK-DAG: %[[MIN:.*]] = memref.alloc() : memref<1x2x3xf32>
// CHECK: scf.for %[[B:.*]] = %{{.*}} to
// CHECK: scf.for %[[G:.*]] = %{{.*}} to
// CHECK: scf.for %[[KB:.*]] = %{{.*}} to %[[NBLK]]
// CHECK: %[[J0:.*]] = arith.muli %[[KB]], %[[BS]] : index
// CHECK: %[[J0E:.*]] = arith.addi %[[J0]], %[[BS]] : index
// CHECK: %[[J1:.*]] = arith.minsi %[[LK]], %[[J0E]] : index
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[BMAX:.*]] = scf.for %[[J:.*]] = %[[J0]] to %[[J1]] {{.*}} iter_args(%[[M:.*]] = %[[NEGINF]]) -> (f32)
// CHECK: %[[V:.*]] = memref.load %[[BB]][%[[B]], %[[G]], %[[J]]]
// In the selection's order NaN is the largest (maximumf) and the smallest
// only when all are NaN (minnumf).
// CHECK: arith.maximumf %[[M]], %[[V]] : f32
// CHECK: memref.store %[[BMAX]], %[[MAX]][%[[B]], %[[G]], %[[KB]]]
// CHECK: %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK: %[[BMIN:.*]] = scf.for %[[J:.*]] = %[[J0]] to %[[J1]] {{.*}} iter_args(%[[M:.*]] = %[[INF]]) -> (f32)
// CHECK: %[[V:.*]] = memref.load %[[BB]][%[[B]], %[[G]], %[[J]]]
// CHECK: arith.minnumf %[[M]], %[[V]] : f32
// CHECK: memref.store %[[BMIN]], %[[MIN]][%[[B]], %[[G]], %[[KB]]]
// CHECK: %[[TMAX:.*]] = bufferization.to_tensor %[[MAX]]
// CHECK: %[[TMIN:.*]] = bufferization.to_tensor %[[MIN]]
// CHECK: return %[[TMAX]], %[[TMIN]]
func.func @dma_block_summary(%bias: tensor<1x2x40xf32>) -> (tensor<1x2x3xf32>, tensor<1x2x3xf32>) {
  %max, %min = wm.dma_block_summary %bias {block_size = 16 : i64} : (tensor<1x2x40xf32>) -> (tensor<1x2x3xf32>, tensor<1x2x3xf32>)
  return %max, %min : tensor<1x2x3xf32>, tensor<1x2x3xf32>
}

// -----

// A dynamic key count: the number of blocks is computed at run time and
// sizes both results.
// CHECK-LABEL: func.func @dynamic_keys
// CHECK-SAME: (%[[BIAS:.*]]: tensor<2x1x?xf32>)
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[BIAS]] read_only
// CHECK: memref.dim %[[BB]]
// CHECK: memref.dim %[[BB]]
// CHECK: %[[LK:.*]] = memref.dim %[[BB]]
// CHECK: %[[BS:.*]] = arith.constant 64 : index
// CHECK: %[[NBLK:.*]] = arith.ceildivui %[[LK]], %[[BS]] : index
// CHECK-DAG: %[[MAX:.*]] = memref.alloc(%[[NBLK]]) : memref<2x1x?xf32>
// CHECK-DAG: %[[MIN:.*]] = memref.alloc(%[[NBLK]]) : memref<2x1x?xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[NBLK]]
// CHECK: return
func.func @dynamic_keys(%bias: tensor<2x1x?xf32>) -> (tensor<2x1x?xf32>, tensor<2x1x?xf32>) {
  %max, %min = wm.dma_block_summary %bias {block_size = 64 : i64} : (tensor<2x1x?xf32>) -> (tensor<2x1x?xf32>, tensor<2x1x?xf32>)
  return %max, %min : tensor<2x1x?xf32>, tensor<2x1x?xf32>
}
