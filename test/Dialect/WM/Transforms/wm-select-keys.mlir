// RUN: wm-opt %s --split-input-file --wm-select-keys=block-size=32 | FileCheck %s
// RUN: not wm-opt %s --split-input-file --wm-select-keys=block-size=-1 2>&1 | FileCheck %s --check-prefix=BLOCK
// BLOCK: error: block-size must be in [1, 4096], got -1

// A window smaller than Lk: per-row thresholds and per-block summaries, both
// O(L); nothing of size Lq x Lk appears.
// CHECK-LABEL: func.func @selects
// CHECK-SAME: (%[[Q:.*]]: tensor<1x100x4x64xf32>, %[[K:.*]]: tensor<1x100x2x64xf32>, %[[V:.*]]: tensor<1x100x2x64xf32>, %[[BIAS:.*]]: tensor<1x2x100xf32>)
// CHECK: %[[TAU:.*]] = wm.dma_select %[[BIAS]] {causal, query_len = 100 : i64, window = 16 : i64} : (tensor<1x2x100xf32>) -> tensor<1x2x100xf32>
// CHECK: %[[MAX:.*]], %[[MIN:.*]] = wm.dma_block_summary %[[BIAS]] {block_size = 32 : i64} : (tensor<1x2x100xf32>) -> (tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK: %[[OUT:.*]], %[[LSE:.*]] = wm.dma_threshold_attention %[[Q]], %[[K]], %[[V]], %[[BIAS]], %[[TAU]] summary(%[[MAX]], %[[MIN]]) {block_size = 32 : i64, causal, scale = 1.250000e-01 : f32}
// CHECK-NOT: 100x100
// CHECK: return %[[OUT]], %[[LSE]]
func.func @selects(%q: tensor<1x100x4x64xf32>, %k: tensor<1x100x2x64xf32>,
                   %v: tensor<1x100x2x64xf32>, %bias: tensor<1x2x100xf32>)
    -> (tensor<1x100x4x64xf32>, tensor<1x4x100xf32>) {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {causal, window = 16 : i64}
      : (tensor<1x100x4x64xf32>, tensor<1x100x2x64xf32>, tensor<1x100x2x64xf32>, tensor<1x2x100xf32>)
      -> (tensor<1x100x4x64xf32>, tensor<1x4x100xf32>)
  return %out, %lse : tensor<1x100x4x64xf32>, tensor<1x4x100xf32>
}

// -----

// The global scope is carried to the thresholds; an explicit scale is kept.
// CHECK-LABEL: func.func @global_scope
// CHECK: wm.dma_select %{{.*}} {query_len = 1 : i64, scope = #wm.scope<global>, window = 8 : i64}
// CHECK: wm.dma_threshold_attention {{.*}} {block_size = 32 : i64, scale = 5.000000e-01 : f32}
func.func @global_scope(%q: tensor<1x1x1x16xf32>, %k: tensor<1x50x1x16xf32>,
                        %v: tensor<1x50x1x16xf32>, %bias: tensor<1x1x50xf32>)
    -> tensor<1x1x1x16xf32> {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {window = 8 : i64, scope = #wm.scope<global>, scale = 0.5 : f32}
      : (tensor<1x1x1x16xf32>, tensor<1x50x1x16xf32>, tensor<1x50x1x16xf32>, tensor<1x1x50xf32>)
      -> (tensor<1x1x1x16xf32>, tensor<1x1x1xf32>)
  return %out : tensor<1x1x1x16xf32>
}

// -----

// Lk <= W: no selection at all, tau = -inf and no summaries.
// CHECK-LABEL: func.func @window_covers_all_keys
// CHECK-NOT: wm.dma_select
// CHECK: %[[NOTAU:.*]] = arith.constant dense<0xFF800000> : tensor<1x1x50xf32>
// CHECK-NOT: wm.dma_block_summary
// CHECK: wm.dma_threshold_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NOTAU]] {causal, scale = 2.500000e-01 : f32}
func.func @window_covers_all_keys(%q: tensor<1x50x1x16xf32>, %k: tensor<1x50x1x16xf32>,
                                  %v: tensor<1x50x1x16xf32>, %bias: tensor<1x1x50xf32>)
    -> tensor<1x50x1x16xf32> {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {causal, window = 50 : i64}
      : (tensor<1x50x1x16xf32>, tensor<1x50x1x16xf32>, tensor<1x50x1x16xf32>, tensor<1x1x50xf32>)
      -> (tensor<1x50x1x16xf32>, tensor<1x1x50xf32>)
  return %out : tensor<1x50x1x16xf32>
}

// -----

// Dynamic lengths are left alone (the selection needs static query lengths).
// CHECK-LABEL: func.func @dynamic_left_alone
// CHECK: wm.dma_attention
func.func @dynamic_left_alone(%q: tensor<1x?x1x16xf32>, %k: tensor<1x?x1x16xf32>,
                              %v: tensor<1x?x1x16xf32>, %bias: tensor<1x1x?xf32>)
    -> tensor<1x?x1x16xf32> {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {causal, window = 4 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x1x?xf32>)
      -> (tensor<1x?x1x16xf32>, tensor<1x1x?xf32>)
  return %out : tensor<1x?x1x16xf32>
}

// -----

// f32_output is carried to the threshold form.
// CHECK-LABEL: func.func @f32_output
// CHECK: wm.dma_threshold_attention {{.*}} {block_size = 32 : i64, causal, f32_output, scale = 1.250000e-01 : f32}
// CHECK-SAME: -> (tensor<1x100x2x64xf32>, tensor<1x2x100xf32>)
func.func @f32_output(%q: tensor<1x100x2x64xbf16>, %k: tensor<1x100x1x64xbf16>,
                      %v: tensor<1x100x1x64xbf16>, %bias: tensor<1x1x100xf32>)
    -> tensor<1x100x2x64xf32> {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {causal, window = 16 : i64, f32_output}
      : (tensor<1x100x2x64xbf16>, tensor<1x100x1x64xbf16>, tensor<1x100x1x64xbf16>, tensor<1x1x100xf32>)
      -> (tensor<1x100x2x64xf32>, tensor<1x2x100xf32>)
  return %out : tensor<1x100x2x64xf32>
}
