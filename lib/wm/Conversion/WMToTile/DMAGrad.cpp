//===- DMAGrad.cpp - wm.dma_attention_grad to its tile program ------------===//
//
// The backward of spec section 1.4 on tensor cores, one program instance per
// (block of 64 or 128 query rows, batch, head), over the same candidate lists as
// the forward (QueryBlockKeys), so the work is O(L (W + rows)) and a key the
// rows do not keep costs nothing:
//
//   Dr = rowsum(dO O) from an f32 O (the forward's f32_output); from a
//   16-bit O, sweep 1, per candidate tile: S = Q K^T, P from the forward's
//     lse, dP = dO V^T, Dr += rowsum(P dP)
//   sweep 2, per candidate tile: S, P, dP (again); dS = P (dP - Dr);
//     dQ += dS K (registers); dBias[keys] += colsum(dS);
//     P and dS through shared memory: dV[keys] += P^T dO, dK[keys] += dS^T Q
//     (the next tile's K, V and biases load meanwhile)
//   dQ = scale dQ
//
// Sweep 1 takes Dr from the same f32 P and dP as dS, not from a rounded O,
// so that dBias carries no rounding of the output; an f32 O spares it (2 of
// the 7 products per kept pair). dK, dV
// and dBias are added atomically in f32: the candidate lists of different
// blocks share keys. A key tile has the rows of a query block, so dK and dV
// tiles are register tiles like dQ.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/WMToTile/WMToTile.h"

#include "QueryBlockKeys.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

namespace {

constexpr int64_t kGradWarpRows = 16;
/// From this many query rows on, 8-warp CTAs: half the atomics per kept
/// pair, and enough blocks to fill the SMs (H200, bench/dma_grad.py bench,
/// v36: 4K 1.48 vs 1.73 ms, 16K/W2K 5.89 vs 6.63, 64K/W4K 47.5 vs 56.6).
constexpr int64_t kGradEightWarpRows = 4096;
/// Candidate slots per warp: 4096 for 4 warps, 2048 for 8 (whose 128-row
/// tiles take the rest of the shared memory).
constexpr int64_t kGradCandidateWords = 16384;
constexpr int64_t kGradMaxHeadDim = 128;

/// Builds the region of one backward program.
class AttentionGradProgram : AttentionDims {
public:
  AttentionGradProgram(OpBuilder &b, Location loc, DmaAttentionGradOp op,
                       KernelConfigAttr config)
      : AttentionDims(op.getQuery().getType(), op.getKey().getType()), b(b),
        loc(loc), lb(b, loc), op(op), config(config),
        keys(b, loc, keepRule(op), config), rows(config.getBlockRows()) {}

  void build(Block &block);

private:
  static KeepRule keepRule(DmaAttentionGradOp op) {
    // The thresholds are an operand of unknown origin: the exact test.
    return {op.getQuery().getType().getDimSize(1),
            op.getKey().getType().getDimSize(1),
            op.getScale().convertToDouble(), op.getCausal(),
            !keepsEveryKey(op.getTau()), /*exact=*/true};
  }
  TileType tile(ArrayRef<int64_t> shape) {
    return TileType::get(shape, b.getF32Type());
  }
  Value shared(ArrayRef<int64_t> shape, Type element) {
    return AllocSharedOp::create(b, loc, SharedType::get(shape, element));
  }
  /// Starts the copies of candidate tile `c0` (bias, K, V), one group.
  void issueTile(Value c0, Value count);
  /// P and dP of the loaded tile.
  std::pair<Value, Value> probabilities(Value c0, Value count);
  /// Sweep 2's work on the loaded tile; returns dQ after it. `issueNext`
  /// starts the next tile's copies once K, V and the biases are read.
  Value accumulate(Value dq, Value delta, Value c0, Value count,
                   function_ref<void()> issueNext);
  /// A loop over the candidate tiles of every list carrying `init`;
  /// `body(acc, c0, count, issueNext)` returns the next acc. With
  /// `prefetch` the body calls issueNext, else each tile loads at its top.
  Value sweep(Value init, bool prefetch,
              function_ref<Value(Value, Value, Value, function_ref<void()>)> body);

  OpBuilder &b;
  Location loc;
  LoopBuilder lb;
  DmaAttentionGradOp op;
  KernelConfigAttr config;
  QueryBlockKeys keys;
  int64_t rows;

  /// Dr of the block's rows: from the f32 output, else by sweep 1.
  Value rowDeltas();

