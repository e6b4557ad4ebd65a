// Doge decoder block (dynamic mask attention + CDMoE) on one sequence, f32, static shapes.
//   B = 1, L = 128, hidden d = 256, H = 4 query heads, Hk = 2 kv heads, head dim D = 64,
//   DMA: linear bias, window W = 32, causal, prefix scope; RoPE over all 64 dims;
//   CDMoE: N = 64 experts (K = 8), intermediate I = 512, top_k = 4.
// Weights are stored (out, in); projections multiply by their transpose.
//   h   = x + Wo * dma_attention(rope(Wq n1), rope(Wk n1), Wv n1, dma_bias(Wv n1)),  n1 = rms_norm(x)
//   out = h + cdmoe(rms_norm(h))
func.func @doge_block(
    %x: tensor<128x256xf32>,          // hidden states (L, d)
    %cos: tensor<128x64xf32>,         // rotary tables (L, R)
    %sin: tensor<128x64xf32>,
    %attn_norm_w: tensor<256xf32>,    // input rms_norm weight (d)
    %wq: tensor<256x256xf32>,         // (H*D, d)
    %wk: tensor<128x256xf32>,         // (Hk*D, d)
    %wv: tensor<128x256xf32>,         // (Hk*D, d)
    %w_dt: tensor<2x128xf32>,         // (Hk, Hk*D)
    %a: tensor<2xf32>,                // (Hk)
    %dt_bias: tensor<2xf32>,          // (Hk)
    %wo: tensor<256x256xf32>,         // (d, H*D)
    %mlp_norm_w: tensor<256xf32>,     // post-attention rms_norm weight (d)
    %w_gate: tensor<512x256xf32>,     // (I, d)
    %w_up: tensor<512x256xf32>,       // (I, d)
    %w_down: tensor<256x512xf32>,     // (d, I)
    %w_router: tensor<16x256xf32>,    // (2K, d)
    %down: tensor<64x256xf32>,        // (N, d)
    %up: tensor<64x256xf32>)          // (N, d)
    -> tensor<128x256xf32> {
  %zero = arith.constant 0.0 : f32

  // Attention sub-block.
  %n1 = wm.rms_norm %x, %attn_norm_w {eps = 1.0e-6 : f32}
      : (tensor<128x256xf32>, tensor<256xf32>) -> tensor<128x256xf32>

  %q_init = tensor.empty() : tensor<128x256xf32>
  %q_acc = linalg.fill ins(%zero : f32) outs(%q_init : tensor<128x256xf32>) -> tensor<128x256xf32>
  %q2 = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%n1, %wq : tensor<128x256xf32>, tensor<256x256xf32>)
      outs(%q_acc : tensor<128x256xf32>) -> tensor<128x256xf32>

  %kv_init = tensor.empty() : tensor<128x128xf32>
  %kv_acc = linalg.fill ins(%zero : f32) outs(%kv_init : tensor<128x128xf32>) -> tensor<128x128xf32>
  %k2 = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%n1, %wk : tensor<128x256xf32>, tensor<128x256xf32>)
      outs(%kv_acc : tensor<128x128xf32>) -> tensor<128x128xf32>
  %v2 = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%n1, %wv : tensor<128x256xf32>, tensor<128x256xf32>)
      outs(%kv_acc : tensor<128x128xf32>) -> tensor<128x128xf32>

  %q = tensor.expand_shape %q2 [[0, 1], [2, 3]] output_shape [1, 128, 4, 64]
      : tensor<128x256xf32> into tensor<1x128x4x64xf32>
  %k = tensor.expand_shape %k2 [[0, 1], [2, 3]] output_shape [1, 128, 2, 64]
      : tensor<128x128xf32> into tensor<1x128x2x64xf32>
  %v = tensor.expand_shape %v2 [[0, 1], [2, 3]] output_shape [1, 128, 2, 64]
      : tensor<128x128xf32> into tensor<1x128x2x64xf32>

  %q_rot = wm.rope %q, %cos, %sin {rotary_dims = 64 : i64}
      : (tensor<1x128x4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>) -> tensor<1x128x4x64xf32>
  %k_rot = wm.rope %k, %cos, %sin {rotary_dims = 64 : i64}
      : (tensor<1x128x2x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>) -> tensor<1x128x2x64xf32>

  %bias = wm.dma_bias linear %v, %w_dt, %a dt_bias(%dt_bias)
      : (tensor<1x128x2x64xf32>, tensor<2x128xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x128xf32>

  %attn, %lse = wm.dma_attention %q_rot, %k_rot, %v, %bias
      {causal, window = 32 : i64, scope = #wm.scope<prefix>}
      : (tensor<1x128x4x64xf32>, tensor<1x128x2x64xf32>, tensor<1x128x2x64xf32>, tensor<1x2x128xf32>)
      -> (tensor<1x128x4x64xf32>, tensor<1x4x128xf32>)

  %attn2 = tensor.collapse_shape %attn [[0, 1], [2, 3]]
      : tensor<1x128x4x64xf32> into tensor<128x256xf32>

  %o_init = tensor.empty() : tensor<128x256xf32>
  %o_acc = linalg.fill ins(%zero : f32) outs(%o_init : tensor<128x256xf32>) -> tensor<128x256xf32>
  %o = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%attn2, %wo : tensor<128x256xf32>, tensor<256x256xf32>)
      outs(%o_acc : tensor<128x256xf32>) -> tensor<128x256xf32>

  %h_init = tensor.empty() : tensor<128x256xf32>
  %h = linalg.add ins(%x, %o : tensor<128x256xf32>, tensor<128x256xf32>)
      outs(%h_init : tensor<128x256xf32>) -> tensor<128x256xf32>

  // CDMoE sub-block.
  %n2 = wm.rms_norm %h, %mlp_norm_w {eps = 1.0e-6 : f32}
      : (tensor<128x256xf32>, tensor<256xf32>) -> tensor<128x256xf32>
  %moe = wm.cdmoe %n2, %w_gate, %w_up, %w_down, %w_router, %down, %up {top_k = 4 : i64}
      : (tensor<128x256xf32>, tensor<512x256xf32>, tensor<512x256xf32>, tensor<256x512xf32>,
         tensor<16x256xf32>, tensor<64x256xf32>, tensor<64x256xf32>) -> tensor<128x256xf32>

  %out_init = tensor.empty() : tensor<128x256xf32>
  %out = linalg.add ins(%h, %moe : tensor<128x256xf32>, tensor<128x256xf32>)
      outs(%out_init : tensor<128x256xf32>) -> tensor<128x256xf32>
  return %out : tensor<128x256xf32>
}
