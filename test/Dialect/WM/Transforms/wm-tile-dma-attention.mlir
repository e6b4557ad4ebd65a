// RUN: wm-opt %s --wm-tile-dma-attention=block-q=16 | FileCheck %s
// RUN: wm-opt %s --wm-tile-dma-attention="block-q=16 skip-blocks=false" | FileCheck %s --check-prefix=NOSKIP
// RUN: wm-opt %s --wm-tile-dma-attention="block-q=16 compact-keys=true" | FileCheck %s --check-prefix=COMPACT
// RUN: not wm-opt %s --wm-tile-dma-attention=block-q=0 2>&1 | FileCheck %s --check-prefix=BLOCK-Q
// RUN: not wm-opt %s --wm-tile-dma-attention=block-k=4097 2>&1 | FileCheck %s --check-prefix=BLOCK-K
// BLOCK-Q: error: block-q must be in [1, 4096], got 0
// BLOCK-K: error: block-k must be in [1, 4096], got 4097

// Key tiles follow the summaries (32 keys); per query block, a key block is
// skipped when its max bias is below every threshold of the block, and a
// block every row keeps runs without the per-element predicate.
// CHECK-LABEL: func.func @tiled
// CHECK-SAME: %[[BIAS:[a-z0-9]+]]: tensor<1x2x100xf32>, %[[TAU:[a-z0-9]+]]: tensor<1x2x100xf32>, %[[MAX:[a-z0-9]+]]: tensor<1x2x4xf32>, %[[MIN:[a-z0-9]+]]: tensor<1x2x4xf32>)
// CHECK-DAG: %[[MAXB:.*]] = bufferization.to_buffer %[[MAX]] read_only
// CHECK-DAG: %[[MINB:.*]] = bufferization.to_buffer %[[MIN]] read_only
// CHECK-DAG: %[[OUTB:.*]] = memref.alloc() : memref<1x100x4x64xf32>
// CHECK-DAG: %[[LSEB:.*]] = memref.alloc() : memref<1x4x100xf32>
// CHECK: scf.for %[[B:.*]] = 
// CHECK: scf.for %[[H:.*]] = 
// CHECK: scf.for %[[QB:.*]] = 
// CHECK: %[[TAULO:.*]] = scf.for {{.*}} -> (f32)
// CHECK: arith.minnumf
// CHECK: %[[TAUHI:.*]] = scf.for {{.*}} -> (f32)
// CHECK: arith.maximumf
// CHECK: scf.for %[[KB:.*]] = 
// CHECK: %[[BMAX:.*]] = memref.load %[[MAXB]][%[[B]], %{{.*}}, %[[KB]]]
// Kept in the selection's order: bias >= tau, or a NaN bias.
// CHECK: %[[GE:.*]] = arith.cmpf oge, %[[BMAX]], %[[TAULO]]
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[BMAX]], %[[BMAX]]
// CHECK: %[[LIVE:.*]] = arith.ori %[[GE]], %[[NAN]] : i1
// CHECK: scf.if %[[LIVE]] {
// CHECK: %[[BMIN:.*]] = memref.load %[[MINB]][%[[B]], %{{.*}}, %[[KB]]]
// CHECK: arith.cmpf oge, %[[BMIN]], %[[TAUHI]]
// CHECK: %[[FULL:.*]] = arith.andi
// CHECK: scf.if %[[FULL]] {
// CHECK-NOT: arith.cmpi sle
// CHECK: } else {
// CHECK: arith.cmpf oge
// CHECK: arith.cmpi sle
// CHECK: arith.select
// CHECK: memref.store {{.*}}, %[[OUTB]]
// CHECK: memref.store {{.*}}, %[[LSEB]]
// CHECK: bufferization.to_tensor %[[OUTB]] restrict writable

// NOSKIP-LABEL: func.func @tiled
// NOSKIP-NOT: memref.load %{{.*}} : memref<1x2x4xf32
// NOSKIP: arith.cmpi sle

// COMPACT-LABEL: func.func @tiled
// COMPACT: %[[CAND:.*]] = memref.alloc(%{{.*}}) : memref<?xindex>
// COMPACT: memref.store %{{.*}}, %[[CAND]][%{{.*}}] : memref<?xindex>
// COMPACT: memref.load %[[CAND]]

func.func @tiled(%q: tensor<1x100x4x64xf32>, %k: tensor<1x100x2x64xf32>, %v: tensor<1x100x2x64xf32>,
                 %bias: tensor<1x2x100xf32>, %tau: tensor<1x2x100xf32>, %max: tensor<1x2x4xf32>, %min: tensor<1x2x4xf32>)
    -> (tensor<1x100x4x64xf32>, tensor<1x4x100xf32>) {
  %out, %lse = wm.dma_threshold_attention %q, %k, %v, %bias, %tau summary(%max, %min) {block_size = 32 : i64, causal, scale = 0.125 : f32}
      : (tensor<1x100x4x64xf32>, tensor<1x100x2x64xf32>, tensor<1x100x2x64xf32>, tensor<1x2x100xf32>, tensor<1x2x100xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
      -> (tensor<1x100x4x64xf32>, tensor<1x4x100xf32>)
  return %out, %lse : tensor<1x100x4x64xf32>, tensor<1x4x100xf32>
}
