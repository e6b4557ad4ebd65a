// The Doge decoder block example parses, verifies, prints and round-trips, and its
// data flow is the one of a Doge block:
//   rms_norm -> q/k/v transposed matmuls -> expand_shape -> rope(q), rope(k), dma_bias(v)
//   -> dma_attention -> collapse_shape -> o_proj -> residual -> rms_norm -> cdmoe -> residual.

// RUN: wm-opt %wm_src_root/examples/doge_block.mlir | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/doge_block.mlir | wm-opt | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/doge_block.mlir --mlir-print-op-generic | wm-opt | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/doge_block.mlir --verify-roundtrip > /dev/null

// Projections multiply by the transpose of an (out, in) weight.
// CHECK-DAG: #[[$LHS:[a-z0-9_]+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$RHS_T:[a-z0-9_]+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$RES:[a-z0-9_]+]] = affine_map<(d0, d1, d2) -> (d0, d1)>

// CHECK-LABEL: func.func @doge_block
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: tensor<128x256xf32>, %[[COS:[a-z0-9_]+]]: tensor<128x64xf32>, %[[SIN:[a-z0-9_]+]]: tensor<128x64xf32>,
// CHECK-SAME: %[[NW1:[a-z0-9_]+]]: tensor<256xf32>, %[[WQ:[a-z0-9_]+]]: tensor<256x256xf32>, %[[WK:[a-z0-9_]+]]: tensor<128x256xf32>, %[[WV:[a-z0-9_]+]]: tensor<128x256xf32>,
// CHECK-SAME: %[[WDT:[a-z0-9_]+]]: tensor<2x128xf32>, %[[A:[a-z0-9_]+]]: tensor<2xf32>, %[[DTB:[a-z0-9_]+]]: tensor<2xf32>, %[[WO:[a-z0-9_]+]]: tensor<256x256xf32>,
// CHECK-SAME: %[[NW2:[a-z0-9_]+]]: tensor<256xf32>, %[[WG:[a-z0-9_]+]]: tensor<512x256xf32>, %[[WU:[a-z0-9_]+]]: tensor<512x256xf32>, %[[WD:[a-z0-9_]+]]: tensor<256x512xf32>,
// CHECK-SAME: %[[WR:[a-z0-9_]+]]: tensor<16x256xf32>, %[[DOWN:[a-z0-9_]+]]: tensor<64x256xf32>, %[[UP:[a-z0-9_]+]]: tensor<64x256xf32>)
// CHECK-SAME: -> tensor<128x256xf32>
// CHECK: %[[ZERO:[a-z0-9_]+]] = arith.constant 0.000000e+00 : f32

// Input norm (default eps elided) feeds every projection.
// CHECK: %[[N1:[a-z0-9_]+]] = wm.rms_norm %[[X]], %[[NW1]] : (tensor<128x256xf32>, tensor<256xf32>) -> tensor<128x256xf32>
// CHECK: %[[QE:[a-z0-9_]+]] = tensor.empty() : tensor<128x256xf32>
// CHECK: %[[QACC:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[QE]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[Q2:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[N1]], %[[WQ]] : tensor<128x256xf32>, tensor<256x256xf32>) outs(%[[QACC]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[KVE:[a-z0-9_]+]] = tensor.empty() : tensor<128x128xf32>
// CHECK: %[[KVACC:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[KVE]] : tensor<128x128xf32>) -> tensor<128x128xf32>
// CHECK: %[[K2:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[N1]], %[[WK]] : tensor<128x256xf32>, tensor<128x256xf32>) outs(%[[KVACC]] : tensor<128x128xf32>) -> tensor<128x128xf32>
// CHECK: %[[V2:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[N1]], %[[WV]] : tensor<128x256xf32>, tensor<128x256xf32>) outs(%[[KVACC]] : tensor<128x128xf32>) -> tensor<128x128xf32>

