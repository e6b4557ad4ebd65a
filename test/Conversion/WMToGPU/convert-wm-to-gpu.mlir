// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu | FileCheck %s
// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu="tensor-cores=false block-select=false" | FileCheck %s --check-prefix=ROWS
// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu="mma-warp-rows=16" | FileCheck %s --check-prefix=R16
// RUN: not wm-opt %s --wm-select-keys --convert-wm-to-gpu="mma-warps=6" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not wm-opt %s --wm-select-keys --convert-wm-to-gpu="mma-warp-rows=24" 2>&1 | FileCheck %s --check-prefix=WARP-ROWS

// WARPS: error: mma-warps must be 0 (automatic), 4 or 8
// WARP-ROWS: error: mma-warp-rows must be 0 (automatic), 16 or 32

// The host body becomes allocations, launches and tile programs, in program
// order; the outputs are written in place, the bias and thresholds get O(L)
// scratch buffers. The selection and the attention are tile programs,
// launched in place by convert-wm-tile-to-gpu (test/Conversion/TileToGPU).
// CHECK-LABEL: func.func @dma
// CHECK-SAME: (%[[Q:.*]]: memref<1x256x4x64xbf16>, %[[K:.*]]: memref<1x256x2x64xbf16>, %[[V:.*]]: memref<1x256x2x64xbf16>, %[[W:.*]]: memref<2x128xbf16>, %[[A:.*]]: memref<2xf32>, %[[OUT:.*]]: memref<1x256x4x64xbf16>, %[[LSE:.*]]: memref<1x4x256xf32>)
// CHECK: %[[BIAS:.*]] = memref.alloc() : memref<1x2x256xf32>
// The bias: one thread per (batch, kv head, key), 128 per CTA.
// CHECK: wm_tile.program "dma_bias" grid [4] config <warps = 4, {{.*}}>(%[[V]], %[[W]], %[[A]], %[[BIAS]]) : {{.*}}, memref<1x2x256xf32>
// CHECK: scf.parallel (%[[T:.*]]) = (%c0) to (%c128)
// CHECK: %[[TID:.*]] = arith.addi %{{.*}}, %[[T]]
// CHECK: arith.cmpi ult, %[[TID]], %c512
// CHECK: %[[TAU:.*]] = memref.alloc() : memref<1x2x256xf32>
// Thresholds: per (batch, kv head, block of 256 rows) a radix select, then a
// sort of the block's small multiset.
// CHECK: wm_tile.program "dma_select_blocks" grid [1, 2, 1] config <warps = 8, warp_rows = 32, {{.*}}>(%[[BIAS]], %[[TAU]])
// CHECK: wm_tile.radix_select
// CHECK: wm_tile.sort
// The program compacts keys by their bias: no summaries, no buffers for them.
// CHECK-NOT: @dma_block_summary
// CHECK-NOT: memref.alloc
// 32-row warps (4 per CTA, 128 rows), Q in shared memory, one stage.
// CHECK: wm_tile.program "dma_attention_mma" grid [2, 1, 4] config <warps = 4, warp_rows = 32, stages = 1, candidates = 8192, tile_keys = 64, q_in_registers = false, wgmma = false>(%[[Q]], %[[K]], %[[V]], %[[BIAS]], %[[TAU]], %[[OUT]], %[[LSE]])
// CHECK: wm_tile.store_attention
// CHECK-NOT: bufferization
// CHECK: return
// CHECK-NOT: gpu.module

// 16-row warps: Q fragments in registers, K and V double-buffered.
// R16-LABEL: func.func @dma
// R16: wm_tile.program "dma_attention_mma" grid [4, 1, 4] config <warps = 4, warp_rows = 16, stages = 2, candidates = 8192, tile_keys = 64, q_in_registers = true, wgmma = false>

// ROWS-LABEL: func.func @dma
// ROWS: wm_tile.program "dma_select" grid
// ROWS: wm_tile.program "dma_block_summary" grid
// ROWS: wm_tile.program "dma_attention" grid
// ROWS-NOT: nvvm.mma.sync
func.func @dma(%q_buffer: memref<1x256x4x64xbf16>, %k_buffer: memref<1x256x2x64xbf16>, %v_buffer: memref<1x256x2x64xbf16>,
               %w_buffer: memref<2x128xbf16>, %a_buffer: memref<2xf32>,
               %out0: memref<1x256x4x64xbf16>, %out1: memref<1x4x256xf32>) {
  %q = bufferization.to_tensor %q_buffer restrict : memref<1x256x4x64xbf16> to tensor<1x256x4x64xbf16>
  %k = bufferization.to_tensor %k_buffer restrict : memref<1x256x2x64xbf16> to tensor<1x256x2x64xbf16>
  %v = bufferization.to_tensor %v_buffer restrict : memref<1x256x2x64xbf16> to tensor<1x256x2x64xbf16>
  %w = bufferization.to_tensor %w_buffer restrict : memref<2x128xbf16> to tensor<2x128xbf16>
  %a = bufferization.to_tensor %a_buffer restrict : memref<2xf32> to tensor<2xf32>
  %bias = wm.dma_bias linear %v, %w, %a : (tensor<1x256x2x64xbf16>, tensor<2x128xbf16>, tensor<2xf32>) -> tensor<1x2x256xf32>
  %o, %l = wm.dma_attention %q, %k, %v, %bias {causal, window = 32 : i64} : (tensor<1x256x4x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x2x256xf32>) -> (tensor<1x256x4x64xbf16>, tensor<1x4x256xf32>)
  bufferization.materialize_in_destination %o in restrict writable %out0 : (tensor<1x256x4x64xbf16>, memref<1x256x4x64xbf16>) -> ()
  bufferization.materialize_in_destination %l in restrict writable %out1 : (tensor<1x4x256xf32>, memref<1x4x256xf32>) -> ()
  return
}

// -----

// f32 storage has no tensor-core path: the row kernel runs it; a window that
// covers every key leaves tau = -inf, filled by a kernel.
// CHECK-LABEL: func.func @f32_no_selection
// CHECK: wm_tile.program "fill"
// CHECK: wm_tile.program "dma_attention" grid [1]
func.func @f32_no_selection(%q_buffer: memref<1x64x2x32xf32>, %bias_buffer: memref<1x2x64xf32>,
                            %out0: memref<1x64x2x32xf32>) {
  %q = bufferization.to_tensor %q_buffer restrict : memref<1x64x2x32xf32> to tensor<1x64x2x32xf32>
  %bias = bufferization.to_tensor %bias_buffer restrict : memref<1x2x64xf32> to tensor<1x2x64xf32>
  %o, %l = wm.dma_attention %q, %q, %q, %bias {causal, window = 64 : i64} : (tensor<1x64x2x32xf32>, tensor<1x64x2x32xf32>, tensor<1x64x2x32xf32>, tensor<1x2x64xf32>) -> (tensor<1x64x2x32xf32>, tensor<1x2x64xf32>)
  bufferization.materialize_in_destination %o in restrict writable %out0 : (tensor<1x64x2x32xf32>, memref<1x64x2x32xf32>) -> ()
  return
}

