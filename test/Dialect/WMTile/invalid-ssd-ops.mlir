// RUN: wm-opt %s --split-input-file --verify-diagnostics
// The verifiers of the SSD scan's tile ops refuse what they must, at the op.

func.func @discretize_lengths(%dt: memref<1x64x2xf32>, %a: f32, %n: index, %s: !wm_tile.shared<64xf32>, %w: !wm_tile.shared<32xf32>) {
  // expected-error @below {{needs 1-D f32 shared buffers of one chunk length}}
  wm_tile.discretize %dt[%n, %n, %n] a %a count %n into %s, %s weights %w : !wm_tile.shared<32xf32> {row_dim = 1, dt_min = 0.0 : f32, dt_max = 1.0 : f32} : memref<1x64x2xf32>, !wm_tile.shared<64xf32>
  return
}

// -----

func.func @discretize_chunk(%dt: memref<1x64x2xf32>, %a: f32, %n: index, %s: !wm_tile.shared<48xf32>) {
  // expected-error @below {{needs a chunk of a multiple of 32 steps, got 48}}
  wm_tile.discretize %dt[%n, %n, %n] a %a count %n into %s, %s {row_dim = 1, dt_min = 0.0 : f32, dt_max = 1.0 : f32} : memref<1x64x2xf32>, !wm_tile.shared<48xf32>
  return
}

// -----

func.func @discretize_indices(%dt: memref<1x64x2xf32>, %a: f32, %n: index, %s: !wm_tile.shared<64xf32>) {
  // expected-error @below {{needs 3 indices for dt, got 2}}
  wm_tile.discretize %dt[%n, %n] a %a count %n into %s, %s {row_dim = 1, dt_min = 0.0 : f32, dt_max = 1.0 : f32} : memref<1x64x2xf32>, !wm_tile.shared<64xf32>
  return
}

// -----

func.func @discretize_limits(%dt: memref<1x64x2xf32>, %a: f32, %n: index, %s: !wm_tile.shared<64xf32>) {
  // expected-error @below {{needs dt_min <= dt_max}}
  wm_tile.discretize %dt[%n, %n, %n] a %a count %n into %s, %s {row_dim = 1, dt_min = 1.0 : f32, dt_max = 0.5 : f32} : memref<1x64x2xf32>, !wm_tile.shared<64xf32>
  return
}

// -----

func.func @discretize_save(%dt: memref<1x64x2xf32>, %a: f32, %n: index, %s: !wm_tile.shared<64xf32>, %save: memref<1x2x3x64xf32>) {
  // expected-error @below {{saves into (..., 2, 64) f32}}
  wm_tile.discretize %dt[%n, %n, %n] a %a count %n into %s, %s save %save[%n, %n] : memref<1x2x3x64xf32> {row_dim = 1, dt_min = 0.0 : f32, dt_max = 1.0 : f32} : memref<1x64x2xf32>, !wm_tile.shared<64xf32>
  return
}

// -----

func.func @decay_mask_vector(%l: !wm_tile.tile<64xf32>, %ld: !wm_tile.shared<64xf32>, %n: index) {
  // expected-error @below {{weights a 2-D f32 tile}}
  %m = wm_tile.decay_mask %l, %ld, %ld rows %n cols %n : !wm_tile.tile<64xf32>, !wm_tile.shared<64xf32>
  return
}

// -----

func.func @decay_rows_partial(%ld: !wm_tile.shared<64xf32>, %n: index) {
  // expected-error @below {{returns a row vector of f32}}
  %r = wm_tile.decay_rows %ld rows %n : !wm_tile.shared<64xf32> -> !wm_tile.tile<64xf32, partial>
  return
}

// -----

func.func @rotate_odd(%b: !wm_tile.shared<64x32xbf16>, %t: memref<200x15xf32>, %n: index) {
  // expected-error @below {{needs an even static R <= 32, got 15}}
  wm_tile.rotate_shared %b by %t, %t[%n] {row_dim = 0} : !wm_tile.shared<64x32xbf16>, memref<200x15xf32>
  return
}

