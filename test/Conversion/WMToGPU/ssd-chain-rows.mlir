// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu | FileCheck %s
// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-chain-rows=16" | FileCheck %s --check-prefix=SIXTEEN
// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-chain-rows=-1" | FileCheck %s --check-prefix=OFF
// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=GPU
// RUN: not wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-chain-rows=48" 2>&1 | FileCheck %s --check-prefix=BAD
// The state chain: one program that carries each (b, h, P block) state
// through the sequence's tiles in one pipeline, in place of the chunk states
// and the state passing. Automatic from B H = 128 on, in 64-row (4-warp)
// CTAs; asked rows are brought to a divisor of P. T = 300 in chunks of 128:
// 2 + 2 + 1 tiles of 64 steps. (ssd-chain-pieces.mlir has the chain in
// pieces.)

// CHECK-LABEL: func.func @many_heads
// CHECK-NOT: ssd_chunk_state
// CHECK: wm_tile.program "ssd_state_chain" grid [1, 64, 2] config <warps = 4, warp_rows = 16, stages = 2
// CHECK: scf.for {{.*}} to %c5 {{.*}} -> (!wm_tile.tile<64x128xf32>)
// At a chunk's first tile, while the next tile's copies fly: the entering
// state, then the chunk's dt', ld and weights.
// CHECK: scf.if
// CHECK: wm_tile.store {{.*}} : <64x128xf32>, memref<2x3x64x64x128xbf16>
// CHECK: wm_tile.discretize
// CHECK: wm_tile.wait 1
// The state scaled by the chunk's decay at its first tile (else by 1).
// CHECK: wm_tile.read
// CHECK: arith.select
// CHECK: wm_tile.scale_add
// CHECK: wm_tile.matmul {{.*}} scaled {{.*}} {transpose_lhs} : !wm_tile.shared<64x64xbf16>, <64x128xbf16>, !wm_tile.tile<64x128xf32> -> <64x128xf32>
// CHECK: wm_tile.store {{.*}} : <64x128xf32>, memref<2x64x64x128xf32>
// CHECK-NOT: ssd_state_passing
// CHECK: wm_tile.program "ssd_chunk_scan"
// SIXTEEN-LABEL: func.func @many_heads
// SIXTEEN: wm_tile.program "ssd_state_chain" grid [4, 64, 2] config <warps = 1, warp_rows = 16
// OFF-LABEL: func.func @many_heads
// OFF: wm_tile.program "ssd_chunk_state"
// OFF: wm_tile.program "ssd_state_passing"
// GPU-LABEL: gpu.func @ssd_state_chain
// GPU-SAME: known_block_size = array<i32: 128, 1, 1>
// GPU-NOT: {{wm_tile\.[a-z_]+ %|= wm_tile\.}}
// GPU: gpu.return
// BAD: ssd-chain-rows must be -1 (no chain), 0 (automatic), 16, 32, 64 or 128, got 48
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

// -----

// CHECK-LABEL: func.func @few_heads
// CHECK: wm_tile.program "ssd_chunk_state"
// CHECK: wm_tile.program "ssd_state_passing"
// SIXTEEN-LABEL: func.func @few_heads
// SIXTEEN: wm_tile.program "ssd_state_chain" grid [1, 4, 1] config <warps = 1, warp_rows = 16
// SIXTEEN-NOT: ssd_state_fix
func.func @few_heads(%in_x_buffer: memref<1x200x4x16xbf16>, %in_dt_buffer: memref<1x200x4xf32>, %in_a_buffer: memref<4xf32>, %in_b_buffer: memref<1x200x1x16xbf16>, %in_c_buffer: memref<1x200x1x16xbf16>, %out0: memref<1x200x4x16xbf16>, %out1: memref<1x4x16x16xf32>) attributes {llvm.emit_c_interface} {
  %in_x = bufferization.to_tensor %in_x_buffer restrict : memref<1x200x4x16xbf16> to tensor<1x200x4x16xbf16>
  %in_dt = bufferization.to_tensor %in_dt_buffer restrict : memref<1x200x4xf32> to tensor<1x200x4xf32>
  %in_a = bufferization.to_tensor %in_a_buffer restrict : memref<4xf32> to tensor<4xf32>
  %in_b = bufferization.to_tensor %in_b_buffer restrict : memref<1x200x1x16xbf16> to tensor<1x200x1x16xbf16>
  %in_c = bufferization.to_tensor %in_c_buffer restrict : memref<1x200x1x16xbf16> to tensor<1x200x1x16xbf16>
  %v1, %v2 = wm.ssd %in_x, %in_dt, %in_a, %in_b, %in_c {chunk_size = 64 : i64} : (tensor<1x200x4x16xbf16>, tensor<1x200x4xf32>, tensor<4xf32>, tensor<1x200x1x16xbf16>, tensor<1x200x1x16xbf16>) -> (tensor<1x200x4x16xbf16>, tensor<1x4x16x16xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<1x200x4x16xbf16>, memref<1x200x4x16xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<1x4x16x16xf32>, memref<1x4x16x16xf32>) -> ()
  return
}
