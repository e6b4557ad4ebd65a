//===- Scan.cpp - Tile ops of the chunked SSD scan to CPU loops -----------===//
//
// The chunk's dt' and inclusive log-decay sums, the intra-chunk decay mask,
// the in-place rotary of shared B and C tiles, and the output's skip (also
// from a shared x tile) and gate, element by element as WMTileOps.td
// defines them.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpIPredicate;

namespace {

int64_t lengthOf(Value buffer) {
  return cast<MemRefType>(buffer.getType()).getDimSize(0);
}

struct DiscretizeToLoops : OpConversionPattern<DiscretizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DiscretizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value steps = adaptor.getSteps(), logDecay = adaptor.getLogDecay();
    int64_t length = lengthOf(steps);
    Value zero = lb.index(0), end = lb.index(length);
    int64_t rowDim = op.getRowDim();
    Value total = lb.reduce(zero, end, lb.f32(0.0), [&](Value s, Value sum) {
      Value step = lb.ifValue(
          lb.cmpi(CmpIPredicate::ult, s, adaptor.getCount()),
          [&] {
            SmallVector<Value> at = offsetIndices(lb, adaptor.getIndices(),
                                                  {rowDim}, {s});
            return lb.ssdStep(lb.load(adaptor.getDt(), at), adaptor.getBias(),
                              op.getSoftplus(),
                              op.getDtMin().convertToDouble(),
                              op.getDtMax().convertToDouble());
          },
          [&] { return lb.f32(0.0); });
      lb.store(step, steps, {s});
      Value next = lb.add(sum, lb.mul(step, adaptor.getA()));
      lb.store(next, logDecay, {s});
      if (Value save = adaptor.getSave())
        for (auto [slot, v] :
             llvm::enumerate(std::array<Value, 2>{step, next})) {
          SmallVector<Value> at(adaptor.getSaveIndices());
          at.append({lb.index(slot), s});
          lb.store(v, save, at);
        }
      return next;
    });
    if (Value weights = adaptor.getWeights())
      lb.forEach(zero, end, [&](Value s) {
        Value decay = lb.exp(lb.sub(total, lb.load(logDecay, {s})));
        lb.store(lb.mul(decay, lb.load(steps, {s})), weights, {s});
      });
    if (Value totals = adaptor.getTotal())
      lb.store(total, totals, adaptor.getTotalIndices());
    rewriter.eraseOp(op);
    return success();
  }
};

