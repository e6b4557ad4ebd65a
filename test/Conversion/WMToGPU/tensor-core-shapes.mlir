// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu --convert-wm-tile-to-gpu | FileCheck %s
// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu="mma-warps=8 mma-warp-rows=32" --convert-wm-tile-to-gpu --verify-diagnostics

// Tensor-core head dims whose D / 8 chunks a row do not divide the CTA's
// threads (96, 160, 192, 224): a thread's chunk column moves from copy step
// to step. At step 5 of 6, thread t copies chunk item t + 5 * 128 of the
// 64 x 12 tile: row (t + 640) / 12, column (t + 640) % 12.
// The CTA the heuristics chose is an attribute of the kernel.
// CHECK-LABEL: gpu.func @dma_attention_mma
// CHECK-SAME: wm_tile.config = #wm_tile.config<warps = 4, warp_rows = 32, stages = 1, candidates = 8192, tile_keys = 64, q_in_registers = false, wgmma = false>, wm_tile.shared_bytes = 86272 : i64
// CHECK: %[[ITEM:.*]] = arith.addi %c640{{.*}}, %thread_id_x : index
// CHECK-NEXT: %[[C12:.*]] = arith.constant 12 : index
// CHECK-NEXT: arith.divui %[[ITEM]], %[[C12]] : index
// CHECK-NEXT: %[[C12B:.*]] = arith.constant 12 : index
// CHECK-NEXT: arith.remui %[[ITEM]], %[[C12B]] : index
func.func @d96(%q_buffer: memref<1x128x2x96xbf16>, %k_buffer: memref<1x128x1x96xbf16>, %bias_buffer: memref<1x1x128xf32>,
               %out0: memref<1x128x2x96xbf16>, %out1: memref<1x2x128xf32>) {
  %q = bufferization.to_tensor %q_buffer restrict : memref<1x128x2x96xbf16> to tensor<1x128x2x96xbf16>
  %k = bufferization.to_tensor %k_buffer restrict : memref<1x128x1x96xbf16> to tensor<1x128x1x96xbf16>
  %bias = bufferization.to_tensor %bias_buffer restrict : memref<1x1x128xf32> to tensor<1x1x128xf32>
  %o, %l = wm.dma_attention %q, %k, %k, %bias {causal, window = 32 : i64} : (tensor<1x128x2x96xbf16>, tensor<1x128x1x96xbf16>, tensor<1x128x1x96xbf16>, tensor<1x1x128xf32>) -> (tensor<1x128x2x96xbf16>, tensor<1x2x128xf32>)
  bufferization.materialize_in_destination %o in restrict writable %out0 : (tensor<1x128x2x96xbf16>, memref<1x128x2x96xbf16>) -> ()
  bufferization.materialize_in_destination %l in restrict writable %out1 : (tensor<1x2x128xf32>, memref<1x2x128xf32>) -> ()
  return
}

// -----

// D = 256 with 8 warps of 32 rows needs more shared memory than a CTA has:
// refused at compile time, naming the limit (the default CTA fits).
func.func @d256(%q_buffer: memref<1x512x1x256xbf16>, %bias_buffer: memref<1x1x512xf32>,
                %out0: memref<1x512x1x256xbf16>, %out1: memref<1x1x512xf32>) {
  %q = bufferization.to_tensor %q_buffer restrict : memref<1x512x1x256xbf16> to tensor<1x512x1x256xbf16>
  %bias = bufferization.to_tensor %bias_buffer restrict : memref<1x1x512xf32> to tensor<1x1x512xf32>
  // expected-error @+1 {{needs 235776 bytes of shared memory per CTA, more than the 232448 (227 KiB) of an sm_90 CTA, with 8 warps of 32 rows; use fewer warps or rows per warp}}
  %o, %l = wm.dma_attention %q, %q, %q, %bias {causal, window = 64 : i64} : (tensor<1x512x1x256xbf16>, tensor<1x512x1x256xbf16>, tensor<1x512x1x256xbf16>, tensor<1x1x512xf32>) -> (tensor<1x512x1x256xbf16>, tensor<1x1x512xf32>)
  bufferization.materialize_in_destination %o in restrict writable %out0 : (tensor<1x512x1x256xbf16>, memref<1x512x1x256xbf16>) -> ()
  bufferization.materialize_in_destination %l in restrict writable %out1 : (tensor<1x1x512xf32>, memref<1x1x512xf32>) -> ()
  return
}
