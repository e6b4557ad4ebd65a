//===- SSD.cpp - wm.ssd to tile programs ----------------------------------===//
//
// The chunked form of spec section 2 on tensor cores. Per chunk of Lc steps
// (the op's chunk_size within [64, 256]: every chunk length gives the same
// result), with ld the inclusive sums of dt' a within the chunk:
//
//   ssd_chunk_state   (chunk, b, h): dt' and ld (saved for the scan), and
//     the chunk's state from zero, X^T (w o B) with w_s = exp(ld_last -
//     ld_s) dt'_s (P x N, f32), and the chunk's total ld_last;
//   ssd_state_passing (b, h, N / 16): S <- exp(total_c) S + state_c over the
//     chunks in order, writing the state entering each chunk in 16 bits and
//     the final state in f32;
//   ssd_state_chain   (P block, h, b), where B H fills the GPU, in place of
//     the two above: one CTA carries its rows of a head's state through
//     the chunks, scaling by exp(total_c) and adding the chunk's tiles;
//   ssd_chunk_scan    (block of 64 or 128 rows of a chunk, b, h):
//     y_t = exp(ld_t) C_t S_in^T + sum_{s<=t} (C_t . B_s) exp(ld_t - ld_s)
//     dt'_s x_s, then D x and the z gate.
//
// With the chain in one piece, the scan is launched to overlap it: each
// chain CTA publishes how many chunks' entering states it has stored, and
// each scan CTA waits for its chunk's (the chain's CTAs all run before the
// scan's first starts, so the waits always end).
//
// B and C are rotated in shared memory as they land (unified RoPE): no
// rotated copy goes to global memory. Between the programs only the chunk
// states (B, chunks, H, P, N) in f32 and in 16 bits, dt' and ld (B, H, T)
// and the totals (B, H, chunks) are written.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/WMToTile/WMToTile.h"

#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <numeric>

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

