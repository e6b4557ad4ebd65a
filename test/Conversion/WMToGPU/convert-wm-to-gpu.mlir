// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu | FileCheck %s
// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu="tensor-cores=false block-select=false" | FileCheck %s --check-prefix=ROWS
// RUN: wm-opt %s --split-input-file --wm-select-keys --convert-wm-to-gpu="mma-warp-rows=16" | FileCheck %s --check-prefix=R16
// RUN: not wm-opt %s --wm-select-keys --convert-wm-to-gpu="mma-warps=6" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not wm-opt %s --wm-select-keys --convert-wm-to-gpu="mma-warp-rows=24" 2>&1 | FileCheck %s --check-prefix=WARP-ROWS

// WARPS: error: mma-warps must be 0 (automatic), 4 or 8
// WARP-ROWS: error: mma-warp-rows must be 0 (automatic), 16 or 32

// The host body becomes allocations and launches, in program order; the
// outputs are written in place, the bias, thresholds and summaries get O(L)
// scratch buffers.
// CHECK-LABEL: func.func @dma
// CHECK-SAME: (%[[Q:.*]]: memref<1x256x4x64xbf16>, %[[K:.*]]: memref<1x256x2x64xbf16>, %[[V:.*]]: memref<1x256x2x64xbf16>, %[[W:.*]]: memref<2x128xbf16>, %[[A:.*]]: memref<2xf32>, %[[OUT:.*]]: memref<1x256x4x64xbf16>, %[[LSE:.*]]: memref<1x4x256xf32>)
// CHECK: %[[BIAS:.*]] = memref.alloc() : memref<1x2x256xf32>
// CHECK: gpu.launch_func @wm_kernels::@dma_bias {{.*}} args(%[[V]] : {{.*}}, %[[W]] : {{.*}}, %[[A]] : {{.*}}, %[[BIAS]] : memref<1x2x256xf32>)
// CHECK: %[[TAU:.*]] = memref.alloc() : memref<1x2x256xf32>
// CHECK: gpu.launch_func @wm_kernels::@dma_select_blocks blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%[[T256:.*]], {{.*}} args(%[[BIAS]] : {{.*}}, %[[TAU]] : {{.*}})
// CHECK: %[[MAX:.*]] = memref.alloc() : memref<1x2x4xf32>
// CHECK: %[[MIN:.*]] = memref.alloc() : memref<1x2x4xf32>
// The tensor-core kernel compacts keys by their bias: no summary kernel.
// CHECK-NOT: @dma_block_summary
// 32-row warps (4 per CTA): candidate list, one stage of K and V, keys and
// biases of a tile, the Q tile.
// CHECK: %[[SMEM:.*]] = arith.constant 70144 : i32
// CHECK: gpu.launch_func @wm_kernels::@dma_attention_mma blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %[[SMEM]] args(%[[Q]] : {{.*}}, %[[K]] : {{.*}}, %[[V]] : {{.*}}, %[[BIAS]] : {{.*}}, %[[TAU]] : {{.*}}, %[[MAX]] : {{.*}}, %[[MIN]] : {{.*}}, %[[OUT]] : {{.*}}, %[[LSE]] : {{.*}})
// CHECK-NOT: bufferization
// CHECK: return
// The tensor-core kernel: 16-byte bias loads and warp scans compact the
// candidates into dynamic shared memory, cp.async gathers tiles of them (K
// of the next tile while P V of this one runs, V of this one while its scores
// are computed), mma.sync computes QK^T and PV on bf16 with f32
// accumulation, Q and K fragments by ldmatrix, V fragments by
// ldmatrix.trans.
// CHECK: gpu.module @wm_kernels
// CHECK: llvm.mlir.global external @wm_dynamic_shared() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK: gpu.func @dma_attention_mma({{.*}}) workgroup({{.*}}) kernel
// CHECK: llvm.mlir.addressof @wm_dynamic_shared : !llvm.ptr<3>
// CHECK: llvm.load {{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: gpu.shuffle  up
// CHECK: nvvm.cp.async.shared.global {{.*}}, 4, cache = ca, %{{.*}}
// CHECK: nvvm.cp.async.shared.global {{.*}}, 16, cache = cg, %{{.*}}
// CHECK: nvvm.cp.async.commit.group
// CHECK-NOT: nvvm.cp.async.wait.group 1
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.ldmatrix {{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>}
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// CHECK: nvvm.ldmatrix {{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>}
// Thresholds: radix select with a shared histogram, then a bitonic sort of
// the block's small multiset.
// CHECK: gpu.func @dma_select_blocks
// CHECK: memref.atomic_rmw addi
// CHECK: gpu.shuffle  up
// CHECK: scf.while

// 16-row warps: Q fragments in registers, K and V double-buffered (tile t + 1
// in flight while tile t is computed); 8 warps from 16K query rows.
// R16-LABEL: func.func @dma
// R16: %[[SMEM:.*]] = arith.constant 70656 : i32
// R16: gpu.launch_func @wm_kernels::@dma_attention_mma blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %[[SMEM]]
// R16: gpu.func @dma_attention_mma
// R16: nvvm.cp.async.commit.group
// R16: nvvm.cp.async.wait.group 1
// R16: nvvm.mma.sync

// ROWS-LABEL: func.func @dma
// ROWS: gpu.launch_func @wm_kernels::@dma_select blocks
// ROWS: gpu.launch_func @wm_kernels::@dma_block_summary blocks
// ROWS: gpu.launch_func @wm_kernels::@dma_attention blocks
// ROWS-NOT: nvvm.mma.sync
func.func @dma(%q_buffer: memref<1x256x4x64xbf16>, %k_buffer: memref<1x256x2x64xbf16>, %v_buffer: memref<1x256x2x64xbf16>,
               %w_buffer: memref<2x128xbf16>, %a_buffer: memref<2xf32>,
               %out0: memref<1x256x4x64xbf16>, %out1: memref<1x4x256xf32>) {
  %q = bufferization.to_tensor %q_buffer restrict : memref<1x256x4x64xbf16> to tensor<1x256x4x64xbf16>
  %k = bufferization.to_tensor %k_buffer restrict : memref<1x256x2x64xbf16> to tensor<1x256x2x64xbf16>
  %v = bufferization.to_tensor %v_buffer restrict : memref<1x256x2x64xbf16> to tensor<1x256x2x64xbf16>
  %w = bufferization.to_tensor %w_buffer restrict : memref<2x128xbf16> to tensor<2x128xbf16>
  %a = bufferization.to_tensor %a_buffer restrict : memref<2xf32> to tensor<2xf32>
  %bias = wm.dma_bias linear %v, %w, %a : (tensor<1x256x2x64xbf16>, tensor<2x128xbf16>, tensor<2xf32>) -> tensor<1x2x256xf32>
  %o, %l = wm.dma_attention %q, %k, %v, %bias {causal, window = 32 : i64} : (tensor<1x256x4x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x2x256xf32>) -> (tensor<1x256x4x64xbf16>, tensor<1x4x256xf32>)
  bufferization.materialize_in_destination %o in restrict writable %out0 : (tensor<1x256x4x64xbf16>, memref<1x256x4x64xbf16>) -> ()
  bufferization.materialize_in_destination %l in restrict writable %out1 : (tensor<1x4x256xf32>, memref<1x4x256xf32>) -> ()
  return
}

// -----

// f32 storage has no tensor-core path: the row kernel runs it; a window that
// covers every key leaves tau = -inf, filled by a kernel.
// CHECK-LABEL: func.func @f32_no_selection
// CHECK: gpu.launch_func @wm_kernels::@fill
// CHECK: gpu.launch_func @wm_kernels::@dma_attention blocks
func.func @f32_no_selection(%q_buffer: memref<1x64x2x32xf32>, %bias_buffer: memref<1x2x64xf32>,
                            %out0: memref<1x64x2x32xf32>) {
  %q = bufferization.to_tensor %q_buffer restrict : memref<1x64x2x32xf32> to tensor<1x64x2x32xf32>
  %bias = bufferization.to_tensor %bias_buffer restrict : memref<1x2x64xf32> to tensor<1x2x64xf32>
  %o, %l = wm.dma_attention %q, %q, %q, %bias {causal, window = 64 : i64} : (tensor<1x64x2x32xf32>, tensor<1x64x2x32xf32>, tensor<1x64x2x32xf32>, tensor<1x2x64xf32>) -> (tensor<1x64x2x32xf32>, tensor<1x2x64xf32>)
  bufferization.materialize_in_destination %o in restrict writable %out0 : (tensor<1x64x2x32xf32>, memref<1x64x2x32xf32>) -> ()
  return
}

