//===- TileDmaAttention.cpp - Flash tiling with block skipping ------------===//
//
// Expects wm.dma_threshold_attention; produces an scf loop nest over
// (batch, head, query block) x key tiles with an online softmax, on buffers,
// that runs on the CPU as it is and whose structure the GPU lowering shares.
//
// Per query block [i0, i1) the thresholds give tauLo = min tau_i and
// tauHi = max tau_i. A key block with max bias < tauLo is kept by no row and
// is skipped; one with min bias >= tauHi that every row may see causally is
// kept whole and needs no per-element predicate. With compaction the block
// first gathers its candidate keys (bias >= tauLo, at most W + Bq of them by
// the prefix argument of docs/design.md) and iterates over that list.
//
// The online softmax guards rows whose running maximum is still -inf (no key
// kept yet): they are left untouched, so no exp(-inf - -inf) NaN can appear,
// and rows that keep no key end with output 0 and lse -inf.
//
//===----------------------------------------------------------------------===//

#include "wm/Dialect/WM/IR/WMOps.h"
#include "wm/Dialect/WM/Transforms/Passes.h"
#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::wm {
#define GEN_PASS_DEF_WMTILEDMAATTENTION
#include "wm/Dialect/WM/Transforms/Passes.h.inc"
} // namespace mlir::wm

using namespace mlir;
using namespace mlir::wm;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

/// Buffers and extents of one wm.dma_threshold_attention.
struct AttentionOperands {
  Value q, k, v, bias, tau, blockMax, blockMin, out, lse;
  Value batch, queryLen, heads, headDim, keyLen, kvHeads;
};

/// One (batch, head, query block) of the loop nest: the rows' running
/// softmax state, tiles of keys folded into it, and the final normalization.
struct QueryBlock {
  LoopBuilder &lb;
  const AttentionOperands &x;
  double scale;
  bool causal;
  /// Bottom-right causal alignment: row i sees keys j <= i + offset.
  Value offset;
  /// Scratch reused by every block: running max, sum and output per row,
  /// the scores of a tile, and 1 where a tile's key is kept (only kept keys'
  /// values are read, so a NaN in v reaches exactly the rows that keep it).
  Value rowMax, rowSum, acc, scores, keptMask;
  Value b, h, g, i0, i1, rows;

  Value tauOf(Value i) const { return lb.load(x.tau, {b, g, i}); }

  void resetRows() {
    Value zero = lb.index(0);
    lb.forEach(zero, rows, [&](Value r) {
      lb.store(lb.negInf(), rowMax, {r});
      lb.store(lb.f32(0.0), rowSum, {r});
      lb.forEach(zero, x.headDim, [&](Value d) {
        lb.store(lb.f32(0.0), acc, {r, d});
      });
    });
  }

