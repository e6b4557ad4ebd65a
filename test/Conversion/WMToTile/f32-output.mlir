// RUN: wm-opt %s --wm-select-keys --wm-to-tile | FileCheck %s
// RUN: wm-opt %s --wm-select-keys --wm-to-tile --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=GPU
// A training forward (f32_output): P goes into P V as its 16-bit rounding
// and, in a second product, the residual of that rounding; O is stored in
// f32 for the backward's Dr = dO . O.

// 32-row warps on tiles of 32 keys: the residual's registers.
// CHECK: wm_tile.program "dma_attention_mma" grid [1, 1, 2] config <warps = 4, warp_rows = 32, stages = 1, candidates = 8192, tile_keys = 32
// CHECK: %[[P:.*]], %{{.*}}, %{{.*}}, %{{.*}} = wm_tile.softmax_update
// CHECK-DAG: %[[HI:.*]] = wm_tile.truncf %[[P]] : <128x32xf32> -> <128x32xbf16>
// CHECK-DAG: %[[LO:.*]] = wm_tile.truncf %[[P]] {residual} : <128x32xf32> -> <128x32xbf16>
// CHECK: %[[ACC:.*]] = wm_tile.matmul %[[HI]], %{{.*}} acc
// CHECK: wm_tile.matmul %[[LO]], %{{.*}} acc %[[ACC]]
// CHECK: wm_tile.store_attention {{.*}} memref<1x128x2x64xf32>, memref<1x2x128xf32>

// GPU-LABEL: gpu.func @dma_attention_mma
// GPU: arith.extf {{.*}} : bf16 to f32
// GPU: arith.subf
// GPU-COUNT-2: nvvm.mma.sync
func.func @train(%q: tensor<1x128x2x64xbf16>, %k: tensor<1x128x1x64xbf16>,
                 %v: tensor<1x128x1x64xbf16>, %bias: tensor<1x1x128xf32>)
    -> (tensor<1x128x2x64xf32>, tensor<1x2x128xf32>) {
  %out, %lse = wm.dma_attention %q, %k, %v, %bias {causal, window = 32 : i64, f32_output}
      : (tensor<1x128x2x64xbf16>, tensor<1x128x1x64xbf16>, tensor<1x128x1x64xbf16>, tensor<1x1x128xf32>)
      -> (tensor<1x128x2x64xf32>, tensor<1x2x128xf32>)
  return %out, %lse : tensor<1x128x2x64xf32>, tensor<1x2x128xf32>
}
