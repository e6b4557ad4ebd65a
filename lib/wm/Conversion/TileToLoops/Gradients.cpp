//===- Gradients.cpp - Tile ops of the DMA backward to CPU loops ----------===//
//
// Probabilities from the forward's lse, Dr = sum_c P dP, dS = P (dP - Dr),
// the stores of dQ and the atomic scatters of dK, dV and dBias, element by
// element as their definitions in WMTileOps.td give. The CPU runs program
// instances one after another, so the scatters are plain read-add-writes.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

/// `dst[at] += value`.
void addTo(LoopBuilder &lb, Value dst, ValueRange at, Value value) {
  lb.store(lb.add(lb.load(dst, at), value), dst, at);
}

struct ProbabilitiesToLoops : OpConversionPattern<ProbabilitiesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ProbabilitiesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value result = tileBuffer(rewriter, op, op.getType());
    Value scale = lb.f32(op.getLseScale().convertToDouble());
    forEachElement(lb, op.getType().getShape(), [&](ValueRange rc) {
      Value s = lb.load(adaptor.getScores(), rc);
      Value row = lb.addi(adaptor.getFirstRow(), rc[0]);
      Value live = lb.andi(
          lb.cmpi(CmpIPredicate::ult, row, adaptor.getRowsEnd()),
          lb.cmp(CmpFPredicate::UNE, s, lb.negInf()));
      Value lse = lb.mul(lb.load(adaptor.getLse(), {rc[0]}), scale);
      Value p = math::Exp2Op::create(lb.builder(), lb.location(), lb.sub(s, lse));
      lb.store(lb.select(live, p, lb.f32(0.0)), result, rc);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct RowDotToLoops : OpConversionPattern<RowDotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RowDotOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    ArrayRef<int64_t> shape = op.getLhs().getType().getShape();
    Value result = tileBuffer(rewriter, op, op.getType());
    lb.forEach(lb.index(0), lb.index(shape[0]), [&](Value r) {
      Value sum = lb.reduce(
          lb.index(0), lb.index(shape[1]), lb.load(adaptor.getAcc(), {r}),
          [&](Value c, Value acc) {
            return lb.add(acc, lb.mul(lb.load(adaptor.getLhs(), {r, c}),
                                      lb.load(adaptor.getRhs(), {r, c})));
          });
      lb.store(sum, result, {r});
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SoftmaxGradToLoops : OpConversionPattern<SoftmaxGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value result = tileBuffer(rewriter, op, op.getType());
    forEachElement(lb, op.getType().getShape(), [&](ValueRange rc) {
      Value dp = lb.sub(lb.load(adaptor.getGradProbs(), rc),
                        lb.load(adaptor.getDelta(), {rc[0]}));
      lb.store(lb.mul(lb.load(adaptor.getProbs(), rc), dp), result, rc);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct StoreSharedToLoops : OpConversionPattern<StoreSharedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StoreSharedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    forEachElement(lb, op.getTile().getType().getShape(), [&](ValueRange rc) {
      lb.store(lb.load(adaptor.getTile(), rc), adaptor.getBuffer(), rc);
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct StoreToLoops : OpConversionPattern<StoreOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StoreOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    int64_t rowDim = op.getRowDim();
    int64_t last = op.getDst().getType().getRank() - 1;
    Value rowsEnd = lb.dim(adaptor.getDst(), rowDim);
    Value scale = lb.f32(op.getScale().convertToDouble());
    forEachElement(lb, op.getTile().getType().getShape(), [&](ValueRange rc) {
      SmallVector<Value> at =
          offsetIndices(lb, adaptor.getIndices(), {rowDim, last}, rc);
      lb.ifThen(lb.cmpi(CmpIPredicate::ult, at[rowDim], rowsEnd), [&] {
        lb.store(lb.mul(scale, lb.load(adaptor.getTile(), rc)),
                 adaptor.getDst(), at);
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct ScatterAddToLoops : OpConversionPattern<ScatterAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterAddOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    ArrayRef<int64_t> shape = op.getTile().getType().getShape();
    int64_t rowDim = op.getRowDim();
    Value scale = lb.f32(op.getScale().convertToDouble());
    Value zero = lb.index(0);
    lb.forEach(zero, lb.index(shape[0]), [&](Value r) {
      Value present = lb.cmpi(CmpIPredicate::ult,
                              lb.addi(adaptor.getFirst(), r), adaptor.getCount());
      lb.ifThen(present, [&] {
        SmallVector<Value> at(adaptor.getIndices());
        at.insert(at.begin() + rowDim,
                  keyAt(lb, adaptor.getRows(), lb.addi(adaptor.getFirst(), r)));
        Value first = at.back();
        lb.forEach(zero, lb.index(shape[1]), [&](Value c) {
          at.back() = lb.addi(first, c);
          addTo(lb, adaptor.getDst(), at,
                lb.mul(scale, lb.load(adaptor.getTile(), {r, c})));
        });
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct ScatterColumnSumsToLoops : OpConversionPattern<ScatterColumnSumsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterColumnSumsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    ArrayRef<int64_t> shape = op.getTile().getType().getShape();
    Value zero = lb.index(0);
    lb.forEach(zero, lb.index(shape[1]), [&](Value c) {
      Value present = lb.cmpi(CmpIPredicate::ult,
                              lb.addi(adaptor.getFirst(), c), adaptor.getCount());
      lb.ifThen(present, [&] {
        Value sum = lb.reduce(zero, lb.index(shape[0]), lb.f32(0.0),
                              [&](Value r, Value acc) {
                                return lb.add(acc, lb.load(adaptor.getTile(),
                                                           {r, c}));
                              });
        SmallVector<Value> at(adaptor.getIndices());
        at.push_back(keyAt(lb, adaptor.getKeys(), lb.addi(adaptor.getFirst(), c)));
        addTo(lb, adaptor.getDst(), at, sum);
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void tile::populateGradientToLoopsPatterns(TypeConverter &converter,
                                           RewritePatternSet &patterns) {
  patterns.add<ProbabilitiesToLoops, RowDotToLoops, SoftmaxGradToLoops,
               StoreSharedToLoops, StoreToLoops, ScatterAddToLoops,
               ScatterColumnSumsToLoops>(converter, patterns.getContext());
}
