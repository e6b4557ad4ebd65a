// RUN: wm-opt %s --convert-wm-tile-to-gpu | FileCheck %s
// Shared buffers of nonzero phases share bytes: phase 0 first, each phase
// from the offset after it. Here 64 + 2 x 4 KiB of phase 1 and one 4 KiB
// buffer of phase 2 take 64 + 8192 bytes, not 64 + 12288. min_ctas reaches
// the kernel as nvvm.minctasm.

// CHECK-LABEL: gpu.func @phases
// CHECK-SAME: nvvm.minctasm = 3 : i32
// CHECK-SAME: wm_tile.shared_bytes = 8256 : i64
// Phase 0 at word 0, phase 1 at words 16 and 16 + 1024, phase 2 at 16.
// CHECK: llvm.getelementptr %{{.*}}[%c0_i32] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i32
// CHECK: llvm.getelementptr %{{.*}}[%c16_i32] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i32
// CHECK: llvm.getelementptr %{{.*}}[%c1040_i32] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i32
// CHECK: llvm.getelementptr %{{.*}}[%c16_i32{{.*}}] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i32
func.func @phases(%x: memref<4096xf32>, %y: memref<4096xf32>) {
  wm_tile.program "phases" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false, min_ctas = 3> (%x, %y) : memref<4096xf32>, memref<4096xf32> {
  ^bb0(%i: index, %xa: memref<4096xf32>, %ya: memref<4096xf32>):
    %c0 = arith.constant 0 : index
    %v = wm_tile.alloc_shared : !wm_tile.shared<16xf32>
    %a = wm_tile.alloc_shared {phase = 1} : !wm_tile.shared<1024xf32>
    %b = wm_tile.alloc_shared {phase = 1} : !wm_tile.shared<1024xf32>
    %s = wm_tile.alloc_shared {phase = 2} : !wm_tile.shared<1024xf32>
    wm_tile.copy_async %xa[%c0] into %a {row_dim = 0 : i64} : memref<4096xf32>, <1024xf32>
    wm_tile.copy_async %xa[%c0] into %b {row_dim = 0 : i64} : memref<4096xf32>, <1024xf32>
    wm_tile.barrier
    wm_tile.copy_async %ya[%c0] into %s {row_dim = 0 : i64} : memref<4096xf32>, <1024xf32>
    %r = wm_tile.read %v[%c0] : !wm_tile.shared<16xf32> -> f32
  }
  return
}
