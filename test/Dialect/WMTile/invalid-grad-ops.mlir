// RUN: wm-opt %s --split-input-file --verify-diagnostics
// The verifiers of the backward's tile ops refuse what they must, at the op.

func.func @probabilities_rows(%x: !wm_tile.tile<16x64xf32>, %l: !wm_tile.tile<32xf32>, %i: index) {
  // expected-error @below {{needs a 2-D f32 score tile and one lse per row}}
  %p = wm_tile.probabilities %x, %l rows %i end %i {lse_scale = 1.0 : f32} : !wm_tile.tile<16x64xf32>, !wm_tile.tile<32xf32>
  return
}

// -----

func.func @row_dot_acc(%x: !wm_tile.tile<16x64xf32>, %acc: !wm_tile.tile<64xf32>) {
  // expected-error @below {{accumulates into a row vector of 16 rows}}
  %d = wm_tile.row_dot %x, %x acc %acc : !wm_tile.tile<16x64xf32>, !wm_tile.tile<64xf32>
  return
}

// -----

func.func @softmax_grad_delta(%x: !wm_tile.tile<16x64xf32>, %d: !wm_tile.tile<16xf32, partial>) {
  // expected-error @below {{needs 2-D f32 tiles and one delta per row}}
  %g = wm_tile.softmax_grad %x, %x, %d : !wm_tile.tile<16x64xf32>, !wm_tile.tile<16xf32, partial>
  return
}

// -----

func.func @store_shared_f32(%y: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%y) : memref<4xf32> {
  ^bb0(%i: index, %ya: memref<4xf32>):
    %s = wm_tile.alloc_shared : !wm_tile.shared<16x64xf32>
    %x = wm_tile.splat 0.0 : !wm_tile.tile<16x64xf32>
    // expected-error @below {{stores a 2-D f32 tile into a bf16 or f16 buffer of its shape}}
    wm_tile.store_shared %x into %s : !wm_tile.tile<16x64xf32>, !wm_tile.shared<16x64xf32>
  }
  return
}

// -----

func.func @transpose_register_lhs(%y: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%y) : memref<4xf32> {
  ^bb0(%i: index, %ya: memref<4xf32>):
    %s = wm_tile.alloc_shared : !wm_tile.shared<64x32xbf16>
    %w = wm_tile.splat 0.0 : !wm_tile.tile<64x16xf32>
    %x = wm_tile.truncf %w : !wm_tile.tile<64x16xf32> -> !wm_tile.tile<64x16xbf16>
    // expected-error @below {{reads a transposed lhs from shared memory only}}
    %m = wm_tile.matmul %x, %s {transpose_lhs} : !wm_tile.tile<64x16xbf16>, !wm_tile.shared<64x32xbf16> -> !wm_tile.tile<16x32xf32>
  }
  return
}

// -----

func.func @transpose_lhs_depth(%y: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%y) : memref<4xf32> {
  ^bb0(%i: index, %ya: memref<4xf32>):
    %a = wm_tile.alloc_shared : !wm_tile.shared<16x64xbf16>
    %b = wm_tile.alloc_shared : !wm_tile.shared<64x32xbf16>
    // expected-error @below {{contracts 16 columns of lhs with 64 rows of rhs}}
    %m = wm_tile.matmul %a, %b {transpose_lhs} : !wm_tile.shared<16x64xbf16>, !wm_tile.shared<64x32xbf16> -> !wm_tile.tile<64x32xf32>
  }
  return
}

// -----

func.func @scaled_lhs_not_transposed(%y: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%y) : memref<4xf32> {
  ^bb0(%i: index, %ya: memref<4xf32>):
    %c0 = arith.constant 0 : index
    %a = wm_tile.alloc_shared : !wm_tile.shared<64x64xbf16>
    %b = wm_tile.alloc_shared : !wm_tile.shared<32x64xbf16>
    %w = wm_tile.alloc_shared : !wm_tile.shared<64xf32>
    // expected-error @below {{scales a transposed 16-bit lhs only}}
    %m = wm_tile.matmul %a, %b scaled %w[%c0] : !wm_tile.shared<64xf32> {transpose_rhs} : !wm_tile.shared<64x64xbf16>, !wm_tile.shared<32x64xbf16> -> !wm_tile.tile<64x32xf32>
  }
  return
}

// -----

