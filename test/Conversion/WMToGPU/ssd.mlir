// RUN: wm-opt %s --convert-wm-to-gpu | FileCheck %s
// RUN: wm-opt %s --convert-wm-to-gpu --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=GPU
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-rows=128" | FileCheck %s --check-prefix=ROWS
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-rows=128" --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=WIDEGPU
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-rows=128 mma-warp-rows=16" | FileCheck %s --check-prefix=WARPROWS
// RUN: not wm-opt %s --convert-wm-to-gpu="ssd-rows=96" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-heads=2 ssd-scan-ctas=3" | FileCheck %s --check-prefix=HEADS
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-heads=8 ssd-chunk=256" | FileCheck %s --check-prefix=HEADS256
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-heads=2 ssd-scan-ctas=3" --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=HEADSGPU
// RUN: not wm-opt %s --convert-wm-to-gpu="ssd-heads=9" 2>&1 | FileCheck %s --check-prefix=BADHEADS
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-heads=2 ssd-scan-ctas=-1" | FileCheck %s --check-prefix=NOCTAS
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-scan-ctas=2" | FileCheck %s --check-prefix=CTAS
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-scan-ctas=2" --convert-wm-tile-to-gpu --convert-gpu-to-nvvm | FileCheck %s --check-prefix=CTASGPU
// RUN: not wm-opt %s --convert-wm-to-gpu="ssd-scan-ctas=9" 2>&1 | FileCheck %s --check-prefix=BADCTAS
// wm.ssd on the GPU, three programs (ssd-chain-rows.mlir: two): the chunk states (dt' and the log-decay sums saved
// for the scan), the state passing over the chunks, the chunk scan; B and C
// rotated in shared memory as they land, no rotated copy in global memory.

// Scratch: the entering states in 16 bits, dt' and ld, and (no state chain
// with so few heads) the chunk states in f32 and the totals.
// CHECK: memref.alloc() : memref<1x4x2x32x32xbf16>
// CHECK: memref.alloc() : memref<1x2x4x2x64xf32>
// CHECK: memref.alloc() : memref<1x4x2x32x32xf32>
// CHECK: memref.alloc() : memref<1x2x4xf32>
// CHECK: wm_tile.program "ssd_chunk_state" grid [2, 4, 1] config <warps = 2, warp_rows = 16, stages = 2,
// CHECK: wm_tile.discretize {{.*}} weights {{.*}} total {{.*}} save {{.*}} {dt_max = 0x7F800000 : f32, dt_min = 0.000000e+00 : f32, row_dim = 1 : i64, softplus}
// CHECK: scf.for
// CHECK: wm_tile.wait 1
// CHECK: wm_tile.rotate_shared
// x scaled by the state weights as its mma operands load, not in place.
// CHECK: wm_tile.matmul {{.*}} acc {{.*}} scaled {{.*}} {transpose_lhs}
// CHECK: wm_tile.store {{.*}} {row_dim = 3 : i64, scale = 1.000000e+00 : f32} : <32x32xf32>, memref<1x4x2x32x32xf32>
// Fewer chunks than a group: all four states load before the chain.
// CHECK: wm_tile.program "ssd_state_passing" grid [1, 2, 2] config <warps = 2
// CHECK-NOT: scf.for
// CHECK-COUNT-4: wm_tile.load {{.*}} -> <32x16xf32>
// CHECK-COUNT-4: math.exp
// CHECK: wm_tile.store {{.*}} : <32x16xf32>, memref<1x4x2x32x32xbf16>
// CHECK: wm_tile.scale_add
// CHECK: wm_tile.store {{.*}} {row_dim = 2 : i64, scale = 1.000000e+00 : f32} : <32x16xf32>, memref<1x2x32x32xf32>
// CHECK: wm_tile.program "ssd_chunk_scan" grid [2, 4, 1] config <warps = 4, warp_rows = 16, stages = 1,
// CHECK: wm_tile.copy_async {{.*}} {row_dim = 4 : i64} : memref<1x2x4x2x64xf32>, <64xf32>
// CHECK: wm_tile.rotate_shared
// CHECK: wm_tile.matmul {{.*}} {transpose_rhs} : !wm_tile.shared<64x32xbf16>, <32x32xbf16> -> <64x32xf32>
// CHECK: wm_tile.decay_rows
// CHECK: wm_tile.scale_rows
// CHECK: scf.for
// CHECK: wm_tile.rotate_shared
// CHECK-NOT: live_from
// CHECK: wm_tile.matmul {{.*}} {transpose_rhs} : !wm_tile.shared<64x32xbf16>, <64x32xbf16> -> <64x64xf32>
// CHECK: wm_tile.decay_mask
// CHECK: wm_tile.matmul {{.*}} acc
// D x while the tile of x is in shared memory; x is not loaded again.
// CHECK: wm_tile.skip_shared {{.*}} skip {{.*}} : <64x32xf32>, <64x32xbf16>, memref<2x32xf32>
// CHECK: scf.yield
// CHECK-NOT: memref<1x200x2x32xbf16> -> <64x32xf32>
// CHECK: wm_tile.load {{.*}} : memref<1x200x2x32xbf16> -> <64x32xf32>
// CHECK-NOT: memref<1x200x2x32xbf16> -> <64x32xf32>
// CHECK: wm_tile.gate
// CHECK: wm_tile.store {{.*}} {row_dim = 1 : i64, scale = 1.000000e+00 : f32} : <64x32xf32>, memref<1x200x2x32xbf16>

