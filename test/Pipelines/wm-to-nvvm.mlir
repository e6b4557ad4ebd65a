// The DMA layer compiles to PTX for the H200 without a CUDA toolkit: sm_90a,
// tensor-core mma.sync on bf16, warp ballots for the key compaction, cp.async
// gathers into dynamic shared memory, radix select with shared atomics.
// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm="tensor-cores=false" | FileCheck %s --check-prefix=ROWS

// CHECK: gpu.launch_func @wm_kernels::@dma_attention_mma
// CHECK: gpu.binary @wm_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// CHECK-SAME: .target sm_90a
// CHECK-SAME: .extern .shared .align 16 .b8 wm_dynamic_shared[];
// CHECK-SAME: .entry dma_attention_mma
// CHECK-SAME: cp.async.cg.shared.global
// CHECK-SAME: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-SAME: vote.sync.ballot.b32
// CHECK-SAME: .entry dma_select_blocks
// CHECK-SAME: atom.shared.add.u32

// ROWS: gpu.binary @wm_kernels
// ROWS-NOT: mma.sync
