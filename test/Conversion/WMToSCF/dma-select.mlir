// RUN: wm-opt %s --split-input-file --convert-wm-to-scf | FileCheck %s

// Causal prefix thresholds: every row starts at -inf, then one pass over the
// keys keeps the W largest (an O(W) buffer) and writes tau of row
// p - (Lk - Lq) after key p: the W-th largest once W keys were seen.
// CHECK-LABEL: func.func @dma_select_prefix
// CHECK-SAME: (%[[BIAS:.*]]: tensor<1x2x40xf32>)
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[BIAS]] read_only
// CHECK: memref.dim %[[BB]]
// CHECK: memref.dim %[[BB]]
// CHECK: %[[LK:.*]] = memref.dim %[[BB]]
// CHECK-DAG: %[[LQ:.*]] = arith.constant 40 : index
// CHECK-DAG: %[[W:.*]] = arith.constant 8 : index
// CHECK: %[[TAU:.*]] = memref.alloc() : memref<1x2x40xf32>
// CHECK: %[[TOP:.*]] = memref.alloc(%[[W]]) : memref<?xf32>
// CHECK: scf.for %[[B:.*]] = %{{.*}} to
// CHECK: scf.for %[[G:.*]] = %{{.*}} to
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[LQ]]
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: memref.store %[[NEGINF]], %[[TAU]][%[[B]], %[[G]], %[[I]]]
// CHECK: %[[OFF:.*]] = arith.subi %[[LK]], %[[LQ]] : index
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %[[LK]] {{.*}} iter_args(%[[N:.*]] = %{{.*}}) -> (index)
// CHECK: %[[VAL:.*]] = memref.load %[[BB]][%[[B]], %[[G]], %[[P]]]
// CHECK: %[[ROOM:.*]] = arith.cmpi slt, %[[N]], %[[W]] : index
// The selection's order (spec, Conventions): NaN above every number.
// CHECK: %[[ISNAN:.*]] = arith.cmpf uno, %[[VAL]], %[[VAL]] : f32
// CHECK: %[[LASTORD:.*]] = arith.cmpf ord, %[[LAST:.*]], %[[LAST]] : f32
// CHECK: %[[NANOVER:.*]] = arith.andi %[[ISNAN]], %[[LASTORD]] : i1
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[VAL]], %[[LAST]] : f32
// CHECK: %[[BEATS:.*]] = arith.ori %[[GT]], %[[NANOVER]] : i1
// CHECK: %[[INSERT:.*]] = arith.ori %[[ROOM]], %[[BEATS]] : i1
// CHECK: scf.if %[[INSERT]]
// CHECK: memref.store %[[VAL]], %[[TOP]]
// CHECK: %[[N1:.*]] = arith.addi %[[N]], %{{.*}} : index
// CHECK: %[[COUNT:.*]] = arith.minsi %[[N1]], %[[W]] : index
// CHECK: %[[ROW:.*]] = arith.subi %[[P]], %[[OFF]] : index
// CHECK: %[[VALID:.*]] = arith.cmpi sge, %[[ROW]], %{{.*}} : index
// CHECK: scf.if %[[VALID]]
// CHECK: %[[FULL:.*]] = arith.cmpi sge, %[[COUNT]], %[[W]] : index
// CHECK: %[[WTH:.*]] = memref.load %[[TOP]]
// CHECK: %[[T:.*]] = arith.select %[[FULL]], %[[WTH]], %{{.*}} : f32
// CHECK: memref.store %[[T]], %[[TAU]][%[[B]], %[[G]], %[[ROW]]]
// CHECK: scf.yield %[[COUNT]] : index
// CHECK-NOT: memref<{{.*}}40x40
// CHECK: bufferization.to_tensor %[[TAU]]
func.func @dma_select_prefix(%bias: tensor<1x2x40xf32>) -> tensor<1x2x40xf32> {
  %tau = wm.dma_select %bias {causal, query_len = 40 : i64, window = 8 : i64} : (tensor<1x2x40xf32>) -> tensor<1x2x40xf32>
  return %tau : tensor<1x2x40xf32>
}

// -----

// Global scope: one threshold per (b, g) over all Lk keys, computed once
// after the pass over the keys, then stored for every one of the Lq rows
// (causality is applied later, by the attention).
// CHECK-LABEL: func.func @dma_select_global
// CHECK-SAME: (%[[BIAS:.*]]: tensor<1x2x40xf32>)
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[BIAS]] read_only
// CHECK: memref.dim %[[BB]]
// CHECK: memref.dim %[[BB]]
// CHECK: %[[LK:.*]] = memref.dim %[[BB]]
// CHECK-DAG: %[[LQ:.*]] = arith.constant 24 : index
// CHECK-DAG: %[[W:.*]] = arith.constant 8 : index
// CHECK: %[[TAU:.*]] = memref.alloc() : memref<1x2x24xf32>
// CHECK: %[[TOP:.*]] = memref.alloc(%[[W]]) : memref<?xf32>
// CHECK: scf.for %[[B:.*]] = %{{.*}} to
// CHECK: scf.for %[[G:.*]] = %{{.*}} to
// CHECK-NOT: memref.store {{.*}}, %[[TAU]][
// CHECK: %[[COUNT:.*]] = scf.for %{{.*}} = %{{.*}} to %[[LK]] {{.*}} -> (index)
// CHECK-NOT: memref.store {{.*}}, %[[TAU]][
// CHECK: scf.yield
// CHECK: %[[FULL:.*]] = arith.cmpi sge, %[[COUNT]], %[[W]] : index
// CHECK: %[[WTH:.*]] = memref.load %[[TOP]]
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[T:.*]] = arith.select %[[FULL]], %[[WTH]], %[[NEGINF]] : f32
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[LQ]]
// CHECK-NEXT: memref.store %[[T]], %[[TAU]][%[[B]], %[[G]], %[[I]]]
// CHECK: bufferization.to_tensor %[[TAU]]
func.func @dma_select_global(%bias: tensor<1x2x40xf32>) -> tensor<1x2x24xf32> {
  %tau = wm.dma_select %bias {causal, query_len = 24 : i64, window = 8 : i64, scope = #wm.scope<global>} : (tensor<1x2x40xf32>) -> tensor<1x2x24xf32>
  return %tau : tensor<1x2x24xf32>
}