// 128 rows per chunk-scan CTA: 4 warps of 32 rows, chunks of 128 at least.
// ROWS: wm_tile.program "ssd_chunk_state" grid [2, 2, 1]
// ROWS: wm_tile.program "ssd_chunk_scan" grid [2, 2, 1] config <warps = 4, warp_rows = 32, stages = 1
// With 128-row blocks, rows before a tile's first step take no product.
// ROWS: arith.maxsi
// ROWS: wm_tile.matmul {{.*}} live_from {{.*}} {transpose_rhs} : !wm_tile.shared<128x32xbf16>, <64x32xbf16> -> <128x64xf32>
// ROWS: wm_tile.decay_mask
// ROWS: wm_tile.matmul {{.*}} acc {{.*}} live_from
// A warp whose rows all precede live_from issues no mma; one across it
// keeps acc for its rows before it.
// WIDEGPU: gpu.func @ssd_chunk_scan
// WIDEGPU: arith.cmpi sle
// WIDEGPU: scf.if
// WIDEGPU: arith.cmpi sge
// WIDEGPU: scf.if
// WIDEGPU: nvvm.mma.sync
// WIDEGPU: } else {
// WIDEGPU: nvvm.mma.sync
// WIDEGPU: arith.select
// mma-warp-rows=16: 8 warps for 128 rows; the other programs keep 16-row
// warps whatever it says (their rows are the P channels).
// WARPROWS: wm_tile.program "ssd_chunk_state" grid [2, 2, 1] config <warps = 2, warp_rows = 16
// WARPROWS: wm_tile.program "ssd_state_passing" {{.*}} config <warps = 2, warp_rows = 16
// WARPROWS: wm_tile.program "ssd_chunk_scan" grid [2, 2, 1] config <warps = 8, warp_rows = 16, stages = 1
// BAD: ssd-rows must be 0 (automatic), 64 or 128
// ssd-heads=2 (or 8: the largest divisor of H / G = 2 up to it): both heads
// of the group in one chunk-scan CTA, one C B^T for both; each head has its
// own dt' and ld, entering state, x tiles, decay mask and output.
// HEADS: wm_tile.program "ssd_chunk_state" grid [2, 4, 1]
// HEADS: wm_tile.program "ssd_chunk_scan" grid [1, 4, 1]
// Several 64-row heads bounded to three CTAs per SM (min_ctas; by default
// with 256-step chunks, HEADS256, asked for in HEADS): the entering states,
// loaded after the tile loop, in the B and x tiles' bytes (phase 2 over
// phase 1).
// HEADS256: wm_tile.program "ssd_chunk_scan" grid [1, 4, 1]
// HEADS256-SAME: min_ctas = 3
// HEADS256: wm_tile.alloc_shared {phase = 2 : i64} : <32x32xbf16>
// HEADS-SAME: min_ctas = 3
// HEADS-COUNT-2: wm_tile.alloc_shared {phase = 2 : i64} : <32x32xbf16>
// HEADS-COUNT-4: wm_tile.copy_async {{.*}} {row_dim = 4 : i64} : memref<1x2x4x2x64xf32>, <64xf32>
// HEADS-NOT: memref<1x4x2x32x32xbf16>, <32x32xbf16>
// HEADS: scf.for {{.*}} iter_args({{.*}}, {{.*}}) -> (!wm_tile.tile<64x32xf32>, !wm_tile.tile<64x32xf32>)
// HEADS-COUNT-2: wm_tile.copy_async {{.*}} : memref<1x200x2x32xbf16>, <64x32xbf16>
// HEADS: wm_tile.copy_async {{.*}} : memref<1x200x1x32xbf16>, <64x32xbf16>
// HEADS: wm_tile.matmul {{.*}} {transpose_rhs} : !wm_tile.shared<64x32xbf16>, <64x32xbf16> -> <64x64xf32>
// HEADS-NOT: -> <64x64xf32>
// HEADS: wm_tile.decay_mask
// HEADS: wm_tile.matmul {{.*}} acc
// HEADS: wm_tile.skip_shared
// HEADS-NOT: -> <64x64xf32>
// HEADS: wm_tile.decay_mask
// HEADS: wm_tile.matmul {{.*}} acc
// HEADS: wm_tile.skip_shared
// HEADS: scf.yield
// HEADS-NEXT: }
// HEADS-NEXT: wm_tile.barrier
// HEADS-COUNT-2: wm_tile.copy_async {{.*}} {row_dim = 3 : i64} : memref<1x4x2x32x32xbf16>, <32x32xbf16>
// HEADS: wm_tile.wait 0
// HEADS-NEXT: wm_tile.barrier
// HEADS: wm_tile.scale_rows
// HEADS: wm_tile.scale_add
// HEADS: wm_tile.scale_rows
// HEADS: wm_tile.scale_add
// HEADS-COUNT-2: wm_tile.store {{.*}} {row_dim = 1 : i64, scale = 1.000000e+00 : f32} : <64x32xf32>, memref<1x200x2x32xbf16>
// HEADSGPU: gpu.func @ssd_chunk_scan
// HEADSGPU: nvvm.mma.sync
// BADHEADS: ssd-heads must be in [0, 8] (0: automatic), got 9
// ssd-scan-ctas=-1: no register bound, and the entering states load with C,
// their part the tile loop's first accumulators.
// NOCTAS: wm_tile.program "ssd_chunk_scan"
// NOCTAS-NOT: min_ctas
// NOCTAS-NOT: phase
// NOCTAS-COUNT-2: wm_tile.copy_async {{.*}} {row_dim = 3 : i64} : memref<1x4x2x32x32xbf16>, <32x32xbf16>
// NOCTAS-COUNT-2: wm_tile.scale_rows
// NOCTAS: scf.for
// NOCTAS-NOT: wm_tile.scale_add
// NOCTAS: wm_tile.store
// Asked for: the bound and the state-last form with one head too; the
// kernel carries the bound to PTX as .minnctapersm.
// CTAS: wm_tile.program "ssd_chunk_scan" {{.*}} min_ctas = 2>
// CTAS: wm_tile.alloc_shared {phase = 2 : i64}
// CTASGPU: llvm.func @ssd_chunk_scan
// CTASGPU-SAME: nvvm.minctasm = 2 : i32
// BADCTAS: ssd-scan-ctas must be -1 (no bound), 0 (automatic) or at most 8, got 9

