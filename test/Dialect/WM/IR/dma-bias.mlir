// RUN: wm-opt %s --split-input-file | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --mlir-print-op-generic | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --verify-roundtrip > /dev/null

// CHECK-LABEL: func.func @dma_bias_linear
// CHECK-SAME: (%[[V:.*]]: tensor<1x128x4x64xbf16>, %[[W:.*]]: tensor<4x256xbf16>, %[[A:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: %[[BIAS:.*]] = wm.dma_bias linear %[[V]], %[[W]], %[[A]] dt_bias(%[[B]]) : (tensor<1x128x4x64xbf16>, tensor<4x256xbf16>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x128xf32>
// CHECK: return %[[BIAS]]
func.func @dma_bias_linear(%v: tensor<1x128x4x64xbf16>, %w: tensor<4x256xbf16>,
                           %a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<1x4x128xf32> {
  %bias = wm.dma_bias linear %v, %w, %a dt_bias(%b)
      : (tensor<1x128x4x64xbf16>, tensor<4x256xbf16>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x128xf32>
  return %bias : tensor<1x4x128xf32>
}

// -----

// CHECK-LABEL: func.func @dma_bias_exp_no_dt_bias
// CHECK: wm.dma_bias exp %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x100x1x128xf32>, tensor<1x128xf32>, tensor<1xf32>) -> tensor<2x1x100xf32>
func.func @dma_bias_exp_no_dt_bias(%v: tensor<2x100x1x128xf32>, %w: tensor<1x128xf32>,
                                   %a: tensor<1xf32>) -> tensor<2x1x100xf32> {
  %bias = wm.dma_bias exp %v, %w, %a
      : (tensor<2x100x1x128xf32>, tensor<1x128xf32>, tensor<1xf32>) -> tensor<2x1x100xf32>
  return %bias : tensor<2x1x100xf32>
}

// -----

// Dynamic batch and length; the result refines nothing it cannot know.
// CHECK-LABEL: func.func @dma_bias_dynamic
// CHECK: wm.dma_bias linear %{{.*}} : (tensor<?x?x2x64xf16>, tensor<2x128xf16>, tensor<2xf16>) -> tensor<?x2x?xf32>
func.func @dma_bias_dynamic(%v: tensor<?x?x2x64xf16>, %w: tensor<2x128xf16>,
                            %a: tensor<2xf16>) -> tensor<?x2x?xf32> {
  %bias = wm.dma_bias linear %v, %w, %a
      : (tensor<?x?x2x64xf16>, tensor<2x128xf16>, tensor<2xf16>) -> tensor<?x2x?xf32>
  return %bias : tensor<?x2x?xf32>
}

// -----

// A static result may refine dynamic operand extents.
// CHECK-LABEL: func.func @dma_bias_refined_result
// CHECK: -> tensor<1x2x16xf32>
func.func @dma_bias_refined_result(%v: tensor<1x?x2x8xf32>, %w: tensor<2x16xf32>,
                                   %a: tensor<2xf32>) -> tensor<1x2x16xf32> {
  %bias = wm.dma_bias linear %v, %w, %a
      : (tensor<1x?x2x8xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<1x2x16xf32>
  return %bias : tensor<1x2x16xf32>
}
