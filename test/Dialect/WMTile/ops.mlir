// RUN: wm-opt %s | wm-opt | FileCheck %s
// Every wm_tile op prints and parses back.

// CHECK-LABEL: func.func @program
// CHECK: wm_tile.program "k" grid [2, 1, 4] config <warps = 4, warp_rows = 16, stages = 2, candidates = 128, tile_keys = 64, q_in_registers = true, wgmma = false>
// CHECK: wm_tile.thresholds {{.*}} {nan_as_inf}
// CHECK: wm_tile.load {{.*}} {row_dim = 1 : i64} : memref<1x64x4x32xbf16> -> <16x32xbf16>
// CHECK: wm_tile.compact {{.*}} {round = 64 : i64}
// CHECK: wm_tile.gather_async
// CHECK: wm_tile.wait 1
// CHECK: wm_tile.matmul {{.*}} {transpose_rhs}
// CHECK: wm_tile.score {{.*}} <all> {{{.*}}causal{{.*}}key_offset = 0
// CHECK: wm_tile.score {{.*}} tau %{{.*}} tau_max %{{.*}} rows %{{.*}} <bias>
// CHECK: wm_tile.softmax_update
// CHECK: wm_tile.truncf {{.*}} : <16x64xf32> -> <16x64xbf16>
// CHECK: wm_tile.scale_rows
// CHECK: wm_tile.matmul {{.*}} acc
// CHECK: wm_tile.store_attention
func.func @program(%q: memref<1x64x4x32xbf16>, %k: memref<1x64x2x32xbf16>, %bias: memref<1x2x64xf32>, %tau: memref<1x2x64xf32>, %out: memref<1x64x4x32xbf16>, %lse: memref<1x4x64xf32>) {
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
    wm_tile.commit
    wm_tile.wait 1
    wm_tile.barrier
    %key = wm_tile.read %cand[%c0] : !wm_tile.shared<128xi32> -> i32
    %s = wm_tile.matmul %qt, %k0 {transpose_rhs} : !wm_tile.tile<16x32xbf16>, !wm_tile.shared<64x32xbf16> -> !wm_tile.tile<16x64xf32>
    %sc = wm_tile.score %s, %bs, %cand[%c0] count %n tau %t rows %i <all> {logit_scale = 0.25 : f32, bias_scale = 1.4427 : f32, causal, key_offset = 0} : !wm_tile.tile<16x64xf32>, !wm_tile.shared<64xf32>, !wm_tile.shared<128xi32>, !wm_tile.tile<16xf32>
    %sb = wm_tile.score %s, %bs, %cand[%c0] count %n tau %t tau_max %hi rows %i <bias> {logit_scale = 0.25 : f32, bias_scale = 1.4427 : f32, key_offset = 0} : !wm_tile.tile<16x64xf32>, !wm_tile.shared<64xf32>, !wm_tile.shared<128xi32>, !wm_tile.tile<16xf32>
    %m0 = wm_tile.splat 0xFF800000 : !wm_tile.tile<16xf32>
    %l0 = wm_tile.splat 0.0 : !wm_tile.tile<16xf32, partial>
    %o0 = wm_tile.splat 0.0 : !wm_tile.tile<16x32xf32>
    %p, %m, %l, %a = wm_tile.softmax_update %sc, %m0, %l0 : !wm_tile.tile<16x64xf32>, !wm_tile.tile<16xf32>, !wm_tile.tile<16xf32, partial>
    %pb = wm_tile.truncf %p : !wm_tile.tile<16x64xf32> -> !wm_tile.tile<16x64xbf16>
    %o1 = wm_tile.scale_rows %o0, %a : !wm_tile.tile<16x32xf32>, !wm_tile.tile<16xf32>
    %vt = wm_tile.stage %ks[%c0] : !wm_tile.shared<2x64x32xbf16> -> !wm_tile.shared<64x32xbf16>
    %o2 = wm_tile.matmul %pb, %vt acc %o1 : !wm_tile.tile<16x64xbf16>, !wm_tile.shared<64x32xbf16>, !wm_tile.tile<16x32xf32> -> !wm_tile.tile<16x32xf32>
    wm_tile.store_attention %o2, %m, %l into %oa[%b, %i, %h, %c0], %la[%b, %h, %i] {lse_scale = 0.6931 : f32} : !wm_tile.tile<16x32xf32>, !wm_tile.tile<16xf32>, !wm_tile.tile<16xf32, partial>, memref<1x64x4x32xbf16>, memref<1x4x64xf32>
  }
  return
}

// CHECK-LABEL: func.func @selection
// CHECK: %{{.*}}:4 = wm_tile.radix_select %{{.*}}[%{{.*}}] end %{{.*}} ranks(%{{.*}}, %{{.*}}) scratch %{{.*}} : memref<2x300xf32>, <4116xi32> -> i32, i32, i32, i32
// CHECK: wm_tile.sort %{{.*}} : <1024xi64>
// CHECK: scf.parallel
// CHECK: wm_tile.atomic_add %{{.*}}, %{{.*}}[%{{.*}}] : <2xi32>
// CHECK: wm_tile.write %{{.*}}, %{{.*}}[%{{.*}}] : i64, <1024xi64>
func.func @selection(%bias: memref<2x300xf32>) {
  wm_tile.program "s" grid [2] config <warps = 8, warp_rows = 32, stages = 1, candidates = 1024, tile_keys = 256, q_in_registers = false, wgmma = false> (%bias) : memref<2x300xf32> {
  ^bb0(%g: index, %x: memref<2x300xf32>):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c300 = arith.constant 300 : index
    %r = arith.constant 5 : i32
    %scratch = wm_tile.alloc_shared : <4116xi32>
    %counter = wm_tile.alloc_shared : <2xi32>
    %entries = wm_tile.alloc_shared : <1024xi64>
    %found:4 = wm_tile.radix_select %x[%g] end %c300 ranks(%r, %r) scratch %scratch : memref<2x300xf32>, <4116xi32> -> i32, i32, i32, i32
    wm_tile.sort %entries : <1024xi64>
    scf.parallel (%j) = (%c0) to (%c300) step (%c1) {
      %slot = wm_tile.atomic_add %r, %counter[%c0] : <2xi32>
      %e = arith.extui %slot : i32 to i64
      wm_tile.write %e, %entries[%j] : i64, <1024xi64>
      scf.reduce
    }
  }
  return
}
