// RUN: wm-opt %s --split-input-file --convert-wm-to-scf | FileCheck %s

// The chunked form: per (b, h) a (P, N) state starting at zero, a loop over
// ceil(T / chunk) chunks of length min(T, t0 + chunk) - t0, (chunk x chunk)
// intra-chunk weights, dt clamped to the default [0, inf), and the final
// state copied out after the last chunk. Head h reads group h / (H / G).
// CHECK-LABEL: func.func @ssd_chunked
// CHECK: %[[BB:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x40x1x8xf32>
// CHECK: memref.dim %{{.*}}, %{{.*}} : memref<1x40x2x4xf32
// CHECK: %[[T:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<1x40x2x4xf32
// CHECK: %[[H:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<1x40x2x4xf32
// CHECK: %[[P:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<1x40x2x4xf32
// CHECK: %[[G:.*]] = memref.dim %[[BB]]
// CHECK: %[[N:.*]] = memref.dim %[[BB]]
// CHECK: %[[Y:.*]] = memref.alloc() : memref<1x40x2x4xf32>
// CHECK: %[[FINAL:.*]] = memref.alloc() : memref<1x2x4x8xf32>
// CHECK: %[[CHUNK:.*]] = arith.constant 16 : index
// CHECK: %[[STATE:.*]] = memref.alloc(%[[P]], %[[N]]) : memref<?x?xf32>
// CHECK: %[[DTC:.*]] = memref.alloc(%[[CHUNK]]) : memref<?xf32>
// CHECK: %[[WEIGHTS:.*]] = memref.alloc(%[[CHUNK]], %[[CHUNK]]) : memref<?x?xf32>
// CHECK: scf.for %[[IB:.*]] = %{{.*}} to
// CHECK: scf.for %[[IH:.*]] = %{{.*}} to %[[H]]
// CHECK: %[[HPG:.*]] = arith.divui %[[H]], %[[G]] : index
// CHECK: %[[IG:.*]] = arith.divui %[[IH]], %[[HPG]] : index
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: memref.store %[[ZERO]], %[[STATE]]
// CHECK: %[[NCH:.*]] = arith.ceildivui %[[T]], %[[CHUNK]]
// CHECK: scf.for %[[IC:.*]] = %{{.*}} to %[[NCH]]
// CHECK: %[[T0:.*]] = arith.muli %[[IC]], %[[CHUNK]]
// CHECK: %[[T1:.*]] = arith.addi %[[T0]], %[[CHUNK]]
// CHECK: %[[TE:.*]] = arith.minsi %[[T]], %[[T1]]
// CHECK: %[[LEN:.*]] = arith.subi %[[TE]], %[[T0]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[LEN]]
// CHECK: %[[DT:.*]] = memref.load
// CHECK: %[[LO:.*]] = arith.maximumf %[[DT]], %{{.*}} : f32
// CHECK: %[[CL:.*]] = arith.minimumf %[[LO]], %{{.*}} : f32
// CHECK: memref.store %[[CL]], %[[DTC]]
// CHECK: memref.load %[[BB]][%[[IB]], %{{.*}}, %[[IG]], %{{.*}}]
// CHECK: memref.store {{.*}}, %[[WEIGHTS]]
// CHECK: memref.store {{.*}}, %[[Y]][%[[IB]], %{{.*}}, %[[IH]], %{{.*}}]
// CHECK: memref.store {{.*}}, %[[STATE]]
// CHECK: %[[S:.*]] = memref.load %[[STATE]]
// CHECK-NEXT: memref.store %[[S]], %[[FINAL]][%[[IB]], %[[IH]]
func.func @ssd_chunked(%x: tensor<1x40x2x4xf32>, %dt: tensor<1x40x2xf32>, %a: tensor<2xf32>, %b: tensor<1x40x1x8xf32>)
    -> (tensor<1x40x2x4xf32>, tensor<1x2x4x8xf32>) {
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64} : (tensor<1x40x2x4xf32>, tensor<1x40x2xf32>, tensor<2xf32>, tensor<1x40x1x8xf32>, tensor<1x40x1x8xf32>) -> (tensor<1x40x2x4xf32>, tensor<1x2x4x8xf32>)
  return %y, %s : tensor<1x40x2x4xf32>, tensor<1x2x4x8xf32>
}

// -----

