// A DMA layer (dma_bias + dma_attention) in the entry form that compiled code
// exposes: every input and output is a buffer, outputs are written in place.
// `wm-opt examples/dma_layer_entry.mlir --wm-to-nvvm` compiles it for the H200.
func.func @dma(%q_buffer: memref<1x256x4x64xbf16>, %k_buffer: memref<1x256x2x64xbf16>, %v_buffer: memref<1x256x2x64xbf16>, %w_buffer: memref<2x128xbf16>, %a_buffer: memref<2xf32>, %out0: memref<1x256x4x64xbf16>, %out1: memref<1x4x256xf32>) attributes {llvm.emit_c_interface} {
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
