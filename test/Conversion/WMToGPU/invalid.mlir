// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu --verify-diagnostics

// Ops without a GPU lowering are reported at their location.
func.func @unsupported(%x_buffer: memref<4x64xf32>, %w_buffer: memref<64xf32>, %out0: memref<4x64xf32>) {
  %x = bufferization.to_tensor %x_buffer restrict : memref<4x64xf32> to tensor<4x64xf32>
  %w = bufferization.to_tensor %w_buffer restrict : memref<64xf32> to tensor<64xf32>
  // expected-error @+1 {{'wm.rms_norm' op is not supported on the GPU yet (convert-wm-to-gpu lowers wm.dma_bias, wm.dma_select, wm.dma_attention after wm-select-keys, their gradients, and wm.ssd)}}
  %n = wm.rms_norm %x, %w : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  bufferization.materialize_in_destination %n in restrict writable %out0 : (tensor<4x64xf32>, memref<4x64xf32>) -> ()
  return
}

// -----

// The kernels are specialized on static shapes: a dynamic extent is refused
// by operand before anything is lowered.
func.func @dynamic(%x_buffer: memref<4x64xf32>, %w_buffer: memref<64xf32>, %out0: memref<4x64xf32>) {
  %x = bufferization.to_tensor %x_buffer restrict : memref<4x64xf32> to tensor<4x64xf32>
  %w = bufferization.to_tensor %w_buffer restrict : memref<64xf32> to tensor<64xf32>
  %xd = tensor.cast %x : tensor<4x64xf32> to tensor<?x64xf32>
  // expected-error @+1 {{'wm.rms_norm' op operand #0 has the dynamic type 'tensor<?x64xf32>'; convert-wm-to-gpu needs static shapes}}
  %n = wm.rms_norm %xd, %w : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %ns = tensor.cast %n : tensor<?x64xf32> to tensor<4x64xf32>
  bufferization.materialize_in_destination %ns in restrict writable %out0 : (tensor<4x64xf32>, memref<4x64xf32>) -> ()
  return
}