// initial_state: the state starts from h0[b, h] instead of zero. rope: the
// rows of b and c are rotated at their absolute position t = t0 + s with the
// (T, R) tables, over the first R = 4 of N = 8 channels.
// CHECK-LABEL: func.func @ssd_rope_initial_state
// CHECK-SAME: %[[BARG:[^:]*]]: tensor<1x8x1x8xf32>, %[[CARG:[^:]*]]: tensor<1x8x1x8xf32>, %[[H0:[^:]*]]: tensor<1x2x4x8xf32>, %[[COS:[^:]*]]: tensor<8x4xf32>, %[[SIN:[^:]*]]: tensor<8x4xf32>
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[BARG]] read_only
// CHECK: %[[CB:.*]] = bufferization.to_buffer %[[CARG]] read_only
// CHECK: %[[H0B:.*]] = bufferization.to_buffer %[[H0]] read_only
// CHECK: %[[COSB:.*]] = bufferization.to_buffer %[[COS]] read_only
// CHECK: %[[SINB:.*]] = bufferization.to_buffer %[[SIN]] read_only
// CHECK: %[[CHUNK:.*]] = arith.constant 4 : index
// CHECK: %[[STATE:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?xf32>
// CHECK: %[[BCH:.*]] = memref.alloc(%[[CHUNK]], %{{.*}}) : memref<?x?xf32>
// CHECK: %[[CCH:.*]] = memref.alloc(%[[CHUNK]], %{{.*}}) : memref<?x?xf32>
// CHECK: %[[R:.*]] = memref.dim %[[COSB]], %{{.*}} : memref<8x4xf32
// CHECK: scf.for %[[IB:.*]] = %{{.*}} to
// CHECK: scf.for %[[IH:.*]] = %{{.*}} to
// CHECK: scf.for %[[IP:.*]] = %{{.*}} to
// CHECK: scf.for %[[IN:.*]] = %{{.*}} to
// CHECK: %[[INIT:.*]] = memref.load %[[H0B]][%[[IB]], %[[IH]], %[[IP]], %[[IN]]]
// CHECK-NEXT: memref.store %[[INIT]], %[[STATE]][%[[IP]], %[[IN]]]
// CHECK: scf.for %[[IC:.*]] = %{{.*}} to
// CHECK: %[[T0:.*]] = arith.muli %[[IC]], %[[CHUNK]]
// CHECK: scf.for %[[IS:.*]] = %{{.*}} to
// CHECK: %[[TT:.*]] = arith.addi %[[T0]], %[[IS]] : index
// CHECK: memref.store {{.*}}, %[[BCH]][%[[IS]], %{{.*}}]
// CHECK: %[[HALF:.*]] = arith.divui %[[R]], %{{.*}} : index
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %[[HALF]]
// CHECK: %[[J2:.*]] = arith.addi %[[J]], %[[HALF]]
// CHECK: %[[B1:.*]] = memref.load %[[BB]][%[[IB]], %[[TT]], %{{.*}}, %[[J]]]
// CHECK: %[[B2:.*]] = memref.load %[[BB]][%[[IB]], %[[TT]], %{{.*}}, %[[J2]]]
// CHECK: %[[C1:.*]] = memref.load %[[COSB]][%[[TT]], %[[J]]]
// CHECK: arith.mulf %[[B1]], %[[C1]]
// CHECK: %[[S1:.*]] = memref.load %[[SINB]][%[[TT]], %[[J]]]
// CHECK: arith.mulf %[[B2]], %[[S1]]
// CHECK: %[[LO:.*]] = arith.subf
// CHECK: memref.store %[[LO]], %[[BCH]][%[[IS]], %[[J]]]
// CHECK: %[[HI:.*]] = arith.addf
// CHECK: memref.store %[[HI]], %[[BCH]][%[[IS]], %[[J2]]]
// CHECK: memref.store {{.*}}, %[[CCH]][%[[IS]], %{{.*}}]
// CHECK: memref.load %[[CB]][%[[IB]], %[[TT]], %{{.*}}, %{{.*}}]
// CHECK: memref.load %[[COSB]][%[[TT]], %{{.*}}]
// CHECK: memref.load %[[SINB]][%[[TT]], %{{.*}}]
// CHECK: memref.store {{.*}}, %[[CCH]][%[[IS]], %{{.*}}]
func.func @ssd_rope_initial_state(%x: tensor<1x8x2x4xf32>, %dt: tensor<1x8x2xf32>, %a: tensor<2xf32>, %b: tensor<1x8x1x8xf32>, %c: tensor<1x8x1x8xf32>, %h0: tensor<1x2x4x8xf32>, %cos: tensor<8x4xf32>, %sin: tensor<8x4xf32>)
    -> (tensor<1x8x2x4xf32>, tensor<1x2x4x8xf32>) {
  %y, %s = wm.ssd %x, %dt, %a, %b, %c initial_state(%h0) rope(%cos, %sin) {chunk_size = 4 : i64} : (tensor<1x8x2x4xf32>, tensor<1x8x2xf32>, tensor<2xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>, tensor<1x2x4x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>) -> (tensor<1x8x2x4xf32>, tensor<1x2x4x8xf32>)
  return %y, %s : tensor<1x8x2x4xf32>, tensor<1x2x4x8xf32>
}

// -----

