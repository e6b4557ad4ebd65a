// RUN: wm-opt %s | wm-opt | FileCheck %s
// The DMA gradient ops print and parse back; their result types are inferred.

// CHECK-LABEL: func.func @attention_grad
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = wm.dma_attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.250000e-01 : f32} : (tensor<1x32x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x2x32xf32>, tensor<1x2x32xf32>, tensor<1x32x4x16xbf16>, tensor<1x4x32xf32>, tensor<1x32x4x16xbf16>) -> (tensor<1x32x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x2x32xf32>)
func.func @attention_grad(%q: tensor<1x32x4x16xbf16>, %k: tensor<1x32x2x16xbf16>, %v: tensor<1x32x2x16xbf16>,
                          %bias: tensor<1x2x32xf32>, %tau: tensor<1x2x32xf32>, %out: tensor<1x32x4x16xbf16>,
                          %lse: tensor<1x4x32xf32>, %dout: tensor<1x32x4x16xbf16>) {
  %dq, %dk, %dv, %db = wm.dma_attention_grad %q, %k, %v, %bias, %tau, %out, %lse, %dout {causal, scale = 0.125 : f32}
      : (tensor<1x32x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x2x32xf32>, tensor<1x2x32xf32>, tensor<1x32x4x16xbf16>, tensor<1x4x32xf32>, tensor<1x32x4x16xbf16>)
      -> (tensor<1x32x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x2x32xf32>)
  return
}

// CHECK-LABEL: func.func @bias_grad
// CHECK: %{{.*}}, %{{.*}}, %{{.*}} = wm.dma_bias_grad exp %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x32x2x16xbf16>, tensor<2x32xbf16>, tensor<2xf32>, tensor<1x2x32xf32>) -> (tensor<1x32x2x16xbf16>, tensor<2x32xbf16>, tensor<2xf32>)
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = wm.dma_bias_grad linear %{{.*}}, %{{.*}}, %{{.*}} dt_bias(%{{.*}}), %{{.*}} : (tensor<1x32x2x16xbf16>, tensor<2x32xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<1x2x32xf32>) -> (tensor<1x32x2x16xbf16>, tensor<2x32xbf16>, tensor<2xf32>, tensor<2xf32>)
func.func @bias_grad(%v: tensor<1x32x2x16xbf16>, %w: tensor<2x32xbf16>, %a: tensor<2xf32>, %b: tensor<2xf32>,
                     %db: tensor<1x2x32xf32>) {
  %dv, %dw, %da = wm.dma_bias_grad exp %v, %w, %a, %db
      : (tensor<1x32x2x16xbf16>, tensor<2x32xbf16>, tensor<2xf32>, tensor<1x2x32xf32>)
      -> (tensor<1x32x2x16xbf16>, tensor<2x32xbf16>, tensor<2xf32>)
  %dv2, %dw2, %da2, %db2 = wm.dma_bias_grad linear %v, %w, %a dt_bias(%b), %db
      : (tensor<1x32x2x16xbf16>, tensor<2x32xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<1x2x32xf32>)
      -> (tensor<1x32x2x16xbf16>, tensor<2x32xbf16>, tensor<2xf32>, tensor<2xf32>)
  return
}
