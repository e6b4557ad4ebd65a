// RUN: wm-opt %s --split-input-file --convert-wm-to-scf | FileCheck %s

// Router scores r = w_router x (2K = 8, so K = 4); per side the top
// min(k, K) scores with their indices, sx from r[0:K] and sy from r[K:2K];
// then the best k pairs scored sx[i] + sy[j] name expert i * K + j; the
// softmax over the k chosen scores subtracts the largest (entry 0).
// CHECK-LABEL: func.func @cdmoe
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf32>, %{{.*}}: tensor<16x8xf32>, %{{.*}}: tensor<8x16xf32>, %[[WR:.*]]: tensor<8x8xf32>, %{{.*}}: tensor<16x8xf32>)
// CHECK: %[[WRB:.*]] = bufferization.to_buffer %[[WR]] read_only
// CHECK: %[[TWOK:.*]] = memref.dim %[[WRB]]
// CHECK: %[[K:.*]] = arith.divui %[[TWOK]], %{{.*}} : index
// CHECK: %[[TOPK:.*]] = arith.constant 4 : index
// CHECK: %[[PERSIDE:.*]] = arith.minsi %[[TOPK]], %[[K]] : index
// CHECK: %[[Y:.*]] = memref.alloc() : memref<3x8xf32>
// CHECK: %[[SCORES:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[SXV:.*]] = memref.alloc(%[[PERSIDE]]) : memref<?xf32>
// CHECK: %[[SYV:.*]] = memref.alloc(%[[PERSIDE]]) : memref<?xf32>
// CHECK: %[[SXI:.*]] = memref.alloc(%[[PERSIDE]]) : memref<?xindex>
// CHECK: %[[SYI:.*]] = memref.alloc(%[[PERSIDE]]) : memref<?xindex>
// CHECK: %[[BESTV:.*]] = memref.alloc(%[[TOPK]]) : memref<?xf32>
// CHECK: %[[BESTE:.*]] = memref.alloc(%[[TOPK]]) : memref<?xindex>
// CHECK: scf.for %[[T:.*]] = %{{.*}} to
// The side of sy reads r[K + i].
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[K]] {{.*}} -> (index)
// CHECK: %[[POS:.*]] = arith.addi %[[K]], %[[I]] : index
// CHECK: memref.load %[[SCORES]][%[[POS]]]
// CHECK: memref.store %[[I]], %[[SYI]]
// The pairs: only (i + 1)(j + 1) <= k can be among the k best.
// CHECK: scf.for %[[PI:.*]] = %{{.*}} to %[[PERSIDE]] {{.*}} -> (index)
// CHECK: %[[I1:.*]] = arith.addi %[[PI]], %{{.*}} : index
// CHECK: %[[QUOT:.*]] = arith.divui %[[TOPK]], %[[I1]] : index
// CHECK: %[[PAIRS:.*]] = arith.minsi %[[PERSIDE]], %[[QUOT]] : index
// CHECK: scf.for %[[PJ:.*]] = %{{.*}} to %[[PAIRS]] {{.*}} -> (index)
// CHECK: %[[VX:.*]] = memref.load %[[SXV]][%[[PI]]]
// CHECK: %[[VY:.*]] = memref.load %[[SYV]][%[[PJ]]]
// CHECK: %[[SCORE:.*]] = arith.addf %[[VX]], %[[VY]] : f32
// CHECK: %[[IX:.*]] = memref.load %[[SXI]][%[[PI]]]
// CHECK: %[[IXK:.*]] = arith.muli %[[IX]], %[[K]] : index
// CHECK: %[[IY:.*]] = memref.load %[[SYI]][%[[PJ]]]
// CHECK: %[[EXPERT:.*]] = arith.addi %[[IXK]], %[[IY]] : index
// CHECK: memref.store %[[SCORE]], %[[BESTV]]
// CHECK: memref.store %[[EXPERT]], %[[BESTE]]
// Softmax weights.
// CHECK: %[[TOTAL:.*]] = scf.for %[[M0:.*]] = %{{.*}} to %[[TOPK]] {{.*}} -> (f32)
// CHECK-NEXT: %[[BV0:.*]] = memref.load %[[BESTV]][%[[M0]]]
// CHECK-NEXT: %{{.*}} = arith.subf %[[BV0]], %[[LARGEST:.*]] : f32
// CHECK: scf.for %[[M:.*]] = %{{.*}} to %[[TOPK]]
// CHECK: %[[BV:.*]] = memref.load %[[BESTV]][%[[M]]]
// CHECK: %[[SH:.*]] = arith.subf %[[BV]], %[[LARGEST]] : f32
// CHECK: %[[EX:.*]] = math.exp %[[SH]] : f32
// CHECK: %[[WGT:.*]] = arith.divf %[[EX]], %[[TOTAL]] : f32
// CHECK: memref.store %{{.*}}, %[[BESTV]][%[[M]]]
// CHECK: memref.store %{{.*}}, %[[Y]][%[[T]], %{{.*}}]
func.func @cdmoe(%x: tensor<3x8xf32>, %wg: tensor<16x8xf32>, %wd: tensor<8x16xf32>, %wr: tensor<8x8xf32>, %e: tensor<16x8xf32>) -> tensor<3x8xf32> {
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 4 : i64} : (tensor<3x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<8x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// bf16 storage: every load of x and of the weights is extended to f32, the
// output y = shared + experts is truncated once, on store.
// CHECK-LABEL: func.func @cdmoe_bf16
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xbf16>, %{{.*}}: tensor<16x8xbf16>, %[[WD:.*]]: tensor<8x16xbf16>, %[[WR:.*]]: tensor<8x8xbf16>, %[[E:.*]]: tensor<16x8xbf16>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[WDB:.*]] = bufferization.to_buffer %[[WD]] read_only
// CHECK: %[[WRB:.*]] = bufferization.to_buffer %[[WR]] read_only
// CHECK: bufferization.to_buffer %[[E]] read_only
// CHECK: %[[UPB:.*]] = bufferization.to_buffer %[[E]] read_only
// CHECK: %[[Y:.*]] = memref.alloc() : memref<3x8xbf16>
// CHECK: %[[SCORES:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for %[[T:.*]] = %{{.*}} to
// CHECK: %[[R:.*]] = memref.load %[[WRB]]
// CHECK-NEXT: %[[RF:.*]] = arith.extf %[[R]] : bf16 to f32
// CHECK-NEXT: %[[XL:.*]] = memref.load %[[XB]][%[[T]], %{{.*}}]
// CHECK-NEXT: %[[XF:.*]] = arith.extf %[[XL]] : bf16 to f32
// CHECK-NEXT: arith.mulf %[[RF]], %[[XF]] : f32
// CHECK: memref.store %{{.*}}, %[[SCORES]]
// CHECK: %[[D:.*]] = memref.load %[[WDB]]
// CHECK-NEXT: arith.extf %[[D]] : bf16 to f32
// CHECK: %[[U:.*]] = memref.load %[[UPB]]
// CHECK-NEXT: arith.extf %[[U]] : bf16 to f32
// CHECK: %[[SUM:.*]] = arith.addf %{{[0-9]+}}, %{{[0-9]+}} : f32
// CHECK-NEXT: %[[YT:.*]] = arith.truncf %[[SUM]] : f32 to bf16
// CHECK-NEXT: memref.store %[[YT]], %[[Y]][%[[T]], %{{.*}}] : memref<3x8xbf16>
func.func @cdmoe_bf16(%x: tensor<3x8xbf16>, %wg: tensor<16x8xbf16>, %wd: tensor<8x16xbf16>, %wr: tensor<8x8xbf16>, %e: tensor<16x8xbf16>) -> tensor<3x8xbf16> {
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 2 : i64} : (tensor<3x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>, tensor<8x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>) -> tensor<3x8xbf16>
  return %y : tensor<3x8xbf16>
}
