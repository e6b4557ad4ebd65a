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

// -----

// wm.ssd's programs tile P and N by 16: another P is refused by name.
func.func @ssd_channels(%x_buffer: memref<1x64x2x24xbf16>, %dt_buffer: memref<1x64x2xf32>, %a_buffer: memref<2xf32>, %b_buffer: memref<1x64x1x16xbf16>, %out0: memref<1x64x2x24xbf16>, %out1: memref<1x2x24x16xf32>) {
  %x = bufferization.to_tensor %x_buffer restrict : memref<1x64x2x24xbf16> to tensor<1x64x2x24xbf16>
  %dt = bufferization.to_tensor %dt_buffer restrict : memref<1x64x2xf32> to tensor<1x64x2xf32>
  %a = bufferization.to_tensor %a_buffer restrict : memref<2xf32> to tensor<2xf32>
  %b = bufferization.to_tensor %b_buffer restrict : memref<1x64x1x16xbf16> to tensor<1x64x1x16xbf16>
  // expected-error @+1 {{'wm.ssd' op on the GPU needs P a multiple of 16 up to 128, got 24}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 64 : i64} : (tensor<1x64x2x24xbf16>, tensor<1x64x2xf32>, tensor<2xf32>, tensor<1x64x1x16xbf16>, tensor<1x64x1x16xbf16>) -> (tensor<1x64x2x24xbf16>, tensor<1x2x24x16xf32>)
  bufferization.materialize_in_destination %y in restrict writable %out0 : (tensor<1x64x2x24xbf16>, memref<1x64x2x24xbf16>) -> ()
  bufferization.materialize_in_destination %s in restrict writable %out1 : (tensor<1x2x24x16xf32>, memref<1x2x24x16xf32>) -> ()
  return
}

// -----

// The tensor-core products take 16-bit x, B and C.
func.func @ssd_f32(%x_buffer: memref<1x64x2x32xf32>, %dt_buffer: memref<1x64x2xf32>, %a_buffer: memref<2xf32>, %b_buffer: memref<1x64x1x16xf32>, %out0: memref<1x64x2x32xf32>, %out1: memref<1x2x32x16xf32>) {
  %x = bufferization.to_tensor %x_buffer restrict : memref<1x64x2x32xf32> to tensor<1x64x2x32xf32>
  %dt = bufferization.to_tensor %dt_buffer restrict : memref<1x64x2xf32> to tensor<1x64x2xf32>
  %a = bufferization.to_tensor %a_buffer restrict : memref<2xf32> to tensor<2xf32>
  %b = bufferization.to_tensor %b_buffer restrict : memref<1x64x1x16xf32> to tensor<1x64x1x16xf32>
  // expected-error @+1 {{'wm.ssd' op on the GPU needs x, b and c of one 16-bit type (bf16 or f16), got 'f32', 'f32', 'f32'}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 64 : i64} : (tensor<1x64x2x32xf32>, tensor<1x64x2xf32>, tensor<2xf32>, tensor<1x64x1x16xf32>, tensor<1x64x1x16xf32>) -> (tensor<1x64x2x32xf32>, tensor<1x2x32x16xf32>)
  bufferization.materialize_in_destination %y in restrict writable %out0 : (tensor<1x64x2x32xf32>, memref<1x64x2x32xf32>) -> ()
  bufferization.materialize_in_destination %s in restrict writable %out1 : (tensor<1x2x32x16xf32>, memref<1x2x32x16xf32>) -> ()
  return
}
