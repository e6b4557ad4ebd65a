// RUN: wm-opt %s --split-input-file --verify-diagnostics
// Each wm_tile verifier refuses what it must, at the op.

func.func @config(%b: memref<4xf32>) {
  // expected-error @below {{warp_rows must be 16 or 32, got 24}}
  wm_tile.program "k" grid [1] config <warps = 4, warp_rows = 24, stages = 1, candidates = 128, tile_keys = 64, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
  }
  return
}

// -----

func.func @capacity(%b: memref<4xf32>) {
  // expected-error @below {{candidates must be a multiple of tile_keys (64), got 100}}
  wm_tile.program "k" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 100, tile_keys = 64, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
  }
  return
}

// -----

func.func @grid(%b: memref<4xf32>) {
  // expected-error @below {{region needs 2 grid coordinates and one argument per buffer, got 2 arguments}}
  wm_tile.program "k" grid [1, 2] config <warps = 4, warp_rows = 16, stages = 1, candidates = 128, tile_keys = 64, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
  }
  return
}

// -----

func.func @nested_alloc(%b: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 128, tile_keys = 64, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
    %t = arith.constant true
    // expected-error @below {{holds a wm_tile.alloc_shared; shared buffers are allocated at the top of the program}}
    scf.if %t {
      %s = wm_tile.alloc_shared : !wm_tile.shared<4xi32>
    }
  }
  return
}

// -----

func.func @stage(%s: !wm_tile.shared<2x64x32xbf16>, %i: index) {
  // expected-error @below {{result must be one stage of the buffer: 64x32 of 'bf16'}}
  %x = wm_tile.stage %s[%i] : !wm_tile.shared<2x64x32xbf16> -> !wm_tile.shared<64x16xbf16>
  return
}

// -----

func.func @matmul(%a: !wm_tile.tile<16x32xbf16>, %b: !wm_tile.shared<64x16xbf16>) {
  // expected-error @below {{contracts 32 columns of lhs with 16 rows of rhs}}
  %c = wm_tile.matmul %a, %b {transpose_rhs} : !wm_tile.tile<16x32xbf16>, !wm_tile.shared<64x16xbf16> -> !wm_tile.tile<16x64xf32>
  return
}

// -----

func.func @matmul_types(%a: !wm_tile.tile<16x32xf16>, %b: !wm_tile.shared<64x32xbf16>) {
  // expected-error @below {{lhs element type 'f16' differs from rhs's 'bf16'}}
  %c = wm_tile.matmul %a, %b {transpose_rhs} : !wm_tile.tile<16x32xf16>, !wm_tile.shared<64x32xbf16> -> !wm_tile.tile<16x64xf32>
  return
}

// -----

func.func @softmax(%s: !wm_tile.tile<16x64xf32>, %m: !wm_tile.tile<16xf32>) {
  // expected-error @below {{needs a row vector max and a partial row vector sum of 16 rows}}
  %p, %m1, %l1, %a = wm_tile.softmax_update %s, %m, %m : !wm_tile.tile<16x64xf32>, !wm_tile.tile<16xf32>, !wm_tile.tile<16xf32>
  return
}

// -----

func.func @compact(%bias: memref<1x2x64xf32>, %list: !wm_tile.shared<128xi32>, %i: index, %lo: f32) {
  // expected-error @below {{round 48 must divide the list's capacity 128}}
  %n, %next = wm_tile.compact %bias[%i, %i] from %i to %i where %lo into %list {round = 48} : memref<1x2x64xf32>, !wm_tile.shared<128xi32>
  return
}

// -----

func.func @load(%src: memref<1x64x4x32xbf16>, %i: index) {
  // expected-error @below {{needs 4 indices for a rank-4 source, got 3}}
  %t = wm_tile.load %src[%i, %i, %i] {row_dim = 1} : memref<1x64x4x32xbf16> -> !wm_tile.tile<16x32xbf16>
  return
}

// -----

