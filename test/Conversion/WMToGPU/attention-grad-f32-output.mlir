// RUN: wm-opt %s --convert-wm-to-gpu | FileCheck %s
// RUN: wm-opt %s --convert-wm-to-gpu="deterministic=true" | FileCheck %s --check-prefix=DET
// RUN: wm-opt %s --convert-wm-to-gpu --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=GPU
// The backward of a forward with f32_output: Dr = dO . O from the f32
// output, so the tensor-core program has no sweep 1 (one compaction walk,
// sweep 2's), and the deterministic Dr kernel reads O instead of the pairs.

// CHECK: wm_tile.program "dma_attention_grad_mma"
// CHECK: wm_tile.load {{.*}} {row_dim = 2 : i64} : memref<1x2x80xf32> -> <64xf32>
// CHECK: %[[DO:.*]] = wm_tile.load {{.*}} {row_dim = 1 : i64} : memref<1x80x2x32xbf16> -> <64x32xf32>
// CHECK: %[[O:.*]] = wm_tile.load {{.*}} {row_dim = 1 : i64} : memref<1x80x2x32xf32> -> <64x32xf32>
// CHECK: wm_tile.row_dot %[[DO]], %[[O]]
// CHECK-NOT: wm_tile.row_dot
// CHECK: wm_tile.compact
// CHECK: wm_tile.probabilities
// CHECK: wm_tile.softmax_grad
// CHECK-NOT: wm_tile.compact
// CHECK: wm_tile.program "dma_grad_round"

// DET: wm_tile.program "dma_grad_delta"
// DET-SAME: memref<1x80x2x32xf32>
// DET-NOT: wm_tile.program
// DET: memref.load %{{.*}} : memref<1x80x2x32xf32>
// DET: wm_tile.program "dma_grad_query"

// GPU-LABEL: gpu.func @dma_attention_grad_mma
// f32 O as 8-byte pairs.
// GPU: llvm.load {{.*}} : !llvm.ptr<1> -> vector<2xf32>
// GPU: nvvm.mma.sync
func.func @grad_f32_output(%in_q_buffer: memref<1x80x2x32xbf16>, %in_k_buffer: memref<1x80x1x32xbf16>, %in_v_buffer: memref<1x80x1x32xbf16>, %in_bias_buffer: memref<1x1x80xf32>, %in_tau_buffer: memref<1x1x80xf32>, %in_out_buffer: memref<1x80x2x32xf32>, %in_lse_buffer: memref<1x2x80xf32>, %in_dout_buffer: memref<1x80x2x32xbf16>, %out0: memref<1x80x2x32xbf16>, %out1: memref<1x80x1x32xbf16>, %out2: memref<1x80x1x32xbf16>, %out3: memref<1x1x80xf32>) attributes {llvm.emit_c_interface} {
  %in_q = bufferization.to_tensor %in_q_buffer restrict : memref<1x80x2x32xbf16> to tensor<1x80x2x32xbf16>
  %in_k = bufferization.to_tensor %in_k_buffer restrict : memref<1x80x1x32xbf16> to tensor<1x80x1x32xbf16>
  %in_v = bufferization.to_tensor %in_v_buffer restrict : memref<1x80x1x32xbf16> to tensor<1x80x1x32xbf16>
  %in_bias = bufferization.to_tensor %in_bias_buffer restrict : memref<1x1x80xf32> to tensor<1x1x80xf32>
  %in_tau = bufferization.to_tensor %in_tau_buffer restrict : memref<1x1x80xf32> to tensor<1x1x80xf32>
  %in_out = bufferization.to_tensor %in_out_buffer restrict : memref<1x80x2x32xf32> to tensor<1x80x2x32xf32>
  %in_lse = bufferization.to_tensor %in_lse_buffer restrict : memref<1x2x80xf32> to tensor<1x2x80xf32>
  %in_dout = bufferization.to_tensor %in_dout_buffer restrict : memref<1x80x2x32xbf16> to tensor<1x80x2x32xbf16>
  %v1, %v2, %v3, %v4 = wm.dma_attention_grad %in_q, %in_k, %in_v, %in_bias, %in_tau, %in_out, %in_lse, %in_dout {scale = 1.767766953e-01 : f32, causal} : (tensor<1x80x2x32xbf16>, tensor<1x80x1x32xbf16>, tensor<1x80x1x32xbf16>, tensor<1x1x80xf32>, tensor<1x1x80xf32>, tensor<1x80x2x32xf32>, tensor<1x2x80xf32>, tensor<1x80x2x32xbf16>) -> (tensor<1x80x2x32xbf16>, tensor<1x80x1x32xbf16>, tensor<1x80x1x32xbf16>, tensor<1x1x80xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<1x80x2x32xbf16>, memref<1x80x2x32xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<1x80x1x32xbf16>, memref<1x80x1x32xbf16>) -> ()
  bufferization.materialize_in_destination %v3 in restrict writable %out2 : (tensor<1x80x1x32xbf16>, memref<1x80x1x32xbf16>) -> ()
  bufferization.materialize_in_destination %v4 in restrict writable %out3 : (tensor<1x1x80xf32>, memref<1x1x80xf32>) -> ()
  return
}

