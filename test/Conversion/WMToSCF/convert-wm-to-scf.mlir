// RUN: wm-opt %s --split-input-file --convert-wm-to-scf --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xbf16>, %[[W:.*]]: tensor<64xbf16>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<4x64xbf16>
// CHECK: scf.for
// CHECK: %[[SUM:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (f32)
// CHECK: arith.extf {{.*}} : bf16 to f32
// CHECK: math.sqrt
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK: memref.store {{.*}}, %[[OUT]]
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[T]]
func.func @rms_norm(%x: tensor<4x64xbf16>, %w: tensor<64xbf16>) -> tensor<4x64xbf16> {
  %n = wm.rms_norm %x, %w : (tensor<4x64xbf16>, tensor<64xbf16>) -> tensor<4x64xbf16>
  return %n : tensor<4x64xbf16>
}

// -----

// Channels past rotary_dims are copied; the rotated half uses both halves.
// CHECK-LABEL: func.func @rope
// CHECK: %[[R:.*]] = arith.constant 32 : index
// CHECK: %[[HALF:.*]] = arith.divui %[[R]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[HALF]]
// CHECK: arith.subf
// CHECK: arith.addf
// CHECK: scf.for %{{.*}} = %[[R]] to
func.func @rope(%x: tensor<1x8x2x64xf32>, %cos: tensor<8x32xf32>, %sin: tensor<8x32xf32>) -> tensor<1x8x2x64xf32> {
  %r = wm.rope %x, %cos, %sin {rotary_dims = 32 : i64} : (tensor<1x8x2x64xf32>, tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<1x8x2x64xf32>
  return %r : tensor<1x8x2x64xf32>
}

// -----

// softplus is x above 20 and log1p(exp(x)) below; the exp form exponentiates.
// CHECK-LABEL: func.func @dma_bias
// CHECK: %[[DT:.*]] = scf.for
// CHECK: %[[E:.*]] = math.exp %[[DT]]
// CHECK: math.log1p %[[E]]
// CHECK: arith.cmpf ogt, %[[DT]], %{{.*}}
// CHECK: %[[SP:.*]] = arith.select
// CHECK: %[[AS:.*]] = arith.mulf %{{.*}}, %[[SP]]
// CHECK: %[[BIAS:.*]] = math.exp %[[AS]]
// CHECK: memref.store %[[BIAS]]
func.func @dma_bias(%v: tensor<1x16x2x8xf32>, %w: tensor<2x16xf32>, %a: tensor<2xf32>) -> tensor<1x2x16xf32> {
  %b = wm.dma_bias exp %v, %w, %a : (tensor<1x16x2x8xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<1x2x16xf32>
  return %b : tensor<1x2x16xf32>
}

// -----

// Causal prefix thresholds: one pass over the keys keeping the W largest
// (an O(W) buffer), writing tau of row p - (Lk - Lq) after key p.
// CHECK-LABEL: func.func @dma_select
// CHECK-DAG: %[[W:.*]] = arith.constant 8 : index
// CHECK: %[[TOP:.*]] = memref.alloc(%[[W]]) : memref<?xf32>
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.cmpi slt, %{{.*}}, %[[W]]
// CHECK: scf.if
// CHECK: memref.store {{.*}}, %[[TOP]]
// CHECK: arith.cmpi sge
// CHECK-NOT: memref<{{.*}}40x40
func.func @dma_select(%bias: tensor<1x2x40xf32>) -> tensor<1x2x40xf32> {
  %tau = wm.dma_select %bias {causal, query_len = 40 : i64, window = 8 : i64} : (tensor<1x2x40xf32>) -> tensor<1x2x40xf32>
  return %tau : tensor<1x2x40xf32>
}

// -----

// CHECK-LABEL: func.func @dma_block_summary
// CHECK-DAG: %[[MAX:.*]] = memref.alloc() : memref<1x2x3xf32>
// CHECK-DAG: %[[MIN:.*]] = memref.alloc() : memref<1x2x3xf32>
// CHECK: arith.maximumf
// CHECK: memref.store {{.*}}, %[[MAX]]
// CHECK: arith.minimumf
// CHECK: memref.store {{.*}}, %[[MIN]]
func.func @dma_block_summary(%bias: tensor<1x2x40xf32>) -> (tensor<1x2x3xf32>, tensor<1x2x3xf32>) {
  %max, %min = wm.dma_block_summary %bias {block_size = 16 : i64} : (tensor<1x2x40xf32>) -> (tensor<1x2x3xf32>, tensor<1x2x3xf32>)
  return %max, %min : tensor<1x2x3xf32>, tensor<1x2x3xf32>
}

// -----

// The chunked form: a loop over chunks of chunk_size steps carrying the
// (P, N) state, with (chunk x chunk) intra-chunk weights.
// CHECK-LABEL: func.func @ssd
// CHECK-DAG: %[[CHUNK:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[STATE:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?xf32>
// CHECK-DAG: %[[WEIGHTS:.*]] = memref.alloc(%[[CHUNK]], %[[CHUNK]]) : memref<?x?xf32>
// CHECK: arith.ceildivui %{{.*}}, %[[CHUNK]]
// CHECK: memref.store {{.*}}, %[[WEIGHTS]]
// CHECK: memref.store {{.*}}, %[[STATE]]
func.func @ssd(%x: tensor<1x40x2x4xf32>, %dt: tensor<1x40x2xf32>, %a: tensor<2xf32>, %b: tensor<1x40x1x8xf32>)
    -> (tensor<1x40x2x4xf32>, tensor<1x2x4x8xf32>) {
  %y, %s = wm.ssd %x, %dt, %a, %b, %b {chunk_size = 16 : i64} : (tensor<1x40x2x4xf32>, tensor<1x40x2xf32>, tensor<2xf32>, tensor<1x40x1x8xf32>, tensor<1x40x1x8xf32>) -> (tensor<1x40x2x4xf32>, tensor<1x2x4x8xf32>)
  return %y, %s : tensor<1x40x2x4xf32>, tensor<1x2x4x8xf32>
}

// -----

// Per-side top-min(k, K), then the best k of the pairs: expert i * K + j.
// CHECK-LABEL: func.func @cdmoe
// CHECK-DAG: %[[K:.*]] = arith.constant 4 : index
// CHECK: memref.alloc(%{{.*}}) : memref<?xindex>
// CHECK: arith.muli %{{.*}}, %{{.*}} : index
// CHECK: math.exp
// CHECK: arith.divf
func.func @cdmoe(%x: tensor<3x8xf32>, %wg: tensor<16x8xf32>, %wd: tensor<8x16xf32>, %wr: tensor<8x8xf32>, %e: tensor<16x8xf32>) -> tensor<3x8xf32> {
  %y = wm.cdmoe %x, %wg, %wg, %wd, %wr, %e, %e {top_k = 4 : i64} : (tensor<3x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<8x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// dma_attention goes through selection and tiling inside this conversion.
// CHECK-LABEL: func.func @dma_attention
// CHECK-NOT: wm.
// CHECK: return
func.func @dma_attention(%q: tensor<1x40x2x8xf32>, %k: tensor<1x40x1x8xf32>, %bias: tensor<1x1x40xf32>) -> tensor<1x40x2x8xf32> {
  %o, %l = wm.dma_attention %q, %k, %k, %bias {causal, window = 8 : i64} : (tensor<1x40x2x8xf32>, tensor<1x40x1x8xf32>, tensor<1x40x1x8xf32>, tensor<1x1x40xf32>) -> (tensor<1x40x2x8xf32>, tensor<1x2x40xf32>)
  return %o : tensor<1x40x2x8xf32>
}

// -----

func.func @dynamic_attention_is_reported(%q: tensor<1x?x1x8xf32>, %bias: tensor<1x1x?xf32>) -> tensor<1x?x1x8xf32> {
  // expected-error @+1 {{failed to legalize operation 'wm.dma_attention' that was explicitly marked illegal}}
  %o, %l = wm.dma_attention %q, %q, %q, %bias {causal, window = 8 : i64} : (tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x1x?xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x?xf32>)
  return %o : tensor<1x?x1x8xf32>
}