namespace {

/// Steps per B/x tile (and per piece of a chunk state).
constexpr int64_t kTileSteps = 64;
/// Output rows per chunk-scan CTA when `ssd-rows` is 0: 128 (8 warps) from
/// N = 128 on, else 64 (H200, bench/ssd.py bench, v40: 0.55 against 0.64 ms
/// at (2, 4096, 80, 64, 128), 0.35 against 0.33 at (1, 16384, 32, 64, 64);
/// v41: 0.27 against 0.29 at the latter, the others within 1%).
constexpr int64_t kNarrowScanRows = 64;
constexpr int64_t kWideScanRows = 128;
constexpr int64_t kWideScanState = 128;
/// Rows per warp: 16 in the chunk states and the state passing (whose rows
/// are the P channels). In the chunk scan (unless `mma-warp-rows` says)
/// 32 for 128-row CTAs, where each B and x fragment then serves two row
/// tiles (233 registers; v44: 0.463 against 0.488 ms at (2, 4096, 80, 64,
/// 128), 0.511 against 0.560 on the TransXSSM layer), else 16 (v44: no
/// gain with 64 rows).
constexpr int64_t kWarpRows = 16;
constexpr int64_t kWideScanWarpRows = 32;
/// Heads of a group per chunk-scan CTA from N = kSharedHeadsMinState on
/// when `ssd-heads` is 0 (they share the logits C B^T), in 64-row CTAs
/// (H200, v55: 0.402 against 0.431 ms at (2, 4096, 80, 64, 128, 1), 0.625
/// against 0.657 at (8, 2048, 64, 64, 128, 8); 4 heads 0.478 and 0.736. At
/// N = 64 two heads took 0.239 against 0.224 ms at (1, 16384, 32, 64, 64, 1)
/// in v55, and 0.195 against 0.204 in v63, bounded to three CTAs per SM
/// with the entering states in the tiles' bytes).
constexpr int64_t kSharedScanHeads = 2;
constexpr int64_t kSharedHeadsMinState = 64;
/// The state chain (chunk states and state passing as one program, one
/// CTA per P block of a head walking its chunks) is the default from
/// kChainMinHeads instances of (b, h) on, in CTAs of kChainRows rows of P:
/// then the heads alone fill the GPU, and the chunk states need not go to
/// memory (H200, v61: 0.466 against 0.535 ms at (8, 2048, 64, 64, 128, 8),
/// 0.342 against 0.347 at (2, 4096, 80, 64, 128, 1); 32 rows 0.521 and
/// 0.365; with B H = 32 or 16 the chain takes 2x to 3x longer). Three or
/// four copy stages gained nothing over kStateStages.
constexpr int64_t kChainMinHeads = 128;
constexpr int64_t kChainRows = 64;
/// With the state chain (and no overlapping scan, see below), chunks of at
/// most kChainMaxChunk steps unless `ssd-chunk` says: the chunk scan's work
/// within a chunk (each 64-row block multiplies the tiles before it) shrinks
/// more than the chain's per chunk work grows (H200, v66: 0.307 against 0.331 ms at (2, 4096, 80, 64,
/// 128, 1) with chunk_size 256, and 0.318 with 256 steps in two pieces;
/// 0.436 against 0.450 at (8, 2048, 64, 64, 128, 8); 64 steps 0.327 and
/// 0.432). Without the chain 128 steps gained 1% at (1, 16384, 32, 64, 64)
/// and lost 10% on the TransXSSM layer.
constexpr int64_t kChainMaxChunk = 128;
/// The chunk scan overlaps the state chain (in one piece, `ssd-overlap`)
/// where the chain has at most kOverlapMaxChainCtas CTAs: then they all run
/// at once and leave the scan room on every SM, and chunks keep the op's
/// chunk_size (H200, v67: 0.279 against 0.295 ms at (2, 4096, 80, 64, 128,
/// 1), 160 chain CTAs, with 256-step chunks; 0.284 with 128 steps in
/// 128-row blocks, 0.310 in 64-row blocks of two heads. At (8, 2048, 64, 64,
/// 128, 8) the chain's 512 CTAs exceed one wave, the scan starts only with
/// the last, and it took 0.423 against 0.413 ms).
constexpr int64_t kOverlapMaxChainCtas = 264;
/// Chunks of a piece each ssd_state_fix instance fixes, one after the
/// other (H200, v65: 0.029 ms at (2, 4096, 80, 64, 128) with the piece's 8
/// chunks per instance, 0.034 with one per instance, each reloading E_q).
constexpr int64_t kFixChunks = 4;
/// Copy stages of the B/x tiles. The chunk-state CTAs are small enough for
/// two. In the chunk scan a second stage cost more in occupancy than it hid
/// with 64-row CTAs (v39 against v40: 0.56 against 0.64 ms at (2, 4096, 80,
/// 64, 128)) and changed nothing with 128-row ones that still fit two to an
/// SM (v41 against v42: 0.478 against 0.476 ms there).
constexpr int64_t kStateStages = 2;
constexpr int64_t kScanStages = 1;
/// CTAs per SM the registers of a chunk-scan CTA of several heads of 64 rows
/// leave room for (`ssd-scan-ctas`): 168 registers, from 213 at (2, 4096,
/// 80, 64, 128), 12 bytes spilled; the entering states in the tiles' bytes
/// let three such CTAs share an SM. Only with chunks of kBoundMinChunk steps
/// or more: with 128-step ones (avg. 1.5 tiles per CTA) the unbounded,
/// states-first CTAs were faster (H200, v66: 0.297 against 0.307 ms at (2,
/// 4096, 80, 64, 128, 1), 0.414 against 0.434 at (8, 2048, 64, 64, 128, 8);
/// with 256 steps 0.197 against 0.213 at (1, 16384, 32, 64, 64, 1)).
constexpr int64_t kScanCtas = 3;
constexpr int64_t kBoundMinChunk = 256;
/// The chunk scan's shared phases: its B and x tiles, then (after the tile
/// loop) the entering states in the same bytes.
constexpr int64_t kTilePhase = 1;
constexpr int64_t kStatePhase = 2;
/// Chunk lengths the programs take; others are brought into range.
constexpr int64_t kMinChunk = 64;
constexpr int64_t kMaxChunk = 256;
/// Columns of the state each state-passing instance carries.
constexpr int64_t kPassColumns = 16;
/// Chunks whose states the state passing loads together before chaining
/// through them: the chain is otherwise one load latency per chunk. 16
/// chunk states take 128 registers per thread.
constexpr int64_t kPassUnroll = 16;
/// P and N: multiples of 16 (mma tiles), P up to 8 warps of 16 rows.
constexpr int64_t kMaxChannels = 128;
constexpr int64_t kMaxState = 256;

/// The extents and options of one wm.ssd.
struct SsdShape {
  SsdShape(SsdOp op, int64_t scanRows, int64_t headsPerScan,
           int64_t stepsPerChunk)
      : rows(scanRows), scanHeads(headsPerScan) {
    auto x = op.getX().getType();
    batch = x.getDimSize(0), steps = x.getDimSize(1), heads = x.getDimSize(2);
    channels = x.getDimSize(3);
    groups = op.getB().getType().getDimSize(2);
    state = op.getB().getType().getDimSize(3);
    half = x.getElementType();
    chunk = std::max(stepsPerChunk, rows);
    chunks = llvm::divideCeil(steps, chunk);
    softplus = op.getDtSoftplus();
    if (std::optional<ArrayRef<double>> limit = op.getDtLimit())
      dtMin = (*limit)[0], dtMax = (*limit)[1];
    // With G < H, heads vary fastest in the grids of the chunk programs: the
    // CTAs that run together read the same B and C rows, shared in L2 (v47:
    // 0.439 against 0.464 ms at (2, 4096, 80, 64, 128, 1)). With G = H only
    // rope rows would be shared, and chunks vary fastest (v47: 0.465 against
    // 0.505 ms on the TransXSSM layer).
    headsFirst = groups < heads;
  }
  /// Shared bytes of a chunk-scan CTA over `count` heads (16-bit tiles),
  /// with the entering states in the tiles' bytes if `statesInTiles`.
  int64_t scanShared(int64_t count, bool statesInTiles = false) const {
    int64_t tiles = 2 * kScanStages * kTileSteps * (state + count * channels);
    int64_t states = 2 * count * channels * state;
    return 2 * rows * state + count * 2 * 4 * chunk +
           (statesInTiles ? std::max(tiles, states) : tiles + states);
  }
  /// The grid of a chunk program over `pieces` pieces of the sequence and
  /// `slots` sets of heads, and its (head slot, piece, batch) indices.
  /// The grid puts heads outermost where `headsOuter`, else the pieces.
  SmallVector<int64_t> grid(int64_t pieces, int64_t slots,
                            bool headsOuter) const {
    return headsOuter ? SmallVector<int64_t>{slots, pieces, batch}
                      : SmallVector<int64_t>{pieces, slots, batch};
  }
  std::array<Value, 3> indices(Block &block, bool headsOuter) const {
    Value first = block.getArgument(0), second = block.getArgument(1);
    return {headsOuter ? first : second, headsOuter ? second : first,
            block.getArgument(2)};
  }
  /// The chunk scan's grid: chunks outermost, in order, where it overlaps
  /// the chain, so that its first CTAs wait least.
  bool scanHeadsOuter() const { return headsFirst && !overlap; }
  int64_t rows, scanHeads, batch, steps, heads, channels, groups, state,
      chunk, chunks;
  /// Rows of P per state-chain CTA; 0: chunk states and state passing.
  int64_t chainRows = 0;
  /// Pieces of the chunks each head's chain walks in parallel (only where
  /// asked: at (2, 4096, 80) two took 0.318 against 0.331 ms with 256-step
  /// chunks, 0.316 against 0.307 with 128, v66): each piece after the
  /// first starts from zero, and ssd_state_fix adds what enters.
  int64_t chainPieces = 1;
  int64_t chunksPerPiece() const {
    return llvm::divideCeil(chunks, chainPieces);
  }
  /// ssd_state_fix instances per piece: kFixChunks chunks each.
  int64_t fixGroups() const {
    return llvm::divideCeil(chunksPerPiece(), kFixChunks);
  }
  /// CTAs per SM the chunk scan's registers leave room for (0: no bound).
  int64_t scanCtas = 0;
  /// The chunk scan loads the entering states after its tile loop, into the
  /// tiles' bytes: where that lets scanCtas CTAs share an SM.
  bool stateLast() const { return scanCtas > 0; }
  /// The chunk scan overlaps the state chain (see the file comment).
  bool overlap = false;
  Type half;
  bool softplus, headsFirst;
  double dtMin = 0.0, dtMax = INFINITY;
};

/// The buffers of one program: the present ones in order, and the region
/// argument each became.
class ProgramBuffers {
public:
  explicit ProgramBuffers(ArrayRef<Value> all) {
    for (Value v : all) {
      slots.push_back(v ? static_cast<int>(present.size()) : -1);
      if (v)
        present.push_back(v);
    }
  }
  ValueRange values() const { return present; }
  Value in(Block &block, unsigned gridRank, unsigned i) const {
    return slots[i] < 0 ? Value()
                        : block.getArgument(gridRank + slots[i]);
  }

private:
  SmallVector<Value> present;
  SmallVector<int> slots;
};

KernelConfigAttr config(MLIRContext *ctx, int64_t warps, int64_t warpRows,
                        int64_t stages, int64_t minCtas) {
  return KernelConfigAttr::get(ctx, warps, warpRows, stages,
                               /*candidates=*/kTileSteps,
                               /*tile_keys=*/kTileSteps,
                               /*q_in_registers=*/false, /*wgmma=*/false,
                               minCtas);
}

/// The pieces the three program bodies share.
class SsdProgram {
public:
  SsdProgram(OpBuilder &b, Location loc, const SsdShape &shape,
             KernelConfigAttr config)
      : b(b), loc(loc), lb(b, loc), s(shape), stages(config.getStages()) {}

