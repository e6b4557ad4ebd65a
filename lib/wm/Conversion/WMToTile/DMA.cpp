//===- DMA.cpp - wm.dma_threshold_attention to its tile program -----------===//
//
// One program instance per (block of query rows, batch, head), heaviest
// blocks first (causal blocks late in the sequence see the most keys):
//
//   thresholds of the block's rows -> low, high
//   while keys remain before the block's causal end:
//     compact the keys with bias >= low (at most W + rows of them, by the
//     prefix argument of docs/design.md) into the candidate list
//     for each tile of 64 candidates, K/V/bias gathered `stages` deep:
//       S = Q K^T; scores masked at the tile's skip level; online softmax;
//       O = O * alpha + P V
//   out = O / l, lse = (m + log2 l) ln 2
//
// The thresholds, compaction and skip levels are QueryBlockKeys'.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/WMToTile/WMToTile.h"

#include "QueryBlockKeys.h"

#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

/// CTAs of this many warps run one per SM (registers and shared memory).
constexpr int64_t kWarpsFillingAnSm = 8;

/// Builds the region of one attention program.
class AttentionProgram : AttentionDims {
public:
  AttentionProgram(OpBuilder &b, Location loc, DmaThresholdAttentionOp op,
                   KernelConfigAttr config)
      : AttentionDims(op.getQuery().getType(), op.getKey().getType()), b(b),
        loc(loc), lb(b, loc), op(op), config(config),
        keys(b, loc, keepRule(op), config) {
    rows = config.getBlockRows();
    tileKeys = config.getTileKeys();
  }

  /// The body, at the start of `block` (grid coordinates, then buffers).
  void build(Block &block);

private:
  static KeepRule keepRule(DmaThresholdAttentionOp op) {
    // Thresholds of a causal global selection (or of unknown origin) may be
    // NaN for rows that see no NaN key: they need the exact keep test.
    auto select = op.getTau().getDefiningOp<DmaSelectOp>();
    bool exact = !select || (select.getCausal() &&
                             select.getScope() == SelectionScope::global);
    return {op.getQuery().getType().getDimSize(1),
            op.getKey().getType().getDimSize(1),
            op.getScale().convertToDouble(), op.getCausal(),
            !keepsEveryKey(op.getTau()), exact};
  }
  TileType tile(ArrayRef<int64_t> shape, bool partial = false) {
    return TileType::get(shape, b.getF32Type(), partial);
  }
  Value shared(ArrayRef<int64_t> shape, Type element) {
    return AllocSharedOp::create(b, loc, SharedType::get(shape, element));
  }
  Value stageOf(Value buffer, Value stage) {
    return StageOp::create(b, loc, buffer, stage);
  }
  void prologue();
  /// Starts the copies of candidate tile `t` into `stage`: its biases and K
  /// rows with `keysAndK`, its V rows with `values`.
  void issueTile(Value t, Value stage, Value count, bool keysAndK,
                 bool values);
  /// One tile: returns (O, m, l) after it. `beforeValues` runs before P V.
  SmallVector<Value> attend(ValueRange state, Value stage, Value c0,
                            Value count, function_ref<void()> beforeValues);
  SmallVector<Value> tileLoop(ValueRange state, Value count);

  OpBuilder &b;
  Location loc;
  LoopBuilder lb;
  DmaThresholdAttentionOp op;
  KernelConfigAttr config;
  QueryBlockKeys keys;
  int64_t rows, tileKeys;

  Value qBuf, kBuf, vBuf, biasBuf, tauBuf, outBuf, lseBuf;
  Value queryBlock, batchIndex, head;
  Value kStages, vStages, biasStages, query;
};

void AttentionProgram::prologue() {
  Value zero = lb.index(0);
  Value group = lb.divi(head, lb.index(heads / kvHeads));
  keys.begin(queryBlock, batchIndex, group, biasBuf, tauBuf);
  int64_t stages = config.getStages();
  keys.allocateCandidates();
  kStages = shared({stages, tileKeys, headDim}, half);
  vStages = shared({stages, tileKeys, headDim}, half);
  biasStages = shared({stages, tileKeys}, b.getF32Type());
  SmallVector<Value> qAt = {batchIndex, keys.i0, head, zero};
  if (config.getQInRegisters()) {
    query = LoadOp::create(b, loc, TileType::get({rows, headDim}, half), qBuf,
                           qAt, /*row_dim=*/1);
  } else {
    // Lands with the first tile's commit group.
    query = shared({rows, headDim}, half);
    CopyAsyncOp::create(b, loc, qBuf, qAt, query, /*row_dim=*/1);
  }
}

