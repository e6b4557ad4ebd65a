// RUN: wm-opt %s --convert-wm-to-gpu="ssd-chain-pieces=3" | FileCheck %s
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-chain-pieces=2" | FileCheck %s --check-prefix=TWO
// RUN: wm-opt %s --convert-wm-to-gpu | FileCheck %s --check-prefix=ONE
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-chain-pieces=2" --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=GPU
// RUN: not wm-opt %s --convert-wm-to-gpu="ssd-chain-pieces=17" 2>&1 | FileCheck %s --check-prefix=BAD
// The state chain in pieces, where asked for (one by default): each head's
// 3 chunks (T = 300 in chunks of 128) in 3 pieces of one chunk. Each piece after the
// first starts from zero (h0's rows past P: zeros) and stores its last
// state as the piece's final state (B, pieces, H, P, N); ssd_state_fix, one
// instance per piece after the first, then adds exp(totals since the piece's
// start) E_q to the states entering its chunks, and the last to the final
// state.

// CHECK-LABEL: func.func @many_heads
// CHECK: %[[FINALS:.*]] = memref.alloc() : memref<2x3x64x64x128xf32>
// CHECK: wm_tile.program "ssd_state_chain" grid [3, 64, 2]
// CHECK: wm_tile.store {{.*}} : <64x128xf32>, memref<2x3x64x64x128xf32>
// CHECK: wm_tile.program "ssd_state_fix" grid [2, 64, 2] config <warps = 4, warp_rows = 16, stages = 1
// CHECK-SAME: (%[[FINALS]],
// E_1 = F_0, then E_{q+1} = exp(piece q's totals) E_q + F_q.
// CHECK: wm_tile.load {{.*}} : memref<2x3x64x64x128xf32> -> <64x128xf32>
// CHECK: scf.for {{.*}} -> (!wm_tile.tile<64x128xf32>)
// CHECK: scf.for {{.*}} -> (f32)
// CHECK: math.exp
// CHECK: wm_tile.scale_add
// The piece's entering states fixed in place, the decay carried along.
// CHECK: scf.for {{.*}} -> (f32)
// CHECK: wm_tile.load {{.*}} : memref<2x3x64x64x128xbf16> -> <64x128xf32>
// CHECK: wm_tile.scale_add
// CHECK: wm_tile.store {{.*}} : <64x128xf32>, memref<2x3x64x64x128xbf16>
// CHECK: math.exp
// CHECK: arith.mulf
// The last piece's instance: the final state.
// CHECK: scf.if
// CHECK: wm_tile.scale_add
// CHECK: wm_tile.store {{.*}} : <64x128xf32>, memref<2x64x64x128xf32>
// CHECK: wm_tile.program "ssd_chunk_scan"

// Two pieces of 2 and 1 chunks: one fix-up instance per head, for chunk 2
// and the final state.
// TWO: memref.alloc() : memref<2x2x64x64x128xf32>
// TWO: wm_tile.program "ssd_state_chain" grid [2, 64, 2]
// TWO: wm_tile.program "ssd_state_fix" grid [1, 64, 2]

// By default one piece.
// ONE: wm_tile.program "ssd_state_chain" grid [1, 64, 2]
// ONE-NOT: ssd_state_fix
// ONE: wm_tile.program "ssd_chunk_scan"

// GPU: gpu.func @ssd_state_fix
// GPU-SAME: known_block_size = array<i32: 128, 1, 1>
// GPU-NOT: {{wm_tile\.[a-z_]+ %|= wm_tile\.}}
// GPU: gpu.return

// BAD: ssd-chain-pieces must be in [0, 16] (0: automatic), got 17
func.func @many_heads(%in_x_buffer: memref<2x300x64x64xbf16>, %in_dt_buffer: memref<2x300x64xf32>, %in_a_buffer: memref<64xf32>, %in_b_buffer: memref<2x300x1x128xbf16>, %in_c_buffer: memref<2x300x1x128xbf16>, %out0: memref<2x300x64x64xbf16>, %out1: memref<2x64x64x128xf32>) attributes {llvm.emit_c_interface} {
  %in_x = bufferization.to_tensor %in_x_buffer restrict : memref<2x300x64x64xbf16> to tensor<2x300x64x64xbf16>
  %in_dt = bufferization.to_tensor %in_dt_buffer restrict : memref<2x300x64xf32> to tensor<2x300x64xf32>
  %in_a = bufferization.to_tensor %in_a_buffer restrict : memref<64xf32> to tensor<64xf32>
  %in_b = bufferization.to_tensor %in_b_buffer restrict : memref<2x300x1x128xbf16> to tensor<2x300x1x128xbf16>
  %in_c = bufferization.to_tensor %in_c_buffer restrict : memref<2x300x1x128xbf16> to tensor<2x300x1x128xbf16>
  %v1, %v2 = wm.ssd %in_x, %in_dt, %in_a, %in_b, %in_c {chunk_size = 128 : i64} : (tensor<2x300x64x64xbf16>, tensor<2x300x64xf32>, tensor<64xf32>, tensor<2x300x1x128xbf16>, tensor<2x300x1x128xbf16>) -> (tensor<2x300x64x64xbf16>, tensor<2x64x64x128xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<2x300x64x64xbf16>, memref<2x300x64x64xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<2x64x64x128xf32>, memref<2x64x64x128xf32>) -> ()
  return
}
