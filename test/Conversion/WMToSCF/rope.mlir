// RUN: wm-opt %s --split-input-file --convert-wm-to-scf | FileCheck %s

// Shared (L, R) tables: channel c < R/2 pairs with c + R/2,
//   out[c]       = x[c] * cos[l, c]       - x[c + R/2] * sin[l, c]
//   out[c + R/2] = x[c + R/2] * cos[l, c + R/2] + x[c] * sin[l, c + R/2]
// and channels past rotary_dims are copied.
// CHECK-LABEL: func.func @rope
// CHECK-SAME: (%[[X:.*]]: tensor<1x8x2x64xf32>, %[[COS:.*]]: tensor<8x32xf32>, %[[SIN:.*]]: tensor<8x32xf32>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[CB:.*]] = bufferization.to_buffer %[[COS]] read_only
// CHECK: %[[SB:.*]] = bufferization.to_buffer %[[SIN]] read_only
// CHECK: %[[D:.*]] = memref.dim %[[XB]], %{{.*}}
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x8x2x64xf32>
// CHECK: %[[R:.*]] = arith.constant 32 : index
// CHECK: scf.for %[[B:.*]] = %{{.*}} to
// CHECK: scf.for %[[L:.*]] = %{{.*}} to
// CHECK: scf.for %[[H:.*]] = %{{.*}} to
// CHECK: %[[HALF:.*]] = arith.divui %[[R]], %{{.*}} : index
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[HALF]]
// CHECK: %[[C2:.*]] = arith.addi %[[C]], %[[HALF]] : index
// CHECK: %[[A:.*]] = memref.load %[[XB]][%[[B]], %[[L]], %[[H]], %[[C]]]
// CHECK: %[[BV:.*]] = memref.load %[[XB]][%[[B]], %[[L]], %[[H]], %[[C2]]]
// CHECK: %[[COS1:.*]] = memref.load %[[CB]][%[[L]], %[[C]]]
// CHECK: %[[AC:.*]] = arith.mulf %[[A]], %[[COS1]]
// CHECK: %[[SIN1:.*]] = memref.load %[[SB]][%[[L]], %[[C]]]
// CHECK: %[[BS:.*]] = arith.mulf %[[BV]], %[[SIN1]]
// CHECK: %[[LO:.*]] = arith.subf %[[AC]], %[[BS]]
// CHECK: memref.store %[[LO]], %[[OUT]][%[[B]], %[[L]], %[[H]], %[[C]]]
// CHECK: %[[COS2:.*]] = memref.load %[[CB]][%[[L]], %[[C2]]]
// CHECK: %[[BC:.*]] = arith.mulf %[[BV]], %[[COS2]]
// CHECK: %[[SIN2:.*]] = memref.load %[[SB]][%[[L]], %[[C2]]]
// CHECK: %[[AS:.*]] = arith.mulf %[[A]], %[[SIN2]]
// CHECK: %[[HI:.*]] = arith.addf %[[BC]], %[[AS]]
// CHECK: memref.store %[[HI]], %[[OUT]][%[[B]], %[[L]], %[[H]], %[[C2]]]
// CHECK: scf.for %[[P:.*]] = %[[R]] to %[[D]]
// CHECK: %[[PASS:.*]] = memref.load %[[XB]][%[[B]], %[[L]], %[[H]], %[[P]]]
// CHECK: memref.store %[[PASS]], %[[OUT]][%[[B]], %[[L]], %[[H]], %[[P]]]
func.func @rope(%x: tensor<1x8x2x64xf32>, %cos: tensor<8x32xf32>, %sin: tensor<8x32xf32>) -> tensor<1x8x2x64xf32> {
  %r = wm.rope %x, %cos, %sin {rotary_dims = 32 : i64} : (tensor<1x8x2x64xf32>, tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<1x8x2x64xf32>
  return %r : tensor<1x8x2x64xf32>
}

// -----

// Per-batch (B, L, R) tables are read at [b, l, c]; bf16 x is extended to
// f32 for the math and truncated on store.
// CHECK-LABEL: func.func @rope_per_batch_tables
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x2x16xbf16>, %[[COS:.*]]: tensor<2x8x16xf32>, %[[SIN:.*]]: tensor<2x8x16xf32>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[CB:.*]] = bufferization.to_buffer %[[COS]] read_only
// CHECK: %[[SB:.*]] = bufferization.to_buffer %[[SIN]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<2x8x2x16xbf16>
// CHECK: scf.for %[[B:.*]] = %{{.*}} to
// CHECK: scf.for %[[L:.*]] = %{{.*}} to
// CHECK: scf.for %[[H:.*]] = %{{.*}} to
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[HALF:.*]] step
// CHECK: %[[C2:.*]] = arith.addi %[[C]], %[[HALF]] : index
// CHECK: %[[A:.*]] = memref.load %[[XB]][%[[B]], %[[L]], %[[H]], %[[C]]]
// CHECK: %[[AF:.*]] = arith.extf %[[A]] : bf16 to f32
// CHECK: %[[COS1:.*]] = memref.load %[[CB]][%[[B]], %[[L]], %[[C]]] : memref<2x8x16xf32
// CHECK: arith.mulf %[[AF]], %[[COS1]]
// CHECK: %[[SIN1:.*]] = memref.load %[[SB]][%[[B]], %[[L]], %[[C]]] : memref<2x8x16xf32
// CHECK: %[[LO:.*]] = arith.subf
// CHECK: %[[LOT:.*]] = arith.truncf %[[LO]] : f32 to bf16
// CHECK: memref.store %[[LOT]], %[[OUT]][%[[B]], %[[L]], %[[H]], %[[C]]]
// CHECK: memref.load %[[CB]][%[[B]], %[[L]], %[[C2]]]
// CHECK: memref.load %[[SB]][%[[B]], %[[L]], %[[C2]]]
// CHECK: %[[HI:.*]] = arith.addf
// CHECK: %[[HIT:.*]] = arith.truncf %[[HI]] : f32 to bf16
// CHECK: memref.store %[[HIT]], %[[OUT]][%[[B]], %[[L]], %[[H]], %[[C2]]]
func.func @rope_per_batch_tables(%x: tensor<2x8x2x16xbf16>, %cos: tensor<2x8x16xf32>, %sin: tensor<2x8x16xf32>) -> tensor<2x8x2x16xbf16> {
  %r = wm.rope %x, %cos, %sin {rotary_dims = 16 : i64} : (tensor<2x8x2x16xbf16>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x2x16xbf16>
  return %r : tensor<2x8x2x16xbf16>
}
