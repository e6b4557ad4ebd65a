// RUN: wm-opt %s --convert-wm-to-gpu | FileCheck %s
// RUN: wm-opt %s --convert-wm-to-gpu="deterministic=true" | FileCheck %s --check-prefix=DET
// RUN: wm-opt %s --convert-wm-to-gpu --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=GPU
// RUN: wm-opt %s --convert-wm-to-gpu="grad-warps=8" | FileCheck %s --check-prefix=W8
// RUN: not wm-opt %s --convert-wm-to-gpu="grad-warps=6" 2>&1 | FileCheck %s --check-prefix=BAD
// The DMA backward: dK/dV/dBias zeroed in f32, the tensor-core program over
// the candidate lists (sweep 1: Dr; sweep 2: dS, dQ, the atomic scatters),
// then dK and dV rounded to bf16; deterministic=true keeps the row programs.

// CHECK: wm_tile.program "dma_grad_zero"
// CHECK: wm_tile.program "dma_attention_grad_mma" grid [2, 1, 2] config <warps = 4, warp_rows = 16, stages = 1, candidates = 4096, tile_keys = 64, q_in_registers = false, wgmma = false>
// CHECK: wm_tile.thresholds
// CHECK: wm_tile.load {{.*}} {row_dim = 2 : i64} : memref<1x2x80xf32> -> <64xf32>
// Sweep 1.
// CHECK: wm_tile.compact {{.*}} {round = 2048 : i64}
// CHECK: wm_tile.matmul {{.*}} {transpose_rhs}
// CHECK: wm_tile.probabilities {{.*}} {lse_scale = 1.44269502 : f32}
// CHECK: wm_tile.matmul {{.*}} {transpose_rhs}
// CHECK: wm_tile.row_dot
// Sweep 2.
// CHECK: wm_tile.compact
// CHECK: wm_tile.probabilities
// CHECK: wm_tile.softmax_grad
// CHECK: wm_tile.matmul {{.*}} acc
// CHECK: wm_tile.scatter_column_sums
// CHECK: wm_tile.store_shared
// CHECK: wm_tile.store_shared
// CHECK: wm_tile.barrier
// CHECK: wm_tile.matmul {{.*}} {transpose_lhs}
// CHECK: wm_tile.scatter_add {{.*}} {row_dim = 1 : i64, scale = 1.000000e+00 : f32}
// CHECK: wm_tile.matmul {{.*}} {transpose_lhs}
// CHECK: wm_tile.scatter_add {{.*}} {row_dim = 1 : i64, scale = 0.176776{{[0-9]*}} : f32}
// CHECK: wm_tile.store {{.*}} {row_dim = 1 : i64, scale = 0.176776{{[0-9]*}} : f32}
// CHECK: wm_tile.program "dma_grad_round"

// 8 warps: blocks of 128 rows, key tiles of 128, half the candidate slots.
// W8: wm_tile.program "dma_attention_grad_mma" grid [1, 1, 2] config <warps = 8, warp_rows = 16, stages = 1, candidates = 2048, tile_keys = 128
// BAD: grad-warps must be 0 (automatic), 4 or 8

// DET-NOT: dma_attention_grad_mma
// DET: wm_tile.program "dma_grad_delta"
// DET: wm_tile.program "dma_grad_query"
// DET: wm_tile.program "dma_grad_key"

// GPU-LABEL: gpu.func @dma_attention_grad_mma
// GPU-SAME: wm_tile.config = #wm_tile.config<warps = 4, warp_rows = 16
// P^T and dS^T as A fragments: ldmatrix.trans of the 16-bit tiles.
// GPU: nvvm.ldmatrix {{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>}
// GPU: nvvm.mma.sync
// dBias: one f32 atomic per warp and column; dK, dV: 16-byte vector reductions.
// GPU: llvm.atomicrmw fadd {{.*}} monotonic
// GPU: llvm.inline_asm has_side_effects "red.global.add.v4.f32 [$0], {$1, $2, $3, $4};"
func.func @grad(%in_q_buffer: memref<1x80x2x32xbf16>, %in_k_buffer: memref<1x80x1x32xbf16>, %in_v_buffer: memref<1x80x1x32xbf16>, %in_bias_buffer: memref<1x1x80xf32>, %in_tau_buffer: memref<1x1x80xf32>, %in_out_buffer: memref<1x80x2x32xbf16>, %in_lse_buffer: memref<1x2x80xf32>, %in_dout_buffer: memref<1x80x2x32xbf16>, %out0: memref<1x80x2x32xbf16>, %out1: memref<1x80x1x32xbf16>, %out2: memref<1x80x1x32xbf16>, %out3: memref<1x1x80xf32>) attributes {llvm.emit_c_interface} {
  %in_q = bufferization.to_tensor %in_q_buffer restrict : memref<1x80x2x32xbf16> to tensor<1x80x2x32xbf16>
  %in_k = bufferization.to_tensor %in_k_buffer restrict : memref<1x80x1x32xbf16> to tensor<1x80x1x32xbf16>
  %in_v = bufferization.to_tensor %in_v_buffer restrict : memref<1x80x1x32xbf16> to tensor<1x80x1x32xbf16>
  %in_bias = bufferization.to_tensor %in_bias_buffer restrict : memref<1x1x80xf32> to tensor<1x1x80xf32>
  %in_tau = bufferization.to_tensor %in_tau_buffer restrict : memref<1x1x80xf32> to tensor<1x1x80xf32>
  %in_out = bufferization.to_tensor %in_out_buffer restrict : memref<1x80x2x32xbf16> to tensor<1x80x2x32xbf16>
  %in_lse = bufferization.to_tensor %in_lse_buffer restrict : memref<1x2x80xf32> to tensor<1x2x80xf32>
  %in_dout = bufferization.to_tensor %in_dout_buffer restrict : memref<1x80x2x32xbf16> to tensor<1x80x2x32xbf16>
  %v1, %v2, %v3, %v4 = wm.dma_attention_grad %in_q, %in_k, %in_v, %in_bias, %in_tau, %in_out, %in_lse, %in_dout {scale = 1.767766953e-01 : f32, causal} : (tensor<1x80x2x32xbf16>, tensor<1x80x1x32xbf16>, tensor<1x80x1x32xbf16>, tensor<1x1x80xf32>, tensor<1x1x80xf32>, tensor<1x80x2x32xbf16>, tensor<1x2x80xf32>, tensor<1x80x2x32xbf16>) -> (tensor<1x80x2x32xbf16>, tensor<1x80x1x32xbf16>, tensor<1x80x1x32xbf16>, tensor<1x1x80xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<1x80x2x32xbf16>, memref<1x80x2x32xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<1x80x1x32xbf16>, memref<1x80x1x32xbf16>) -> ()
  bufferization.materialize_in_destination %v3 in restrict writable %out2 : (tensor<1x80x1x32xbf16>, memref<1x80x1x32xbf16>) -> ()
  bufferization.materialize_in_destination %v4 in restrict writable %out3 : (tensor<1x1x80xf32>, memref<1x1x80xf32>) -> ()
  return
}

