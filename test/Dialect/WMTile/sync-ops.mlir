// RUN: wm-opt %s | wm-opt | FileCheck %s
// RUN: wm-opt %s --convert-wm-tile-to-loops | FileCheck %s --check-prefix=CPU
// The ops by which one program waits for an earlier one print and parse
// back. On the CPU, where programs run in order, signal is a store and the
// others vanish.

// CHECK-LABEL: func.func @sync
// CHECK: wm_tile.signal %{{.*}}[%{{.*}}, %{{.*}}] = %{{.*}} : memref<2x3xi32>
// CHECK: wm_tile.launch_dependents
// CHECK: wm_tile.wait_signal %{{.*}}[%{{.*}}, %{{.*}}] at_least %{{.*}} : memref<2x3xi32>
// CHECK: } {overlap_previous}
// CPU-LABEL: func.func @sync
// CPU: %[[COUNT:.*]] = arith.index_cast %{{.*}} : index to i32
// CPU: memref.store %[[COUNT]], %{{.*}}[%{{.*}}, %{{.*}}] : memref<2x3xi32>
// CPU-NOT: wm_tile.
// CPU-NOT: memref.load
// CPU: return
func.func @sync(%flags: memref<2x3xi32>) {
  wm_tile.program "publish" grid [2, 3] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%flags) : memref<2x3xi32> {
  ^bb0(%i: index, %j: index, %f: memref<2x3xi32>):
    %n = arith.addi %i, %j : index
    wm_tile.signal %f[%i, %j] = %n : memref<2x3xi32>
    wm_tile.launch_dependents
  }
  wm_tile.program "consume" grid [2, 3] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%flags) : memref<2x3xi32> {
  ^bb0(%i: index, %j: index, %f: memref<2x3xi32>):
    wm_tile.wait_signal %f[%i, %j] at_least %j : memref<2x3xi32>
  } {overlap_previous}
  return
}
