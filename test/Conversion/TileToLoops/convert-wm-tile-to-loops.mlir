// RUN: wm-opt %s --convert-wm-tile-to-loops | FileCheck %s
// The grid becomes a loop nest around the region; tiles become buffers
// allocated once at the top of the function; tile ops become loops;
// commit, wait and barrier vanish.

// CHECK-LABEL: func.func @attention
// CHECK-DAG: memref.alloc() : memref<128xi32>
// CHECK-DAG: memref.alloc() : memref<2x64x32xbf16>
// CHECK-DAG: memref.alloc() : memref<16x64xf32>
// CHECK-DAG: memref.alloc() : memref<16x64xbf16>
// CHECK-NOT: wm_tile.
// Grid [2, 1, 4], first dimension outermost.
// CHECK: scf.for %[[I:.*]] = %c0 to %c2
// CHECK: scf.for %[[B:.*]] = %c0 to %c1
// CHECK: scf.for %[[H:.*]] = %c0 to %c4
// Compaction: directly when no threshold, else rounds while a round fits.
// CHECK: arith.cmpf oeq, %{{.*}}, %cst
// CHECK: scf.if
// CHECK: scf.while
// CHECK: arith.cmpf uge
// The scores: fma(logit, 0.25, bias * 1.4427), -inf where not kept.
// CHECK: math.fma %{{.*}}, %cst{{.*}}, %{{.*}} : f32
// The online softmax in the log2 domain.
// CHECK: math.exp2
// P rounded once to the mma operand type.
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: math.log2
// CHECK-NOT: wm_tile.
func.func @attention(%q: memref<1x64x4x32xbf16>, %k: memref<1x64x2x32xbf16>, %bias: memref<1x2x64xf32>, %tau: memref<1x2x64xf32>, %out: memref<1x64x4x32xbf16>, %lse: memref<1x4x64xf32>) {
  wm_tile.program "k" grid [2, 1, 4] config <warps = 4, warp_rows = 16, stages = 2, candidates = 128, tile_keys = 64, q_in_registers = true, wgmma = false> (%q, %k, %bias, %tau, %out, %lse) : memref<1x64x4x32xbf16>, memref<1x64x2x32xbf16>, memref<1x2x64xf32>, memref<1x2x64xf32>, memref<1x64x4x32xbf16>, memref<1x4x64xf32> {
  ^bb0(%i: index, %b: index, %h: index, %qa: memref<1x64x4x32xbf16>, %ka: memref<1x64x2x32xbf16>, %ba: memref<1x2x64xf32>, %ta: memref<1x2x64xf32>, %oa: memref<1x64x4x32xbf16>, %la: memref<1x4x64xf32>):
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %t, %lo, %hi = wm_tile.thresholds %ta[%b, %c0, %i] rows_end %c64 {nan_as_inf} : memref<1x2x64xf32> -> !wm_tile.tile<16xf32>
    %cand = wm_tile.alloc_shared : !wm_tile.shared<128xi32>
    %ks = wm_tile.alloc_shared : !wm_tile.shared<2x64x32xbf16>
    %bs = wm_tile.alloc_shared : !wm_tile.shared<64xf32>
    %qt = wm_tile.load %qa[%b, %i, %h, %c0] {row_dim = 1} : memref<1x64x4x32xbf16> -> !wm_tile.tile<16x32xbf16>
    %n, %next = wm_tile.compact %ba[%b, %c0] from %c0 to %c64 where %lo into %cand {round = 64} : memref<1x2x64xf32>, !wm_tile.shared<128xi32>
    %k0 = wm_tile.stage %ks[%c0] : !wm_tile.shared<2x64x32xbf16> -> !wm_tile.shared<64x32xbf16>
    wm_tile.gather_async %ka[%b, %c0, %c0] rows %cand[%c0] count %n into %k0 {row_dim = 1} : memref<1x64x2x32xbf16>, !wm_tile.shared<128xi32>, !wm_tile.shared<64x32xbf16>
    wm_tile.gather_async %ba[%b, %c0] rows %cand[%c0] count %n into %bs {row_dim = 2} : memref<1x2x64xf32>, !wm_tile.shared<128xi32>, !wm_tile.shared<64xf32>
    wm_tile.commit
    wm_tile.wait 0
    wm_tile.barrier
    %s = wm_tile.matmul %qt, %k0 {transpose_rhs} : !wm_tile.tile<16x32xbf16>, !wm_tile.shared<64x32xbf16> -> !wm_tile.tile<16x64xf32>
    %sc = wm_tile.score %s, %bs, %cand[%c0] count %n tau %t rows %i <all> {logit_scale = 0.25 : f32, bias_scale = 1.4427 : f32, causal, key_offset = 0} : !wm_tile.tile<16x64xf32>, !wm_tile.shared<64xf32>, !wm_tile.shared<128xi32>, !wm_tile.tile<16xf32>
    %m0 = wm_tile.splat 0xFF800000 : !wm_tile.tile<16xf32>
    %l0 = wm_tile.splat 0.0 : !wm_tile.tile<16xf32, partial>
    %o0 = wm_tile.splat 0.0 : !wm_tile.tile<16x32xf32>
    %p, %m, %l, %a = wm_tile.softmax_update %sc, %m0, %l0 : !wm_tile.tile<16x64xf32>, !wm_tile.tile<16xf32>, !wm_tile.tile<16xf32, partial>
    %o1 = wm_tile.scale_rows %o0, %a : !wm_tile.tile<16x32xf32>, !wm_tile.tile<16xf32>
    %pb = wm_tile.truncf %p : !wm_tile.tile<16x64xf32> -> !wm_tile.tile<16x64xbf16>
    %o2 = wm_tile.matmul %pb, %k0 acc %o1 : !wm_tile.tile<16x64xbf16>, !wm_tile.shared<64x32xbf16>, !wm_tile.tile<16x32xf32> -> !wm_tile.tile<16x32xf32>
    wm_tile.store_attention %o2, %m, %l into %oa[%b, %i, %h, %c0], %la[%b, %h, %i] {lse_scale = 0.6931 : f32} : !wm_tile.tile<16x32xf32>, !wm_tile.tile<16xf32>, !wm_tile.tile<16xf32, partial>, memref<1x64x4x32xbf16>, memref<1x4x64xf32>
  }
  return
}

