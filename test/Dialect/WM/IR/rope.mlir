// RUN: wm-opt %s --split-input-file | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --mlir-print-op-generic | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --verify-roundtrip > /dev/null

// CHECK-LABEL: func.func @rope_partial
// CHECK-SAME: (%[[X:.*]]: tensor<1x128x16x128xbf16>, %[[COS:.*]]: tensor<128x64xf32>, %[[SIN:.*]]: tensor<128x64xf32>)
// CHECK: %[[R:.*]] = wm.rope %[[X]], %[[COS]], %[[SIN]] {rotary_dims = 64 : i64}
// CHECK-SAME: -> tensor<1x128x16x128xbf16>
// CHECK: return %[[R]]
func.func @rope_partial(%x: tensor<1x128x16x128xbf16>, %cos: tensor<128x64xf32>,
                        %sin: tensor<128x64xf32>) -> tensor<1x128x16x128xbf16> {
  %r = wm.rope %x, %cos, %sin {rotary_dims = 64 : i64}
      : (tensor<1x128x16x128xbf16>, tensor<128x64xf32>, tensor<128x64xf32>) -> tensor<1x128x16x128xbf16>
  return %r : tensor<1x128x16x128xbf16>
}

// -----

// Per-batch tables (positions differ per sequence), full rotation, dynamic length.
// CHECK-LABEL: func.func @rope_per_batch_dynamic
// CHECK: wm.rope %{{.*}} {rotary_dims = 32 : i64} : (tensor<2x?x4x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>) -> tensor<2x?x4x32xf32>
func.func @rope_per_batch_dynamic(%x: tensor<2x?x4x32xf32>, %cos: tensor<2x?x32xf32>,
                                  %sin: tensor<2x?x32xf32>) -> tensor<2x?x4x32xf32> {
  %r = wm.rope %x, %cos, %sin {rotary_dims = 32 : i64}
      : (tensor<2x?x4x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>) -> tensor<2x?x4x32xf32>
  return %r : tensor<2x?x4x32xf32>
}
