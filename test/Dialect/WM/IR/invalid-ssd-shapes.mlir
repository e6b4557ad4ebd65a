// RUN: wm-opt %s --split-input-file --verify-diagnostics

// wm.ssd operands and results whose shapes or element types disagree.

func.func @groups_do_not_divide_heads(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x3x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op H = 4 must be a multiple of G = 3}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x3x8xf32>, tensor<1x64x3x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @dt_length(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x63x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op dt has T = 63 (dim 1 of (B, T, H)) but x has T = 64}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x63x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @c_state_size(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>, %c: tensor<1x64x1x16xf32>) {
  // expected-error @+1 {{'wm.ssd' op c has N = 16 (dim 3 of (B, T, G, N)) but b has N = 8}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %c {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x16xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @d_per_channel_shape(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>, %d: tensor<4x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op D has P = 8 (dim 1 of (H, P)) but x has P = 16}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b D(%d) {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>, tensor<4x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @initial_state_shape(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>, %h0: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'wm.ssd' op initial_state has P = 8 (dim 2 of (B, H, P, N)) but x has P = 16}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b initial_state(%h0) {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>, tensor<1x4x8x16xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @initial_state_not_f32(%x: tensor<1x64x4x16xbf16>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xbf16>, %h0: tensor<1x4x16x8xbf16>) {
  // expected-error @+1 {{'wm.ssd' op operand #5 must be ranked tensor of 32-bit float values, but got 'tensor<1x4x16x8xbf16>'}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b initial_state(%h0) {chunk_size = 16 : i64} : (tensor<1x64x4x16xbf16>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xbf16>, tensor<1x64x1x8xbf16>, tensor<1x4x16x8xbf16>) -> (tensor<1x64x4x16xbf16>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @rotary_dims_odd(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>, %cs: tensor<64x5xf32>) {
  // expected-error @+1 {{'wm.ssd' op rotary dims R = 5 must be positive and even}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b rope(%cs, %cs) {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>, tensor<64x5xf32>, tensor<64x5xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @rotary_dims_exceed_state(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>, %cs: tensor<64x16xf32>) {
  // expected-error @+1 {{'wm.ssd' op rotary dims R = 16 must not exceed the state size N = 8}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b rope(%cs, %cs) {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>, tensor<64x16xf32>, tensor<64x16xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @rope_table_length(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>, %cs: tensor<32x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op cos has T = 32 (dim 0 of (T, R)) but x has T = 64}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b rope(%cs, %cs) {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>, tensor<32x8xf32>, tensor<32x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @final_state_shape(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op final_state has P = 8 (dim 2 of (B, H, P, N)) but x has P = 16}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @x_b_element_types(%x: tensor<1x64x4x16xbf16>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op b must have the element type of x, 'bf16', got 'f32'}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64} : (tensor<1x64x4x16xbf16>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xbf16>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @x_rank(%x: tensor<64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op x must have rank 4 (B, T, H, P), got 'tensor<64x4x16xf32>'}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64} : (tensor<64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}