  TileType tile(ArrayRef<int64_t> dims) {
    return TileType::get(dims, b.getF32Type());
  }
  Value zeros(TileType type) {
    return SplatOp::create(b, loc, type, b.getF32FloatAttr(0.0));
  }
  /// `tile` into rows of `dst` from `at` (rows along `rowDim`), unscaled.
  void store(Value tile, Value dst, ValueRange at, int64_t rowDim) {
    StoreOp::create(b, loc, tile, dst, at, b.getI64IntegerAttr(rowDim),
                    b.getF32FloatAttr(1.0));
  }
  /// A shared buffer; those of different nonzero `phase`s share bytes.
  Value shared(ArrayRef<int64_t> dims, Type element, int64_t phase = 0) {
    return AllocSharedOp::create(b, loc, SharedType::get(dims, element), phase);
  }
  Value vector() { return shared({s.chunk}, b.getF32Type()); }
  /// Steps of chunk `c` before the end of the sequence.
  Value chunkLength(Value c) {
    Value t0 = lb.muli(c, lb.index(s.chunk));
    return lb.mini(lb.index(s.chunk), lb.subi(lb.index(s.steps), t0));
  }
  /// dt' and ld of chunk `c`, the state weights, the total, and the copy
  /// of dt' and ld the chunk scan reads.
  void discretize(Value dt, Value a, Value dtBias, Value batch, Value head,
                  Value c, Value steps, Value logDecay, Value weights,
                  Value totals, Value save) {
    Value t0 = lb.muli(c, lb.index(s.chunk));
    Value bias = dtBias ? lb.load(dtBias, {head}) : Value();
    SmallVector<Value> totalAt;
    if (totals)
      totalAt = {batch, head, c};
    DiscretizeOp::create(
        b, loc, dt, ValueRange{batch, t0, head}, lb.load(a, {head}), bias,
        chunkLength(c), steps, logDecay, weights, totals, totalAt, save,
        ValueRange{batch, head, c}, b.getI64IntegerAttr(1),
        s.softplus ? b.getUnitAttr() : UnitAttr(), b.getF32FloatAttr(s.dtMin),
        b.getF32FloatAttr(s.dtMax));
  }
  /// Rotates the rows of `tile`, positions from `t`, when rope is on.
  void rotate(Value tile, Value cos, Value sin, Value batch, Value t) {
    if (!cos)
      return;
    int64_t rank = cast<MemRefType>(cos.getType()).getRank();
    SmallVector<Value> at = rank == 3 ? SmallVector<Value>{batch, t}
                                      : SmallVector<Value>{t};
    RotateSharedOp::create(b, loc, tile, cos, sin, at,
                           b.getI64IntegerAttr(rank - 2));
  }
  /// An scf.for over [from, to) by `step`, carrying tiles.
  SmallVector<Value> loop(Value from, Value to, ValueRange init,
                          function_ref<SmallVector<Value>(Value, ValueRange)>
                              body,
                          int64_t step = 1) {
    auto forOp = scf::ForOp::create(b, loc, from, to, lb.index(step), init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    scf::YieldOp::create(
        b, loc, body(forOp.getInductionVar(), forOp.getRegionIterArgs()));
    return forOp.getResults();
  }
  Value loop(Value from, Value to, Value init,
             function_ref<Value(Value, Value)> body, int64_t step = 1) {
    return loop(
        from, to, ValueRange{init},
        [&](Value i, ValueRange acc) {
          return SmallVector<Value>{body(i, acc[0])};
        },
        step)[0];
  }
  /// acc + X^T (w o B) over tile k of a chunk (steps from `t`), B rotated
  /// first when rope is on.
  Value addTile(Value acc, Value xTile, Value bTile, Value weights, Value cos,
                Value sin, Value batch, Value t, Value k) {
    if (cos) {
      rotate(bTile, cos, sin, batch, t);
      BarrierOp::create(b, loc);
    }
    // x's rows scaled by the weights as the mma operands load.
    return MatmulOp::create(b, loc, acc.getType(), xTile, bTile, acc,
                            /*live_from=*/Value(), weights,
                            lb.muli(k, lb.index(kTileSteps)),
                            /*transpose_rhs=*/false, /*transpose_lhs=*/true);
  }
  /// h0 at `at` (row_dim 2) where the op has it, else zeros.
  Value initialState(Value h0, TileType type, ValueRange at) {
    if (!h0)
      return zeros(type);
    return LoadOp::create(b, loc, type, h0, at, /*row_dim=*/2);
  }
  Value stageOf(Value buffer, Value stage) {
    return StageOp::create(b, loc, buffer, stage);
  }
  /// Starts the copies of the B tile and of the heads' x tiles of steps
  /// [t, t + kTileSteps) into `stage`, x's channels from `channel` (0 if
  /// null).
  void copyTiles(Value x, Value bm, ArrayRef<Value> xTiles, Value bTiles,
                 Value stage, Value batch, Value t, ArrayRef<Value> heads,
                 Value group, Value channel = Value()) {
    Value zero = lb.index(0);
    for (auto [xTile, head] : llvm::zip_equal(xTiles, heads))
      CopyAsyncOp::create(b, loc, x,
                          ValueRange{batch, t, head, channel ? channel : zero},
                          stageOf(xTile, stage), /*row_dim=*/1);
    CopyAsyncOp::create(b, loc, bm, ValueRange{batch, t, group, zero},
                        stageOf(bTiles, stage), /*row_dim=*/1);
  }
  /// A shared buffer of one tile per copy stage.
  Value staged(ArrayRef<int64_t> dims, int64_t phase = 0) {
    SmallVector<int64_t> shape = {stages};
    llvm::append_range(shape, dims);
    return shared(shape, s.half, phase);
  }
  /// A loop over `count` (at least 1) tiles: `issue(k, stage)` starts tile
  /// k's copies, `body(k, stage, accs)` returns the next accs. With S > 1
  /// stages the copies run S - 1 tiles ahead, each tile its own group.
  /// `whileCopying()`, if given, runs while the copies issued before and
  /// those of the first tiles are in flight; `init()` gives the first accs
  /// once the former have landed. `prepare(k, accs)`, if given, runs in
  /// iteration k while its tile's copies may still be in flight. With
  /// `firstIssued` the caller issued tile 0 into stage 0 already.
  SmallVector<Value>
  pipelined(Value count, function_ref<SmallVector<Value>()> init,
            function_ref<void(Value, Value)> issue,
            function_ref<SmallVector<Value>(Value, Value, ValueRange)> body,
            function_ref<void()> whileCopying = nullptr,
            function_ref<void(Value, ValueRange)> prepare = nullptr,
            bool firstIssued = false) {
    Value zero = lb.index(0);
    int64_t ahead = std::max<int64_t>(stages - 1, 1);
    CommitOp::create(b, loc);
    for (int64_t i = 0; i < ahead; ++i) {
      Value k = lb.index(i);
      if (i == 0) {
        if (!firstIssued)
          issue(zero, zero);
      } else
        lb.ifThen(lb.cmpi(arith::CmpIPredicate::slt, k, count),
                  [&] { issue(k, k); });
      CommitOp::create(b, loc);
    }
    if (whileCopying)
      whileCopying();
    WaitOp::create(b, loc, ahead);
    BarrierOp::create(b, loc);
    SmallVector<Value> first = init();
    return loop(zero, count, first, [&](Value k, ValueRange accs) {
      Value stage = zero;
      if (stages > 1) {
        Value next = lb.addi(k, lb.index(stages - 1));
        lb.ifThen(lb.cmpi(arith::CmpIPredicate::slt, next, count), [&] {
          issue(next, lb.remi(next, lb.index(stages)));
        });
        stage = lb.remi(k, lb.index(stages));
      } else {
        lb.ifThen(lb.cmpi(arith::CmpIPredicate::sgt, k, zero),
                  [&] { issue(k, zero); });
      }
      // Tile k's group is complete when at most the S - 1 after it are
      // pending.
      CommitOp::create(b, loc);
      if (prepare)
        prepare(k, accs);
      WaitOp::create(b, loc, stages - 1);
      BarrierOp::create(b, loc);
      SmallVector<Value> result = body(k, stage, accs);
      // Every warp is past this stage before the next copy into it.
      BarrierOp::create(b, loc);
      return result;
    });
  }

  OpBuilder &b;
  Location loc;
  LoopBuilder lb;
  const SsdShape &s;
  int64_t stages;
};

/// Program 1: the chunk's state from zero, in tiles of kTileSteps steps.
void buildChunkState(OpBuilder &b, Location loc, const SsdShape &s,
                     KernelConfigAttr config, const ProgramBuffers &in,
                     Block &block) {
  enum { X, Dt, A, Bm, DtBias, Cos, Sin, States, Totals, Saved };
  b.setInsertionPointToStart(&block);
  SsdProgram p(b, loc, s, config);
  LoopBuilder &lb = p.lb;
  auto arg = [&](unsigned i) { return in.in(block, 3, i); };
  std::array<Value, 3> at = s.indices(block, s.headsFirst);
  Value head = at[0], c = at[1], batch = at[2];
  Value group = lb.divi(head, lb.index(s.heads / s.groups));
  Value steps = p.vector(), logDecay = p.vector(), weights = p.vector();
  Value xTiles = p.staged({kTileSteps, s.channels});
  Value bTiles = p.staged({kTileSteps, s.state});
  Value t0 = lb.muli(c, lb.index(s.chunk)), zero = lb.index(0);
  auto stepOf = [&](Value k) {
    return lb.addi(t0, lb.muli(k, lb.index(kTileSteps)));
  };
  Value pieces = lb.ceilDiv(p.chunkLength(c), lb.index(kTileSteps));
  Value state = p.pipelined(
      pieces,
      [&]() -> SmallVector<Value> {
        return {p.zeros(p.tile({s.channels, s.state}))};
      },
      [&](Value k, Value stage) {
        p.copyTiles(arg(X), arg(Bm), {xTiles}, bTiles, stage, batch,
                    stepOf(k), {head}, group);
      },
      [&](Value k, Value stage, ValueRange accs) -> SmallVector<Value> {
        return {p.addTile(accs[0], p.stageOf(xTiles, stage),
                          p.stageOf(bTiles, stage), weights, arg(Cos),
                          arg(Sin), batch, stepOf(k), k)};
      },
      // The discretization while the first tiles load.
      [&] {
        p.discretize(arg(Dt), arg(A), arg(DtBias), batch, head, c, steps,
                     logDecay, weights, arg(Totals), arg(Saved));
      })[0];
  p.store(state, arg(States), ValueRange{batch, c, head, zero, zero}, 3);
}

/// Program 2: the states entering each chunk, and the final state.
void buildStatePassing(OpBuilder &b, Location loc, const SsdShape &s,
                       KernelConfigAttr config, const ProgramBuffers &in,
                       Block &block) {
  enum { States, Totals, H0, Entering, Final };
  b.setInsertionPointToStart(&block);
  SsdProgram p(b, loc, s, config);
  LoopBuilder &lb = p.lb;
  auto arg = [&](unsigned i) { return in.in(block, 3, i); };
  Value batch = block.getArgument(0), head = block.getArgument(1);
  Value column = lb.muli(block.getArgument(2), lb.index(kPassColumns));
  Value zero = lb.index(0);
  TileType type = p.tile({s.channels, kPassColumns});
  Value init =
      p.initialState(arg(H0), type, ValueRange{batch, head, zero, column});
  // The states and decays of chunks c0 .. c0 + count - 1, loaded together.
  auto load = [&](Value c0, int64_t count) {
    SmallVector<Value> group;
    for (int64_t u = 0; u < count; ++u) {
      Value c = lb.addi(c0, lb.index(u));
      group.push_back(LoadOp::create(b, loc, type, arg(States),
                                     ValueRange{batch, c, head, zero, column},
                                     /*row_dim=*/3));
    }
    for (int64_t u = 0; u < count; ++u) {
      Value c = lb.addi(c0, lb.index(u));
      group.push_back(lb.exp(lb.load(arg(Totals), {batch, head, c})));
    }
    return group;
  };
  // The chain through the group of chunks from c0.
  auto chain = [&](Value c0, ValueRange group, Value acc) {
    int64_t count = group.size() / 2;
    for (int64_t u = 0; u < count; ++u) {
      p.store(acc, arg(Entering),
              ValueRange{batch, lb.addi(c0, lb.index(u)), head, zero, column},
              3);
      acc = ScaleAddOp::create(b, loc, type, acc, group[count + u], group[u]);
    }
    return acc;
  };
  // Groups of kPassUnroll chunks, each loaded together before the chain
  // through it, then one group of the chunks left over. (A group loaded
  // while the chain runs through the one before would be carried across
  // iterations, which the CPU loops, one buffer per op, cannot hold.)
  int64_t unrolled = s.chunks / kPassUnroll * kPassUnroll;
  Value final = init;
  if (unrolled > 0)
    final = p.loop(
        zero, lb.index(unrolled), final,
        [&](Value c, Value acc) {
          return chain(c, load(c, kPassUnroll), acc);
        },
        kPassUnroll);
  if (unrolled < s.chunks) {
    Value c0 = lb.index(unrolled);
    final = chain(c0, load(c0, s.chunks - unrolled), final);
  }
  p.store(final, arg(Final), ValueRange{batch, head, zero, column}, 2);
}

/// Programs 1 and 2 as one, where there are enough heads to fill the GPU:
/// rows [p0, p0 + s.chainRows) of P of one head's state, carried through
/// the sequence's tiles in one pipeline. At a chunk's first tile the state
/// is stored as the one entering the chunk and the chunk is discretized
/// (while the next tiles' copies are in flight), then the state is scaled
/// by the chunk's decay exp(ld_last); each tile adds X^T (w o B). No chunk
/// state goes to memory and no program passes them. Every P block saves
/// the same dt' and ld (the same bits) for the scan. With chainPieces > 1,
/// instance p of a P block walks piece p of the chunks from zero (from h0
/// for the first) and stores its last state as the piece's final state.
void buildStateChain(OpBuilder &b, Location loc, const SsdShape &s,
                     KernelConfigAttr config, const ProgramBuffers &in,
                     Block &block) {
  enum { X, Dt, A, Bm, DtBias, Cos, Sin, H0, Entering, Final, Saved, Progress };
  b.setInsertionPointToStart(&block);
  SsdProgram p(b, loc, s, config);
  LoopBuilder &lb = p.lb;
  auto arg = [&](unsigned i) { return in.in(block, 3, i); };
  bool pieces = s.chainPieces > 1;
  Value blockIndex = block.getArgument(0), piece;
  if (pieces) {
    Value pBlocks = lb.index(s.channels / s.chainRows);
    piece = lb.divi(blockIndex, pBlocks);
    blockIndex = lb.remi(blockIndex, pBlocks);
  }
  Value p0 = lb.muli(blockIndex, lb.index(s.chainRows));
  Value head = block.getArgument(1), batch = block.getArgument(2);
  Value group = lb.divi(head, lb.index(s.heads / s.groups));
  Value zero = lb.index(0), one = lb.index(1);
  TileType type = p.tile({s.chainRows, s.state});
  // The overlapping scan reads this CTA's progress count: stale counts of
  // an earlier call are reset before the scan may start.
  SmallVector<Value> progressAt = {batch, head, blockIndex};
  if (s.overlap) {
    SignalOp::create(b, loc, arg(Progress), progressAt, zero);
    LaunchDependentsOp::create(b, loc);
  }
  // Pieces after the first read h0 from rows past P's end: zeros.
  Value h0Row =
      pieces ? lb.addi(p0, lb.muli(lb.mini(piece, one), lb.index(s.channels)))
             : p0;
  Value init =
      p.initialState(arg(H0), type, ValueRange{batch, head, h0Row, zero});
  Value steps = p.vector(), logDecay = p.vector(), weights = p.vector();
  Value xTiles = p.staged({kTileSteps, s.chainRows});
  Value bTiles = p.staged({kTileSteps, s.state});
  // Tile k is tile j of chunk c; the last chunk has only its steps' tiles.
  int64_t perChunk = llvm::divideCeil(s.chunk, kTileSteps);
  int64_t tiles = (s.chunks - 1) * perChunk +
                  llvm::divideCeil(s.steps - (s.chunks - 1) * s.chunk,
                                   kTileSteps);
  // The piece's tiles [kFirst, kEnd): k counts from kFirst.
  Value count = lb.index(tiles), kFirst;
  if (pieces) {
    int64_t pieceTiles = s.chunksPerPiece() * perChunk;
    kFirst = lb.muli(piece, lb.index(pieceTiles));
    Value kEnd =
        lb.mini(lb.addi(kFirst, lb.index(pieceTiles)), lb.index(tiles));
    count = lb.subi(kEnd, kFirst);
  }
  auto tileOf = [&](Value k) { return pieces ? lb.addi(kFirst, k) : k; };
  auto chunkOf = [&](Value k) {
    return lb.divi(tileOf(k), lb.index(perChunk));
  };
  auto pieceOf = [&](Value k) {
    return lb.remi(tileOf(k), lb.index(perChunk));
  };
  auto stepOf = [&](Value k) {
    return lb.addi(lb.muli(chunkOf(k), lb.index(s.chunk)),
                   lb.muli(pieceOf(k), lb.index(kTileSteps)));
  };
  auto firstOfChunk = [&](Value k) {
    return lb.cmpi(arith::CmpIPredicate::eq, pieceOf(k), zero);
  };
  Value final = p.pipelined(
      count, [&]() -> SmallVector<Value> { return {init}; },
      [&](Value k, Value stage) {
        p.copyTiles(arg(X), arg(Bm), {xTiles}, bTiles, stage, batch,
                    stepOf(k), {head}, group, p0);
      },
      [&](Value k, Value stage, ValueRange accs) -> SmallVector<Value> {
        Value c = chunkOf(k);
        // Chunk c's entering state, dt' and ld are out (prepare, then the
        // pipeline's barrier): c + 1 chunks are ready for the scan.
        if (s.overlap)
          lb.ifThen(firstOfChunk(k), [&] {
            SignalOp::create(b, loc, arg(Progress), progressAt,
                             lb.addi(c, one));
          });
        Value total = ReadOp::create(b, loc, b.getF32Type(), logDecay,
                                     lb.subi(p.chunkLength(c), one));
        Value factor = arith::SelectOp::create(b, loc, firstOfChunk(k),
                                               lb.exp(total), lb.f32(1.0));
        Value acc =
            ScaleAddOp::create(b, loc, type, accs[0], factor, p.zeros(type));
        return {p.addTile(acc, p.stageOf(xTiles, stage),
                          p.stageOf(bTiles, stage), weights, arg(Cos),
                          arg(Sin), batch, stepOf(k), pieceOf(k))};
      },
      /*whileCopying=*/nullptr,
      [&](Value k, ValueRange accs) {
        lb.ifThen(firstOfChunk(k), [&] {
          Value c = chunkOf(k);
          p.store(accs[0], arg(Entering), ValueRange{batch, c, head, p0, zero},
                  3);
          p.discretize(arg(Dt), arg(A), arg(DtBias), batch, head, c, steps,
                       logDecay, weights, /*totals=*/Value(), arg(Saved));
        });
      })[0];
  // The final state, or the piece's: (B, H, P, N) or (B, pieces, H, P, N).
  SmallVector<Value> at = {batch, head, p0, zero};
  if (pieces)
    at.insert(at.begin() + 1, piece);
  p.store(final, arg(Final), at, at.size() - 2);
}

/// After a chain in pieces: the states entering the chunks of piece q >= 1
/// lack exp(the chunk totals since the piece's first chunk) E_q, with E_q
/// the state entering the piece: E_1 = F_0 and E_{q+1} = exp(piece q's
/// totals) E_q + F_q over the pieces' final states F. Instance (g, h, b)
/// fixes kFixChunks chunks of a piece; the one with the last chunk also
/// stores the final state, F_q plus E_q decayed through the whole piece.
void buildStateFix(OpBuilder &b, Location loc, const SsdShape &s,
                   KernelConfigAttr config, const ProgramBuffers &in,
                   Block &block) {
  enum { PieceFinals, Saved, Entering, Final };
  b.setInsertionPointToStart(&block);
  SsdProgram p(b, loc, s, config);
  LoopBuilder &lb = p.lb;
  auto arg = [&](unsigned i) { return in.in(block, 3, i); };
  Value perPiece = lb.index(s.chunksPerPiece());
  Value one = lb.index(1), zero = lb.index(0);
  Value groups = lb.index(s.fixGroups());
  Value q = lb.addi(lb.divi(block.getArgument(0), groups), one);
  Value head = block.getArgument(1), batch = block.getArgument(2);
  TileType type = p.tile({s.channels, s.state});
  // Chunk j's total, ld at its last step.
  auto total = [&](Value j) {
    Value last = lb.subi(p.chunkLength(j), one);
    return lb.load(arg(Saved), {batch, head, j, one, last});
  };
  auto totals = [&](Value from, Value to) {
    return lb.reduce(from, to, lb.f32(0.0), [&](Value j, Value acc) {
      return lb.add(acc, total(j));
    });
  };
  auto pieceFinal = [&](Value r) {
    return LoadOp::create(b, loc, type, arg(PieceFinals),
                          ValueRange{batch, r, head, zero, zero},
                          /*row_dim=*/3)
        .getResult();
  };
  Value entering = p.loop(one, q, pieceFinal(zero), [&](Value r, Value e) {
    Value first = lb.muli(r, perPiece);
    Value sum = totals(first, lb.addi(first, perPiece));
    return ScaleAddOp::create(b, loc, type, e, lb.exp(sum), pieceFinal(r))
        .getResult();
  });
  Value pieceFirst = lb.muli(q, perPiece);
  Value group = lb.remi(block.getArgument(0), groups);
  Value first = lb.addi(pieceFirst, lb.muli(group, lb.index(kFixChunks)));
  Value pieceEnd = lb.mini(lb.addi(pieceFirst, perPiece), lb.index(s.chunks));
  Value end = lb.mini(lb.addi(first, lb.index(kFixChunks)), pieceEnd);
  // exp(the totals before chunk c in the piece), carried through the chunks.
  Value before = lb.exp(totals(pieceFirst, first));
  Value factor = p.loop(first, end, before, [&](Value c, Value f) {
    SmallVector<Value> at = {batch, c, head, zero, zero};
    Value partial =
        LoadOp::create(b, loc, type, arg(Entering), at, /*row_dim=*/3);
    Value fixed = ScaleAddOp::create(b, loc, type, entering, f, partial);
    p.store(fixed, arg(Entering), at, 3);
    return lb.mul(f, lb.exp(total(c)));
  });
  Value hasLast =
      lb.andi(lb.cmpi(arith::CmpIPredicate::ult, first, end),
              lb.cmpi(arith::CmpIPredicate::eq, end, lb.index(s.chunks)));
  lb.ifThen(hasLast, [&] {
    Value fixed =
        ScaleAddOp::create(b, loc, type, entering, factor, pieceFinal(q));
    p.store(fixed, arg(Final), ValueRange{batch, head, zero, zero}, 2);
  });
}

/// Program 3: one block of s.rows outputs of a chunk, for s.scanHeads
/// heads of one group, which share the logits C B^T (only the decay
/// differs between them).
void buildChunkScan(OpBuilder &b, Location loc, const SsdShape &s,
                    KernelConfigAttr config, const ProgramBuffers &in,
                    Block &block) {
  enum { X, Bm, Cm, Skip, Gate, Cos, Sin, Entering, Saved, Progress, Y };
  b.setInsertionPointToStart(&block);
  SsdProgram p(b, loc, s, config);
  LoopBuilder &lb = p.lb;
  auto arg = [&](unsigned i) { return in.in(block, 3, i); };
  int64_t blocks = s.chunk / s.rows;
  // Longest blocks (most B/x tiles) first; where the scan overlaps the
  // chain, chunks in the chain's order.
  std::array<Value, 3> at = s.indices(block, s.scanHeadsOuter());
  Value batch = at[2];
  Value last = lb.index(s.chunks * blocks - 1);
  Value flat = s.overlap ? at[1] : lb.subi(last, at[1]);
  Value c = lb.divi(flat, lb.index(blocks));
  Value rowBlock = lb.remi(flat, lb.index(blocks));
  if (s.overlap)
    rowBlock = lb.subi(lb.index(blocks - 1), rowBlock);
  Value firstHead = lb.muli(at[0], lb.index(s.scanHeads));
  Value group = lb.divi(firstHead, lb.index(s.heads / s.groups));
  Value zero = lb.index(0);
  Value t0 = lb.muli(c, lb.index(s.chunk));
  Value r0 = lb.muli(rowBlock, lb.index(s.rows));
  Value rowT = lb.addi(t0, r0);
  // Per head: its index, dt' and ld, entering state and x tiles. With
  // stateLast the B and x tiles (phase 1) are dead when the entering states
  // (phase 2) load into their bytes, after the tile loop.
  struct Head {
    Value index, steps, logDecay, enter, xTiles;
  };
  int64_t tilePhase = s.stateLast() ? kTilePhase : 0;
  int64_t statePhase = s.stateLast() ? kStatePhase : 0;
  SmallVector<Head> heads;
  for (int64_t j = 0; j < s.scanHeads; ++j)
    heads.push_back({lb.addi(firstHead, lb.index(j)), p.vector(), p.vector(),
                     p.shared({s.channels, s.state}, s.half, statePhase),
                     p.staged({kTileSteps, s.channels}, tilePhase)});
  auto each = [&](auto field) {
    return llvm::map_to_vector(heads, [&](const Head &h) { return h.*field; });
  };
  Value cTile = p.shared({s.rows, s.state}, s.half);
  Value bTiles = p.staged({kTileSteps, s.state}, tilePhase);
  // The last chunk's blocks past the end have nothing to do.
  lb.ifThen(lb.cmpi(arith::CmpIPredicate::ult, rowT, lb.index(s.steps)), [&] {
    CopyAsyncOp::create(b, loc, arg(Cm), ValueRange{batch, rowT, group, zero},
                        cTile, /*row_dim=*/1);
    auto stepOf = [&](Value j) {
      return lb.addi(t0, lb.muli(j, lb.index(kTileSteps)));
    };
    auto issueTile = [&](Value j, Value stage) {
      p.copyTiles(arg(X), arg(Bm), each(&Head::xTiles), bTiles, stage, batch,
                  stepOf(j), each(&Head::index), group);
    };
    // Every chain CTA of the heads has stored chunk c's entering state: the
    // copies that need no wait fly meanwhile.
    if (s.overlap) {
      issueTile(zero, zero);
      for (const Head &h : heads)
        for (int64_t pb = 0; pb < s.channels / s.chainRows; ++pb)
          WaitSignalOp::create(b, loc, arg(Progress),
                               ValueRange{batch, h.index, lb.index(pb)},
                               lb.addi(c, lb.index(1)));
    }
    // dt' and ld as the chunk-state program saved them.
    for (const Head &h : heads)
      for (auto [slot, vector] :
           llvm::enumerate(std::array<Value, 2>{h.steps, h.logDecay}))
        CopyAsyncOp::create(b, loc, arg(Saved),
                            ValueRange{batch, h.index, c, lb.index(slot), zero},
                            vector, /*row_dim=*/4);
    auto loadStates = [&] {
      for (const Head &h : heads)
        CopyAsyncOp::create(b, loc, arg(Entering),
                            ValueRange{batch, c, h.index, zero, zero}, h.enter,
                            /*row_dim=*/3);
    };
    TileType accType = p.tile({s.rows, s.channels});
    // The entering state's part, exp(ld_t) C_t S_in^T, added to `accs` if
    // given.
    auto addStates = [&](ArrayRef<Value> accs) {
      return llvm::map_to_vector(llvm::enumerate(heads), [&](auto jh) {
        const Head &h = jh.value();
        Value fromState = MatmulOp::create(b, loc, accType, cTile, h.enter,
                                           Value(), /*transpose_rhs=*/true);
        Value decay =
            DecayRowsOp::create(b, loc, p.tile({s.rows}), h.logDecay, r0);
        Value y = ScaleRowsOp::create(b, loc, accType, fromState, decay);
        return accs.empty() ? y
                            : ScaleAddOp::create(b, loc, accType, y,
                                                 lb.f32(1.0), accs[jh.index()])
                                  .getResult();
      });
    };
    if (!s.stateLast())
      loadStates();
    // The tiles of steps up to the block's last row: the diagonal ones are
    // masked by decay_mask.
    Value tiles = lb.mini(
        lb.ceilDiv(lb.addi(r0, lb.index(s.rows)), lb.index(kTileSteps)),
        lb.ceilDiv(p.chunkLength(c), lb.index(kTileSteps)));
    SmallVector<Value> accs = p.pipelined(
        tiles,
        [&] {
          p.rotate(cTile, arg(Cos), arg(Sin), batch, rowT);
          BarrierOp::create(b, loc);
          if (!s.stateLast())
            return addStates({});
          return SmallVector<Value>(heads.size(), p.zeros(accType));
        },
        issueTile,
        [&](Value j, Value stage, ValueRange accs) {
          Value bTile = p.stageOf(bTiles, stage);
          p.rotate(bTile, arg(Cos), arg(Sin), batch, stepOf(j));
          BarrierOp::create(b, loc);
          // Rows before the tile's first step are masked: no product. (A
          // block of at most one tile's rows has none.)
          Value s0 = lb.muli(j, lb.index(kTileSteps));
          Value live =
              s.rows > kTileSteps ? lb.maxi(lb.subi(s0, r0), zero) : Value();
          Value logits = MatmulOp::create(
              b, loc, p.tile({s.rows, kTileSteps}), cTile, bTile, Value(), live,
              /*transpose_rhs=*/true, /*transpose_lhs=*/false);
          SmallVector<Value> next;
          for (auto [h, acc] : llvm::zip_equal(heads, accs)) {
            Value xTile = p.stageOf(h.xTiles, stage);
            Value weights = DecayMaskOp::create(
                b, loc, logits.getType(), logits, h.logDecay, h.steps, r0, s0);
            Value sum = MatmulOp::create(b, loc, accType, weights, xTile, acc,
                                         live, /*transpose_rhs=*/false,
                                         /*transpose_lhs=*/false);
            // D x of the block's rows in this tile, read while it is here.
            if (arg(Skip))
              sum = SkipSharedOp::create(b, loc, accType, sum, xTile,
                                         lb.subi(r0, s0), arg(Skip),
                                         ValueRange{h.index});
            next.push_back(sum);
          }
          return next;
        },
        /*whileCopying=*/nullptr, /*prepare=*/nullptr,
        /*firstIssued=*/s.overlap);
    if (s.stateLast()) {
      BarrierOp::create(b, loc);
      loadStates();
      CommitOp::create(b, loc);
      WaitOp::create(b, loc, 0);
      BarrierOp::create(b, loc);
      accs = addStates(accs);
    }
    for (auto [h, acc] : llvm::zip_equal(heads, accs)) {
      SmallVector<Value> rows = {batch, rowT, h.index, zero};
      Value y = acc;
      if (arg(Gate)) {
        Value gate = LoadOp::create(b, loc, accType, arg(Gate), rows,
                                    /*row_dim=*/1);
        y = GateOp::create(b, loc, accType, acc, gate);
      }
      p.store(y, arg(Y), rows, 1);
    }
  });
}

/// The chunk scan's rows and heads per CTA: those asked for, else from N =
/// kSharedHeadsMinState on two heads of 64 rows when the group has them and
/// they fit two CTAs to an SM; else where N is wide one head of 128 rows,
/// else one head of 64 rows. A
/// count of heads becomes the largest divisor of H / G up to it whose
/// tiles fit (in one CTA to an SM where asked for); several heads take
/// 64-row CTAs unless told otherwise.
/// Whether the state chain replaces the chunk states and the state passing:
/// asked for, or from kChainMinHeads instances of (b, h) on.
bool chainOn(int64_t instances, const SsdKernelOptions &options) {
  return options.chainRows > 0 ||
         (options.chainRows == 0 && instances >= kChainMinHeads);
}

/// The state chain's rows of P per CTA, where it runs: those asked for (a
/// divisor of P taken), else kChainRows.
int64_t chainRowsOf(int64_t channels, const SsdKernelOptions &options) {
  return std::gcd(options.chainRows ? options.chainRows : kChainRows,
                  channels);
}

/// Whether the chunk scan overlaps the state chain: allowed (the default),
/// the chain in one piece, and its CTAs (b, h, P block) at most
/// kOverlapMaxChainCtas.
bool overlapOn(SsdOp op, const SsdKernelOptions &options) {
  auto x = op.getX().getType();
  int64_t instances = x.getDimSize(0) * x.getDimSize(2);
  int64_t channels = x.getDimSize(3);
  if (!options.overlap || !chainOn(instances, options) ||
      options.chainPieces > 1)
    return false;
  return instances * (channels / chainRowsOf(channels, options)) <=
         kOverlapMaxChainCtas;
}

/// The programs' steps per chunk: those asked for, else the op's chunk_size
/// brought into [kMinChunk, kMaxChunk], at most kChainMaxChunk with the
/// state chain unless the scan overlaps it.
int64_t gpuChunk(SsdOp op, const SsdKernelOptions &options) {
  if (options.chunk)
    return options.chunk;
  int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>(op.getChunkSize()),
                                      kMinChunk, kMaxChunk);
  auto x = op.getX().getType();
  return chainOn(x.getDimSize(0) * x.getDimSize(2), options) &&
                 !overlapOn(op, options)
             ? std::min(chunk, kChainMaxChunk)
             : chunk;
}

SsdShape scanShape(SsdOp op, const SsdKernelOptions &options) {
  int64_t perGroup = op.getX().getType().getDimSize(2) /
                     op.getB().getType().getDimSize(2);
  int64_t state = op.getB().getType().getDimSize(3);
  int64_t chunk = gpuChunk(op, options);
  bool wide = state >= kWideScanState && chunk >= kWideScanRows;
  auto fitting = [&](int64_t rows, int64_t asked, int64_t budget) {
    SsdShape s(op, rows, std::min(asked, perGroup), chunk);
    while (s.scanHeads > 1 && (perGroup % s.scanHeads != 0 ||
                               s.scanShared(s.scanHeads) > budget))
      --s.scanHeads;
    return s;
  };
  bool shared = state >= kSharedHeadsMinState && options.rows != kWideScanRows;
  int64_t asked = options.heads ? options.heads
                  : shared      ? kSharedScanHeads
                                : 1;
  if (asked > 1) {
    SsdShape s = fitting(options.rows ? options.rows : kNarrowScanRows, asked,
                         options.heads ? kMaxSharedBytesSm90
                                       : kMaxSharedBytesSm90 / 2);
    if (s.scanHeads > 1)
      return s;
  }
  int64_t rows = options.rows ? options.rows
                              : (wide ? kWideScanRows : kNarrowScanRows);
  return SsdShape(op, rows, 1, chunk);
}

/// The state chain's rows of P per CTA (chainRowsOf), 0 where it does not
/// run.
int64_t chainRows(const SsdShape &s, const SsdKernelOptions &options) {
  return chainOn(s.batch * s.heads, options)
             ? chainRowsOf(s.channels, options)
             : 0;
}

/// The pieces of each head's chunks the state chain walks in parallel:
/// those asked for (default one), no piece empty.
int64_t chainPieces(const SsdShape &s, const SsdKernelOptions &options) {
  if (!s.chainRows || options.chainPieces <= 1)
    return 1;
  int64_t perPiece =
      llvm::divideCeil(s.chunks, std::min(options.chainPieces, s.chunks));
  return llvm::divideCeil(s.chunks, perPiece);
}

/// The CTAs per SM the chunk scan's registers leave room for: those asked
/// for, none where told so, else kScanCtas for CTAs of several heads of 64
/// rows (whose registers take two to an SM otherwise) over chunks of
/// kBoundMinChunk steps or more, where their shared memory fits that many.
int64_t scanCtas(const SsdShape &s, const SsdKernelOptions &options) {
  if (options.scanCtas)
    return std::max<int64_t>(options.scanCtas, 0);
  int64_t perCta = s.scanShared(s.scanHeads, /*statesInTiles=*/true) +
                   kReservedSharedBytesPerCta;
  bool fits = kScanCtas * perCta <= kSharedBytesPerSmSm90;
  bool bound = s.rows == kNarrowScanRows && s.scanHeads > 1 &&
               s.chunk >= kBoundMinChunk && fits;
  return bound ? kScanCtas : 0;
}

} // namespace