  /// Folds one tile of `count` keys, key(t) the t-th key index, into every
  /// row; `predicated` tests each key against the row's threshold (and the
  /// causal limit).
  void processTile(Value count, function_ref<Value(Value)> key,
                   bool predicated) {
    Value zero = lb.index(0);
    lb.forEach(zero, rows, [&](Value r) {
      Value i = lb.addi(i0, r);
      Value rowTau = tauOf(i);
      Value rowLimit = lb.addi(i, offset);
      Value tileMax =
          lb.reduce(zero, count, lb.negInf(), [&](Value t, Value m) {
            Value j = key(t);
            Value dot =
                lb.reduce(zero, x.headDim, lb.f32(0.0), [&](Value d, Value s) {
                  Value qd = lb.load(x.q, {b, i, h, d});
                  Value kd = lb.load(x.k, {b, j, g, d});
                  return lb.add(s, lb.mul(qd, kd));
                });
            Value keyBias = lb.load(x.bias, {b, g, j});
            Value s = lb.add(lb.mul(lb.f32(scale), dot), keyBias);
            Value kept = lb.f32(1.0);
            if (predicated) {
              Value keep = lb.keeps(keyBias, rowTau);
              if (causal)
                keep = lb.andi(keep, lb.cmpi(CmpIPredicate::sle, j, rowLimit));
              s = lb.select(keep, s, lb.negInf());
              kept = lb.select(keep, kept, lb.f32(0.0));
            }
            lb.store(s, scores, {t});
            lb.store(kept, keptMask, {t});
            return lb.max(m, s);
          });
      Value oldMax = lb.load(rowMax, {r});
      Value newMax = lb.max(oldMax, tileMax);
      // Rows with nothing kept so far stay untouched (guards
      // exp(-inf - -inf)); a NaN maximum goes on, to make the row NaN.
      lb.ifThen(lb.cmp(CmpFPredicate::UNE, newMax, lb.negInf()), [&] {
        Value alpha = lb.exp(lb.sub(oldMax, newMax));
        Value tileSum =
            lb.reduce(zero, count, lb.f32(0.0), [&](Value t, Value s) {
              Value p = lb.exp(lb.sub(lb.load(scores, {t}), newMax));
              lb.store(p, scores, {t});
              return lb.add(s, p);
            });
        lb.store(lb.add(lb.mul(lb.load(rowSum, {r}), alpha), tileSum), rowSum,
                 {r});
        lb.forEach(zero, x.headDim, [&](Value d) {
          Value pv = lb.reduce(zero, count, lb.f32(0.0), [&](Value t, Value s) {
            Value p = lb.load(scores, {t});
            Value vd = lb.load(x.v, {b, key(t), g, d});
            Value mask = lb.load(keptMask, {t});
            Value kept = lb.cmp(CmpFPredicate::ONE, mask, lb.f32(0.0));
            return lb.select(kept, lb.add(s, lb.mul(p, vd)), s);
          });
          lb.store(lb.add(lb.mul(lb.load(acc, {r, d}), alpha), pv), acc,
                   {r, d});
        });
        lb.store(newMax, rowMax, {r});
      });
    });
  }

  /// out = acc / l and lse = m + log(l). A row whose maximum is still -inf
  /// kept nothing (out 0, lse -inf); a NaN maximum makes both NaN; a +inf
  /// one gives lse +inf (and out NaN).
  void finishRows() {
    Value zero = lb.index(0);
    lb.forEach(zero, rows, [&](Value r) {
      Value i = lb.addi(i0, r);
      Value max = lb.load(rowMax, {r});
      Value kept = lb.cmp(CmpFPredicate::UNE, max, lb.negInf());
      Value sum = lb.load(rowSum, {r});
      Value safeSum = lb.select(kept, sum, lb.f32(1.0));
      lb.forEach(zero, x.headDim, [&](Value d) {
        Value o = lb.div(lb.load(acc, {r, d}), safeSum);
        lb.store(lb.select(kept, o, lb.f32(0.0)), x.out, {b, i, h, d});
      });
      Value infinite = lb.cmp(CmpFPredicate::OEQ, max, lb.f32(INFINITY));
      Value lse = lb.select(infinite, max, lb.add(max, lb.log(safeSum)));
      lb.store(lb.select(kept, lse, lb.negInf()), x.lse, {b, h, i});
    });
  }
};

