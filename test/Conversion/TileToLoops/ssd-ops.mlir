// RUN: wm-opt %s --convert-wm-tile-to-loops | FileCheck %s
// The SSD scan's tile ops as CPU loops: discretize keeps a running sum (one
// carried f32) and saves dt' and ld; rotary rewrites the
// 16-bit tiles in place; the decay mask and the decay of rows take exp.

// CHECK-LABEL: func.func @scan
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32)
// CHECK: math.log1p
// CHECK: memref.store {{.*}} : memref<1x2x4x2x64xf32>
// CHECK: memref.store {{.*}} : memref<1x2x4x2x64xf32>
// CHECK: math.exp
// CHECK: memref.store {{.*}} : memref<1x2x4xf32>
// CHECK: memref.store {{.*}} : memref<64x32xbf16, strided
// CHECK: memref.store {{.*}} : memref<64x32xbf16, strided
// CHECK: arith.cmpi ule
// CHECK: math.exp
// CHECK: memref.store {{.*}} : memref<64x64xf32>
// skip_shared: only the rows r with 0 <= r + offset < 64 read x and D.
// CHECK-DAG: arith.cmpi sge
// CHECK-DAG: arith.cmpi slt
// CHECK: scf.if {{.*}} -> (f32)
// CHECK: memref.load {{.*}} : memref<64x32xbf16
// CHECK: memref.load {{.*}} : memref<2xf32>
// CHECK: } else {
// Rows before live_from keep acc.
// CHECK: scf.for {{.*}} -> (f32)
// CHECK: arith.cmpi slt
// CHECK: arith.select
// CHECK: memref.store {{.*}} : memref<64x32xf32>
// A scaled lhs: each element times its depth's factor, rounded to bf16.
// CHECK: scf.for {{.*}} -> (f32)
// CHECK: memref.load {{.*}} : memref<64xf32
// CHECK: arith.mulf
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK: memref.store {{.*}} : memref<32x32xf32>
// CHECK-NOT: wm_tile.
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
    %y = wm_tile.gate %s, %xt : !wm_tile.tile<64x32xf32>
    %cm8 = arith.constant -8 : index
    %k = wm_tile.skip_shared %y, %bs rows %cm8 skip %da[%c0] : !wm_tile.tile<64x32xf32>, !wm_tile.shared<64x32xbf16>, memref<2xf32>
    %sum = wm_tile.matmul %m, %bs acc %acc live_from %c64 : !wm_tile.tile<64x64xf32>, !wm_tile.shared<64x32xbf16>, !wm_tile.tile<64x32xf32> -> !wm_tile.tile<64x32xf32>
    %st = wm_tile.matmul %bs, %bs scaled %w[%c0] : !wm_tile.shared<64xf32> {transpose_lhs} : !wm_tile.shared<64x32xbf16>, !wm_tile.shared<64x32xbf16> -> !wm_tile.tile<32x32xf32>
  }
  return
}
