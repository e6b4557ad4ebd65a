// RUN: wm-opt %s --split-input-file --verify-diagnostics

// wm.dma_attention operands and results whose ranks, shapes or element
// types disagree.

func.func @query_rank(%q: tensor<1x16x64xf32>, %k: tensor<1x16x2x64xf32>, %v: tensor<1x16x2x64xf32>, %bias: tensor<1x2x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op query must have rank 4 (B, Lq, H, D), got 'tensor<1x16x64xf32>'}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>, tensor<1x2x16xf32>) -> (tensor<1x16x2x64xf32>, tensor<1x2x16xf32>)
  return
}

// -----

func.func @gqa_heads_not_divisible(%q: tensor<1x16x6x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op H = 6 must be a multiple of Hk = 4}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x6x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x6x64xf32>, tensor<1x6x16xf32>)
  return
}

// -----

func.func @key_value_length_mismatch(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x17x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op value has Lk = 17 (dim 1 of (B, Lk, Hk, D)) but key has Lk = 16}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x17x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @head_dim_mismatch(%q: tensor<1x16x4x128xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op key has D = 64 (dim 3 of (B, Lk, Hk, D)) but query has D = 128}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x4x128xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x128xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @bias_heads_mismatch(%q: tensor<1x16x4x64xf32>, %k: tensor<1x16x2x64xf32>, %v: tensor<1x16x2x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op bias has Hk = 4 (dim 1 of (B, Hk, Lk)) but key has Hk = 2}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x4x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @batch_mismatch(%q: tensor<2x16x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op key has B = 1 (dim 0 of (B, Lk, Hk, D)) but query has B = 2}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<2x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<2x16x4x64xf32>, tensor<2x4x16xf32>)
  return
}

// -----

func.func @lse_layout(%q: tensor<1x8x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op lse has H = 8 (dim 1 of (B, H, Lq)) but query has H = 4}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x8x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x8x4x64xf32>, tensor<1x8x4xf32>)
  return
}

// -----

func.func @output_shape(%q: tensor<1x8x4x64xf32>, %k: tensor<1x16x4x64xf32>, %v: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op output has Lq = 16 (dim 1 of (B, Lq, H, D)) but query has Lq = 8}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x8x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x8xf32>)
  return
}

// -----

func.func @mixed_element_types(%q: tensor<1x16x4x64xbf16>, %k: tensor<1x16x4x64xf16>, %v: tensor<1x16x4x64xf16>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op key must have the element type of query, 'bf16', got 'f16'}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x4x64xbf16>, tensor<1x16x4x64xf16>, tensor<1x16x4x64xf16>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xbf16>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @bias_not_f32(%q: tensor<1x16x4x64xbf16>, %k: tensor<1x16x4x64xbf16>, %v: tensor<1x16x4x64xbf16>, %bias: tensor<1x4x16xbf16>) {
  // expected-error @+1 {{'wm.dma_attention' op operand #3 must be ranked tensor of 32-bit float values}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>, tensor<1x4x16xbf16>) -> (tensor<1x16x4x64xbf16>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @f32_output_type(%q: tensor<1x16x4x64xbf16>, %k: tensor<1x16x4x64xbf16>, %v: tensor<1x16x4x64xbf16>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op output must have element type 'f32' (f32_output), got 'bf16'}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias {f32_output} : (tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xbf16>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @f32_output_missing(%q: tensor<1x16x4x64xbf16>, %k: tensor<1x16x4x64xbf16>, %v: tensor<1x16x4x64xbf16>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op output must have element type 'bf16' (the query's), got 'f32'}}
  %o, %l = wm.dma_attention %q, %k, %v, %bias : (tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @threshold_f32_output(%q: tensor<1x16x4x64xbf16>, %k: tensor<1x16x4x64xbf16>, %v: tensor<1x16x4x64xbf16>, %bias: tensor<1x4x16xf32>, %tau: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_threshold_attention' op output must have element type 'f32' (f32_output), got 'f16'}}
  %o, %l = wm.dma_threshold_attention %q, %k, %v, %bias, %tau {f32_output, scale = 0.125 : f32} : (tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>, tensor<1x4x16xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf16>, tensor<1x4x16xf32>)
  return
}