struct TileDmaAttention : OpRewritePattern<DmaThresholdAttentionOp> {
  TileDmaAttention(MLIRContext *context, const DmaTilingOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(DmaThresholdAttentionOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    AttentionOperands x;
    x.q = lb.bufferOf(op.getQuery());
    x.k = lb.bufferOf(op.getKey());
    x.v = lb.bufferOf(op.getValue());
    x.bias = lb.bufferOf(op.getBias());
    x.tau = lb.bufferOf(op.getTau());
    bool summaries = static_cast<bool>(op.getBlockMax());
    if (summaries) {
      x.blockMax = lb.bufferOf(op.getBlockMax());
      x.blockMin = lb.bufferOf(op.getBlockMin());
    }
    x.batch = lb.dim(x.q, 0);
    x.queryLen = lb.dim(x.q, 1);
    x.heads = lb.dim(x.q, 2);
    x.headDim = lb.dim(x.q, 3);
    x.keyLen = lb.dim(x.k, 1);
    x.kvHeads = lb.dim(x.k, 2);
    x.out = lb.allocResult(op.getOutput().getType(),
                           {x.batch, x.queryLen, x.heads, x.headDim});
    x.lse = lb.allocResult(op.getLse().getType(),
                           {x.batch, x.heads, x.queryLen});

    // Summaries describe blocks of block_size keys: tiles must match them.
    int64_t blockK = summaries ? static_cast<int64_t>(*op.getBlockSize())
                               : options.blockK;
    emitLoopNest(lb, x, op.getScale().convertToDouble(), op.getCausal(),
                 summaries && options.skipBlocks, blockK);

    rewriter.replaceOp(op, {lb.tensorOf(x.out, op.getOutput().getType()),
                            lb.tensorOf(x.lse, op.getLse().getType())});
    return success();
  }

private:
  void emitLoopNest(LoopBuilder &lb, const AttentionOperands &x, double scale,
                    bool causal, bool skipBlocks, int64_t blockK) const {
    Value zero = lb.index(0);
    Value bq = lb.index(options.blockQ), bk = lb.index(blockK);
    Value group = lb.divi(x.heads, x.kvHeads);
    QueryBlock blk{lb, x, scale, causal, lb.subi(x.keyLen, x.queryLen)};
    blk.rowMax = lb.allocF32({bq});
    blk.rowSum = lb.allocF32({bq});
    blk.acc = lb.allocF32({bq, x.headDim});
    blk.scores = lb.allocF32({bk});
    blk.keptMask = lb.allocF32({bk});
    Value candidates =
        options.compactKeys ? lb.allocIndex({x.keyLen}) : Value();

    lb.forEach(zero, x.batch, [&](Value b) {
      lb.forEach(zero, x.heads, [&](Value h) {
        blk.b = b, blk.h = h, blk.g = lb.divi(h, group);
        lb.forEach(zero, lb.ceilDiv(x.queryLen, bq), [&](Value qb) {
          blk.i0 = lb.muli(qb, bq);
          blk.i1 = lb.mini(x.queryLen, lb.addi(blk.i0, bq));
          blk.rows = lb.subi(blk.i1, blk.i0);
          blk.resetRows();
          Value tauLo = lb.reduce(
              blk.i0, blk.i1, lb.f32(INFINITY),
              [&](Value i, Value m) { return lb.minInOrder(m, blk.tauOf(i)); });
          Value tauHi =
              lb.reduce(blk.i0, blk.i1, lb.negInf(), [&](Value i, Value m) {
                return lb.max(m, blk.tauOf(i));
              });
          // Keys past the last row's causal limit are seen by no row.
          Value keyEnd =
              causal ? lb.maxi(zero,
                               lb.mini(x.keyLen, lb.addi(blk.i1, blk.offset)))
                     : x.keyLen;
          if (options.compactKeys)
            compactedTiles(blk, candidates, keyEnd, tauLo, bk, skipBlocks);
          else
            denseTiles(blk, keyEnd, tauLo, tauHi, bk, skipBlocks);
          blk.finishRows();
        });
      });
    });
  }

  /// Gathers the keys any row of the block may keep, in key order, then
  /// folds them in tiles of bk.
  void compactedTiles(QueryBlock &blk, Value candidates, Value keyEnd,
                      Value tauLo, Value bk, bool skipBlocks) const {
    LoopBuilder &lb = blk.lb;
    const AttentionOperands &x = blk.x;
    Value zero = lb.index(0), one = lb.index(1);
    Value b = blk.b, g = blk.g;
    Value count =
        lb.reduce(zero, lb.ceilDiv(keyEnd, bk), zero, [&](Value kb, Value n) {
          Value j0 = lb.muli(kb, bk);
          Value j1 = lb.mini(keyEnd, lb.addi(j0, bk));
          auto gather = [&] {
            return lb.reduce(j0, j1, n, [&](Value j, Value m) {
              Value keep = lb.keeps(lb.load(x.bias, {b, g, j}), tauLo);
              lb.ifThen(keep, [&] {
                memref::StoreOp::create(lb.builder(), lb.location(), j,
                                        candidates, ValueRange{m});
              });
              return lb.select(keep, lb.addi(m, one), m);
            });
          };
          if (!skipBlocks)
            return gather();
          Value live = lb.keeps(lb.load(x.blockMax, {b, g, kb}), tauLo);
          auto branch = scf::IfOp::create(
              lb.builder(), lb.location(),
              TypeRange{lb.builder().getIndexType()}, live, true);
          OpBuilder::InsertionGuard guard(lb.builder());
          lb.builder().setInsertionPointToStart(branch.thenBlock());
          scf::YieldOp::create(lb.builder(), lb.location(), gather());
          lb.builder().setInsertionPointToStart(branch.elseBlock());
          scf::YieldOp::create(lb.builder(), lb.location(), n);
          return branch.getResult(0);
        });
    lb.forEach(zero, lb.ceilDiv(count, bk), [&](Value tile) {
      Value c0 = lb.muli(tile, bk);
      Value c1 = lb.mini(count, lb.addi(c0, bk));
      blk.processTile(
          lb.subi(c1, c0),
          [&](Value t) {
            return memref::LoadOp::create(lb.builder(), lb.location(),
                                          candidates,
                                          ValueRange{lb.addi(c0, t)})
                .getResult();
          },
          /*predicated=*/true);
    });
  }

  /// Key blocks in order; with summaries, blocks no row keeps are skipped
  /// and blocks every row keeps whole go unpredicated.
  void denseTiles(QueryBlock &blk, Value keyEnd, Value tauLo, Value tauHi,
                  Value bk, bool skipBlocks) const {
    LoopBuilder &lb = blk.lb;
    const AttentionOperands &x = blk.x;
    Value zero = lb.index(0), one = lb.index(1);
    lb.forEach(zero, lb.ceilDiv(keyEnd, bk), [&](Value kb) {
      Value j0 = lb.muli(kb, bk);
      Value j1 = lb.mini(keyEnd, lb.addi(j0, bk));
      Value count = lb.subi(j1, j0);
      auto keyAt = [&](Value t) { return lb.addi(j0, t); };
      if (!skipBlocks) {
        blk.processTile(count, keyAt, /*predicated=*/true);
        return;
      }
      Value live = lb.keeps(lb.load(x.blockMax, {blk.b, blk.g, kb}), tauLo);
      lb.ifThen(live, [&] {
        Value full = lb.keeps(lb.load(x.blockMin, {blk.b, blk.g, kb}), tauHi);
        if (blk.causal) {
          Value lastKey = lb.subi(j1, one);
          Value firstLimit = lb.addi(blk.i0, blk.offset);
          full =
              lb.andi(full, lb.cmpi(CmpIPredicate::sle, lastKey, firstLimit));
        }
        lb.ifThenElse(
            full, [&] { blk.processTile(count, keyAt, false); },
            [&] { blk.processTile(count, keyAt, true); });
      });
    });
  }

  DmaTilingOptions options;
};

struct WMTileDmaAttentionPass
    : wm::impl::WMTileDmaAttentionBase<WMTileDmaAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    for (auto [name, value] : {std::pair<StringRef, int64_t>{"block-q", blockQ},
                               {"block-k", blockK}}) {
      if (value > 0 && value <= kMaxBlockSize)
        continue;
      getOperation()->emitError() << name << " must be in [1, "
                                  << kMaxBlockSize << "], got " << value;
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateTileDmaAttentionPatterns(
        patterns, DmaTilingOptions{blockQ, blockK, skipBlocks, compactKeys});
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::wm::populateTileDmaAttentionPatterns(
    RewritePatternSet &patterns, const DmaTilingOptions &options) {
  patterns.add<TileDmaAttention>(patterns.getContext(), options);
}
