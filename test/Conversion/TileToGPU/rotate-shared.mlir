// RUN: wm-opt %s --convert-wm-tile-to-gpu | FileCheck %s
// rotate_shared on the GPU, R a multiple of 16: each thread rotates one
// 16-byte chunk of 8 dims and its partner R / 2 further, in place in shared
// memory. f32 tables are read 32 bytes at a time, 16-bit tables 16 bytes.

// CHECK-LABEL: gpu.func @rotate_f32
// CHECK: llvm.load {{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: llvm.store {{.*}} {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<3>
// CHECK-LABEL: gpu.func @rotate_bf16
// CHECK: llvm.load {{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// CHECK: llvm.bitcast {{.*}} : i32 to vector<2xbf16>
// CHECK: llvm.fpext {{.*}} : vector<2xbf16> to vector<2xf32>
// CHECK-NOT: llvm.load {{.*}} -> bf16
// CHECK: llvm.store {{.*}} {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<3>
func.func @rotate(%cos: memref<200x32xf32>, %sin: memref<200x32xf32>, %cos16: memref<200x32xbf16>, %sin16: memref<200x32xbf16>) {
  wm_tile.program "rotate_f32" grid [4] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%cos, %sin) : memref<200x32xf32>, memref<200x32xf32> {
  ^bb0(%i: index, %c: memref<200x32xf32>, %s: memref<200x32xf32>):
    %t = arith.muli %i, %i : index
    %bs = wm_tile.alloc_shared : !wm_tile.shared<64x32xbf16>
    wm_tile.rotate_shared %bs by %c, %s[%t] {row_dim = 0} : !wm_tile.shared<64x32xbf16>, memref<200x32xf32>
  }
  wm_tile.program "rotate_bf16" grid [4] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%cos16, %sin16) : memref<200x32xbf16>, memref<200x32xbf16> {
  ^bb0(%i: index, %c: memref<200x32xbf16>, %s: memref<200x32xbf16>):
    %t = arith.muli %i, %i : index
    %bs = wm_tile.alloc_shared : !wm_tile.shared<64x32xbf16>
    wm_tile.rotate_shared %bs by %c, %s[%t] {row_dim = 0} : !wm_tile.shared<64x32xbf16>, memref<200x32xbf16>
  }
  return
}
