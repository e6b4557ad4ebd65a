// RUN: wm-opt %s --split-input-file --convert-wm-to-scf | FileCheck %s

// dt[b, j, g] = concat_h(v[b, j, h, :]) . w_dt[g, :]: w_dt is read at column
// h * D + c. softplus is x above 20 and log1p(exp(x)) below; the exp form
// exponentiates a * softplus(dt), stored at bias[b, g, j].
// CHECK-LABEL: func.func @dma_bias_exp
// CHECK-SAME: (%[[V:.*]]: tensor<1x16x2x8xf32>, %[[WDT:.*]]: tensor<2x16xf32>, %[[A:.*]]: tensor<2xf32>)
// CHECK: %[[VB:.*]] = bufferization.to_buffer %[[V]] read_only
// CHECK: %[[WB:.*]] = bufferization.to_buffer %[[WDT]] read_only
// CHECK: %[[AB:.*]] = bufferization.to_buffer %[[A]] read_only
// CHECK: %[[NB:.*]] = memref.dim %[[VB]], %{{.*}}
// CHECK: %[[LK:.*]] = memref.dim %[[VB]], %{{.*}}
// CHECK: %[[HK:.*]] = memref.dim %[[VB]], %{{.*}}
// CHECK: %[[D:.*]] = memref.dim %[[VB]], %{{.*}}
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x2x16xf32>
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %[[NB]]
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %[[LK]]
// CHECK: scf.for %[[G:.*]] = %{{.*}} to %[[HK]]
// CHECK: %[[DT:.*]] = scf.for %[[H:.*]] = %{{.*}} to %[[HK]] {{.*}} -> (f32)
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[D]] {{.*}} -> (f32)
// CHECK: %[[VV:.*]] = memref.load %[[VB]][%[[B]], %[[J]], %[[H]], %[[C]]]
// CHECK: %[[HD:.*]] = arith.muli %[[H]], %[[D]] : index
// CHECK: %[[COL:.*]] = arith.addi %[[HD]], %[[C]] : index
// CHECK: %[[WV:.*]] = memref.load %[[WB]][%[[G]], %[[COL]]]
// CHECK: arith.mulf %[[VV]], %[[WV]] : f32
// CHECK: %[[AG:.*]] = memref.load %[[AB]][%[[G]]]
// CHECK: %[[E:.*]] = math.exp %[[DT]] : f32
// CHECK: %[[LOG:.*]] = math.log1p %[[E]] : f32
// CHECK: %[[TWENTY:.*]] = arith.constant 2.000000e+01 : f32
// CHECK: %[[BIG:.*]] = arith.cmpf ogt, %[[DT]], %[[TWENTY]] : f32
// CHECK: %[[SP:.*]] = arith.select %[[BIG]], %[[DT]], %[[LOG]] : f32
// CHECK: %[[AS:.*]] = arith.mulf %[[AG]], %[[SP]] : f32
// CHECK: %[[BIAS:.*]] = math.exp %[[AS]] : f32
// CHECK: memref.store %[[BIAS]], %[[OUT]][%[[B]], %[[G]], %[[J]]]
func.func @dma_bias_exp(%v: tensor<1x16x2x8xf32>, %w: tensor<2x16xf32>, %a: tensor<2xf32>) -> tensor<1x2x16xf32> {
  %b = wm.dma_bias exp %v, %w, %a : (tensor<1x16x2x8xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<1x2x16xf32>
  return %b : tensor<1x2x16xf32>
}

// -----

// The linear form with dt_bias and bf16 values: dt_bias[g] is added before
// softplus, and the product a * softplus(dt) is stored as is (no exp after
// the multiply).
// CHECK-LABEL: func.func @dma_bias_linear
// CHECK-SAME: (%[[V:.*]]: tensor<1x16x2x8xbf16>, %[[WDT:.*]]: tensor<2x16xbf16>, %[[A:.*]]: tensor<2xf32>, %[[DTB:.*]]: tensor<2xf32>)
// CHECK: %[[AB:.*]] = bufferization.to_buffer %[[A]] read_only
// CHECK: %[[DB:.*]] = bufferization.to_buffer %[[DTB]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x2x16xf32>
// CHECK: scf.for %[[B:.*]] = %{{.*}} to
// CHECK: scf.for %[[J:.*]] = %{{.*}} to
// CHECK: scf.for %[[G:.*]] = %{{.*}} to
// CHECK: %[[DOT:.*]] = scf.for {{.*}} -> (f32)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[BG:.*]] = memref.load %[[DB]][%[[G]]]
// CHECK: %[[DT:.*]] = arith.addf %[[DOT]], %[[BG]] : f32
// CHECK: %[[AG:.*]] = memref.load %[[AB]][%[[G]]]
// CHECK: %[[E:.*]] = math.exp %[[DT]] : f32
// CHECK: math.log1p %[[E]]
// CHECK: arith.cmpf ogt, %[[DT]]
// CHECK: %[[SP:.*]] = arith.select
// CHECK: %[[BIAS:.*]] = arith.mulf %[[AG]], %[[SP]] : f32
// CHECK-NEXT: memref.store %[[BIAS]], %[[OUT]][%[[B]], %[[G]], %[[J]]]
func.func @dma_bias_linear(%v: tensor<1x16x2x8xbf16>, %w: tensor<2x16xbf16>, %a: tensor<2xf32>, %db: tensor<2xf32>) -> tensor<1x2x16xf32> {
  %b = wm.dma_bias linear %v, %w, %a dt_bias(%db) : (tensor<1x16x2x8xbf16>, tensor<2x16xbf16>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x16xf32>
  return %b : tensor<1x2x16xf32>
}