func.func @load_width(%src: memref<1x64x4x32xbf16>, %i: index) {
  // expected-error @below {{tile of 64 columns is wider than the source's 32}}
  %t = wm_tile.load %src[%i, %i, %i, %i] {row_dim = 1} : memref<1x64x4x32xbf16> -> !wm_tile.tile<16x64xbf16>
  return
}

// -----

func.func @gather(%src: memref<1x64x2x32xbf16>, %rows: !wm_tile.shared<128xi32>, %dst: !wm_tile.shared<64x16xbf16>, %i: index) {
  // expected-error @below {{gathers whole rows of 32 elements, not 16}}
  wm_tile.gather_async %src[%i, %i, %i] rows %rows[%i] count %i into %dst {row_dim = 1} : memref<1x64x2x32xbf16>, !wm_tile.shared<128xi32>, !wm_tile.shared<64x16xbf16>
  return
}

// -----

func.func @score(%s: !wm_tile.tile<16x64xf32>, %b: !wm_tile.shared<32xf32>, %k: !wm_tile.shared<128xi32>, %i: index) {
  // expected-error @below {{needs one f32 bias per key column (64)}}
  %x = wm_tile.score %s, %b, %k[%i] count %i rows %i <none> {logit_scale = 1.0 : f32, bias_scale = 1.0 : f32, key_offset = 0} : !wm_tile.tile<16x64xf32>, !wm_tile.shared<32xf32>, !wm_tile.shared<128xi32>
  return
}

// -----

func.func @score_tau_max(%s: !wm_tile.tile<16x64xf32>, %b: !wm_tile.shared<64xf32>, %k: !wm_tile.shared<128xi32>, %i: index, %m: f32) {
  // expected-error @below {{bounds thresholds with tau_max but has no tau}}
  %x = wm_tile.score %s, %b, %k[%i] count %i tau_max %m rows %i <bias> {logit_scale = 1.0 : f32, bias_scale = 1.0 : f32, key_offset = 0} : !wm_tile.tile<16x64xf32>, !wm_tile.shared<64xf32>, !wm_tile.shared<128xi32>
  return
}

// -----

// expected-error @below {{tile dimensions must be positive, at least one}}
func.func @type(%t: !wm_tile.tile<0x4xf32>) {
  return
}

// -----

func.func @truncf(%t: !wm_tile.tile<16x64xf32>) {
  // expected-error @below {{rounds an f32 tile to a bf16 or f16 tile of its shape}}
  %x = wm_tile.truncf %t : !wm_tile.tile<16x64xf32> -> !wm_tile.tile<16x32xbf16>
  return
}

// -----

func.func @radix_results(%b: memref<300xf32>) {
  wm_tile.program "k" grid [1] config <warps = 8, warp_rows = 32, stages = 1, candidates = 1024, tile_keys = 256, q_in_registers = false, wgmma = false> (%b) : memref<300xf32> {
  ^bb0(%i: index, %x: memref<300xf32>):
    %n = arith.constant 300 : index
    %r = arith.constant 3 : i32
    %s = wm_tile.alloc_shared : <2058xi32>
    // expected-error @below {{returns a key and a tie count per rank: 2 results, got 1}}
    %k = wm_tile.radix_select %x[] end %n ranks(%r) scratch %s : memref<300xf32>, <2058xi32> -> i32
  }
  return
}

// -----

func.func @radix_scratch(%b: memref<300xf32>) {
  wm_tile.program "k" grid [1] config <warps = 8, warp_rows = 32, stages = 1, candidates = 1024, tile_keys = 256, q_in_registers = false, wgmma = false> (%b) : memref<300xf32> {
  ^bb0(%i: index, %x: memref<300xf32>):
    %n = arith.constant 300 : index
    %r = arith.constant 3 : i32
    %s = wm_tile.alloc_shared : <2048xi32>
    // expected-error @below {{needs a 1-D i32 scratch buffer of at least 2058 words for 1 ranks and 8 warps}}
    %k, %t = wm_tile.radix_select %x[] end %n ranks(%r) scratch %s : memref<300xf32>, <2048xi32> -> i32, i32
  }
  return
}

// -----