// dt' = clamp(softplus(dt + dt_bias), dt_limit); per-channel D[h, p] adds
// D * x; z gates with z * sigmoid(z); bf16 y is truncated on store.
// CHECK-LABEL: func.func @ssd_gated
// CHECK-SAME: %[[D:[^:]*]]: tensor<2x4xf32>, %[[Z:[^:]*]]: tensor<1x8x2x4xbf16>, %[[DTB:[^:]*]]: tensor<2xf32>
// CHECK: %[[DB:.*]] = bufferization.to_buffer %[[D]] read_only
// CHECK: %[[ZB:.*]] = bufferization.to_buffer %[[Z]] read_only
// CHECK: %[[DTBB:.*]] = bufferization.to_buffer %[[DTB]] read_only
// CHECK: %[[Y:.*]] = memref.alloc() : memref<1x8x2x4xbf16>
// CHECK: scf.for %[[IB:.*]] = %{{.*}} to
// CHECK: scf.for %[[IH:.*]] = %{{.*}} to
// CHECK: %[[DT:.*]] = memref.load %{{.*}} : memref<1x8x2xf32
// CHECK: %[[BIAS:.*]] = memref.load %[[DTBB]][%[[IH]]]
// CHECK: %[[SUM:.*]] = arith.addf %[[DT]], %[[BIAS]] : f32
// CHECK: %[[E:.*]] = math.exp %[[SUM]]
// CHECK: %[[L:.*]] = math.log1p %[[E]]
// CHECK: %[[BIG:.*]] = arith.cmpf ogt, %[[SUM]], %{{.*}} : f32
// CHECK: %[[SP:.*]] = arith.select %[[BIG]], %[[SUM]], %[[L]] : f32
// CHECK: %[[MIN:.*]] = arith.constant 1.000000e-03 : f32
// CHECK: %[[LO:.*]] = arith.maximumf %[[SP]], %[[MIN]] : f32
// CHECK: %[[MAX:.*]] = arith.constant 1.000000e-01 : f32
// CHECK: arith.minimumf %[[LO]], %[[MAX]] : f32
// CHECK: %[[DV:.*]] = memref.load %[[DB]][%[[IH]], %[[IP:.*]]] : memref<2x4xf32
// CHECK-NEXT: %[[XL:.*]] = memref.load
// CHECK-NEXT: %[[XV:.*]] = arith.extf %[[XL]] : bf16 to f32
// CHECK-NEXT: %[[DX:.*]] = arith.mulf %[[DV]], %[[XV]] : f32
// CHECK-NEXT: %[[WITHD:.*]] = arith.addf %{{.*}}, %[[DX]] : f32
// CHECK-NEXT: %[[ZL:.*]] = memref.load %[[ZB]][%[[IB]], %{{.*}}, %[[IH]], %[[IP]]]
// CHECK: %[[ZV:.*]] = arith.extf %[[ZL]] : bf16 to f32
// CHECK: %[[NZ:.*]] = arith.negf %[[ZV]]
// CHECK: %[[EZ:.*]] = math.exp %[[NZ]]
// CHECK: %[[DEN:.*]] = arith.addf %{{.*}}, %[[EZ]]
// CHECK: %[[SIG:.*]] = arith.divf %{{.*}}, %[[DEN]]
// CHECK: %[[SILU:.*]] = arith.mulf %[[ZV]], %[[SIG]]
// CHECK: %[[GATED:.*]] = arith.mulf %[[WITHD]], %[[SILU]]
// CHECK: %[[YT:.*]] = arith.truncf %[[GATED]] : f32 to bf16
// CHECK: memref.store %[[YT]], %[[Y]][%[[IB]], %{{.*}}, %[[IH]], %[[IP]]]
func.func @ssd_gated(%x: tensor<1x8x2x4xbf16>, %dt: tensor<1x8x2xf32>, %a: tensor<2xf32>, %b: tensor<1x8x1x8xbf16>, %d: tensor<2x4xf32>, %z: tensor<1x8x2x4xbf16>, %dtb: tensor<2xf32>)
    -> (tensor<1x8x2x4xbf16>, tensor<1x2x4x8xf32>) {
  %y, %s = wm.ssd %x, %dt, %a, %b, %b D(%d) z(%z) dt_bias(%dtb) {chunk_size = 4 : i64, dt_softplus, dt_limit = array<f64: 0.001, 0.1>} : (tensor<1x8x2x4xbf16>, tensor<1x8x2xf32>, tensor<2xf32>, tensor<1x8x1x8xbf16>, tensor<1x8x1x8xbf16>, tensor<2x4xf32>, tensor<1x8x2x4xbf16>, tensor<2xf32>) -> (tensor<1x8x2x4xbf16>, tensor<1x2x4x8xf32>)
  return %y, %s : tensor<1x8x2x4xbf16>, tensor<1x2x4x8xf32>
}