// The residual of P's rounding: x - round(x), rounded.
// CHECK-LABEL: func.func @residual
// CHECK: %[[X:.*]] = memref.load
// CHECK-NEXT: %[[R:.*]] = arith.truncf %[[X]] : f32 to bf16
// CHECK-NEXT: %[[RX:.*]] = arith.extf %[[R]] : bf16 to f32
// CHECK-NEXT: %[[D:.*]] = arith.subf %[[X]], %[[RX]]
// CHECK-NEXT: arith.truncf %[[D]] : f32 to bf16
func.func @residual(%v: memref<64x32xbf16>, %out: memref<16x32xf32>) {
  wm_tile.program "r" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 16, tile_keys = 16, q_in_registers = false, wgmma = false> (%v, %out) : memref<64x32xbf16>, memref<16x32xf32> {
  ^bb0(%i: index, %va: memref<64x32xbf16>, %oa: memref<16x32xf32>):
    %c0 = arith.constant 0 : index
    %vs = wm_tile.alloc_shared : !wm_tile.shared<64x32xbf16>
    %p = wm_tile.splat 0.3 : !wm_tile.tile<16x64xf32>
    %lo = wm_tile.truncf %p {residual} : !wm_tile.tile<16x64xf32> -> !wm_tile.tile<16x64xbf16>
    %o0 = wm_tile.splat 0.0 : !wm_tile.tile<16x32xf32>
    %o = wm_tile.matmul %lo, %vs acc %o0 : !wm_tile.tile<16x64xbf16>, !wm_tile.shared<64x32xbf16>, !wm_tile.tile<16x32xf32> -> !wm_tile.tile<16x32xf32>
    wm_tile.store %o into %oa[%c0, %c0] {row_dim = 0, scale = 1.0 : f32} : !wm_tile.tile<16x32xf32>, memref<16x32xf32>
  }
  return
}
