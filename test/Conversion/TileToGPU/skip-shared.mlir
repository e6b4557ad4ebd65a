// RUN: wm-opt %s --convert-wm-tile-to-gpu | FileCheck %s
// skip_shared on the GPU: per row of the lane one branch (warp-uniform for
// offsets that are multiples of 8) reads the row's 32-bit column pairs of x
// from shared memory and adds D x to the accumulator's values.

// CHECK-LABEL: gpu.func @skip_head
// D per head, loaded once.
// CHECK: memref.load {{.*}} : memref<2xf32>
// CHECK-DAG: arith.cmpi slt
// CHECK-DAG: arith.cmpi sge
// CHECK: scf.if {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: llvm.load {{.*}} : !llvm.ptr<3> -> i32
// CHECK: llvm.bitcast {{.*}} : i32 to vector<2xbf16>
// CHECK: llvm.fpext {{.*}} : vector<2xbf16> to vector<2xf32>
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: } else {
func.func @skip(%d: memref<2xf32>, %out: memref<64x32xf32>) {
  wm_tile.program "skip_head" grid [4] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%d, %out) : memref<2xf32>, memref<64x32xf32> {
  ^bb0(%i: index, %da: memref<2xf32>, %o: memref<64x32xf32>):
    %c0 = arith.constant 0 : index
    %off = arith.muli %i, %i : index
    %x = wm_tile.alloc_shared : !wm_tile.shared<64x32xbf16>
    %acc = wm_tile.splat 0.0 : !wm_tile.tile<64x32xf32>
    %y = wm_tile.skip_shared %acc, %x rows %off skip %da[%c0] : !wm_tile.tile<64x32xf32>, !wm_tile.shared<64x32xbf16>, memref<2xf32>
    wm_tile.store %y into %o[%c0, %c0] {row_dim = 0, scale = 1.0 : f32} : !wm_tile.tile<64x32xf32>, memref<64x32xf32>
  }
  return
}
