// The hybrid (Mamba-2 style) block example parses, verifies, prints and round-trips, and
// its data flow is the one of an SSD block:
//   rms_norm -> x/z/B/C/dt transposed matmuls -> expand_shape -> ssd (D, z, dt_bias, rope)
//   -> collapse_shape -> out_proj -> residual; the final state is the second result.

// RUN: wm-opt %wm_src_root/examples/hybrid_block.mlir | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/hybrid_block.mlir | wm-opt | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/hybrid_block.mlir --mlir-print-op-generic | wm-opt | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/hybrid_block.mlir --verify-roundtrip > /dev/null

// Projections multiply by the transpose of an (out, in) weight.
// CHECK-DAG: #[[$LHS:[a-z0-9_]+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$RHS_T:[a-z0-9_]+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$RES:[a-z0-9_]+]] = affine_map<(d0, d1, d2) -> (d0, d1)>

// CHECK-LABEL: func.func @hybrid_block
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: tensor<128x256xf32>, %[[COS:[a-z0-9_]+]]: tensor<128x32xf32>, %[[SIN:[a-z0-9_]+]]: tensor<128x32xf32>,
// CHECK-SAME: %[[NW:[a-z0-9_]+]]: tensor<256xf32>, %[[WX:[a-z0-9_]+]]: tensor<256x256xf32>, %[[WZ:[a-z0-9_]+]]: tensor<256x256xf32>,
// CHECK-SAME: %[[WB:[a-z0-9_]+]]: tensor<64x256xf32>, %[[WC:[a-z0-9_]+]]: tensor<64x256xf32>, %[[WDT:[a-z0-9_]+]]: tensor<4x256xf32>,
// CHECK-SAME: %[[A:[a-z0-9_]+]]: tensor<4xf32>, %[[DSKIP:[a-z0-9_]+]]: tensor<4xf32>, %[[DTB:[a-z0-9_]+]]: tensor<4xf32>, %[[WO:[a-z0-9_]+]]: tensor<256x256xf32>)
// CHECK-SAME: -> (tensor<128x256xf32>, tensor<1x4x64x64xf32>)
// CHECK: %[[ZERO:[a-z0-9_]+]] = arith.constant 0.000000e+00 : f32

// The norm feeds all five input projections.
// CHECK: %[[N:[a-z0-9_]+]] = wm.rms_norm %[[X]], %[[NW]] : (tensor<128x256xf32>, tensor<256xf32>) -> tensor<128x256xf32>
// CHECK: %[[HPE:[a-z0-9_]+]] = tensor.empty() : tensor<128x256xf32>
// CHECK: %[[HPACC:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[HPE]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[XS2:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[N]], %[[WX]] : tensor<128x256xf32>, tensor<256x256xf32>) outs(%[[HPACC]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[Z2:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[N]], %[[WZ]] : tensor<128x256xf32>, tensor<256x256xf32>) outs(%[[HPACC]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[GNE:[a-z0-9_]+]] = tensor.empty() : tensor<128x64xf32>
// CHECK: %[[GNACC:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[GNE]] : tensor<128x64xf32>) -> tensor<128x64xf32>
// CHECK: %[[B2:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[N]], %[[WB]] : tensor<128x256xf32>, tensor<64x256xf32>) outs(%[[GNACC]] : tensor<128x64xf32>) -> tensor<128x64xf32>
// CHECK: %[[C2:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[N]], %[[WC]] : tensor<128x256xf32>, tensor<64x256xf32>) outs(%[[GNACC]] : tensor<128x64xf32>) -> tensor<128x64xf32>
// CHECK: %[[DTE:[a-z0-9_]+]] = tensor.empty() : tensor<128x4xf32>
// CHECK: %[[DTACC:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[DTE]] : tensor<128x4xf32>) -> tensor<128x4xf32>
// CHECK: %[[DT2:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[N]], %[[WDT]] : tensor<128x256xf32>, tensor<4x256xf32>) outs(%[[DTACC]] : tensor<128x4xf32>) -> tensor<128x4xf32>

// SSD layouts: x, z (1, T, H, P); B, C (1, T, G, N); dt (1, T, H).
// CHECK: %[[XS:[a-z0-9_]+]] = tensor.expand_shape %[[XS2]] {{\[\[}}0, 1], [2, 3]] output_shape [1, 128, 4, 64] : tensor<128x256xf32> into tensor<1x128x4x64xf32>
// CHECK: %[[Z:[a-z0-9_]+]] = tensor.expand_shape %[[Z2]] {{\[\[}}0, 1], [2, 3]] output_shape [1, 128, 4, 64] : tensor<128x256xf32> into tensor<1x128x4x64xf32>
// CHECK: %[[B:[a-z0-9_]+]] = tensor.expand_shape %[[B2]] {{\[\[}}0, 1], [2, 3]] output_shape [1, 128, 1, 64] : tensor<128x64xf32> into tensor<1x128x1x64xf32>
// CHECK: %[[C:[a-z0-9_]+]] = tensor.expand_shape %[[C2]] {{\[\[}}0, 1], [2, 3]] output_shape [1, 128, 1, 64] : tensor<128x64xf32> into tensor<1x128x1x64xf32>
// CHECK: %[[DT:[a-z0-9_]+]] = tensor.expand_shape %[[DT2]] {{\[\[}}0, 1], [2]] output_shape [1, 128, 4] : tensor<128x4xf32> into tensor<1x128x4xf32>

// CHECK: %[[Y:[a-z0-9_]+]], %[[STATE:[a-z0-9_]+]] = wm.ssd %[[XS]], %[[DT]], %[[A]], %[[B]], %[[C]] D(%[[DSKIP]]) z(%[[Z]]) dt_bias(%[[DTB]]) rope(%[[COS]], %[[SIN]]) {chunk_size = 32 : i64, dt_softplus}
// CHECK-SAME: : (tensor<1x128x4x64xf32>, tensor<1x128x4xf32>, tensor<4xf32>, tensor<1x128x1x64xf32>, tensor<1x128x1x64xf32>, tensor<4xf32>, tensor<1x128x4x64xf32>, tensor<4xf32>, tensor<128x32xf32>, tensor<128x32xf32>)
// CHECK-SAME: -> (tensor<1x128x4x64xf32>, tensor<1x4x64x64xf32>)
// CHECK: %[[Y2:[a-z0-9_]+]] = tensor.collapse_shape %[[Y]] {{\[\[}}0, 1], [2, 3]] : tensor<1x128x4x64xf32> into tensor<128x256xf32>

// Output projection and residual.
// CHECK: %[[OE:[a-z0-9_]+]] = tensor.empty() : tensor<128x256xf32>
// CHECK: %[[OACC:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[OE]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[O:[a-z0-9_]+]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$RES]]] ins(%[[Y2]], %[[WO]] : tensor<128x256xf32>, tensor<256x256xf32>) outs(%[[OACC]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: %[[OUTE:[a-z0-9_]+]] = tensor.empty() : tensor<128x256xf32>
// CHECK: %[[OUT:[a-z0-9_]+]] = linalg.add ins(%[[X]], %[[O]] : tensor<128x256xf32>, tensor<128x256xf32>) outs(%[[OUTE]] : tensor<128x256xf32>) -> tensor<128x256xf32>
// CHECK: return %[[OUT]], %[[STATE]] : tensor<128x256xf32>, tensor<1x4x64x64xf32>
