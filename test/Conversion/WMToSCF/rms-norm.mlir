// RUN: wm-opt %s --split-input-file --convert-wm-to-scf | FileCheck %s

// bf16 storage, f32 math: sum of squares over the last dim, divided by its
// width, plus eps (default 1e-6), then x * (1 / sqrt(.)) * weight, truncated.
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xbf16>, %[[W:.*]]: tensor<64xbf16>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[WB:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK: %[[ROWS:.*]] = memref.dim %[[XB]], %{{.*}}
// CHECK: %[[WIDTH:.*]] = memref.dim %[[XB]], %{{.*}}
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<4x64xbf16>
// CHECK: %[[WI:.*]] = arith.index_castui %[[WIDTH]] : index to i64
// CHECK: %[[WF:.*]] = arith.uitofp %[[WI]] : i64 to f32
// CHECK: %[[EPS:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[ROWS]]
// CHECK: %[[SUM:.*]] = scf.for %{{.*}} = %{{.*}} to %[[WIDTH]] {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// CHECK: %[[XV:.*]] = arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[SQ:.*]] = arith.mulf %[[XV]], %[[XV]] : f32
// CHECK: %[[NEXT:.*]] = arith.addf %[[ACC]], %[[SQ]] : f32
// CHECK: scf.yield %[[NEXT]]
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[MEAN:.*]] = arith.divf %[[SUM]], %[[WF]] : f32
// CHECK: %[[SHIFT:.*]] = arith.addf %[[MEAN]], %[[EPS]] : f32
// CHECK: %[[ROOT:.*]] = math.sqrt %[[SHIFT]] : f32
// CHECK: %[[INV:.*]] = arith.divf %[[ONE]], %[[ROOT]] : f32
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[WIDTH]]
// CHECK: %[[XL:.*]] = memref.load %[[XB]][%[[I]], %[[C]]]
// CHECK: %[[XF:.*]] = arith.extf %[[XL]] : bf16 to f32
// CHECK: %[[N:.*]] = arith.mulf %[[XF]], %[[INV]] : f32
// CHECK: %[[WL:.*]] = memref.load %[[WB]][%[[C]]]
// CHECK: %[[WF2:.*]] = arith.extf %[[WL]] : bf16 to f32
// CHECK: %[[R:.*]] = arith.mulf %[[N]], %[[WF2]] : f32
// CHECK: %[[RT:.*]] = arith.truncf %[[R]] : f32 to bf16
// CHECK: memref.store %[[RT]], %[[OUT]][%[[I]], %[[C]]]
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[T]]
func.func @rms_norm(%x: tensor<4x64xbf16>, %w: tensor<64xbf16>) -> tensor<4x64xbf16> {
  %n = wm.rms_norm %x, %w : (tensor<4x64xbf16>, tensor<64xbf16>) -> tensor<4x64xbf16>
  return %n : tensor<4x64xbf16>
}

// -----

// Rank 3 in f32: a loop per leading dim, the reduction over the last dim
// only, the explicit eps, and no conversions (loads feed the math directly).
// CHECK-LABEL: func.func @rms_norm_rank3_f32
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x16xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[WB:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK: %[[D0:.*]] = memref.dim %[[XB]], %{{.*}}
// CHECK: %[[D1:.*]] = memref.dim %[[XB]], %{{.*}}
// CHECK: %[[D2:.*]] = memref.dim %[[XB]], %{{.*}}
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<2x3x16xf32>
// CHECK: %[[WI:.*]] = arith.index_castui %[[D2]] : index to i64
// CHECK: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[D0]]
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %[[D1]]
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %[[D2]] {{.*}} iter_args
// CHECK: %[[XV:.*]] = memref.load %[[XB]][%[[I]], %[[J]], %[[K]]]
// CHECK-NEXT: %{{.*}} = arith.mulf %[[XV]], %[[XV]] : f32
// CHECK: arith.addf %{{.*}}, %[[EPS]] : f32
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[D2]]
// CHECK: %[[WV:.*]] = memref.load %[[WB]][%[[C]]]
// CHECK-NEXT: %[[R:.*]] = arith.mulf %{{.*}}, %[[WV]] : f32
// CHECK-NEXT: memref.store %[[R]], %[[OUT]][%[[I]], %[[J]], %[[C]]] : memref<2x3x16xf32>
// CHECK: bufferization.to_tensor %[[OUT]]
func.func @rms_norm_rank3_f32(%x: tensor<2x3x16xf32>, %w: tensor<16xf32>) -> tensor<2x3x16xf32> {
  %n = wm.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<2x3x16xf32>, tensor<16xf32>) -> tensor<2x3x16xf32>
  return %n : tensor<2x3x16xf32>
}
