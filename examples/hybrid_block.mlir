// Hybrid (Mamba-2 style) block: state space duality layer with unified RoPE on B/C, f32, static shapes.
//   B = 1, T = 128, hidden d = 256, H = 4 heads of P = 64, G = 1 group, state N = 64,
//   chunk_size = 32, rope over R = 32 dims of B and C, dt_softplus, per-head D, gate z, dt_bias.
// Weights are stored (out, in); projections multiply by their transpose.
//   n = rms_norm(x); x_ssm = Wx n, z = Wz n, B = Wb n, C = Wc n, dt = Wdt n
//   y, state = ssd(x_ssm, dt, A, B, C, D, z, dt_bias, rope(cos, sin))
//   out = x + Wo y;  returns (out (T, d), final state (1, H, P, N))
func.func @hybrid_block(
    %x: tensor<128x256xf32>,          // hidden states (T, d)
    %cos: tensor<128x32xf32>,         // rotary tables (T, R)
    %sin: tensor<128x32xf32>,
    %norm_w: tensor<256xf32>,         // rms_norm weight (d)
    %wx: tensor<256x256xf32>,         // (H*P, d)
    %wz: tensor<256x256xf32>,         // (H*P, d)
    %wb: tensor<64x256xf32>,          // (G*N, d)
    %wc: tensor<64x256xf32>,          // (G*N, d)
    %wdt: tensor<4x256xf32>,          // (H, d)
    %a: tensor<4xf32>,                // A (H)
    %d_skip: tensor<4xf32>,           // D (H)
    %dt_bias: tensor<4xf32>,          // (H)
    %wo: tensor<256x256xf32>)         // (d, H*P)
    -> (tensor<128x256xf32>, tensor<1x4x64x64xf32>) {
  %zero = arith.constant 0.0 : f32

  %n = wm.rms_norm %x, %norm_w {eps = 1.0e-6 : f32}
      : (tensor<128x256xf32>, tensor<256xf32>) -> tensor<128x256xf32>

  // Input projections.
  %hp_init = tensor.empty() : tensor<128x256xf32>
  %hp_acc = linalg.fill ins(%zero : f32) outs(%hp_init : tensor<128x256xf32>) -> tensor<128x256xf32>
  %xs2 = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%n, %wx : tensor<128x256xf32>, tensor<256x256xf32>)
      outs(%hp_acc : tensor<128x256xf32>) -> tensor<128x256xf32>
  %z2 = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%n, %wz : tensor<128x256xf32>, tensor<256x256xf32>)
      outs(%hp_acc : tensor<128x256xf32>) -> tensor<128x256xf32>

  %gn_init = tensor.empty() : tensor<128x64xf32>
  %gn_acc = linalg.fill ins(%zero : f32) outs(%gn_init : tensor<128x64xf32>) -> tensor<128x64xf32>
  %b2 = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%n, %wb : tensor<128x256xf32>, tensor<64x256xf32>)
      outs(%gn_acc : tensor<128x64xf32>) -> tensor<128x64xf32>
  %c2 = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%n, %wc : tensor<128x256xf32>, tensor<64x256xf32>)
      outs(%gn_acc : tensor<128x64xf32>) -> tensor<128x64xf32>

  %dt_init = tensor.empty() : tensor<128x4xf32>
  %dt_acc = linalg.fill ins(%zero : f32) outs(%dt_init : tensor<128x4xf32>) -> tensor<128x4xf32>
  %dt2 = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%n, %wdt : tensor<128x256xf32>, tensor<4x256xf32>)
      outs(%dt_acc : tensor<128x4xf32>) -> tensor<128x4xf32>

  // SSD layouts.
  %xs = tensor.expand_shape %xs2 [[0, 1], [2, 3]] output_shape [1, 128, 4, 64]
      : tensor<128x256xf32> into tensor<1x128x4x64xf32>
  %z = tensor.expand_shape %z2 [[0, 1], [2, 3]] output_shape [1, 128, 4, 64]
      : tensor<128x256xf32> into tensor<1x128x4x64xf32>
  %b = tensor.expand_shape %b2 [[0, 1], [2, 3]] output_shape [1, 128, 1, 64]
      : tensor<128x64xf32> into tensor<1x128x1x64xf32>
  %c = tensor.expand_shape %c2 [[0, 1], [2, 3]] output_shape [1, 128, 1, 64]
      : tensor<128x64xf32> into tensor<1x128x1x64xf32>
  %dt = tensor.expand_shape %dt2 [[0, 1], [2]] output_shape [1, 128, 4]
      : tensor<128x4xf32> into tensor<1x128x4xf32>

  %y, %state = wm.ssd %xs, %dt, %a, %b, %c D(%d_skip) z(%z) dt_bias(%dt_bias) rope(%cos, %sin)
      {chunk_size = 32 : i64, dt_softplus}
      : (tensor<1x128x4x64xf32>, tensor<1x128x4xf32>, tensor<4xf32>, tensor<1x128x1x64xf32>,
         tensor<1x128x1x64xf32>, tensor<4xf32>, tensor<1x128x4x64xf32>, tensor<4xf32>,
         tensor<128x32xf32>, tensor<128x32xf32>)
      -> (tensor<1x128x4x64xf32>, tensor<1x4x64x64xf32>)

  %y2 = tensor.collapse_shape %y [[0, 1], [2, 3]]
      : tensor<1x128x4x64xf32> into tensor<128x256xf32>

  // Output projection and residual.
  %o_init = tensor.empty() : tensor<128x256xf32>
  %o_acc = linalg.fill ins(%zero : f32) outs(%o_init : tensor<128x256xf32>) -> tensor<128x256xf32>
  %o = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%y2, %wo : tensor<128x256xf32>, tensor<256x256xf32>)
      outs(%o_acc : tensor<128x256xf32>) -> tensor<128x256xf32>

  %out_init = tensor.empty() : tensor<128x256xf32>
  %out = linalg.add ins(%x, %o : tensor<128x256xf32>, tensor<128x256xf32>)
      outs(%out_init : tensor<128x256xf32>) -> tensor<128x256xf32>
  return %out, %state : tensor<128x256xf32>, tensor<1x4x64x64xf32>
}
