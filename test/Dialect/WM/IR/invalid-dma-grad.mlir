// RUN: wm-opt %s --split-input-file --verify-diagnostics
// The DMA gradient verifiers refuse what they must, at the op.

func.func @lse_rows(%q: tensor<1x32x4x16xf32>, %k: tensor<1x32x2x16xf32>, %bias: tensor<1x2x32xf32>,
                    %tau: tensor<1x2x32xf32>, %lse: tensor<1x4x31xf32>) {
  // expected-error @+1 {{lse has Lq = 31 (dim 2 of (B, H, Lq)) but query has Lq = 32}}
  %dq, %dk, %dv, %db = wm.dma_attention_grad %q, %k, %k, %bias, %tau, %q, %lse, %q {scale = 0.25 : f32}
      : (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>, tensor<1x2x32xf32>, tensor<1x32x4x16xf32>, tensor<1x4x31xf32>, tensor<1x32x4x16xf32>)
      -> (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>)
  return
}

// -----

func.func @heads(%q: tensor<1x32x3x16xf32>, %k: tensor<1x32x2x16xf32>, %bias: tensor<1x2x32xf32>,
                 %tau: tensor<1x2x32xf32>, %lse: tensor<1x3x32xf32>) {
  // expected-error @+1 {{H = 3 must be a multiple of Hk = 2}}
  %dq, %dk, %dv, %db = wm.dma_attention_grad %q, %k, %k, %bias, %tau, %q, %lse, %q {scale = 0.25 : f32}
      : (tensor<1x32x3x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>, tensor<1x2x32xf32>, tensor<1x32x3x16xf32>, tensor<1x3x32xf32>, tensor<1x32x3x16xf32>)
      -> (tensor<1x32x3x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>)
  return
}

// -----

func.func @scale(%q: tensor<1x32x4x16xf32>, %k: tensor<1x32x2x16xf32>, %bias: tensor<1x2x32xf32>,
                 %tau: tensor<1x2x32xf32>, %lse: tensor<1x4x32xf32>) {
  // expected-error @+1 {{scale must be positive and finite, got -1}}
  %dq, %dk, %dv, %db = wm.dma_attention_grad %q, %k, %k, %bias, %tau, %q, %lse, %q {scale = -1.0 : f32}
      : (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>, tensor<1x2x32xf32>, tensor<1x32x4x16xf32>, tensor<1x4x32xf32>, tensor<1x32x4x16xf32>)
      -> (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>)
  return
}

// -----

func.func @grad_output_type(%q: tensor<1x32x4x16xf32>, %k: tensor<1x32x2x16xf32>, %bias: tensor<1x2x32xf32>,
                            %tau: tensor<1x2x32xf32>, %lse: tensor<1x4x32xf32>, %dout: tensor<1x32x4x16xbf16>) {
  // expected-error @+1 {{grad_output must have the element type of query, 'f32', got 'bf16'}}
  %dq, %dk, %dv, %db = wm.dma_attention_grad %q, %k, %k, %bias, %tau, %q, %lse, %dout {scale = 0.25 : f32}
      : (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>, tensor<1x2x32xf32>, tensor<1x32x4x16xf32>, tensor<1x4x32xf32>, tensor<1x32x4x16xbf16>)
      -> (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>)
  return
}

// -----

func.func @tau_rows(%q: tensor<1x32x4x16xf32>, %k: tensor<1x32x2x16xf32>, %bias: tensor<1x2x32xf32>,
                    %tau: tensor<1x2x16xf32>, %lse: tensor<1x4x32xf32>) {
  // expected-error @+1 {{tau has Lq = 16 (dim 2 of (B, Hk, Lq)) but query has Lq = 32}}
  %dq, %dk, %dv, %db = wm.dma_attention_grad %q, %k, %k, %bias, %tau, %q, %lse, %q {scale = 0.25 : f32}
      : (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>, tensor<1x2x16xf32>, tensor<1x32x4x16xf32>, tensor<1x4x32xf32>, tensor<1x32x4x16xf32>)
      -> (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x16xf32>, tensor<1x2x32xf32>)
  return
}

// -----

func.func @bias_grad_keys(%v: tensor<1x32x2x16xf32>, %w: tensor<2x32xf32>, %a: tensor<2xf32>, %db: tensor<1x2x30xf32>) {
  // expected-error @+1 {{grad_bias has Lk = 30 (dim 2 of (B, Hk, Lk)) but values has Lk = 32}}
  %dv, %dw, %da = wm.dma_bias_grad exp %v, %w, %a, %db
      : (tensor<1x32x2x16xf32>, tensor<2x32xf32>, tensor<2xf32>, tensor<1x2x30xf32>)
      -> (tensor<1x32x2x16xf32>, tensor<2x32xf32>, tensor<2xf32>)
  return
}

// -----

func.func @bias_grad_width(%v: tensor<1x32x2x16xf32>, %w: tensor<2x31xf32>, %a: tensor<2xf32>, %db: tensor<1x2x32xf32>) {
  // expected-error @+1 {{w_dt must be (Hk, Hk*D) = (2, 32), got 'tensor<2x31xf32>'}}
  %dv, %dw, %da = wm.dma_bias_grad exp %v, %w, %a, %db
      : (tensor<1x32x2x16xf32>, tensor<2x31xf32>, tensor<2xf32>, tensor<1x2x32xf32>)
      -> (tensor<1x32x2x16xf32>, tensor<2x31xf32>, tensor<2xf32>)
  return
}

// -----

func.func @output_type(%q: tensor<1x32x4x16xbf16>, %k: tensor<1x32x2x16xbf16>, %bias: tensor<1x2x32xf32>,
                       %tau: tensor<1x2x32xf32>, %out: tensor<1x32x4x16xf16>, %lse: tensor<1x4x32xf32>) {
  // expected-error @+1 {{output must have the element type of query, 'bf16', or f32, got 'f16'}}
  %dq, %dk, %dv, %db = wm.dma_attention_grad %q, %k, %k, %bias, %tau, %out, %lse, %q {scale = 0.25 : f32}
      : (tensor<1x32x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x2x32xf32>, tensor<1x2x32xf32>, tensor<1x32x4x16xf16>, tensor<1x4x32xf32>, tensor<1x32x4x16xbf16>)
      -> (tensor<1x32x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x2x32xf32>)
  return
}
