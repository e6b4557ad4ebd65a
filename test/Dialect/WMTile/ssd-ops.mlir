// RUN: wm-opt %s | wm-opt | FileCheck %s
// The tile ops of the chunked SSD scan print and parse back.

// CHECK-LABEL: func.func @scan
// CHECK: wm_tile.discretize {{.*}} a %{{.*}} bias %{{.*}} count %{{.*}} into %{{.*}}, %{{.*}} weights %{{.*}} : !wm_tile.shared<64xf32> total {{.*}} : memref<1x2x4xf32> save {{.*}} : memref<1x2x4x2x64xf32> {dt_max = 1.000000e-01 : f32, dt_min = 1.000000e-03 : f32, row_dim = 1 : i64, softplus}
// CHECK: wm_tile.rotate_shared {{.*}} {row_dim = 0 : i64} : <64x32xbf16>, memref<200x16xf32>
// CHECK: wm_tile.decay_mask {{.*}} rows {{.*}} cols {{.*}} : <64x64xf32>, <64xf32>
// CHECK: wm_tile.decay_rows {{.*}} : <64xf32> -> <64xf32>
// CHECK: wm_tile.scale_add {{.*}} : <64x32xf32>
// CHECK: wm_tile.load {{.*}} : memref<1x200x2x32xbf16> -> <64x32xf32>
// CHECK: wm_tile.gate %{{[0-9]+}}, %{{[0-9]+}} : <64x32xf32>
// CHECK: wm_tile.skip_shared {{.*}}, {{.*}} rows {{.*}} skip {{.*}}[{{.*}}] : <64x32xf32>, <64x32xbf16>, memref<2xf32>
// CHECK: wm_tile.matmul {{.*}}, {{.*}} acc {{.*}} live_from %{{.*}} : !wm_tile.tile<64x64xf32>, <64x32xbf16>, !wm_tile.tile<64x32xf32> -> <64x32xf32>
// CHECK: wm_tile.matmul {{.*}}, {{.*}} scaled {{.*}}[{{.*}}] : !wm_tile.shared<64xf32> {transpose_lhs} : !wm_tile.shared<64x32xbf16>, <64x32xbf16> -> <32x32xf32>
func.func @scan(%dt: memref<1x200x2xf32>, %tot: memref<1x2x4xf32>, %save: memref<1x2x4x2x64xf32>, %cos: memref<200x16xf32>, %x: memref<1x200x2x32xbf16>, %d: memref<2xf32>) {
  wm_tile.program "k" grid [4] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%dt, %tot, %save, %cos, %x, %d) : memref<1x200x2xf32>, memref<1x2x4xf32>, memref<1x2x4x2x64xf32>, memref<200x16xf32>, memref<1x200x2x32xbf16>, memref<2xf32> {
  ^bb0(%i: index, %dta: memref<1x200x2xf32>, %ta: memref<1x2x4xf32>, %sa: memref<1x2x4x2x64xf32>, %ca: memref<200x16xf32>, %xa: memref<1x200x2x32xbf16>, %da: memref<2xf32>):
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %a = arith.constant -1.0 : f32
    %steps = wm_tile.alloc_shared : !wm_tile.shared<64xf32>
    %ld = wm_tile.alloc_shared : !wm_tile.shared<64xf32>
    %w = wm_tile.alloc_shared : !wm_tile.shared<64xf32>
    %bs = wm_tile.alloc_shared : !wm_tile.shared<64x32xbf16>
    wm_tile.discretize %dta[%c0, %i, %c0] a %a bias %a count %c64 into %steps, %ld weights %w : !wm_tile.shared<64xf32> total %ta[%c0, %c0, %i] : memref<1x2x4xf32> save %sa[%c0, %c0, %i] : memref<1x2x4x2x64xf32> {row_dim = 1, softplus, dt_min = 0.001 : f32, dt_max = 0.1 : f32} : memref<1x200x2xf32>, !wm_tile.shared<64xf32>
    wm_tile.rotate_shared %bs by %ca, %ca[%i] {row_dim = 0} : !wm_tile.shared<64x32xbf16>, memref<200x16xf32>
    %l = wm_tile.splat 1.0 : !wm_tile.tile<64x64xf32>
    %m = wm_tile.decay_mask %l, %ld, %steps rows %c0 cols %c0 : !wm_tile.tile<64x64xf32>, !wm_tile.shared<64xf32>
    %r = wm_tile.decay_rows %ld rows %c0 : !wm_tile.shared<64xf32> -> !wm_tile.tile<64xf32>
    %acc = wm_tile.splat 0.0 : !wm_tile.tile<64x32xf32>
    %f = arith.constant 0.5 : f32
    %s = wm_tile.scale_add %acc, %f, %acc : !wm_tile.tile<64x32xf32>
    %xt = wm_tile.load %xa[%c0, %i, %c0, %c0] {row_dim = 1} : memref<1x200x2x32xbf16> -> !wm_tile.tile<64x32xf32>
    %g = wm_tile.gate %s, %xt : !wm_tile.tile<64x32xf32>
    %k = wm_tile.skip_shared %s, %bs rows %c0 skip %da[%c0] : !wm_tile.tile<64x32xf32>, !wm_tile.shared<64x32xbf16>, memref<2xf32>
    %sum = wm_tile.matmul %m, %bs acc %acc live_from %c64 : !wm_tile.tile<64x64xf32>, !wm_tile.shared<64x32xbf16>, !wm_tile.tile<64x32xf32> -> !wm_tile.tile<64x32xf32>
    %st = wm_tile.matmul %bs, %bs scaled %w[%c0] : !wm_tile.shared<64xf32> {transpose_lhs} : !wm_tile.shared<64x32xbf16>, !wm_tile.shared<64x32xbf16> -> !wm_tile.tile<32x32xf32>
  }
  return
}