struct DecayMaskToLoops : OpConversionPattern<DecayMaskOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DecayMaskOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value result = tileBuffer(rewriter, op, op.getType());
    Value logDecay = adaptor.getLogDecay(), steps = adaptor.getSteps();
    forEachElement(lb, op.getType().getShape(), [&](ValueRange rc) {
      Value t = lb.addi(adaptor.getFirstRow(), rc[0]);
      Value s = lb.addi(adaptor.getFirstCol(), rc[1]);
      Value weight = lb.ifValue(
          lb.cmpi(CmpIPredicate::ule, s, t),
          [&] {
            Value decay = lb.exp(
                lb.sub(lb.load(logDecay, {t}), lb.load(logDecay, {s})));
            return lb.mul(lb.load(adaptor.getLogits(), rc),
                          lb.mul(decay, lb.load(steps, {s})));
          },
          [&] { return lb.f32(0.0); });
      lb.store(weight, result, rc);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct DecayRowsToLoops : OpConversionPattern<DecayRowsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DecayRowsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value result = tileBuffer(rewriter, op, op.getType());
    forEachElement(lb, op.getType().getShape(), [&](ValueRange r) {
      Value t = lb.addi(adaptor.getFirstRow(), r[0]);
      lb.store(lb.exp(lb.load(adaptor.getLogDecay(), {t})), result, r);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct RotateSharedToLoops : OpConversionPattern<RotateSharedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RotateSharedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value buffer = adaptor.getBuffer();
    MemRefType table = op.getCos().getType();
    int64_t rowDim = op.getRowDim();
    int64_t half = table.getDimSize(table.getRank() - 1) / 2;
    int64_t rows = op.getBuffer().getType().getShape()[0];
    Value positions = lb.index(table.getDimSize(rowDim));
    lb.forEach(lb.index(0), lb.index(rows), [&](Value r) {
      SmallVector<Value> at =
          offsetIndices(lb, adaptor.getIndices(), {rowDim}, {r});
      lb.ifThen(lb.cmpi(CmpIPredicate::ult, at[rowDim], positions), [&] {
        lb.forEach(lb.index(0), lb.index(half), [&](Value j) {
          Value k = lb.addi(j, lb.index(half));
          auto entry = [&](Value table, Value column) {
            SmallVector<Value> element = at;
            element.push_back(column);
            return lb.load(table, element);
          };
          Value u = lb.load(buffer, {r, j}), w = lb.load(buffer, {r, k});
          Value cosJ = entry(adaptor.getCos(), j), sinJ = entry(adaptor.getSin(), j);
          Value cosK = entry(adaptor.getCos(), k), sinK = entry(adaptor.getSin(), k);
          lb.store(lb.sub(lb.mul(u, cosJ), lb.mul(w, sinJ)), buffer, {r, j});
          lb.store(lb.add(lb.mul(w, cosK), lb.mul(u, sinK)), buffer, {r, k});
        });
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct ScaleAddToLoops : OpConversionPattern<ScaleAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScaleAddOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value result = tileBuffer(rewriter, op, op.getType());
    forEachElement(lb, op.getType().getShape(), [&](ValueRange at) {
      Value scaled = lb.mul(lb.load(adaptor.getTile(), at), adaptor.getFactor());
      lb.store(lb.add(scaled, lb.load(adaptor.getAddend(), at)), result, at);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// D of the head, or of the head and column `column` for a 2-D D.
Value skipOf(LoopBuilder &lb, Value skip, ValueRange head, Value column) {
  SmallVector<Value> at(head);
  if (cast<MemRefType>(skip.getType()).getRank() == 2)
    at.push_back(column);
  return lb.load(skip, at);
}

struct GateToLoops : OpConversionPattern<GateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value result = tileBuffer(rewriter, op, op.getType());
    forEachElement(lb, op.getType().getShape(), [&](ValueRange rc) {
      Value y = lb.mul(lb.load(adaptor.getAcc(), rc),
                       lb.silu(lb.load(adaptor.getGate(), rc)));
      lb.store(y, result, rc);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SkipSharedToLoops : OpConversionPattern<SkipSharedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SkipSharedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value result = tileBuffer(rewriter, op, op.getType());
    Value rows = lb.index(op.getX().getType().getShape()[0]);
    forEachElement(lb, op.getType().getShape(), [&](ValueRange rc) {
      Value row = lb.addi(rc[0], adaptor.getOffset());
      Value inside = lb.andi(lb.cmpi(CmpIPredicate::sge, row, lb.index(0)),
                             lb.cmpi(CmpIPredicate::slt, row, rows));
      Value acc = lb.load(adaptor.getAcc(), rc);
      Value y = lb.ifValue(
          inside,
          [&] {
            Value x = lb.load(adaptor.getX(), {row, rc[1]});
            Value d = skipOf(lb, adaptor.getSkip(), adaptor.getSkipIndices(),
                             rc[1]);
            return lb.add(acc, lb.mul(d, x));
          },
          [&] { return acc; });
      lb.store(y, result, rc);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void tile::populateScanToLoopsPatterns(TypeConverter &converter,
                                       RewritePatternSet &patterns) {
  patterns.add<DiscretizeToLoops, DecayMaskToLoops, DecayRowsToLoops,
               RotateSharedToLoops, ScaleAddToLoops,
               GateToLoops, SkipSharedToLoops>(converter,
                                                   patterns.getContext());
}