  Value qBuf, kBuf, vBuf, biasBuf, tauBuf, outBuf, lseBuf, doBuf;
  Value dqBuf, dkBuf, dvBuf, dbiasBuf;
  Value batchIndex, head, lse;
  Value kTile, vTile, biasTile, qTile, doTile, pTile, dsTile;
};

void AttentionGradProgram::issueTile(Value c0, Value count) {
  keys.gatherBiases(c0, count, biasTile);
  keys.gatherRows(kBuf, c0, count, kTile);
  keys.gatherRows(vBuf, c0, count, vTile);
  CommitOp::create(b, loc);
}

std::pair<Value, Value> AttentionGradProgram::probabilities(Value c0,
                                                            Value count) {
  int64_t tileKeys = config.getTileKeys();
  Value logits = MatmulOp::create(b, loc, tile({rows, tileKeys}), qTile, kTile,
                                  Value(), /*transpose_rhs=*/true);
  Value scores = keys.scores(logits, biasTile, c0, count);
  Value p = ProbabilitiesOp::create(b, loc, scores.getType(), scores, lse,
                                    keys.i0,
                                    lb.index(queries),
                                    b.getF32FloatAttr(kLog2E));
  Value dp = MatmulOp::create(b, loc, tile({rows, tileKeys}), doTile, vTile,
                              Value(), /*transpose_rhs=*/true);
  return {p, dp};
}

Value AttentionGradProgram::accumulate(Value dq, Value delta, Value c0,
                                       Value count,
                                       function_ref<void()> issueNext) {
  auto [p, dp] = probabilities(c0, count);
  Value ds = SoftmaxGradOp::create(b, loc, p.getType(), p, dp, delta);
  Value next = MatmulOp::create(b, loc, dq.getType(), ds, kTile, dq,
                                /*transpose_rhs=*/false);
  Value zero = lb.index(0), group = keys.group;
  ScatterColumnSumsOp::create(b, loc, ds, dbiasBuf,
                              ValueRange{batchIndex, group}, keys.candidates,
                              c0, count);
  StoreSharedOp::create(b, loc, p, pTile);
  StoreSharedOp::create(b, loc, ds, dsTile);
  // Every warp is past its reads of K, V and the biases: the next tile's
  // copies overlap the transposed products and the scatters.
  BarrierOp::create(b, loc);
  issueNext();
  auto keyRows = [&](Value lhs, Value rhs, Value dst, double scale) {
    Value part = MatmulOp::create(b, loc, tile({rows, headDim}), lhs, rhs,
                                  Value(), /*transpose_rhs=*/false,
                                  /*transpose_lhs=*/true);
    ScatterAddOp::create(b, loc, part, dst, ValueRange{batchIndex, group, zero},
                         keys.candidates, c0, count, b.getI64IntegerAttr(1),
                         b.getF32FloatAttr(scale));
  };
  keyRows(pTile, doTile, dvBuf, 1.0);
  keyRows(dsTile, qTile, dkBuf, op.getScale().convertToDouble());
  return next;
}

Value AttentionGradProgram::sweep(
    Value init, bool prefetch,
    function_ref<Value(Value, Value, Value, function_ref<void()>)> body) {
  int64_t tileKeys = config.getTileKeys();
  SmallVector<Value> final = keys.forEachList(
      init, [&](ValueRange state, Value count) -> SmallVector<Value> {
        Value zero = lb.index(0), one = lb.index(1);
        Value tiles = lb.ceilDiv(count, lb.index(tileKeys));
        if (prefetch)
          lb.ifThen(lb.cmpi(arith::CmpIPredicate::sgt, tiles, zero),
                    [&] { issueTile(zero, count); });
        auto loop = scf::ForOp::create(b, loc, zero, tiles, one, state);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(loop.getBody());
          Value t = loop.getInductionVar();
          Value c0 = lb.muli(t, lb.index(tileKeys));
          if (!prefetch)
            issueTile(c0, count);
          WaitOp::create(b, loc, 0);
          BarrierOp::create(b, loc);
          Value next = body(loop.getRegionIterArgs()[0], c0, count, [&] {
            Value later = lb.addi(t, one);
            lb.ifThen(lb.cmpi(arith::CmpIPredicate::slt, later, tiles), [&] {
              issueTile(lb.muli(later, lb.index(tileKeys)), count);
            });
          });
          // Without prefetch the next tile's copies overwrite what this one
          // read; with it, the wait at the next tile's top orders them.
          if (!prefetch)
            BarrierOp::create(b, loc);
          scf::YieldOp::create(b, loc, next);
        }
        // The next list's compaction overwrites the keys this one read.
        if (prefetch)
          BarrierOp::create(b, loc);
        return SmallVector<Value>(loop.getResults());
      });
  return final[0];
}

