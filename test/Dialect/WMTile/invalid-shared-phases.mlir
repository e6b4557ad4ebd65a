// RUN: wm-opt %s --split-input-file --verify-diagnostics
// Shared buffers of different phases share bytes on the GPU: the verifier
// refuses programs whose phases could be live together, at the use.

func.func @phase_negative(%x: memref<64xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%x) : memref<64xf32> {
  ^bb0(%i: index, %xa: memref<64xf32>):
    // expected-error @below {{phase must be non-negative, got -1}}
    %a = wm_tile.alloc_shared {phase = -1} : !wm_tile.shared<64xf32>
  }
  return
}

// -----

func.func @phases_interleaved(%x: memref<64xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%x) : memref<64xf32> {
  ^bb0(%i: index, %xa: memref<64xf32>):
    %c0 = arith.constant 0 : index
    %a = wm_tile.alloc_shared {phase = 1} : !wm_tile.shared<64xf32>
    %b = wm_tile.alloc_shared {phase = 2} : !wm_tile.shared<64xf32>
    wm_tile.copy_async %xa[%c0] into %a {row_dim = 0 : i64} : memref<64xf32>, <64xf32>
    // expected-error @below {{uses a phase 2 shared buffer while phase 1's are live (loops count whole)}}
    wm_tile.copy_async %xa[%c0] into %b {row_dim = 0 : i64} : memref<64xf32>, <64xf32>
    wm_tile.barrier
    %r = wm_tile.read %a[%c0] : !wm_tile.shared<64xf32> -> f32
  }
  return
}

// -----

// A loop that uses phase 1 and then phase 2 in each iteration reuses phase
// 1's bytes in the next one.
func.func @phases_in_one_loop(%x: memref<64xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%x) : memref<64xf32> {
  ^bb0(%i: index, %xa: memref<64xf32>):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %a = wm_tile.alloc_shared {phase = 1} : !wm_tile.shared<64xf32>
    %b = wm_tile.alloc_shared {phase = 2} : !wm_tile.shared<64xf32>
    scf.for %k = %c0 to %c4 step %c1 {
      wm_tile.copy_async %xa[%c0] into %a {row_dim = 0 : i64} : memref<64xf32>, <64xf32>
      wm_tile.barrier
      // expected-error @below {{uses a phase 2 shared buffer while phase 1's are live (loops count whole)}}
      wm_tile.copy_async %xa[%c0] into %b {row_dim = 0 : i64} : memref<64xf32>, <64xf32>
    }
  }
  return
}

// -----

func.func @phases_without_barrier(%x: memref<64xf32>) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%x) : memref<64xf32> {
  ^bb0(%i: index, %xa: memref<64xf32>):
    %c0 = arith.constant 0 : index
    %a = wm_tile.alloc_shared {phase = 1} : !wm_tile.shared<64xf32>
    %b = wm_tile.alloc_shared {phase = 2} : !wm_tile.shared<64xf32>
    wm_tile.copy_async %xa[%c0] into %a {row_dim = 0 : i64} : memref<64xf32>, <64xf32>
    // expected-error @below {{needs a wm_tile.barrier after the last use of phase 1 shared buffers, enclosing both phases}}
    wm_tile.copy_async %xa[%c0] into %b {row_dim = 0 : i64} : memref<64xf32>, <64xf32>
  }
  return
}

// -----

// A barrier in a branch may not run: it does not separate the phases.
func.func @phases_barrier_in_branch(%x: memref<64xf32>, %p: i1) {
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%x) : memref<64xf32> {
  ^bb0(%i: index, %xa: memref<64xf32>):
    %c0 = arith.constant 0 : index
    %a = wm_tile.alloc_shared {phase = 1} : !wm_tile.shared<64xf32>
    %b = wm_tile.alloc_shared {phase = 2} : !wm_tile.shared<64xf32>
    wm_tile.copy_async %xa[%c0] into %a {row_dim = 0 : i64} : memref<64xf32>, <64xf32>
    %z = arith.cmpi eq, %i, %c0 : index
    scf.if %z {
      wm_tile.barrier
    }
    // expected-error @below {{needs a wm_tile.barrier after the last use of phase 1 shared buffers, enclosing both phases}}
    wm_tile.copy_async %xa[%c0] into %b {row_dim = 0 : i64} : memref<64xf32>, <64xf32>
  }
  return
}

// -----

func.func @min_ctas_range(%x: memref<64xf32>) {
  // expected-error @below {{min_ctas must be in [0, 32], got 33}}
  wm_tile.program "k" grid [1] config <warps = 1, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false, min_ctas = 33> (%x) : memref<64xf32> {
  ^bb0(%i: index, %xa: memref<64xf32>):
  }
  return
}