// The prefix sums of discretize on warp 0, the 4-byte copies of the saved
// dt' and ld, the rotary by 16-byte chunks, the products on mma.sync.
// GPU: gpu.func @ssd_chunk_state
// A lane's dt loads issue together, none behind a branch.
// GPU-COUNT-2: memref.load {{.*}} : memref<1x200x2xf32>
// GPU-NOT: scf.if
// GPU: gpu.shuffle  up {{.*}} : f32
// GPU: gpu.shuffle  idx
// Then the CTA copies dt' and ld for the scan, one element per thread.
// GPU: gpu.barrier
// GPU: scf.for {{.*}} = %thread_id_x to
// GPU: memref.store {{.*}} : memref<1x2x4x2x64xf32>
// GPU: nvvm.ldmatrix {{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>
// GPU: llvm.load {{.*}} : !llvm.ptr<3> -> f32
// GPU: llvm.fptrunc {{.*}} : vector<2xf32> to vector<2xbf16>
// GPU: nvvm.mma.sync
// The f32 state: each column pair one 8-byte store.
// GPU: llvm.store {{.*}} {alignment = 8 : i64} : vector<2xf32>, !llvm.ptr<1>
// GPU: gpu.func @ssd_state_passing
// The f32 chunk states' column pairs (even columns, even strides): 8 bytes each.
// GPU: llvm.load {{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<2xf32>
// The entering states in 16 bits: lane pairs trade the words of two 8-column
// tiles, each lane then stores four consecutive elements (8 bytes).
// GPU: gpu.shuffle  xor {{.*}} : i32
// GPU: llvm.store {{.*}} {alignment = 8 : i64} : vector<2xi32>, !llvm.ptr<1>
// GPU: gpu.func @ssd_chunk_scan
// GPU: nvvm.cp.async.shared.global {{.*}}, 4, cache =  ca
// GPU: llvm.store {{.*}} {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<3>
// GPU: nvvm.mma.sync
// GPU: llvm.nvvm.ex2.approx.ftz.f
func.func @ssd(%in_x_buffer: memref<1x200x2x32xbf16>, %in_dt_buffer: memref<1x200x2xf32>, %in_a_buffer: memref<2xf32>, %in_b_buffer: memref<1x200x1x32xbf16>, %in_c_buffer: memref<1x200x1x32xbf16>, %in_D_buffer: memref<2x32xf32>, %in_z_buffer: memref<1x200x2x32xbf16>, %in_cos_buffer: memref<200x16xf32>, %in_sin_buffer: memref<200x16xf32>, %out0: memref<1x200x2x32xbf16>, %out1: memref<1x2x32x32xf32>) attributes {llvm.emit_c_interface} {
  %in_x = bufferization.to_tensor %in_x_buffer restrict : memref<1x200x2x32xbf16> to tensor<1x200x2x32xbf16>
  %in_dt = bufferization.to_tensor %in_dt_buffer restrict : memref<1x200x2xf32> to tensor<1x200x2xf32>
  %in_a = bufferization.to_tensor %in_a_buffer restrict : memref<2xf32> to tensor<2xf32>
  %in_b = bufferization.to_tensor %in_b_buffer restrict : memref<1x200x1x32xbf16> to tensor<1x200x1x32xbf16>
  %in_c = bufferization.to_tensor %in_c_buffer restrict : memref<1x200x1x32xbf16> to tensor<1x200x1x32xbf16>
  %in_D = bufferization.to_tensor %in_D_buffer restrict : memref<2x32xf32> to tensor<2x32xf32>
  %in_z = bufferization.to_tensor %in_z_buffer restrict : memref<1x200x2x32xbf16> to tensor<1x200x2x32xbf16>
  %in_cos = bufferization.to_tensor %in_cos_buffer restrict : memref<200x16xf32> to tensor<200x16xf32>
  %in_sin = bufferization.to_tensor %in_sin_buffer restrict : memref<200x16xf32> to tensor<200x16xf32>
  %v1, %v2 = wm.ssd %in_x, %in_dt, %in_a, %in_b, %in_c D(%in_D) z(%in_z) rope(%in_cos, %in_sin) {chunk_size = 64 : i64, dt_softplus} : (tensor<1x200x2x32xbf16>, tensor<1x200x2xf32>, tensor<2xf32>, tensor<1x200x1x32xbf16>, tensor<1x200x1x32xbf16>, tensor<2x32xf32>, tensor<1x200x2x32xbf16>, tensor<200x16xf32>, tensor<200x16xf32>) -> (tensor<1x200x2x32xbf16>, tensor<1x2x32x32xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<1x200x2x32xbf16>, memref<1x200x2x32xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<1x2x32x32xf32>, memref<1x2x32x32xf32>) -> ()
  return
}

