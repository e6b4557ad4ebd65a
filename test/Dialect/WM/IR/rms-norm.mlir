// RUN: wm-opt %s --split-input-file | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --mlir-print-op-generic | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --verify-roundtrip > /dev/null

// The default eps is elided when printed.
// CHECK-LABEL: func.func @rms_norm_default_eps
// CHECK-SAME: (%[[X:.*]]: tensor<1x128x1024xbf16>, %[[W:.*]]: tensor<1024xbf16>)
// CHECK: %[[N:.*]] = wm.rms_norm %[[X]], %[[W]] : (tensor<1x128x1024xbf16>, tensor<1024xbf16>) -> tensor<1x128x1024xbf16>
// CHECK: return %[[N]]
func.func @rms_norm_default_eps(%x: tensor<1x128x1024xbf16>, %w: tensor<1024xbf16>) -> tensor<1x128x1024xbf16> {
  %n = wm.rms_norm %x, %w {eps = 1.0e-6 : f32} : (tensor<1x128x1024xbf16>, tensor<1024xbf16>) -> tensor<1x128x1024xbf16>
  return %n : tensor<1x128x1024xbf16>
}

// -----

// CHECK-LABEL: func.func @rms_norm_eps_2d_dynamic
// CHECK: wm.rms_norm %{{.*}}, %{{.*}} {eps = 9.99999974E-6 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
func.func @rms_norm_eps_2d_dynamic(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %n = wm.rms_norm %x, %w {eps = 1.0e-5 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %n : tensor<?x64xf32>
}