void AttentionProgram::issueTile(Value t, Value stage, Value count,
                                 bool keysAndK, bool values) {
  Value c0 = lb.muli(t, lb.index(tileKeys));
  if (keysAndK) {
    keys.gatherBiases(c0, count, stageOf(biasStages, stage));
    keys.gatherRows(kBuf, c0, count, stageOf(kStages, stage));
  }
  if (values)
    keys.gatherRows(vBuf, c0, count, stageOf(vStages, stage));
}

SmallVector<Value> AttentionProgram::attend(ValueRange state, Value stage,
                                            Value c0, Value count,
                                            function_ref<void()> beforeValues) {
  auto logitsType = tile({rows, tileKeys});
  Value logits = MatmulOp::create(b, loc, logitsType, query,
                                  stageOf(kStages, stage), Value(),
                                  /*transpose_rhs=*/true);
  Value masked = keys.scores(logits, stageOf(biasStages, stage), c0, count);
  auto update = SoftmaxUpdateOp::create(
      b, loc, masked.getType(), state[1].getType(), state[2].getType(),
      state[1].getType(), masked, state[1], state[2]);
  // P as mma operands now: half the registers while the next copies issue.
  auto probsType = TileType::get({rows, tileKeys}, half);
  Value probs = TruncFOp::create(b, loc, probsType, update.getProbs());
  Value residualProbs =
      op.getF32Output()
          ? TruncFOp::create(b, loc, probsType, update.getProbs(),
                             /*residual=*/true)
                .getResult()
          : Value();
  auto rescale = [&] {
    return ScaleRowsOp::create(b, loc, state[0].getType(), state[0],
                               update.getAlpha());
  };
  // A CTA that fills its SM (8 warps) has no other CTA to hide its copies
  // behind: they issue before O is rescaled. Two CTAs per SM hide each
  // other's, and rescaling first leaves fewer values live at the copies.
  // (H200, bench/compare.py, 2026-12-02: -1.5% at 32K and 64K with 8 warps,
  // +2.4% at 16K with 4.)
  bool copiesFirst = config.getWarps() >= kWarpsFillingAnSm;
  Value scaled = copiesFirst ? Value() : rescale();
  beforeValues();
  if (copiesFirst)
    scaled = rescale();
  Value acc = MatmulOp::create(b, loc, state[0].getType(), probs,
                               stageOf(vStages, stage), scaled,
                               /*transpose_rhs=*/false);
  // An f32 output is the backward's Dr = dO . O: P's rounding would leave
  // about 2^-9 of O in every dS row sum, and through dBias in dA (v51:
  // 1.3e-2 against torch). P's residual as a second product leaves 2^-17.
  if (residualProbs)
    acc = MatmulOp::create(b, loc, state[0].getType(), residualProbs,
                           stageOf(vStages, stage), acc,
                           /*transpose_rhs=*/false);
  return {acc, update.getNewMax(), update.getNewSum()};
}

