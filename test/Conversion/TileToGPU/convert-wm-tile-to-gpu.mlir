// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-select-keys --convert-wm-to-gpu="mma-warp-rows=16" --convert-wm-tile-to-gpu | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-select-keys --convert-wm-to-gpu="mma-warp-rows=16" | FileCheck %s --check-prefix=PROGRAM
// RUN: wm-opt %s --split-input-file --convert-wm-tile-to-gpu --verify-diagnostics

// convert-wm-to-gpu leaves the attention as its program, launched in place.
// PROGRAM: wm_tile.program "dma_attention_mma" grid [4, 1, 4] config <warps = 4, warp_rows = 16, stages = 2

// The program becomes a kernel of 4 warps in the module's @wm_kernels, with
// its shared buffers laid out in dynamic shared memory: 8192 candidate
// words, 2 x 64 x (32 + 4) words of K and of V, 2 x 64 biases.
// CHECK: gpu.launch_func @wm_kernels::@dma_attention_mma blocks in (%c16, {{.*}}) threads in (%c128{{.*}}) dynamic_shared_memory_size %c70144_i32
// CHECK-NOT: gpu.module @wm_kernels_0
// CHECK: gpu.func @dma_attention_mma
// CHECK-SAME: workgroup(%{{.*}} : memref<32xi32, #gpu.address_space<workgroup>> {{.*}}, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>>
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: wm_tile.config = #wm_tile.config<warps = 4, warp_rows = 16, stages = 2, candidates = 8192, tile_keys = 64, q_in_registers = true, wgmma = false>, wm_tile.shared_bytes = 70144 : i64
// CHECK-NOT: wm_tile.{{[a-z_]+}} 
// Thresholds: a warp reduction, then one exchange through scratch.
// CHECK: gpu.shuffle xor
// Compaction: popcounts of 4-key masks scanned over the warp.
// CHECK: llvm.intr.ctpop
// CHECK: gpu.shuffle up
// Gathers: 4-byte biases and 16-byte K/V chunks, zero-filled when absent.
// CHECK: nvvm.cp.async.shared.global {{.*}}, 4, cache = ca
// CHECK: nvvm.cp.async.shared.global {{.*}}, 16, cache = cg
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.wait.group 1
// S = Q K^T and O += P V on mma.sync with ldmatrix B fragments.
// CHECK: nvvm.ldmatrix
// CHECK: nvvm.mma.sync
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: nvvm.vote.sync all
// CHECK: nvvm.ldmatrix {{.*}}layout = #nvvm.mma_layout<col>
// CHECK: math.log2

// -----

func.func @unsupported(%b: memref<4xf32>) {
  // expected-error @below {{which convert-wm-tile-to-gpu does not lower yet (it maps mma.sync programs); compile with wgmma=false}}
  wm_tile.program "k" grid [1] config <warps = 4, warp_rows = 16, stages = 2, candidates = 128, tile_keys = 64, q_in_registers = false, wgmma = true> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
  }
  return
}
