// RUN: wm-opt %s --split-input-file --verify-diagnostics

func.func @non_square_experts(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<8x32xf32>, %e: tensor<15x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op expert count N = 15 must be a perfect square K*K}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 2 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>, tensor<8x32xf32>, tensor<15x32xf32>, tensor<15x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @router_rows(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<6x32xf32>, %e: tensor<16x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op w_router must have 2K = 8 rows for N = 16 experts, got 6}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 2 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>, tensor<6x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @router_rows_odd(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<7x32xf32>, %e: tensor<?x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op w_router must have 2K rows, got 7}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 2 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>, tensor<7x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @top_k_zero(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<8x32xf32>, %e: tensor<16x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op top_k must be in [1, 1024], got 0}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 0 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>, tensor<8x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @top_k_exceeds_experts(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<8x32xf32>, %e: tensor<16x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op top_k = 17 exceeds the expert count N = 16}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 17 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>, tensor<8x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @down_up_mismatch(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<8x32xf32>, %down: tensor<16x32xf32>, %up: tensor<25x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op up has N = 25 (dim 0 of (N, d)) but down has N = 16}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %down, %up {top_k = 2 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>, tensor<8x32xf32>, tensor<16x32xf32>, tensor<25x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @w_down_transposed(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wr: tensor<8x32xf32>, %e: tensor<16x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op w_down has d = 48 (dim 0 of (d, I)) but x has d = 32}}
  %y = wm.cdmoe %x, %wg, %wg, %wg, %wr, %e, %e {top_k = 2 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<8x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @hidden_mismatch(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wu: tensor<64x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<8x32xf32>, %e: tensor<16x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op w_up has I = 64 (dim 0 of (I, d)) but w_gate has I = 48}}
  %y = wm.cdmoe %x, %wg, %wu, %wd, %wr, %e, %e {top_k = 2 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<64x32xf32>, tensor<32x48xf32>, tensor<8x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @x_rank(%x: tensor<2x8x32xf32>, %wg: tensor<48x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<8x32xf32>, %e: tensor<16x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op x must have rank 2 (T, d), got 'tensor<2x8x32xf32>'}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 2 : i64} : (tensor<2x8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>, tensor<8x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<2x8x32xf32>
  return
}

// -----

func.func @expert_element_type(%x: tensor<8x32xbf16>, %wg: tensor<48x32xbf16>, %wd: tensor<32x48xbf16>, %wr: tensor<8x32xbf16>, %e: tensor<16x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op down must have the element type of x, 'bf16', got 'f32'}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 2 : i64} : (tensor<8x32xbf16>, tensor<48x32xbf16>, tensor<48x32xbf16>, tensor<32x48xbf16>, tensor<8x32xbf16>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<8x32xbf16>
  return
}

// -----

// Routing keeps the k best in a sorted list: top_k is bounded.
func.func @top_k_too_large(%x: tensor<8x32xf32>, %wg: tensor<48x32xf32>, %wd: tensor<32x48xf32>, %wr: tensor<128x32xf32>, %e: tensor<4096x32xf32>) {
  // expected-error @+1 {{'wm.cdmoe' op top_k must be in [1, 1024], got 4096}}
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 4096 : i64} : (tensor<8x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>, tensor<128x32xf32>, tensor<4096x32xf32>, tensor<4096x32xf32>) -> tensor<8x32xf32>
  return
}