SmallVector<Value> AttentionProgram::tileLoop(ValueRange state, Value count) {
  Value zero = lb.index(0), one = lb.index(1);
  Value tiles = lb.ceilDiv(count, lb.index(tileKeys));
  bool twoStages = config.getStages() == 2;
  Value any = lb.cmpi(CmpIPredicate::sgt, tiles, zero);
  lb.ifThen(any, [&] { issueTile(zero, zero, count, true, twoStages); });
  CommitOp::create(b, loc);
  auto loop = scf::ForOp::create(b, loc, zero, tiles, one, state);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value t = loop.getInductionVar();
  ValueRange carried = loop.getRegionIterArgs();
  Value next = lb.addi(t, one);
  Value c0 = lb.muli(t, lb.index(tileKeys));
  Value hasNext = lb.cmpi(CmpIPredicate::slt, next, tiles);
  SmallVector<Value> result;
  if (twoStages) {
    // Tile t + 1 is in flight while tile t is computed.
    Value stage = lb.remi(t, lb.index(2));
    Value other = lb.subi(one, stage);
    lb.ifThen(hasNext, [&] { issueTile(next, other, count, true, true); });
    CommitOp::create(b, loc);
    WaitOp::create(b, loc, 1);
    BarrierOp::create(b, loc);
    result = attend(carried, stage, c0, count, [] {});
    // The next iteration refills this stage.
    BarrierOp::create(b, loc);
  } else {
    // One stage (FlashAttention-2's): V of tile t loads while its scores
    // are computed, K of tile t + 1 while P V is.
    WaitOp::create(b, loc, 0);
    BarrierOp::create(b, loc);
    issueTile(t, zero, count, false, true);
    CommitOp::create(b, loc);
    result = attend(carried, zero, c0, count, [&] {
      WaitOp::create(b, loc, 0);
      BarrierOp::create(b, loc);
      lb.ifThen(hasNext, [&] { issueTile(next, zero, count, true, false); });
      CommitOp::create(b, loc);
    });
  }
  scf::YieldOp::create(b, loc, result);
  return SmallVector<Value>(loop.getResults());
}

void AttentionProgram::build(Block &block) {
  b.setInsertionPointToStart(&block);
  int64_t queryBlocks = llvm::divideCeil(queries, rows);
  queryBlock = lb.subi(lb.index(queryBlocks - 1), block.getArgument(0));
  batchIndex = block.getArgument(1);
  head = block.getArgument(2);
  ValueRange buffers = block.getArguments().drop_front(3);
  qBuf = buffers[0], kBuf = buffers[1], vBuf = buffers[2];
  biasBuf = buffers[3], tauBuf = buffers[4];
  outBuf = buffers[5], lseBuf = buffers[6];
  prologue();
  SmallVector<Value> state = {
      SplatOp::create(b, loc, tile({rows, headDim}), b.getF32FloatAttr(0.0)),
      SplatOp::create(b, loc, tile({rows}),
                      b.getF32FloatAttr(-std::numeric_limits<float>::infinity())),
      SplatOp::create(b, loc, tile({rows}, /*partial=*/true),
                      b.getF32FloatAttr(0.0))};
  SmallVector<Value> final = keys.forEachList(
      state, [&](ValueRange carried, Value count) {
        return tileLoop(carried, count);
      });
  Value zero = lb.index(0);
  StoreAttentionOp::create(b, loc, final[0], final[1], final[2], outBuf,
                           ValueRange{batchIndex, keys.i0, head, zero}, lseBuf,
                           ValueRange{batchIndex, head, keys.i0},
                           b.getF32FloatAttr(kLn2));
}

} // namespace

bool mlir::wm::supportsAttentionProgram(DmaThresholdAttentionOp op) {
  auto query = op.getQuery().getType();
  Type element = query.getElementType();
  int64_t headDim = query.getDimSize(3);
  return query.hasStaticShape() && op.getKey().getType().hasStaticShape() &&
         (element.isBF16() || element.isF16()) && headDim % 32 == 0 &&
         headDim <= 256;
}

SmallVector<Value, 5>
mlir::wm::attentionProgramOperands(DmaThresholdAttentionOp op) {
  return {op.getQuery(), op.getKey(), op.getValue(), op.getBias(),
          op.getTau()};
}

bool mlir::wm::keepsEveryKey(Value tau) {
  auto constant = tau.getDefiningOp<arith::ConstantOp>();
  auto splat = constant ? dyn_cast<SplatElementsAttr>(constant.getValue())
                        : SplatElementsAttr();
  return splat && splat.getElementType().isF32() &&
         splat.getSplatValue<APFloat>().isInfinity() &&
         splat.getSplatValue<APFloat>().isNegative();
}

