// RUN: wm-opt %s --split-input-file --verify-diagnostics

func.func @select_window(%bias: tensor<1x2x40xf32>) {
  // expected-error @+1 {{'wm.dma_select' op window must be positive, got 0}}
  %tau = wm.dma_select %bias {query_len = 40 : i64, window = 0 : i64} : (tensor<1x2x40xf32>) -> tensor<1x2x40xf32>
  return
}

// -----

func.func @select_rows(%bias: tensor<1x2x40xf32>) {
  // expected-error @+1 {{'wm.dma_select' op tau must have query_len = 40 rows}}
  %tau = wm.dma_select %bias {query_len = 40 : i64, window = 4 : i64} : (tensor<1x2x40xf32>) -> tensor<1x2x39xf32>
  return
}

// -----

func.func @summary_block_count(%bias: tensor<1x2x40xf32>) {
  // expected-error @+1 {{'wm.dma_block_summary' op summaries must have ceil(Lk / block_size) = 3 blocks, got 4}}
  %max, %min = wm.dma_block_summary %bias {block_size = 16 : i64} : (tensor<1x2x40xf32>) -> (tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @summary_block_size(%bias: tensor<1x2x40xf32>) {
  // expected-error @+1 {{'wm.dma_block_summary' op block_size must be positive, got 0}}
  %max, %min = wm.dma_block_summary %bias {block_size = 0 : i64} : (tensor<1x2x40xf32>) -> (tensor<1x2x?xf32>, tensor<1x2x?xf32>)
  return
}

// -----

func.func @threshold_attention_summary_without_size(%q: tensor<1x40x2x8xf32>, %k: tensor<1x40x2x8xf32>, %bias: tensor<1x2x40xf32>, %s: tensor<1x2x3xf32>) {
  // expected-error @+1 {{'wm.dma_threshold_attention' op block summaries and block_size go together}}
  %o, %l = wm.dma_threshold_attention %q, %k, %k, %bias, %bias summary(%s, %s) {scale = 1.0 : f32}
      : (tensor<1x40x2x8xf32>, tensor<1x40x2x8xf32>, tensor<1x40x2x8xf32>, tensor<1x2x40xf32>, tensor<1x2x40xf32>, tensor<1x2x3xf32>, tensor<1x2x3xf32>) -> (tensor<1x40x2x8xf32>, tensor<1x2x40xf32>)
  return
}

// -----

func.func @threshold_attention_tau_rows(%q: tensor<1x40x2x8xf32>, %k: tensor<1x40x2x8xf32>, %bias: tensor<1x2x40xf32>, %tau: tensor<1x2x39xf32>) {
  // expected-error @+1 {{'wm.dma_threshold_attention' op tau has Lq = 39 (dim 2 of (B, Hk, Lq)) but query has Lq = 40}}
  %o, %l = wm.dma_threshold_attention %q, %k, %k, %bias, %tau {scale = 1.0 : f32}
      : (tensor<1x40x2x8xf32>, tensor<1x40x2x8xf32>, tensor<1x40x2x8xf32>, tensor<1x2x40xf32>, tensor<1x2x39xf32>) -> (tensor<1x40x2x8xf32>, tensor<1x2x40xf32>)
  return
}

// -----

func.func @threshold_attention_summary_count(%q: tensor<1x40x2x8xf32>, %k: tensor<1x40x2x8xf32>, %bias: tensor<1x2x40xf32>, %s: tensor<1x2x2xf32>) {
  // expected-error @+1 {{'wm.dma_threshold_attention' op summaries must have ceil(Lk / block_size) = 3 blocks, got 2}}
  %o, %l = wm.dma_threshold_attention %q, %k, %k, %bias, %bias summary(%s, %s) {block_size = 16 : i64, scale = 1.0 : f32}
      : (tensor<1x40x2x8xf32>, tensor<1x40x2x8xf32>, tensor<1x40x2x8xf32>, tensor<1x2x40xf32>, tensor<1x2x40xf32>, tensor<1x2x2xf32>, tensor<1x2x2xf32>) -> (tensor<1x40x2x8xf32>, tensor<1x2x40xf32>)
  return
}

// -----

func.func @threshold_attention_scale(%q: tensor<1x40x2x8xf32>, %k: tensor<1x40x2x8xf32>, %bias: tensor<1x2x40xf32>) {
  // expected-error @+1 {{'wm.dma_threshold_attention' op scale must be positive and finite, got 0}}
  %o, %l = wm.dma_threshold_attention %q, %k, %k, %bias, %bias {scale = 0.0 : f32}
      : (tensor<1x40x2x8xf32>, tensor<1x40x2x8xf32>, tensor<1x40x2x8xf32>, tensor<1x2x40xf32>, tensor<1x2x40xf32>) -> (tensor<1x40x2x8xf32>, tensor<1x2x40xf32>)
  return
}
