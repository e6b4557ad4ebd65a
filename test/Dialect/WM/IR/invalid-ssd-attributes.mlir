// RUN: wm-opt %s --split-input-file --verify-diagnostics

// wm.ssd attributes out of their domain: chunk_size and dt_limit.

func.func @chunk_not_power_of_two(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op chunk_size must be a power of two in [1, 65536], got 48}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 48 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @chunk_zero(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op chunk_size must be a power of two in [1, 65536], got 0}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 0 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @dt_limit_reversed(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op dt_limit must satisfy min <= max, got [1.000000e+00, 5.000000e-01]}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64, dt_limit = array<f64: 1.0, 0.5>} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @dt_limit_size(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op dt_limit must be [min, max], got 3 values}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64, dt_limit = array<f64: 0.0, 0.5, 1.0>} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @chunk_too_long(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op chunk_size must be a power of two in [1, 65536], got 131072}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 131072 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @chunk_2_62(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op chunk_size must be a power of two in [1, 65536], got 4611686018427387904}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 4611686018427387904 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @dt_limit_nan(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op dt_limit must not be NaN}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64, dt_limit = array<f64: 0x7FF8000000000000, 1.0>} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @dt_limit_no_finite_step(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op dt_limit [INF, INF] leaves no finite step}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64, dt_limit = array<f64: 0x7FF0000000000000, 0x7FF0000000000000>} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}

// -----

func.func @misspelled_attribute(%x: tensor<1x64x4x16xf32>, %dt: tensor<1x64x4xf32>, %a: tensor<4xf32>, %b: tensor<1x64x1x8xf32>) {
  // expected-error @+1 {{'wm.ssd' op has no attribute 'chunksize'; did you mean 'chunk_size'?}}
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64, chunksize = 8 : i64} : (tensor<1x64x4x16xf32>, tensor<1x64x4xf32>, tensor<4xf32>, tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>) -> (tensor<1x64x4x16xf32>, tensor<1x4x16x8xf32>)
  return
}
