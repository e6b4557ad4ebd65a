// RUN: wm-opt %s --split-input-file --verify-diagnostics

func.func @values_rank(%v: tensor<128x4x64xf32>, %w: tensor<4x256xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{'wm.dma_bias' op values must have rank 4 (B, Lk, Hk, D), got 'tensor<128x4x64xf32>'}}
  %b = wm.dma_bias linear %v, %w, %a : (tensor<128x4x64xf32>, tensor<4x256xf32>, tensor<4xf32>) -> tensor<1x4x128xf32>
  return
}

// -----

func.func @w_dt_not_hk_times_d(%v: tensor<1x128x4x64xf32>, %w: tensor<4x64xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{'wm.dma_bias' op w_dt must be (Hk, Hk*D) = (4, 256), got 'tensor<4x64xf32>'}}
  %b = wm.dma_bias linear %v, %w, %a : (tensor<1x128x4x64xf32>, tensor<4x64xf32>, tensor<4xf32>) -> tensor<1x4x128xf32>
  return
}

// -----

func.func @w_dt_heads(%v: tensor<1x128x4x64xf32>, %w: tensor<2x256xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{'wm.dma_bias' op w_dt has Hk = 2 (dim 0 of (Hk, HkD)) but values has Hk = 4}}
  %b = wm.dma_bias linear %v, %w, %a : (tensor<1x128x4x64xf32>, tensor<2x256xf32>, tensor<4xf32>) -> tensor<1x4x128xf32>
  return
}

// -----

func.func @a_heads(%v: tensor<1x128x4x64xf32>, %w: tensor<4x256xf32>, %a: tensor<3xf32>) {
  // expected-error @+1 {{'wm.dma_bias' op a has Hk = 3 (dim 0 of (Hk)) but values has Hk = 4}}
  %b = wm.dma_bias exp %v, %w, %a : (tensor<1x128x4x64xf32>, tensor<4x256xf32>, tensor<3xf32>) -> tensor<1x4x128xf32>
  return
}

// -----

func.func @dt_bias_heads(%v: tensor<1x128x4x64xf32>, %w: tensor<4x256xf32>, %a: tensor<4xf32>, %d: tensor<8xf32>) {
  // expected-error @+1 {{'wm.dma_bias' op dt_bias has Hk = 8 (dim 0 of (Hk)) but values has Hk = 4}}
  %b = wm.dma_bias exp %v, %w, %a dt_bias(%d) : (tensor<1x128x4x64xf32>, tensor<4x256xf32>, tensor<4xf32>, tensor<8xf32>) -> tensor<1x4x128xf32>
  return
}

// -----

func.func @result_layout(%v: tensor<1x128x4x64xf32>, %w: tensor<4x256xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{'wm.dma_bias' op result has Hk = 128 (dim 1 of (B, Hk, Lk)) but values has Hk = 4}}
  %b = wm.dma_bias linear %v, %w, %a : (tensor<1x128x4x64xf32>, tensor<4x256xf32>, tensor<4xf32>) -> tensor<1x128x4xf32>
  return
}

// -----

func.func @result_not_f32(%v: tensor<1x128x4x64xbf16>, %w: tensor<4x256xbf16>, %a: tensor<4xf32>) {
  // expected-error @+1 {{'wm.dma_bias' op result #0 must be ranked tensor of 32-bit float values, but got 'tensor<1x4x128xbf16>'}}
  %b = wm.dma_bias linear %v, %w, %a : (tensor<1x128x4x64xbf16>, tensor<4x256xbf16>, tensor<4xf32>) -> tensor<1x4x128xbf16>
  return
}

// -----

func.func @weight_element_type(%v: tensor<1x128x4x64xbf16>, %w: tensor<4x256xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{'wm.dma_bias' op w_dt must have the element type of values, 'bf16', got 'f32'}}
  %b = wm.dma_bias linear %v, %w, %a : (tensor<1x128x4x64xbf16>, tensor<4x256xf32>, tensor<4xf32>) -> tensor<1x4x128xf32>
  return
}

// -----

func.func @unknown_form(%v: tensor<1x128x4x64xf32>, %w: tensor<4x256xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'wm.dma_bias' expected string or keyword containing one of the following enum values for attribute 'form' [exp, linear]}}
  %b = wm.dma_bias square %v, %w, %a : (tensor<1x128x4x64xf32>, tensor<4x256xf32>, tensor<4xf32>) -> tensor<1x4x128xf32>
  return
}
