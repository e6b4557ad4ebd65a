// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu | FileCheck %s
// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-rows=128" | FileCheck %s --check-prefix=ROWS
// RUN: wm-opt %s --split-input-file --convert-wm-to-gpu="ssd-heads=4" | FileCheck %s --check-prefix=FOUR
// The chunk scan's automatic heads per CTA. From N = 128 on, two heads of a
// group share one 64-row CTA and its C B^T; with one head per group (G = H),
// or 128 rows asked for, one head of 128 rows.

// CHECK-LABEL: func.func @group_of_four
// CHECK: wm_tile.program "ssd_chunk_state" grid [4, 2, 1]
// CHECK: wm_tile.program "ssd_chunk_scan" grid [2, 4, 1] config <warps = 4, warp_rows = 16, stages = 1
// CHECK: wm_tile.matmul {{.*}} {transpose_rhs} : !wm_tile.shared<64x128xbf16>, <64x128xbf16> -> <64x64xf32>
// CHECK-COUNT-2: wm_tile.decay_mask
// ROWS-LABEL: func.func @group_of_four
// ROWS: wm_tile.program "ssd_chunk_scan" grid [4, 2, 1] config <warps = 4, warp_rows = 32, stages = 1
// ROWS-COUNT-1: wm_tile.decay_mask
// ROWS-NOT: wm_tile.decay_mask
// FOUR-LABEL: func.func @group_of_four
// FOUR: wm_tile.program "ssd_chunk_scan" grid [1, 4, 1] config <warps = 4, warp_rows = 16
// FOUR-COUNT-4: wm_tile.decay_mask
func.func @group_of_four(%in_x_buffer: memref<1x200x4x32xbf16>, %in_dt_buffer: memref<1x200x4xf32>, %in_a_buffer: memref<4xf32>, %in_b_buffer: memref<1x200x1x128xbf16>, %in_c_buffer: memref<1x200x1x128xbf16>, %out0: memref<1x200x4x32xbf16>, %out1: memref<1x4x32x128xf32>) attributes {llvm.emit_c_interface} {
  %in_x = bufferization.to_tensor %in_x_buffer restrict : memref<1x200x4x32xbf16> to tensor<1x200x4x32xbf16>
  %in_dt = bufferization.to_tensor %in_dt_buffer restrict : memref<1x200x4xf32> to tensor<1x200x4xf32>
  %in_a = bufferization.to_tensor %in_a_buffer restrict : memref<4xf32> to tensor<4xf32>
  %in_b = bufferization.to_tensor %in_b_buffer restrict : memref<1x200x1x128xbf16> to tensor<1x200x1x128xbf16>
  %in_c = bufferization.to_tensor %in_c_buffer restrict : memref<1x200x1x128xbf16> to tensor<1x200x1x128xbf16>
  %v1, %v2 = wm.ssd %in_x, %in_dt, %in_a, %in_b, %in_c {chunk_size = 128 : i64} : (tensor<1x200x4x32xbf16>, tensor<1x200x4xf32>, tensor<4xf32>, tensor<1x200x1x128xbf16>, tensor<1x200x1x128xbf16>) -> (tensor<1x200x4x32xbf16>, tensor<1x4x32x128xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<1x200x4x32xbf16>, memref<1x200x4x32xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<1x4x32x128xf32>, memref<1x4x32x128xf32>) -> ()
  return
}

// -----

// CHECK-LABEL: func.func @head_per_group
// ROWS-LABEL: func.func @head_per_group
// FOUR-LABEL: func.func @head_per_group
// FOUR: wm_tile.program "ssd_chunk_scan" grid [2, 2, 1] config <warps = 4, warp_rows = 32
// FOUR-COUNT-1: wm_tile.decay_mask
// FOUR-NOT: wm_tile.decay_mask
// CHECK: wm_tile.program "ssd_chunk_scan" grid [2, 2, 1] config <warps = 4, warp_rows = 32, stages = 1
// CHECK-COUNT-1: wm_tile.decay_mask
// CHECK-NOT: wm_tile.decay_mask
func.func @head_per_group(%in_x_buffer: memref<1x200x2x32xbf16>, %in_dt_buffer: memref<1x200x2xf32>, %in_a_buffer: memref<2xf32>, %in_b_buffer: memref<1x200x2x128xbf16>, %in_c_buffer: memref<1x200x2x128xbf16>, %out0: memref<1x200x2x32xbf16>, %out1: memref<1x2x32x128xf32>) attributes {llvm.emit_c_interface} {
  %in_x = bufferization.to_tensor %in_x_buffer restrict : memref<1x200x2x32xbf16> to tensor<1x200x2x32xbf16>
  %in_dt = bufferization.to_tensor %in_dt_buffer restrict : memref<1x200x2xf32> to tensor<1x200x2xf32>
  %in_a = bufferization.to_tensor %in_a_buffer restrict : memref<2xf32> to tensor<2xf32>
  %in_b = bufferization.to_tensor %in_b_buffer restrict : memref<1x200x2x128xbf16> to tensor<1x200x2x128xbf16>
  %in_c = bufferization.to_tensor %in_c_buffer restrict : memref<1x200x2x128xbf16> to tensor<1x200x2x128xbf16>
  %v1, %v2 = wm.ssd %in_x, %in_dt, %in_a, %in_b, %in_c {chunk_size = 128 : i64} : (tensor<1x200x2x32xbf16>, tensor<1x200x2xf32>, tensor<2xf32>, tensor<1x200x2x128xbf16>, tensor<1x200x2x128xbf16>) -> (tensor<1x200x2x32xbf16>, tensor<1x2x32x128xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<1x200x2x32xbf16>, memref<1x200x2x32xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<1x2x32x128xf32>, memref<1x2x32x128xf32>) -> ()
  return
}
