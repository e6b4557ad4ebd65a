// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-select-keys --wm-to-tile | FileCheck %s
// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-select-keys --wm-to-tile="mma-warps=8 mma-warp-rows=16" | FileCheck %s --check-prefix=W8R16
// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-select-keys --wm-to-tile="mma-warps=8" | FileCheck %s --check-prefix=W8
// RUN: wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-select-keys --wm-to-tile="wgmma=true" | FileCheck %s --check-prefix=WGMMA
// RUN: not wm-opt %wm_src_root/examples/dma_layer_entry.mlir --wm-to-tile="mma-warps=6" 2>&1 | FileCheck %s --check-prefix=BAD

// The attention of examples/dma_layer_entry.mlir (B=1, L=256, H=4, Hk=2,
// D=64, causal, W=32) as the tensor-core kernel's tile program.

// The thresholds: one instance per (batch, kv head, block of 256 rows).
// CHECK: wm_tile.program "dma_select_blocks" grid [1, 2, 1] config <warps = 8, warp_rows = 32, stages = 1, candidates = 1024, tile_keys = 256, q_in_registers = false, wgmma = false>
// CHECK-NEXT: ^bb0(%[[SB:.*]]: index, %[[SG:.*]]: index, %[[SBLK:.*]]: index, %[[SBIAS:.*]]: memref<{{.*}}>, %[[STAU:.*]]: memref<1x2x256xf32>):
// CHECK: %[[SI0:.*]] = arith.muli %[[SBLK]], %c256
// CHECK: %[[SCRATCH:.*]] = wm_tile.alloc_shared : <4116xi32>
// CHECK: %[[COUNTERS:.*]] = wm_tile.alloc_shared : <2xi32>
// CHECK: %[[ENTRIES:.*]] = wm_tile.alloc_shared : <1024xi64>
// No row of the block reaches W = 32 keys: every threshold is -inf.
// CHECK: %[[SEND:.*]] = arith.minsi %{{.*}}, %c256
// CHECK: arith.cmpi slt, %[[SEND]], %c32
// CHECK: scf.parallel (%[[ROW:.*]]) = (%[[SI0]]) to (%[[SEND]])
// CHECK: memref.store %cst{{.*}}, %[[STAU]][%[[SB]], %[[SG]], %[[ROW]]]
// The rows share the prefix [0, pEnd): pEnd = min(Lk, i0 + Lk - Lq + 1).
// CHECK: %[[P1:.*]] = arith.addi %[[SI0]], %c1
// CHECK: %[[P2:.*]] = arith.minsi %[[P1]], %c256
// CHECK: %[[PEND:.*]] = arith.maxsi %[[P2]], %c0
// CHECK: wm_tile.radix_select %[[SBIAS]][%[[SB]], %[[SG]]] end %[[PEND]] ranks(%{{.*}}, %{{.*}}) scratch %[[SCRATCH]]
// CHECK: wm_tile.barrier
// The values between tau and upper join the multiset at atomic slots.
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%[[PEND]])
// CHECK: wm_tile.atomic_add %c1_i32, %[[COUNTERS]][%c0]
// CHECK: wm_tile.sort %[[ENTRIES]]
// Each row walks the sorted multiset to its rank.
// CHECK: scf.parallel (%{{.*}}) = (%[[SI0]]) to
// CHECK: scf.while
// CHECK: wm_tile.read %[[ENTRIES]]
// CHECK: wm_tile.program "dma_attention_mma" grid [2, 1, 4] config <warps = 4, warp_rows = 32, stages = 1, candidates = 8192, tile_keys = 64, q_in_registers = false, wgmma = false>
// CHECK-NEXT: ^bb0(%[[QB:.*]]: index, %[[B:.*]]: index, %[[H:.*]]: index,
// Heaviest query blocks first.
// CHECK: %[[BLOCK:.*]] = arith.subi %c1, %[[QB]]
// CHECK: %[[G:.*]] = arith.divui %[[H]], %c2
// CHECK: %[[I0:.*]] = arith.muli %[[BLOCK]], %c128
// CHECK: %[[TAU:.*]], %[[LOW:.*]], %[[HIGH:.*]] = wm_tile.thresholds %{{.*}}[%[[B]], %[[G]], %[[I0]]] rows_end %c256 {nan_as_inf}
// CHECK: %[[CAND:.*]] = wm_tile.alloc_shared : <8192xi32>
// CHECK: %[[KS:.*]] = wm_tile.alloc_shared : <1x64x64xbf16>
// CHECK: %[[VS:.*]] = wm_tile.alloc_shared : <1x64x64xbf16>
// CHECK: %[[BS:.*]] = wm_tile.alloc_shared : <1x64xf32>
// 32-row warps read Q from shared memory.
// CHECK: %[[Q:.*]] = wm_tile.alloc_shared : <128x64xbf16>
// CHECK: wm_tile.copy_async %{{.*}} into %[[Q]] {row_dim = 1 : i64}
// CHECK: scf.while
// CHECK: %[[N:.*]], %{{.*}} = wm_tile.compact %{{.*}} where %[[LOW]] into %[[CAND]] {round = 4096 : i64}
// CHECK: scf.for
// One stage: V of the tile, then its scores.
// CHECK: wm_tile.wait 0
// CHECK: wm_tile.gather_async {{.*}} rows %[[CAND]]
// CHECK: %[[S:.*]] = wm_tile.matmul %[[Q]], %{{.*}} {transpose_rhs}
// Skip levels: whole tiles (present, causally visible to the first row).
// CHECK: wm_tile.read %[[CAND]]
// CHECK: scf.if
// The bias test, skipped for tiles whose biases reach every row's threshold.
// CHECK: wm_tile.score %[[S]], {{.*}} tau %[[TAU]] tau_max %[[HIGH]] rows %[[I0]] <bias> {{{.*}}causal, key_offset = 0 : i64, logit_scale = 0.180336878 : f32}
// CHECK: wm_tile.score %[[S]], {{.*}} tau %[[TAU]] rows %[[I0]] <all>
// CHECK: %[[P:.*]], %{{.*}}, %{{.*}}, %{{.*}} = wm_tile.softmax_update
// P rounded to the mma operand type before the next copies issue.
// CHECK: %[[PB:.*]] = wm_tile.truncf %[[P]] : <128x64xf32> -> <128x64xbf16>
// CHECK: wm_tile.scale_rows
// K of the next tile loads while P V runs.
// CHECK: wm_tile.wait 0
// CHECK: wm_tile.gather_async
// CHECK: wm_tile.matmul %[[PB]], %{{.*}} acc
// CHECK: wm_tile.store_attention {{.*}} {lse_scale = 0.693147182 : f32}

// A CTA of 8 warps fills its SM: the next K copies issue before O is
// rescaled (with 4 warps, above, the rescale comes first).
// W8: config <warps = 8, warp_rows = 32, stages = 1
// W8: wm_tile.truncf
// W8: wm_tile.wait 0
// W8: wm_tile.gather_async
// W8: wm_tile.scale_rows
// W8: wm_tile.matmul {{.*}} acc

// W8R16: grid [2, 1, 4] config <warps = 8, warp_rows = 16, stages = 2, candidates = 8192, tile_keys = 64, q_in_registers = true, wgmma = false>
// W8R16: wm_tile.alloc_shared : <2x64x64xbf16>
// W8R16: wm_tile.load {{.*}} -> <128x64xbf16>
// W8R16: wm_tile.wait 1

// WGMMA: "dma_attention_wgmma" grid [4, 1, 4] config <warps = 4, warp_rows = 16, stages = 2, candidates = 4096, tile_keys = 64, q_in_registers = false, wgmma = true>
// WGMMA: wm_tile.compact {{.*}} {round = 2048 : i64}

// BAD: mma-warps must be 0 (automatic), 4 or 8