func.func @radix_indices(%b: memref<2x300xf32>) {
  wm_tile.program "k" grid [1] config <warps = 8, warp_rows = 32, stages = 1, candidates = 1024, tile_keys = 256, q_in_registers = false, wgmma = false> (%b) : memref<2x300xf32> {
  ^bb0(%i: index, %x: memref<2x300xf32>):
    %n = arith.constant 300 : index
    %r = arith.constant 3 : i32
    %s = wm_tile.alloc_shared : <2058xi32>
    // expected-error @below {{needs one index per dimension of the bias but the last (the keys)}}
    %k, %t = wm_tile.radix_select %x[] end %n ranks(%r) scratch %s : memref<2x300xf32>, <2058xi32> -> i32, i32
  }
  return
}

// -----

func.func @sort_length(%b: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 8, warp_rows = 32, stages = 1, candidates = 1024, tile_keys = 256, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
    %e = wm_tile.alloc_shared : <1000xi64>
    // expected-error @below {{sorts a 1-D i64 buffer of a power-of-two length}}
    wm_tile.sort %e : <1000xi64>
  }
  return
}

// -----

func.func @write_type(%b: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 128, tile_keys = 64, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
    %e = wm_tile.alloc_shared : <16xi64>
    %v = arith.constant 1 : i32
    // expected-error @below {{writes one element of a 1-D buffer of 'i32'}}
    wm_tile.write %v, %e[%i] : i32, <16xi64>
  }
  return
}

// -----

func.func @atomic_type(%b: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 128, tile_keys = 64, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
    %e = wm_tile.alloc_shared : <16xf32>
    %v = arith.constant 1 : i32
    // expected-error @below {{adds to a 1-D buffer of i32}}
    %old = wm_tile.atomic_add %v, %e[%i] : <16xf32>
  }
  return
}

// -----

func.func @nested_parallel(%b: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 128, tile_keys = 64, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
      // expected-error @below {{in a wm_tile.program must be one-dimensional, of step 1, without reductions and not nested in another scf.parallel}}
      scf.parallel (%k) = (%c0) to (%c4) step (%c1) {
        scf.reduce
      }
      scf.reduce
    }
  }
  return
}

// -----

func.func @parallel_step(%b: memref<4xf32>) {
  wm_tile.program "k" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 128, tile_keys = 64, q_in_registers = false, wgmma = false> (%b) : memref<4xf32> {
  ^bb0(%i: index, %x: memref<4xf32>):
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    // expected-error @below {{in a wm_tile.program must be one-dimensional, of step 1}}
    scf.parallel (%j) = (%c0) to (%c4) step (%c2) {
      scf.reduce
    }
  }
  return
}

// -----

func.func @signal_indices(%flags: memref<2x3xi32>, %n: index) {
  wm_tile.program "publish" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%flags) : memref<2x3xi32> {
  ^bb0(%i: index, %f: memref<2x3xi32>):
    // expected-error @below {{needs 2 indices into the flags, got 1}}
    wm_tile.signal %f[%i] = %i : memref<2x3xi32>
  }
  return
}

// -----

func.func @wait_indices(%flags: memref<2x3xi32>, %n: index) {
  wm_tile.program "consume" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%flags) : memref<2x3xi32> {
  ^bb0(%i: index, %f: memref<2x3xi32>):
    // expected-error @below {{needs 2 indices into the flags, got 3}}
    wm_tile.wait_signal %f[%i, %i, %i] at_least %i : memref<2x3xi32>
  }
  return
}

// -----

func.func @signal_type(%flags: memref<2x3xf32>, %n: index) {
  wm_tile.program "publish" grid [1] config <warps = 4, warp_rows = 16, stages = 1, candidates = 64, tile_keys = 64, q_in_registers = false, wgmma = false> (%flags) : memref<2x3xf32> {
  ^bb0(%i: index, %f: memref<2x3xf32>):
    // expected-error @below {{must be 1D/2D/3D/4D memref of 32-bit signless integer values}}
    wm_tile.signal %f[%i, %i] = %i : memref<2x3xf32>
  }
  return
}
