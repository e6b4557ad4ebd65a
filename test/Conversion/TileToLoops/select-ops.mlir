// RUN: wm-opt %s --convert-wm-tile-to-loops | FileCheck %s
// RUN: wm-opt %s --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=GPU
// The selection ops on both targets. The CPU runs the GPU's algorithms in
// order: the same three digit passes of radix_select and the same bitonic
// network; scf.parallel iterations run in order. On the GPU they are
// spread over the CTA's 256 threads.

// CHECK-LABEL: func.func @select
// CHECK-NOT: wm_tile.
// CHECK-NOT: scf.parallel
// Digit passes at bits 21, 10 and 0 (2048, 2048 and 1024 bins).
// CHECK: arith.shrui %{{.*}}, %c21_i32{{.*}}
// CHECK: scf.for {{.*}} = %c0{{.*}} to %c2048{{.*}} iter_args
// CHECK: arith.shrui %{{.*}}, %c10_i32{{.*}}
// CHECK: arith.shrui %{{.*}}, %c0_i32{{.*}}
// CHECK: scf.for {{.*}} = %c0{{.*}} to %c1024{{.*}} iter_args
// The bitonic network ends with stride 1 of size 1024.
// CHECK: arith.maxui
// CHECK: arith.minui
// The parallel loop as a loop, the atomic as load, add, store.
// CHECK: scf.for %[[J:.*]] = %c0{{.*}} to %c300{{.*}} step %c1
// CHECK: %[[OLD:.*]] = memref.load %{{.*}}[%c0{{.*}}]
// CHECK: %[[NEW:.*]] = arith.addi %[[OLD]], %c1_i32{{.*}}
// CHECK: memref.store %[[NEW]], %{{.*}}[%c0{{.*}}]
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<1024xi64, strided<[?], offset: ?>>

// GPU: gpu.func @select
// 2058 scratch words (aligned to 2060), 2 counters (4), 2048 for 1024 i64.
// GPU-SAME: wm_tile.shared_bytes = 16448
// GPU: %[[TID:.*]] = gpu.thread_id  x
// Histogram bins incremented atomically, the digit found by a CTA scan.
// GPU: llvm.atomicrmw add {{.*}} monotonic : !llvm.ptr<3>, i32
// GPU: gpu.shuffle  up
// GPU: gpu.barrier
// Bitonic steps: within a thread, across lanes, across warps.
// GPU: arith.minui
// GPU: gpu.shuffle  xor
// Thread t takes iterations t, t + 256, ...
// GPU: %[[FIRST:.*]] = arith.addi %c0{{.*}}, %[[TID]]
// GPU: scf.for %{{.*}} = %[[FIRST]] to %c300{{.*}} step %c256
// GPU: llvm.atomicrmw add
// GPU-NOT: wm_tile.
func.func @select(%bias: memref<1x2x300xf32>, %out: memref<1x2x300xi32>) {
  wm_tile.program "select" grid [1, 2] config <warps = 8, warp_rows = 32, stages = 1, candidates = 1024, tile_keys = 256, q_in_registers = false, wgmma = false> (%bias, %out) : memref<1x2x300xf32>, memref<1x2x300xi32> {
  ^bb0(%b: index, %g: index, %x: memref<1x2x300xf32>, %o: memref<1x2x300xi32>):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c300 = arith.constant 300 : index
    %one = arith.constant 1 : i32
    %rank = arith.constant 7 : i32
    %scratch = wm_tile.alloc_shared : <2058xi32>
    %counter = wm_tile.alloc_shared : <2xi32>
    %entries = wm_tile.alloc_shared : <1024xi64>
    %key, %ties = wm_tile.radix_select %x[%b, %g] end %c300 ranks(%rank) scratch %scratch : memref<1x2x300xf32>, <2058xi32> -> i32, i32
    wm_tile.sort %entries : <1024xi64>
    scf.parallel (%j) = (%c0) to (%c300) step (%c1) {
      %slot = wm_tile.atomic_add %one, %counter[%c0] : <2xi32>
      %e = arith.extui %slot : i32 to i64
      %i = arith.index_cast %slot : i32 to index
      wm_tile.write %e, %entries[%i] : i64, <1024xi64>
      memref.store %key, %o[%b, %g, %j] : memref<1x2x300xi32>
      scf.reduce
    }
  }
  return
}