// -----

func.func @rotate_wide(%b: !wm_tile.shared<64x32xbf16>, %t: memref<200x64xf32>, %n: index) {
  // expected-error @below {{needs an even static R <= 32, got 64}}
  wm_tile.rotate_shared %b by %t, %t[%n] {row_dim = 0} : !wm_tile.shared<64x32xbf16>, memref<200x64xf32>
  return
}

// -----

func.func @rotate_row_dim(%b: !wm_tile.shared<64x32xbf16>, %t: memref<2x200x16xf32>, %n: index) {
  // expected-error @below {{row_dim must be the position dimension 1, got 0}}
  wm_tile.rotate_shared %b by %t, %t[%n, %n] {row_dim = 0} : !wm_tile.shared<64x32xbf16>, memref<2x200x16xf32>
  return
}

// -----

func.func @scale_add_partial(%t: !wm_tile.tile<64xf32, partial>, %f: f32) {
  // expected-error @below {{adds f32 tiles}}
  %r = wm_tile.scale_add %t, %f, %t : !wm_tile.tile<64xf32, partial>
  return
}

// -----

func.func @gate_vector(%t: !wm_tile.tile<64xf32>) {
  // expected-error @below {{gates a 2-D f32 tile}}
  %y = wm_tile.gate %t, %t : !wm_tile.tile<64xf32>
  return
}

// -----

func.func @skip_shared_rank(%t: !wm_tile.tile<64x32xf32>, %d: memref<2x2x32xf32>, %n: index, %x: !wm_tile.shared<64x32xbf16>) {
  // expected-error @below {{takes D as (H) or (H, P) with one head index}}
  %y = wm_tile.skip_shared %t, %x rows %n skip %d[%n] : !wm_tile.tile<64x32xf32>, !wm_tile.shared<64x32xbf16>, memref<2x2x32xf32>
  return
}

// -----

func.func @skip_shared_columns(%t: !wm_tile.tile<64x32xf32>, %d: memref<2xf32>, %n: index, %x: !wm_tile.shared<64x16xbf16>) {
  // expected-error @below {{needs x as a 2-D bf16 or f16 buffer of 32 columns}}
  %y = wm_tile.skip_shared %t, %x rows %n skip %d[%n] : !wm_tile.tile<64x32xf32>, !wm_tile.shared<64x16xbf16>, memref<2xf32>
  return
}

// -----

func.func @skip_shared_f32(%t: !wm_tile.tile<64x32xf32>, %d: memref<2xf32>, %n: index, %x: !wm_tile.shared<64x32xf32>) {
  // expected-error @below {{needs x as a 2-D bf16 or f16 buffer of 32 columns}}
  %y = wm_tile.skip_shared %t, %x rows %n skip %d[%n] : !wm_tile.tile<64x32xf32>, !wm_tile.shared<64x32xf32>, memref<2xf32>
  return
}

// -----

func.func @skip_shared_d(%t: !wm_tile.tile<64x32xf32>, %d: memref<2x16xf32>, %n: index, %x: !wm_tile.shared<64x32xbf16>) {
  // expected-error @below {{needs D of 32 columns}}
  %y = wm_tile.skip_shared %t, %x rows %n skip %d[%n] : !wm_tile.tile<64x32xf32>, !wm_tile.shared<64x32xbf16>, memref<2x16xf32>
  return
}

// -----

func.func @skip_shared_partial(%t: !wm_tile.tile<64xf32, partial>, %d: memref<2xf32>, %n: index, %x: !wm_tile.shared<64x32xbf16>) {
  // expected-error @below {{adds to a 2-D f32 tile}}
  %y = wm_tile.skip_shared %t, %x rows %n skip %d[%n] : !wm_tile.tile<64xf32, partial>, !wm_tile.shared<64x32xbf16>, memref<2xf32>
  return
}
