// The DMA layer compiles to PTX for the H200 without a CUDA toolkit: sm_90a,
// 16-byte bias loads and warp scans for the key compaction, cp.async gathers
// into dynamic shared memory, tensor-core mma.sync on bf16, the softmax on
// ex2.approx.ftz, radix select with shared atomics and a multiset sorted with
// warp shuffles. The wgmma config has no GPU lowering yet: refused by name.
// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm | FileCheck %s
// RUN: not wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm="wgmma=true" 2>&1 | FileCheck %s --check-prefix=WGMMA
// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm="tensor-cores=false" | FileCheck %s --check-prefix=ROWS
// Options are checked before any pass runs, in the pipeline's terms.
// RUN: not wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm="chip=sm_75" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm="chip=banana" 2>&1 | FileCheck %s --check-prefix=BANANA
// RUN: not wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm="format=xyz" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm="chip=sm_90 wgmma=true" 2>&1 | FileCheck %s --check-prefix=WGMMA-CHIP
// RUN: not wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-nvvm="block-k=0" 2>&1 | FileCheck %s --check-prefix=BLOCK
// CHIP: wm-to-nvvm: unsupported chip 'sm_75' (supported: sm_80, sm_86, sm_87, sm_89, sm_90, sm_90a)
// BANANA: wm-to-nvvm: unsupported chip 'banana'
// FORMAT: wm-to-nvvm: unsupported format 'xyz' (supported: isa, bin)
// WGMMA-CHIP: wm-to-nvvm: wgmma needs chip=sm_90a, got chip=sm_90
// BLOCK: wm-to-nvvm: block-k must be in [1, 4096], got 0
// CHIP-NOT: LLVM ERROR

// CHECK: gpu.launch_func @wm_kernels::@dma_attention_mma
// CHECK: gpu.binary @wm_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx81">
// CHECK-SAME: .target sm_90a
// CHECK-SAME: .extern .shared .align 16 .b8 wm_dynamic_shared[];
// Kernels in program order: bias, selection, attention.
// CHECK-SAME: .entry dma_bias
// CHECK-SAME: .entry dma_select_blocks
// CHECK-SAME: atom.shared.add.u32
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: .entry dma_attention_mma
// CHECK-SAME: ld.global.v4.b32
// CHECK-SAME: shfl.sync.up.b32
// CHECK-SAME: cp.async.cg.shared.global
// CHECK-SAME: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-SAME: ex2.approx.ftz.f32

// WGMMA: error: 'wm_tile.program' op has the wgmma config #wm_tile.config<warps = 4, warp_rows = 16, {{.*}} wgmma = true>, which convert-wm-tile-to-gpu does not lower yet

// ROWS: gpu.binary @wm_kernels
// ROWS-NOT: mma.sync