LogicalResult mlir::wm::checkSsdPrograms(SsdOp op) {
  auto x = op.getX().getType();
  Type element = x.getElementType();
  if (!x.hasStaticShape() || !op.getB().getType().hasStaticShape())
    return op.emitOpError() << "on the GPU needs static shapes";
  if (!(element.isBF16() || element.isF16()) ||
      op.getB().getType().getElementType() != element ||
      op.getC().getType().getElementType() != element)
    return op.emitOpError()
           << "on the GPU needs x, b and c of one 16-bit type (bf16 or f16), "
              "got "
           << element << ", " << op.getB().getType().getElementType() << ", "
           << op.getC().getType().getElementType();
  if (op.getZ() && op.getZ().getType().getElementType() != element)
    return op.emitOpError() << "on the GPU needs z of x's type " << element;
  int64_t channels = x.getDimSize(3);
  int64_t state = op.getB().getType().getDimSize(3);
  if (channels % 16 != 0 || channels > kMaxChannels)
    return op.emitOpError() << "on the GPU needs P a multiple of 16 up to "
                            << kMaxChannels << ", got " << channels;
  if (state % 16 != 0 || state > kMaxState)
    return op.emitOpError() << "on the GPU needs N a multiple of 16 up to "
                            << kMaxState << ", got " << state;
  return success();
}