// Split heads: (L, H*D) -> (1, L, H, D).
// CHECK: %[[Q:[a-z0-9_]+]] = tensor.expand_shape %[[Q2]] {{\[\[}}0, 1], [2, 3]] output_shape [1, 128, 4, 64] : tensor<128x256xf32> into tensor<1x128x4x64xf32>
// CHECK: %[[K:[a-z0-9_]+]] = tensor.expand_shape %[[K2]] {{\[\[}}0, 1], [2, 3]] output_shape [1, 128, 2, 64] : tensor<128x128xf32> into tensor<1x128x2x64xf32>
// CHECK: %[[V:[a-z0-9_]+]] = tensor.expand_shape %[[V2]] {{\[\[}}0, 1], [2, 3]] output_shape [1, 128, 2, 64] : tensor<128x128xf32> into tensor<1x128x2x64xf32>

// Rotary on q and k; the bias comes from the (unrotated) values.
// CHECK: %[[QR:[a-z0-9_]+]] = wm.rope %[[Q]], %[[COS]], %[[SIN]] {rotary_dims = 64 : i64} : (tensor<1x128x4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>) -> tensor<1x128x4x64xf32>
// CHECK: %[[KR:[a-z0-9_]+]] = wm.rope %[[K]], %[[COS]], %[[SIN]] {rotary_dims = 64 : i64} : (tensor<1x128x2x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>) -> tensor<1x128x2x64xf32>
// CHECK: %[[BIAS:[a-z0-9_]+]] = wm.dma_bias linear %[[V]], %[[WDT]], %[[A]] dt_bias(%[[DTB]]) : (tensor<1x128x2x64xf32>, tensor<2x128xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x128xf32>

// Causal, W = 32, prefix scope (the default, elided).
// CHECK: %[[ATT:[a-z0-9_]+]], %[[LSE:[a-z0-9_]+]] = wm.dma_attention %[[QR]], %[[KR]], %[[V]], %[[BIAS]] {causal, window = 32 : i64} : (tensor<1x128x4x64xf32>, tensor<1x128x2x64xf32>, tensor<1x128x2x64xf32>, tensor<1x2x128xf32>) -> (tensor<1x128x4x64xf32>, tensor<1x4x128xf32>)
// CHECK: %[[ATT2:[a-z0-9_]+]] = tensor.collapse_shape %[[ATT]] {{\[\[}}0, 1], [2, 3]] : tensor<1x128x4x64xf32> into tensor<128x256xf32>
// CHECK: %[[OE:[a-z0-9_]+]] = tensor.empty() : tensor<128x256xf32>
// CHECK: %[[OACC:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[OE]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[O:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[ATT2]], %[[WO]] : tensor<128x256xf32>, tensor<256x256xf32>) outs(%[[OACC]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[HE:[a-z0-9_]+]] = tensor.empty() : tensor<128x256xf32>
// CHECK: %[[H:[a-z0-9_]+]] = linalg.add ins(%[[X]], %[[O]] : tensor<128x256xf32>, tensor<128x256xf32>) outs(%[[HE]] : tensor<128x256xf32>) -> tensor<128x256xf32>

// CDMoE sub-block on the post-attention norm, then the second residual.
// CHECK: %[[N2:[a-z0-9_]+]] = wm.rms_norm %[[H]], %[[NW2]] : (tensor<128x256xf32>, tensor<256xf32>) -> tensor<128x256xf32>
// CHECK: %[[MOE:[a-z0-9_]+]] = wm.cdmoe %[[N2]], %[[WG]], %[[WU]], %[[WD]], %[[WR]], %[[DOWN]], %[[UP]] {top_k = 4 : i64} : (tensor<128x256xf32>, tensor<512x256xf32>, tensor<512x256xf32>, tensor<256x512xf32>, tensor<16x256xf32>, tensor<64x256xf32>, tensor<64x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[OUTE:[a-z0-9_]+]] = tensor.empty() : tensor<128x256xf32>
// CHECK: %[[OUT:[a-z0-9_]+]] = linalg.add ins(%[[H]], %[[MOE]] : tensor<128x256xf32>, tensor<128x256xf32>) outs(%[[OUTE]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: return %[[OUT]] : tensor<128x256xf32>
