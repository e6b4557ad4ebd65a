// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-overlap=false" | FileCheck %s
// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu | FileCheck %s --check-prefix=C256
// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-chunk=256" | FileCheck %s --check-prefix=C256
// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-chunk=64" | FileCheck %s --check-prefix=C64
// RUN: not wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-chunk=96" 2>&1 | FileCheck %s --check-prefix=BAD
// The programs' steps per chunk (every length gives the same result): by
// default the op's chunk_size, at most 128 where the state chain runs
// (B H = 128 here) without the overlapping scan; ssd-chunk sets it. The saved dt' and ld (B, H, chunks,
// 2, chunk) and the entering states (B, chunks, H, P, N) show it: T = 300
// in 3 chunks of 128, 2 of 256 or 5 of 64.

// CHECK-LABEL: func.func @many_heads
// CHECK: memref.alloc() : memref<2x3x64x64x128xbf16>
// CHECK: memref.alloc() : memref<2x64x3x2x128xf32>
// CHECK: wm_tile.program "ssd_state_chain"
// CHECK: wm_tile.program "ssd_chunk_scan" grid [32, 6, 2]
// C256-LABEL: func.func @many_heads
// C256: memref.alloc() : memref<2x2x64x64x128xbf16>
// C256: memref.alloc() : memref<2x64x2x2x256xf32>
// C256: wm_tile.program "ssd_chunk_scan" grid [8, 32, 2]
// C64-LABEL: func.func @many_heads
// C64: memref.alloc() : memref<2x5x64x64x128xbf16>
// C64: memref.alloc() : memref<2x64x5x2x64xf32>
// C64: wm_tile.program "ssd_chunk_scan" grid [5, 32, 2]
// BAD: ssd-chunk must be 0 (automatic), 64, 128 or 256, got 96
func.func @many_heads(%in_x_buffer: memref<2x300x64x64xbf16>, %in_dt_buffer: memref<2x300x64xf32>, %in_a_buffer: memref<64xf32>, %in_b_buffer: memref<2x300x1x128xbf16>, %in_c_buffer: memref<2x300x1x128xbf16>, %out0: memref<2x300x64x64xbf16>, %out1: memref<2x64x64x128xf32>) attributes {llvm.emit_c_interface} {
  %in_x = bufferization.to_tensor %in_x_buffer restrict : memref<2x300x64x64xbf16> to tensor<2x300x64x64xbf16>
  %in_dt = bufferization.to_tensor %in_dt_buffer restrict : memref<2x300x64xf32> to tensor<2x300x64xf32>
  %in_a = bufferization.to_tensor %in_a_buffer restrict : memref<64xf32> to tensor<64xf32>
  %in_b = bufferization.to_tensor %in_b_buffer restrict : memref<2x300x1x128xbf16> to tensor<2x300x1x128xbf16>
  %in_c = bufferization.to_tensor %in_c_buffer restrict : memref<2x300x1x128xbf16> to tensor<2x300x1x128xbf16>
  %v1, %v2 = wm.ssd %in_x, %in_dt, %in_a, %in_b, %in_c {chunk_size = 256 : i64} : (tensor<2x300x64x64xbf16>, tensor<2x300x64xf32>, tensor<64xf32>, tensor<2x300x1x128xbf16>, tensor<2x300x1x128xbf16>) -> (tensor<2x300x64x64xbf16>, tensor<2x64x64x128xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<2x300x64x64xbf16>, memref<2x300x64x64xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<2x64x64x128xf32>, memref<2x64x64x128xf32>) -> ()
  return
}

// -----

// Without the chain (B H = 4) the op's 256 steps stay.
// CHECK-LABEL: func.func @few_heads
// CHECK: memref.alloc() : memref<1x4x1x2x256xf32>
// CHECK: wm_tile.program "ssd_chunk_state"
// C64-LABEL: func.func @few_heads
// C64: memref.alloc() : memref<1x4x4x2x64xf32>
func.func @few_heads(%in_x_buffer: memref<1x200x4x16xbf16>, %in_dt_buffer: memref<1x200x4xf32>, %in_a_buffer: memref<4xf32>, %in_b_buffer: memref<1x200x1x16xbf16>, %in_c_buffer: memref<1x200x1x16xbf16>, %out0: memref<1x200x4x16xbf16>, %out1: memref<1x4x16x16xf32>) attributes {llvm.emit_c_interface} {
  %in_x = bufferization.to_tensor %in_x_buffer restrict : memref<1x200x4x16xbf16> to tensor<1x200x4x16xbf16>
  %in_dt = bufferization.to_tensor %in_dt_buffer restrict : memref<1x200x4xf32> to tensor<1x200x4xf32>
  %in_a = bufferization.to_tensor %in_a_buffer restrict : memref<4xf32> to tensor<4xf32>
  %in_b = bufferization.to_tensor %in_b_buffer restrict : memref<1x200x1x16xbf16> to tensor<1x200x1x16xbf16>
  %in_c = bufferization.to_tensor %in_c_buffer restrict : memref<1x200x1x16xbf16> to tensor<1x200x1x16xbf16>
  %v1, %v2 = wm.ssd %in_x, %in_dt, %in_a, %in_b, %in_c {chunk_size = 256 : i64} : (tensor<1x200x4x16xbf16>, tensor<1x200x4xf32>, tensor<4xf32>, tensor<1x200x1x16xbf16>, tensor<1x200x1x16xbf16>) -> (tensor<1x200x4x16xbf16>, tensor<1x4x16x16xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<1x200x4x16xbf16>, memref<1x200x4x16xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<1x4x16x16xf32>, memref<1x4x16x16xf32>) -> ()
  return
}
