// RUN: wm-opt %s --split-input-file --verify-diagnostics

func.func @rotary_dims_odd(%x: tensor<1x8x2x16xf32>, %cs: tensor<8x7xf32>) {
  // expected-error @+1 {{'wm.rope' op rotary_dims must be positive and even, got 7}}
  %r = wm.rope %x, %cs, %cs {rotary_dims = 7 : i64} : (tensor<1x8x2x16xf32>, tensor<8x7xf32>, tensor<8x7xf32>) -> tensor<1x8x2x16xf32>
  return
}

// -----

func.func @rotary_dims_exceed_head_dim(%x: tensor<1x8x2x16xf32>, %cs: tensor<8x32xf32>) {
  // expected-error @+1 {{'wm.rope' op rotary_dims = 32 exceeds the head dim D = 16}}
  %r = wm.rope %x, %cs, %cs {rotary_dims = 32 : i64} : (tensor<1x8x2x16xf32>, tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<1x8x2x16xf32>
  return
}

// -----

func.func @table_columns(%x: tensor<1x8x2x16xf32>, %cs: tensor<8x8xf32>) {
  // expected-error @+1 {{'wm.rope' op cos/sin have 8 columns but rotary_dims = 16}}
  %r = wm.rope %x, %cs, %cs {rotary_dims = 16 : i64} : (tensor<1x8x2x16xf32>, tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<1x8x2x16xf32>
  return
}

// -----

func.func @table_length(%x: tensor<1x8x2x16xf32>, %cs: tensor<9x16xf32>) {
  // expected-error @+1 {{'wm.rope' op cos has L = 9 (dim 0 of (L, R)) but x has L = 8}}
  %r = wm.rope %x, %cs, %cs {rotary_dims = 16 : i64} : (tensor<1x8x2x16xf32>, tensor<9x16xf32>, tensor<9x16xf32>) -> tensor<1x8x2x16xf32>
  return
}

// -----

func.func @cos_sin_mismatch(%x: tensor<1x8x2x16xf32>, %c: tensor<8x16xf32>, %s: tensor<8x8xf32>) {
  // expected-error @+1 {{'wm.rope' op sin has R = 8 (dim 1 of (L, R)) but cos has R = 16}}
  %r = wm.rope %x, %c, %s {rotary_dims = 16 : i64} : (tensor<1x8x2x16xf32>, tensor<8x16xf32>, tensor<8x8xf32>) -> tensor<1x8x2x16xf32>
  return
}

// -----

func.func @table_batch(%x: tensor<2x8x2x16xf32>, %cs: tensor<3x8x16xf32>) {
  // expected-error @+1 {{'wm.rope' op cos has B = 3 (dim 0 of (B, L, R)) but x has B = 2}}
  %r = wm.rope %x, %cs, %cs {rotary_dims = 16 : i64} : (tensor<2x8x2x16xf32>, tensor<3x8x16xf32>, tensor<3x8x16xf32>) -> tensor<2x8x2x16xf32>
  return
}

// -----

func.func @result_type(%x: tensor<1x8x2x16xbf16>, %cs: tensor<8x16xf32>) {
  // expected-error @+1 {{'wm.rope' op output must have the element type of x, 'bf16', got 'f32'}}
  %r = wm.rope %x, %cs, %cs {rotary_dims = 16 : i64} : (tensor<1x8x2x16xbf16>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<1x8x2x16xf32>
  return
}

// -----

func.func @integer_input(%x: tensor<1x8x2x16xi32>, %cs: tensor<8x16xf32>) {
  // expected-error @+1 {{'wm.rope' op operand #0 must be ranked tensor of bfloat16 type or 16-bit float or 32-bit float values, but got 'tensor<1x8x2x16xi32>'}}
  %r = wm.rope %x, %cs, %cs {rotary_dims = 16 : i64} : (tensor<1x8x2x16xi32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<1x8x2x16xi32>
  return
}
