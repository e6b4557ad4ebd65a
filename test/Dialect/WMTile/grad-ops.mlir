// RUN: wm-opt %s | wm-opt | FileCheck %s
// The tile ops of the DMA backward print and parse back.

// CHECK-LABEL: func.func @backward
// CHECK: wm_tile.load {{.*}} {row_dim = 2 : i64} : memref<1x4x64xf32> -> <16xf32>
// CHECK: wm_tile.probabilities {{.*}} rows %{{.*}} end %{{.*}} {lse_scale = 1.44269502 : f32}
// CHECK: wm_tile.row_dot {{.*}} acc
// CHECK: wm_tile.softmax_grad
// CHECK: wm_tile.store_shared {{.*}} : <16x64xf32>, <16x64xbf16>
// CHECK: wm_tile.matmul {{.*}} {transpose_lhs} : !wm_tile.shared<16x64xbf16>, <16x32xbf16> -> <64x32xf32>
// CHECK: wm_tile.scatter_add {{.*}} rows %{{.*}}[%{{.*}}] count %{{.*}} {row_dim = 1 : i64, scale = 1.250000e-01 : f32}
// CHECK: wm_tile.scatter_column_sums {{.*}} keys
// CHECK: wm_tile.store {{.*}} {row_dim = 1 : i64, scale = 1.250000e-01 : f32}
func.func @backward(%lse: memref<1x4x64xf32>, %dk: memref<1x64x2x32xf32>, %dbias: memref<1x2x64xf32>, %dq: memref<1x64x4x32xbf16>) {
  wm_tile.program "k" grid [4] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%lse, %dk, %dbias, %dq) : memref<1x4x64xf32>, memref<1x64x2x32xf32>, memref<1x2x64xf32>, memref<1x64x4x32xbf16> {
  ^bb0(%i: index, %la: memref<1x4x64xf32>, %dka: memref<1x64x2x32xf32>, %dba: memref<1x2x64xf32>, %dqa: memref<1x64x4x32xbf16>):
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %cand = wm_tile.alloc_shared : !wm_tile.shared<64xi32>
    %ps = wm_tile.alloc_shared : !wm_tile.shared<16x64xbf16>
    %qs = wm_tile.alloc_shared : !wm_tile.shared<16x32xbf16>
    %l = wm_tile.load %la[%c0, %c0, %i] {row_dim = 2} : memref<1x4x64xf32> -> !wm_tile.tile<16xf32>
    %s = wm_tile.splat 0.0 : !wm_tile.tile<16x64xf32>
    %z = wm_tile.splat 0.0 : !wm_tile.tile<16xf32>
    %p = wm_tile.probabilities %s, %l rows %i end %c64 {lse_scale = 1.44269502 : f32} : !wm_tile.tile<16x64xf32>, !wm_tile.tile<16xf32>
    %dr = wm_tile.row_dot %p, %s acc %z : !wm_tile.tile<16x64xf32>, !wm_tile.tile<16xf32>
    %ds = wm_tile.softmax_grad %p, %s, %dr : !wm_tile.tile<16x64xf32>, !wm_tile.tile<16xf32>
    wm_tile.store_shared %ds into %ps : !wm_tile.tile<16x64xf32>, !wm_tile.shared<16x64xbf16>
    wm_tile.barrier
    %dkt = wm_tile.matmul %ps, %qs {transpose_lhs} : !wm_tile.shared<16x64xbf16>, !wm_tile.shared<16x32xbf16> -> !wm_tile.tile<64x32xf32>
    wm_tile.scatter_add %dkt, %dka[%c0, %c0, %c0] rows %cand[%c0] count %c64 {row_dim = 1, scale = 0.125 : f32} : !wm_tile.tile<64x32xf32>, memref<1x64x2x32xf32>, !wm_tile.shared<64xi32>
    wm_tile.scatter_column_sums %ds, %dba[%c0, %c0] keys %cand[%c0] count %c64 : !wm_tile.tile<16x64xf32>, memref<1x2x64xf32>, !wm_tile.shared<64xi32>
    %dqt = wm_tile.splat 0.0 : !wm_tile.tile<16x32xf32>
    wm_tile.store %dqt into %dqa[%c0, %i, %c0, %c0] {row_dim = 1, scale = 0.125 : f32} : !wm_tile.tile<16x32xf32>, memref<1x64x4x32xbf16>
  }
  return
}
