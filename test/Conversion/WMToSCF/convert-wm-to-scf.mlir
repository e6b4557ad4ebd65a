// RUN: wm-opt %s --split-input-file --convert-wm-to-scf --verify-diagnostics | FileCheck %s

// What the conversion dispatches as a whole; each op's own lowering is
// tested in the file named after it (rms-norm.mlir, rope.mlir, ...).

// dma_attention goes through selection and tiling inside this conversion:
// per-row thresholds (1x1x40) and per-key-block summaries (one block of the
// default 64 keys, 1x1x1) feed the tiled attention, and nothing of wm is left.
// CHECK-LABEL: func.func @dma_attention
// CHECK-SAME: (%[[Q:.*]]: tensor<1x40x2x8xf32>, %[[K:.*]]: tensor<1x40x1x8xf32>, %[[BIAS:.*]]: tensor<1x1x40xf32>)
// CHECK-NOT: wm.
// CHECK: %[[TAU:.*]] = memref.alloc() : memref<1x1x40xf32>
// CHECK: %[[TAUT:.*]] = bufferization.to_tensor %[[TAU]]
// CHECK: %[[MAX:.*]] = memref.alloc() : memref<1x1x1xf32>
// CHECK: %[[MIN:.*]] = memref.alloc() : memref<1x1x1xf32>
// CHECK: %[[MAXT:.*]] = bufferization.to_tensor %[[MAX]]
// CHECK: %[[MINT:.*]] = bufferization.to_tensor %[[MIN]]
// CHECK: bufferization.to_buffer %[[Q]] read_only
// CHECK: bufferization.to_buffer %[[TAUT]] read_only
// CHECK: bufferization.to_buffer %[[MAXT]] read_only
// CHECK: bufferization.to_buffer %[[MINT]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x40x2x8xf32>
// CHECK: %[[LSE:.*]] = memref.alloc() : memref<1x2x40xf32>
// CHECK-NOT: wm.
// CHECK: %[[OUTT:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK: return %[[OUTT]]
func.func @dma_attention(%q: tensor<1x40x2x8xf32>, %k: tensor<1x40x1x8xf32>, %bias: tensor<1x1x40xf32>) -> tensor<1x40x2x8xf32> {
  %o, %l = wm.dma_attention %q, %k, %k, %bias {causal, window = 8 : i64} : (tensor<1x40x2x8xf32>, tensor<1x40x1x8xf32>, tensor<1x40x1x8xf32>, tensor<1x1x40xf32>) -> (tensor<1x40x2x8xf32>, tensor<1x2x40xf32>)
  return %o : tensor<1x40x2x8xf32>
}

// -----

// Dynamic lengths cannot be selected or tiled: the conversion fails with a
// diagnostic instead of leaving the op behind silently.
func.func @dynamic_attention_is_reported(%q: tensor<1x?x1x8xf32>, %bias: tensor<1x1x?xf32>) -> tensor<1x?x1x8xf32> {
  // expected-error @+1 {{'wm.dma_attention' op operand #0 has the dynamic type 'tensor<1x?x1x8xf32>'; convert-wm-to-scf needs static shapes}}
  %o, %l = wm.dma_attention %q, %q, %q, %bias {causal, window = 8 : i64} : (tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x1x?xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x?xf32>)
  return %o : tensor<1x?x1x8xf32>
}