Value AttentionGradProgram::rowDeltas() {
  Value zeros = SplatOp::create(b, loc, tile({rows}), b.getF32FloatAttr(0.0));
  if (cast<MemRefType>(outBuf.getType()).getElementType().isF32()) {
    SmallVector<Value> rowsAt = {batchIndex, keys.i0, head, lb.index(0)};
    auto load = [&](Value buffer) {
      return LoadOp::create(b, loc, tile({rows, headDim}), buffer, rowsAt,
                            /*row_dim=*/1);
    };
    Value dout = load(doBuf), out = load(outBuf);
    return RowDotOp::create(b, loc, zeros.getType(), dout, out, zeros);
  }
  return sweep(
      zeros, /*prefetch=*/false,
      [&](Value acc, Value c0, Value count, function_ref<void()>) -> Value {
        auto [p, dp] = probabilities(c0, count);
        return RowDotOp::create(b, loc, acc.getType(), p, dp, acc);
      });
}

void AttentionGradProgram::build(Block &block) {
  b.setInsertionPointToStart(&block);
  int64_t queryBlocks = llvm::divideCeil(queries, rows);
  // Heaviest blocks first, as in the forward.
  Value queryBlock = lb.subi(lb.index(queryBlocks - 1), block.getArgument(0));
  batchIndex = block.getArgument(1);
  head = block.getArgument(2);
  ValueRange buffers = block.getArguments().drop_front(3);
  qBuf = buffers[0], kBuf = buffers[1], vBuf = buffers[2];
  biasBuf = buffers[3], tauBuf = buffers[4], outBuf = buffers[5];
  lseBuf = buffers[6], doBuf = buffers[7], dqBuf = buffers[8];
  dkBuf = buffers[9], dvBuf = buffers[10], dbiasBuf = buffers[11];
  Value zero = lb.index(0);
  Value group = lb.divi(head, lb.index(heads / kvHeads));
  keys.begin(queryBlock, batchIndex, group, biasBuf, tauBuf);
  keys.allocateCandidates();
  int64_t tileKeys = config.getTileKeys();
  kTile = shared({tileKeys, headDim}, half);
  vTile = shared({tileKeys, headDim}, half);
  biasTile = shared({tileKeys}, b.getF32Type());
  qTile = shared({rows, headDim}, half);
  doTile = shared({rows, headDim}, half);
  pTile = shared({rows, tileKeys}, half);
  dsTile = shared({rows, tileKeys}, half);
  // Q and dO land with the first tile's commit group.
  SmallVector<Value> rowsAt = {batchIndex, keys.i0, head, zero};
  CopyAsyncOp::create(b, loc, qBuf, rowsAt, qTile, /*row_dim=*/1);
  CopyAsyncOp::create(b, loc, doBuf, rowsAt, doTile, /*row_dim=*/1);
  lse = LoadOp::create(b, loc, tile({rows}), lseBuf,
                       ValueRange{batchIndex, head, keys.i0}, /*row_dim=*/2);
  Value delta = rowDeltas();
  Value dq = sweep(
      SplatOp::create(b, loc, tile({rows, headDim}), b.getF32FloatAttr(0.0)),
      /*prefetch=*/true,
      [&](Value acc, Value c0, Value count, function_ref<void()> issueNext) {
        return accumulate(acc, delta, c0, count, issueNext);
      });
  StoreOp::create(b, loc, dq, dqBuf, rowsAt, b.getI64IntegerAttr(1),
                  b.getF32FloatAttr(op.getScale().convertToDouble()));
}

} // namespace

bool mlir::wm::supportsAttentionGradProgram(DmaAttentionGradOp op) {
  auto query = op.getQuery().getType();
  Type element = query.getElementType();
  int64_t headDim = query.getDimSize(3);
  return query.hasStaticShape() && op.getKey().getType().hasStaticShape() &&
         (element.isBF16() || element.isF16()) && headDim % 32 == 0 &&
         headDim <= kGradMaxHeadDim;
}

KernelConfigAttr mlir::wm::attentionGradConfig(DmaAttentionGradOp op,
                                               int64_t warps) {
  if (warps == 0)
    warps = op.getQuery().getType().getDimSize(1) >= kGradEightWarpRows ? 8 : 4;
  return KernelConfigAttr::get(op.getContext(), warps, kGradWarpRows,
                               /*stages=*/1, kGradCandidateWords / warps,
                               warps * kGradWarpRows,
                               /*q_in_registers=*/false, /*wgmma=*/false,
                               /*min_ctas=*/0);
}

ProgramOp mlir::wm::buildAttentionGradProgram(OpBuilder &b,
                                              DmaAttentionGradOp op,
                                              ValueRange buffers,
                                              KernelConfigAttr config) {
  Location loc = op.getLoc();
  auto query = op.getQuery().getType();
  SmallVector<int64_t> grid = {
      static_cast<int64_t>(
          llvm::divideCeil(query.getDimSize(1), config.getBlockRows())),
      query.getDimSize(0), query.getDimSize(2)};
  return ProgramOp::create(b, loc, "dma_attention_grad_mma", grid, config,
                           buffers, [&](OpBuilder &body, Block &block) {
                             AttentionGradProgram(body, loc, op, config)
                                 .build(block);
                           });
}
