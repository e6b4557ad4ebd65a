// RUN: wm-opt %s --split-input-file | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --mlir-print-op-generic | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --verify-roundtrip > /dev/null

// CHECK-LABEL: func.func @dma_attention_causal_prefix_gqa
// CHECK-SAME: (%[[Q:.*]]: tensor<1x256x16x128xbf16>, %[[K:.*]]: tensor<1x256x4x128xbf16>, %[[V:.*]]: tensor<1x256x4x128xbf16>, %[[BIAS:.*]]: tensor<1x4x256xf32>)
// CHECK: %[[OUT:.*]], %[[LSE:.*]] = wm.dma_attention %[[Q]], %[[K]], %[[V]], %[[BIAS]] {causal, window = 64 : i64}
// CHECK-SAME: -> (tensor<1x256x16x128xbf16>, tensor<1x16x256xf32>)
// CHECK: return %[[OUT]], %[[LSE]]
func.func @dma_attention_causal_prefix_gqa(
    %q: tensor<1x256x16x128xbf16>, %k: tensor<1x256x4x128xbf16>,
    %v: tensor<1x256x4x128xbf16>, %bias: tensor<1x4x256xf32>)
    -> (tensor<1x256x16x128xbf16>, tensor<1x16x256xf32>) {
  // The default scope (prefix) is elided when printed.
  %out, %lse = wm.dma_attention %q, %k, %v, %bias
      {causal, window = 64 : i64, scope = #wm.scope<prefix>}
      : (tensor<1x256x16x128xbf16>, tensor<1x256x4x128xbf16>, tensor<1x256x4x128xbf16>, tensor<1x4x256xf32>)
      -> (tensor<1x256x16x128xbf16>, tensor<1x16x256xf32>)
  return %out, %lse : tensor<1x256x16x128xbf16>, tensor<1x16x256xf32>
}

// -----

// Decode: one query row against a long key sequence, global scope, explicit scale.
// CHECK-LABEL: func.func @dma_attention_decode_global
// CHECK: wm.dma_attention %{{.*}} {causal, scale = 1.250000e-01 : f32, scope = #wm.scope<global>, window = 1024 : i64}
// CHECK-SAME: -> (tensor<2x1x8x64xf16>, tensor<2x8x1xf32>)
func.func @dma_attention_decode_global(
    %q: tensor<2x1x8x64xf16>, %k: tensor<2x4096x1x64xf16>,
    %v: tensor<2x4096x1x64xf16>, %bias: tensor<2x1x4096xf32>)
    -> (tensor<2x1x8x64xf16>, tensor<2x8x1xf32>) {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias
      {causal, window = 1024 : i64, scope = #wm.scope<global>, scale = 0.125 : f32}
      : (tensor<2x1x8x64xf16>, tensor<2x4096x1x64xf16>, tensor<2x4096x1x64xf16>, tensor<2x1x4096xf32>)
      -> (tensor<2x1x8x64xf16>, tensor<2x8x1xf32>)
  return %out, %lse : tensor<2x1x8x64xf16>, tensor<2x8x1xf32>
}

// -----

// No window: plain (non-causal) attention with a key bias.
// CHECK-LABEL: func.func @dma_attention_dense
// CHECK: wm.dma_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (
// CHECK-NOT: window
func.func @dma_attention_dense(
    %q: tensor<1x113x2x64xf32>, %k: tensor<1x1000x2x64xf32>,
    %v: tensor<1x1000x2x64xf32>, %bias: tensor<1x2x1000xf32>)
    -> (tensor<1x113x2x64xf32>, tensor<1x2x113xf32>) {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias
      : (tensor<1x113x2x64xf32>, tensor<1x1000x2x64xf32>, tensor<1x1000x2x64xf32>, tensor<1x2x1000xf32>)
      -> (tensor<1x113x2x64xf32>, tensor<1x2x113xf32>)
  return %out, %lse : tensor<1x113x2x64xf32>, tensor<1x2x113xf32>
}

// -----

// Dynamic sequence lengths with a static head dim (the default scale needs D).
// CHECK-LABEL: func.func @dma_attention_dynamic
// CHECK: -> (tensor<?x?x4x128xbf16>, tensor<?x4x?xf32>)
func.func @dma_attention_dynamic(
    %q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
    %v: tensor<?x?x4x128xbf16>, %bias: tensor<?x4x?xf32>)
    -> (tensor<?x?x4x128xbf16>, tensor<?x4x?xf32>) {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {causal, window = 2048 : i64}
      : (tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x4x?xf32>)
      -> (tensor<?x?x4x128xbf16>, tensor<?x4x?xf32>)
  return %out, %lse : tensor<?x?x4x128xbf16>, tensor<?x4x?xf32>
}

// -----

// dma_bias feeds dma_attention: the bias of a kv head is shared by its query heads.
// CHECK-LABEL: func.func @dma_bias_into_attention
// CHECK: %[[BIAS:.*]] = wm.dma_bias exp
// CHECK: wm.dma_attention %{{.*}}, %{{.*}}, %{{.*}}, %[[BIAS]]
func.func @dma_bias_into_attention(
    %q: tensor<1x64x4x32xf32>, %k: tensor<1x64x2x32xf32>, %v: tensor<1x64x2x32xf32>,
    %w: tensor<2x64xf32>, %a: tensor<2xf32>) -> tensor<1x64x4x32xf32> {
  %bias = wm.dma_bias exp %v, %w, %a
      : (tensor<1x64x2x32xf32>, tensor<2x64xf32>, tensor<2xf32>) -> tensor<1x2x64xf32>
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {causal, window = 16 : i64}
      : (tensor<1x64x4x32xf32>, tensor<1x64x2x32xf32>, tensor<1x64x2x32xf32>, tensor<1x2x64xf32>)
      -> (tensor<1x64x4x32xf32>, tensor<1x4x64xf32>)
  return %out : tensor<1x64x4x32xf32>
}

// Attributes of other dialects (with their prefix) are kept.
// CHECK-LABEL: func.func @foreign_attribute
// CHECK: wm.dma_attention {{.*}}{my.tag = 1 : i64, window = 4 : i64}
func.func @foreign_attribute(%q: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) -> tensor<1x16x4x64xf32> {
  %o, %l = wm.dma_attention %q, %q, %q, %bias {my.tag = 1 : i64, window = 4 : i64} : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return %o : tensor<1x16x4x64xf32>
}

// -----

// A training forward: the output in f32, whatever the storage type.
// CHECK-LABEL: func.func @dma_attention_f32_output
// CHECK: wm.dma_attention %{{.*}} {causal, f32_output, window = 64 : i64}
// CHECK-SAME: -> (tensor<1x128x4x64xf32>, tensor<1x4x128xf32>)
func.func @dma_attention_f32_output(
    %q: tensor<1x128x4x64xbf16>, %k: tensor<1x128x2x64xbf16>,
    %v: tensor<1x128x2x64xbf16>, %bias: tensor<1x2x128xf32>)
    -> (tensor<1x128x4x64xf32>, tensor<1x4x128xf32>) {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {causal, window = 64 : i64, f32_output}
      : (tensor<1x128x4x64xbf16>, tensor<1x128x2x64xbf16>, tensor<1x128x2x64xbf16>, tensor<1x2x128xf32>)
      -> (tensor<1x128x4x64xf32>, tensor<1x4x128xf32>)
  return %out, %lse : tensor<1x128x4x64xf32>, tensor<1x4x128xf32>
}
