// RUN: wm-opt %s --split-input-file --verify-diagnostics

// wm.dma_attention attributes out of their domain: window, scale, scope.

func.func @zero_window(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op window must be in [1, 2^63 - 1], got 0}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias {window = 0 : i64} : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @negative_window(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op window must be in [1, 2^63 - 1], got -5}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias {window = -5 : i64} : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @negative_scale(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op scale must be positive and finite, got -1}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias {scale = -1.0 : f32} : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @dynamic_head_dim_needs_scale(%q: tensor<1x16x4x?xf32>, %k: tensor<1x16x4x?xf32>, %v: tensor<1x16x4x?xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op needs an explicit scale when D is dynamic}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x4x?xf32>, tensor<1x16x4x?xf32>, tensor<1x16x4x?xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x?xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @unknown_scope(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+2 {{expected ::mlir::wm::SelectionScope to be one of: prefix, global}}
  // expected-error @+1 {{failed to parse WM_SelectionScopeAttr parameter 'value'}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias {scope = #wm.scope<local>} : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

// 2^63 wraps in an i64: the message says so.
func.func @window_2_63(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op window must be in [1, 2^63 - 1], got -9223372036854775808 (an i64 attribute: 2^63 and above read as negative)}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias {window = 9223372036854775808 : i64} : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

// A misspelled attribute would be kept and ignored: refused, with the closest name.
func.func @misspelled_causal(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op has no attribute 'casual'; did you mean 'causal'?}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias {casual, window = 4 : i64} : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @unknown_attribute(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op has no attribute 'banana' (attributes of other dialects need their prefix)}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias {banana = 1 : i64} : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}
