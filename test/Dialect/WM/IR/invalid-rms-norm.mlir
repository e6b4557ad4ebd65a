// RUN: wm-opt %s --split-input-file --verify-diagnostics

func.func @weight_size(%x: tensor<4x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'wm.rms_norm' op weight has d = 32 (dim 0 of (d)) but x has d = 64}}
  %n = wm.rms_norm %x, %w : (tensor<4x64xf32>, tensor<32xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @weight_rank(%x: tensor<4x64xf32>, %w: tensor<1x64xf32>) {
  // expected-error @+1 {{'wm.rms_norm' op weight must have rank 1 (d), got 'tensor<1x64xf32>'}}
  %n = wm.rms_norm %x, %w : (tensor<4x64xf32>, tensor<1x64xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @scalar_input(%x: tensor<f32>, %w: tensor<1xf32>) {
  // expected-error @+1 {{'wm.rms_norm' op x must have rank 1 (d), got 'tensor<f32>'}}
  %n = wm.rms_norm %x, %w : (tensor<f32>, tensor<1xf32>) -> tensor<f32>
  return
}

// -----

func.func @non_positive_eps(%x: tensor<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'wm.rms_norm' op eps must be positive and finite, got 0}}
  %n = wm.rms_norm %x, %w {eps = 0.0 : f32} : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @result_type(%x: tensor<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'wm.rms_norm' op result type 'tensor<4x64xbf16>' must equal the type of x 'tensor<4x64xf32>'}}
  %n = wm.rms_norm %x, %w : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xbf16>
  return
}

// -----

func.func @unranked(%x: tensor<*xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'wm.rms_norm' op operand #0 must be ranked tensor of bfloat16 type or 16-bit float or 32-bit float values, but got 'tensor<*xf32>'}}
  %n = wm.rms_norm %x, %w : (tensor<*xf32>, tensor<64xf32>) -> tensor<*xf32>
  return
}
