// RUN: wm-opt %s --split-input-file | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --mlir-print-op-generic | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --verify-roundtrip > /dev/null

// CHECK-LABEL: func.func @ssd_minimal
// CHECK-SAME: (%[[X:.*]]: tensor<2x100x8x64xf32>, %[[DT:.*]]: tensor<2x100x8xf32>, %[[A:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<2x100x2x16xf32>, %[[C:.*]]: tensor<2x100x2x16xf32>)
// CHECK: %[[Y:.*]], %[[S:.*]] = wm.ssd %[[X]], %[[DT]], %[[A]], %[[B]], %[[C]] {chunk_size = 32 : i64}
// CHECK-SAME: -> (tensor<2x100x8x64xf32>, tensor<2x8x64x16xf32>)
// CHECK: return %[[Y]], %[[S]]
func.func @ssd_minimal(%x: tensor<2x100x8x64xf32>, %dt: tensor<2x100x8xf32>, %a: tensor<8xf32>,
                       %b: tensor<2x100x2x16xf32>, %c: tensor<2x100x2x16xf32>)
    -> (tensor<2x100x8x64xf32>, tensor<2x8x64x16xf32>) {
  %y, %state = wm.ssd %x, %dt, %a, %b, %c {chunk_size = 32 : i64}
      : (tensor<2x100x8x64xf32>, tensor<2x100x8xf32>, tensor<8xf32>, tensor<2x100x2x16xf32>, tensor<2x100x2x16xf32>)
      -> (tensor<2x100x8x64xf32>, tensor<2x8x64x16xf32>)
  return %y, %state : tensor<2x100x8x64xf32>, tensor<2x8x64x16xf32>
}

// -----

// Every optional operand: per-channel D, gate z, dt_bias, initial state, batch-shared rope.
// CHECK-LABEL: func.func @ssd_all_operands
// CHECK: wm.ssd %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} D(%{{[a-z0-9_]+}}) z(%{{[a-z0-9_]+}}) dt_bias(%{{[a-z0-9_]+}}) initial_state(%{{[a-z0-9_]+}}) rope(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}})
// CHECK-SAME: {chunk_size = 64 : i64, dt_limit = array<f64: 1.000000e-03, 1.000000e-01>, dt_softplus}
func.func @ssd_all_operands(
    %x: tensor<1x256x4x32xbf16>, %dt: tensor<1x256x4xbf16>, %a: tensor<4xf32>,
    %b: tensor<1x256x1x64xbf16>, %c: tensor<1x256x1x64xbf16>, %d: tensor<4x32xf32>,
    %z: tensor<1x256x4x32xbf16>, %dtb: tensor<4xf32>, %h0: tensor<1x4x32x64xf32>,
    %cos: tensor<256x32xf32>, %sin: tensor<256x32xf32>) -> tensor<1x256x4x32xbf16> {
  %y, %state = wm.ssd %x, %dt, %a, %b, %c D(%d) z(%z) dt_bias(%dtb) initial_state(%h0) rope(%cos, %sin)
      {chunk_size = 64 : i64, dt_softplus, dt_limit = array<f64: 0.001, 0.1>}
      : (tensor<1x256x4x32xbf16>, tensor<1x256x4xbf16>, tensor<4xf32>, tensor<1x256x1x64xbf16>,
         tensor<1x256x1x64xbf16>, tensor<4x32xf32>, tensor<1x256x4x32xbf16>, tensor<4xf32>,
         tensor<1x4x32x64xf32>, tensor<256x32xf32>, tensor<256x32xf32>)
      -> (tensor<1x256x4x32xbf16>, tensor<1x4x32x64xf32>)
  return %y : tensor<1x256x4x32xbf16>
}

// -----

// A subset of the optional operands, per-head D and per-batch rope tables.
// CHECK-LABEL: func.func @ssd_some_operands
// CHECK: wm.ssd %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{[a-z0-9_]+}} D(%{{[a-z0-9_]+}}) rope(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) {chunk_size = 1 : i64}
// CHECK-NOT: z(
func.func @ssd_some_operands(
    %x: tensor<2x7x2x4xf16>, %dt: tensor<2x7x2xf32>, %a: tensor<2xf32>,
    %b: tensor<2x7x2x8xf16>, %c: tensor<2x7x2x8xf16>, %d: tensor<2xf32>,
    %cos: tensor<2x7x8xf32>, %sin: tensor<2x7x8xf32>) -> tensor<2x7x2x4xf16> {
  %y, %state = wm.ssd %x, %dt, %a, %b, %c D(%d) rope(%cos, %sin) {chunk_size = 1 : i64}
      : (tensor<2x7x2x4xf16>, tensor<2x7x2xf32>, tensor<2xf32>, tensor<2x7x2x8xf16>,
         tensor<2x7x2x8xf16>, tensor<2xf32>, tensor<2x7x8xf32>, tensor<2x7x8xf32>)
      -> (tensor<2x7x2x4xf16>, tensor<2x2x4x8xf32>)
  return %y : tensor<2x7x2x4xf16>
}

// -----

// CHECK-LABEL: func.func @ssd_dynamic
// CHECK: -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
func.func @ssd_dynamic(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>,
                       %b: tensor<?x?x1x128xf32>, %c: tensor<?x?x1x128xf32>)
    -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>) {
  %y, %state = wm.ssd %x, %dt, %a, %b, %c {chunk_size = 256 : i64}
      : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>)
      -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
  return %y, %state : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>
}