KernelConfigAttr
mlir::wm::chooseAttentionConfig(DmaThresholdAttentionOp op,
                                const AttentionKernelOptions &options) {
  int64_t queries = op.getQuery().getType().getDimSize(1);
  int64_t headDim = op.getQuery().getType().getDimSize(3);
  // The wgmma tile copies map 8 rows of D / 8 chunks onto a warpgroup.
  bool wgmma = options.wgmma && 128 % headDim == 0;
  // Warps of 32 rows (two m16 tiles) use each K and V fragment they load
  // from shared memory twice: half the ldmatrix traffic per mma of 16-row
  // warps. Past D = 128 their accumulators alone would fill the registers.
  int64_t rowTiles = wgmma              ? 1
                     : options.warpRows ? options.warpRows / 16
                     : headDim <= 128   ? 2
                                        : 1;
  // With f32_output P's residual doubles P's operand registers: 32-row
  // warps then take tiles of half the keys (64 keys spilled 16 KB; H200,
  // 16K/W2K forward 1.50 ms against 1.77 on 16-row warps of 64 keys and
  // 1.07 without the residual).
  int64_t tileKeys = op.getF32Output() && rowTiles == 2 ? kResidualTileKeys
                                                        : kAttentionTileKeys;
  // Long sequences: larger CTAs halve the compaction and gathers per row.
  int64_t warps = wgmma           ? 4
                  : options.warps ? options.warps
                  : queries >= (rowTiles == 2 ? 32768 : 16384) ? 8
                                                               : 4;
  // 16-row warps keep their Q fragments in registers and double-buffer K
  // and V. 32-row warps have no registers left for Q: they read it from
  // shared memory and run FlashAttention-2's single stage, so that two CTAs
  // still fit an SM.
  bool qInRegisters = !wgmma && rowTiles == 1;
  int64_t stages = rowTiles == 1 ? 2 : 1;
  return KernelConfigAttr::get(op.getContext(), warps, 16 * rowTiles, stages,
                               wgmma ? kWgmmaCandidates : kMmaCandidates,
                               tileKeys, qInRegisters, wgmma, /*min_ctas=*/0);
}

ProgramOp mlir::wm::buildAttentionProgram(OpBuilder &b,
                                          DmaThresholdAttentionOp op,
                                          ValueRange buffers,
                                          KernelConfigAttr config) {
  Location loc = op.getLoc();
  auto query = op.getQuery().getType();
  int64_t batch = query.getDimSize(0), queries = query.getDimSize(1);
  int64_t heads = query.getDimSize(2);
  SmallVector<int64_t> grid = {
      static_cast<int64_t>(llvm::divideCeil(queries, config.getBlockRows())),
      batch, heads};
  return ProgramOp::create(
      b, loc, config.getWgmma() ? "dma_attention_wgmma" : "dma_attention_mma",
      grid, config, buffers, [&](OpBuilder &body, Block &block) {
        AttentionProgram(body, loc, op, config).build(block);
      });
}

namespace {

/// wm.dma_threshold_attention on tensors: operands read as buffers, results
/// written by the program into fresh ones.
struct AttentionToProgram : OpRewritePattern<DmaThresholdAttentionOp> {
  AttentionToProgram(MLIRContext *context, AttentionKernelOptions options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(DmaThresholdAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!supportsAttentionProgram(op))
      return rewriter.notifyMatchFailure(op, "no tile program for this shape");
    LoopBuilder lb(rewriter, op.getLoc());
    SmallVector<Value> buffers;
    for (Value operand : attentionProgramOperands(op))
      buffers.push_back(lb.bufferOf(operand));
    for (Value result : op.getResults()) {
      auto type = cast<RankedTensorType>(result.getType());
      SmallVector<Value> sizes;
      for (int64_t d : type.getShape())
        sizes.push_back(lb.index(d));
      buffers.push_back(lb.allocResult(type, sizes));
    }
    buildAttentionProgram(rewriter, op, buffers,
                          chooseAttentionConfig(op, options));
    Value out = lb.tensorOf(buffers[5], op.getOutput().getType());
    Value lse = lb.tensorOf(buffers[6], op.getLse().getType());
    rewriter.replaceOp(op, {out, lse});
    return success();
  }

  AttentionKernelOptions options;
};

} // namespace

void mlir::wm::populateWMToTilePatterns(RewritePatternSet &patterns,
                                        const AttentionKernelOptions &options) {
  patterns.add<AttentionToProgram>(patterns.getContext(), options);
}
