// The ops key selection produces: thresholds, block summaries, thresholded attention.
// RUN: wm-opt %s --split-input-file | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --verify-roundtrip > /dev/null

// CHECK-LABEL: func.func @selection
// CHECK-SAME: (%[[Q:.*]]: tensor<1x100x4x64xf32>, %[[K:.*]]: tensor<1x100x2x64xf32>, %[[BIAS:.*]]: tensor<1x2x100xf32>)
// CHECK: %[[TAU:.*]] = wm.dma_select %[[BIAS]] {causal, query_len = 100 : i64, window = 16 : i64}
// CHECK: %[[MAX:.*]], %[[MIN:.*]] = wm.dma_block_summary %[[BIAS]] {block_size = 32 : i64}
// CHECK: wm.dma_threshold_attention %[[Q]], %[[K]], %[[K]], %[[BIAS]], %[[TAU]] summary(%[[MAX]], %[[MIN]]) {block_size = 32 : i64, causal, scale = 1.250000e-01 : f32}
func.func @selection(%q: tensor<1x100x4x64xf32>, %k: tensor<1x100x2x64xf32>, %bias: tensor<1x2x100xf32>)
    -> tensor<1x100x4x64xf32> {
  %tau = wm.dma_select %bias {causal, query_len = 100 : i64, window = 16 : i64} : (tensor<1x2x100xf32>) -> tensor<1x2x100xf32>
  %max, %min = wm.dma_block_summary %bias {block_size = 32 : i64} : (tensor<1x2x100xf32>) -> (tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  %out, %lse = wm.dma_threshold_attention %q, %k, %k, %bias, %tau summary(%max, %min) {block_size = 32 : i64, causal, scale = 0.125 : f32}
      : (tensor<1x100x4x64xf32>, tensor<1x100x2x64xf32>, tensor<1x100x2x64xf32>, tensor<1x2x100xf32>, tensor<1x2x100xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
      -> (tensor<1x100x4x64xf32>, tensor<1x4x100xf32>)
  return %out : tensor<1x100x4x64xf32>
}

// -----

// Decode against a longer key sequence, without summaries.
// CHECK-LABEL: func.func @decode_no_summary
// CHECK: wm.dma_threshold_attention %{{.*}} {scale = 1.000000e+00 : f32} : (
func.func @decode_no_summary(%q: tensor<2x1x8x16xbf16>, %k: tensor<2x300x1x16xbf16>, %bias: tensor<2x1x300xf32>, %tau: tensor<2x1x1xf32>)
    -> tensor<2x1x8x16xbf16> {
  %out, %lse = wm.dma_threshold_attention %q, %k, %k, %bias, %tau {scale = 1.0 : f32}
      : (tensor<2x1x8x16xbf16>, tensor<2x300x1x16xbf16>, tensor<2x300x1x16xbf16>, tensor<2x1x300xf32>, tensor<2x1x1xf32>)
      -> (tensor<2x1x8x16xbf16>, tensor<2x8x1xf32>)
  return %out : tensor<2x1x8x16xbf16>
}