void mlir::wm::buildSsdPrograms(OpBuilder &host, SsdOp op,
                                const SsdKernelOptions &options,
                                const SsdBuffers &buf) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  SsdShape s = scanShape(op, options);
  s.chainRows = chainRows(s, options);
  s.chainPieces = chainPieces(s, options);
  s.scanCtas = scanCtas(s, options);
  s.overlap = overlapOn(op, options);
  int64_t warpRows = options.warpRows;
  Type f32 = host.getF32Type();
  SmallVector<int64_t> stateShape = {s.batch, s.chunks, s.heads, s.channels,
                                     s.state};
  Value entering = memref::AllocOp::create(
      host, loc, MemRefType::get(stateShape, s.half));
  Value saved = memref::AllocOp::create(
      host, loc,
      MemRefType::get({s.batch, s.heads, s.chunks, 2, s.chunk}, f32));
  int64_t channelWarps = s.channels / kWarpRows;
  int64_t scanWarpRows = warpRows                  ? warpRows
                         : s.rows == kWideScanRows ? kWideScanWarpRows
                                                   : kWarpRows;
  using Body = void (*)(OpBuilder &, Location, const SsdShape &,
                        KernelConfigAttr, const ProgramBuffers &, Block &);
  auto program = [&](StringRef name, ArrayRef<int64_t> grid, int64_t warps,
                     int64_t rowsPerWarp, int64_t stages,
                     ArrayRef<Value> buffers, Body body, int64_t minCtas = 0,
                     bool overlapPrevious = false) {
    ProgramBuffers in(buffers);
    KernelConfigAttr kernel = config(ctx, warps, rowsPerWarp, stages, minCtas);
    auto op = ProgramOp::create(host, loc, name, grid, kernel, in.values(),
                                [&](OpBuilder &b, Block &block) {
                                  body(b, loc, s, kernel, in, block);
                                });
    op.setOverlapPrevious(overlapPrevious);
  };
  // Per chain CTA (b, h, P block): the chunks whose entering states it has
  // stored.
  Value progress;
  if (s.overlap)
    progress = memref::AllocOp::create(
        host, loc,
        MemRefType::get({s.batch, s.heads, s.channels / s.chainRows},
                        host.getI32Type()));
  if (s.chainRows) {
    Value finals = buf.finalState;
    if (s.chainPieces > 1)
      finals = memref::AllocOp::create(
          host, loc,
          MemRefType::get({s.batch, s.chainPieces, s.heads, s.channels,
                           s.state},
                          f32));
    program("ssd_state_chain",
            {s.chainPieces * (s.channels / s.chainRows), s.heads, s.batch},
            s.chainRows / kWarpRows, kWarpRows, kStateStages,
            {buf.x, buf.dt, buf.a, buf.b, buf.dtBias, buf.cos, buf.sin, buf.h0,
             entering, finals, saved, progress},
            buildStateChain);
    if (s.chainPieces > 1)
      program("ssd_state_fix",
              {(s.chainPieces - 1) * s.fixGroups(), s.heads, s.batch},
              channelWarps, kWarpRows, /*stages=*/1,
              {finals, saved, entering, buf.finalState}, buildStateFix);
  } else {
    Value states = memref::AllocOp::create(host, loc,
                                           MemRefType::get(stateShape, f32));
    Value totals = memref::AllocOp::create(
        host, loc, MemRefType::get({s.batch, s.heads, s.chunks}, f32));
    program("ssd_chunk_state", s.grid(s.chunks, s.heads, s.headsFirst),
            channelWarps,
            kWarpRows, kStateStages,
            {buf.x, buf.dt, buf.a, buf.b, buf.dtBias, buf.cos, buf.sin, states,
             totals, saved},
            buildChunkState);
    program("ssd_state_passing", {s.batch, s.heads, s.state / kPassColumns},
            channelWarps, kWarpRows, /*stages=*/1,
            {states, totals, buf.h0, entering, buf.finalState},
            buildStatePassing);
  }
  program("ssd_chunk_scan",
          s.grid(s.chunks * (s.chunk / s.rows), s.heads / s.scanHeads,
                 s.scanHeadsOuter()),
          s.rows / scanWarpRows, scanWarpRows, kScanStages,
          {buf.x, buf.b, buf.c, buf.skip, buf.gate, buf.cos, buf.sin, entering,
           saved, progress, buf.y},
          buildChunkScan, s.scanCtas, s.overlap);
}