func.func @scaled_lhs_short_scale(%y: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%y) : memref<4xf32> {
  ^bb0(%i: index, %ya: memref<4xf32>):
    %c0 = arith.constant 0 : index
    %a = wm_tile.alloc_shared : !wm_tile.shared<64x16xbf16>
    %b = wm_tile.alloc_shared : !wm_tile.shared<64x32xbf16>
    %w = wm_tile.alloc_shared : !wm_tile.shared<32xf32>
    // expected-error @below {{needs an f32 scale vector of at least 64 elements}}
    %m = wm_tile.matmul %a, %b scaled %w[%c0] : !wm_tile.shared<32xf32> {transpose_lhs} : !wm_tile.shared<64x16xbf16>, !wm_tile.shared<64x32xbf16> -> !wm_tile.tile<16x32xf32>
  }
  return
}

// -----

func.func @scatter_indices(%dk: memref<1x64x2x32xf32>, %i: index) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%dk) : memref<1x64x2x32xf32> {
  ^bb0(%j: index, %d: memref<1x64x2x32xf32>):
    %c = wm_tile.alloc_shared : !wm_tile.shared<64xi32>
    %x = wm_tile.splat 0.0 : !wm_tile.tile<64x32xf32>
    // expected-error @below {{needs 3 indices (every dimension but the scattered one), got 2}}
    wm_tile.scatter_add %x, %d[%j, %j] rows %c[%j] count %j {row_dim = 1, scale = 1.0 : f32} : !wm_tile.tile<64x32xf32>, memref<1x64x2x32xf32>, !wm_tile.shared<64xi32>
  }
  return
}

// -----

func.func @scatter_row_dim(%dk: memref<1x64x2x32xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%dk) : memref<1x64x2x32xf32> {
  ^bb0(%j: index, %d: memref<1x64x2x32xf32>):
    %c = wm_tile.alloc_shared : !wm_tile.shared<64xi32>
    %x = wm_tile.splat 0.0 : !wm_tile.tile<64x32xf32>
    // expected-error @below {{row_dim 3 is not a row dimension of the destination}}
    wm_tile.scatter_add %x, %d[%j, %j, %j] rows %c[%j] count %j {row_dim = 3, scale = 1.0 : f32} : !wm_tile.tile<64x32xf32>, memref<1x64x2x32xf32>, !wm_tile.shared<64xi32>
  }
  return
}

// -----

func.func @scatter_wide(%dk: memref<1x64x2x32xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%dk) : memref<1x64x2x32xf32> {
  ^bb0(%j: index, %d: memref<1x64x2x32xf32>):
    %c = wm_tile.alloc_shared : !wm_tile.shared<64xi32>
    %x = wm_tile.splat 0.0 : !wm_tile.tile<64x64xf32>
    // expected-error @below {{tile of 64 columns is wider than the destination's 32}}
    wm_tile.scatter_add %x, %d[%j, %j, %j] rows %c[%j] count %j {row_dim = 1, scale = 1.0 : f32} : !wm_tile.tile<64x64xf32>, memref<1x64x2x32xf32>, !wm_tile.shared<64xi32>
  }
  return
}

// -----

func.func @column_sums_keys(%db: memref<1x2x64xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%db) : memref<1x2x64xf32> {
  ^bb0(%j: index, %d: memref<1x2x64xf32>):
    %c = wm_tile.alloc_shared : !wm_tile.shared<64xi64>
    %x = wm_tile.splat 0.0 : !wm_tile.tile<16x64xf32>
    // expected-error @below {{takes its indices from a 1-D i32 buffer}}
    wm_tile.scatter_column_sums %x, %d[%j, %j] keys %c[%j] count %j : !wm_tile.tile<16x64xf32>, memref<1x2x64xf32>, !wm_tile.shared<64xi64>
  }
  return
}

// -----

func.func @store_partial(%x: !wm_tile.tile<16x32xf32, partial>, %dq: memref<1x64x4x32xbf16>, %i: index) {
  // expected-error @below {{stores a 2-D f32 tile}}
  wm_tile.store %x into %dq[%i, %i, %i, %i] {row_dim = 1, scale = 1.0 : f32} : !wm_tile.tile<16x32xf32, partial>, memref<1x64x4x32xbf16>
  return
}

// -----

func.func @store_integer(%x: !wm_tile.tile<16x32xf32>, %dq: memref<1x64x4x32xi32>, %i: index) {
  // expected-error @below {{stores into a float buffer}}
  wm_tile.store %x into %dq[%i, %i, %i, %i] {row_dim = 1, scale = 1.0 : f32} : !wm_tile.tile<16x32xf32>, memref<1x64x4x32xi32>
  return
}
