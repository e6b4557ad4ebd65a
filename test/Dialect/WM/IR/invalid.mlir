// Malformed IR that fails before any op verifier: the parser and the
// generic checks must diagnose it with a location, never crash.
// RUN: wm-opt %s --split-input-file --verify-diagnostics

func.func @missing_operand(%q: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{expected ','}}
  %o, %l = wm.dma_attention %q, %q, %bias : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @type_count_mismatch(%q: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{custom op 'wm.dma_attention' number of operands and types do not match: got 4 operands and 3 types}}
  %o, %l = wm.dma_attention %q, %q, %q, %bias : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> (tensor<1x16x4x64xf32>, tensor<1x4x16xf32>)
  return
}

// -----

func.func @one_result_for_two(%q: tensor<1x16x4x64xf32>, %bias: tensor<1x4x16xf32>) {
  // expected-error @+1 {{'wm.dma_attention' op expected 2 results}}
  %o = "wm.dma_attention"(%q, %q, %q, %bias) : (tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x16x4x64xf32>, tensor<1x4x16xf32>) -> tensor<1x16x4x64xf32>
  return
}

// -----

func.func @missing_required_attribute(%x: tensor<8x32xf32>, %e: tensor<16x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op requires attribute 'top_k'}}
  %y = "wm.cdmoe"(%x, %x, %x, %x, %x, %e, %e) : (tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @rope_missing_sin(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>, %cs: tensor<64x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op rope needs both cos and sin}}
  %y, %s = "wm.ssd"(%x, %dt, %a, %b, %b, %cs) <{chunk_size = 16 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0>}> : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>, tensor<64x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @vector_operand(%x: vector<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'wm.rms_norm' op operand #0 must be ranked tensor of bfloat16 type or 16-bit float or 32-bit float values, but got 'vector<4x64xf32>'}}
  %n = wm.rms_norm %x, %w : (vector<4x64xf32>, tensor<64xf32>) -> vector<4x64xf32>
  return
}
