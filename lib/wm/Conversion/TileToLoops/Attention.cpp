//===- Attention.cpp - DMA tile ops to CPU loops --------------------------===//
//
// Thresholds, key compaction, scores, the online softmax and the final
// store of the attention programs, element by element in the order their
// definitions in WMTileOps.td give.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {


struct ThresholdsToLoops : OpConversionPattern<ThresholdsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ThresholdsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    TileType type = op.getTau().getType();
    Value tau = tileBuffer(rewriter, op, type);
    Value zero = lb.index(0), rows = lb.index(type.getShape()[0]);
    int64_t last = adaptor.getIndices().size() - 1;
    Value first = adaptor.getIndices()[last];
    Value end = adaptor.getRowsEnd();
    auto live = [&](Value r) {
      return lb.cmpi(CmpIPredicate::ult, lb.addi(first, r), end);
    };
    lb.forEach(zero, rows, [&](Value r) {
      Value t = lb.ifValue(
          live(r),
          [&] {
            SmallVector<Value> at = offsetIndices(lb, adaptor.getIndices(),
                                                  {last}, {r});
            return lb.load(adaptor.getThresholds(), at);
          },
          [&] { return lb.f32(INFINITY); });
      lb.store(op.getNanAsInf() ? lb.nanAsInf(t) : t, tau, {r});
    });
    Value low = lb.reduce(zero, rows, lb.f32(INFINITY), [&](Value r, Value m) {
      return lb.min(m, lb.nanAsInf(lb.load(tau, {r})));
    });
    Value high = lb.reduce(zero, rows, lb.negInf(), [&](Value r, Value m) {
      Value t = lb.load(tau, {r});
      return lb.max(m, lb.select(live(r), t, lb.negInf()));
    });
    rewriter.replaceOp(op, {tau, low, high});
    return success();
  }
};

struct CompactToLoops : OpConversionPattern<CompactOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CompactOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = lb.builder();
    Location loc = op.getLoc();
    Value list = adaptor.getCandidates();
    int64_t capacity = op.getCandidates().getType().getShape()[0];
    int64_t round = op.getRound();
    Value from = adaptor.getFrom(), to = adaptor.getTo();
    Type index = b.getIndexType();
    auto storeKey = [&](Value key, Value slot) {
      Value k = arith::IndexCastOp::create(b, loc, b.getI32Type(), key);
      memref::StoreOp::create(b, loc, k, list, ValueRange{slot});
    };
    auto dense = [&]() -> SmallVector<Value> {
      Value n = lb.mini(lb.index(capacity), lb.subi(to, from));
      lb.forEach(lb.index(0), n,
                 [&](Value t) { storeKey(lb.addi(from, t), t); });
      return {n, lb.addi(from, n)};
    };
    auto rounds = [&]() -> SmallVector<Value> {
      SmallVector<Value> init = {from, lb.index(0)};
      auto loop = scf::WhileOp::create(b, loc, TypeRange{index, index}, init,
                                       nullptr, nullptr);
      OpBuilder::InsertionGuard guard(b);
      Block *before = loop.getBeforeBody();
      b.setInsertionPointToEnd(before);
      Value s = before->getArgument(0), count = before->getArgument(1);
      Value room = lb.cmpi(CmpIPredicate::sle, lb.addi(count, lb.index(round)),
                           lb.index(capacity));
      Value more = lb.andi(lb.cmpi(CmpIPredicate::slt, s, to), room);
      scf::ConditionOp::create(b, loc, more, before->getArguments());
      Block *after = loop.getAfterBody();
      b.setInsertionPointToEnd(after);
      s = after->getArgument(0);
      Value roundEnd = lb.mini(lb.addi(s, lb.index(round)), to);
      Value counted = lb.reduce(
          s, roundEnd, after->getArgument(1),
          [&](Value j, Value n) {
            SmallVector<Value> at(adaptor.getIndices());
            at.push_back(j);
            Value bias = lb.load(adaptor.getBias(), at);
            Value keep = lb.cmp(CmpFPredicate::UGE, bias, adaptor.getLow());
            return lb.ifValue(
                keep,
                [&] {
                  storeKey(j, n);
                  return lb.addi(n, lb.index(1));
                },
                [&] { return n; }, index);
          });
      scf::YieldOp::create(b, loc, ValueRange{lb.addi(s, lb.index(round)),
                                              counted});
      return {loop.getResult(1), loop.getResult(0)};
    };
    Value isDense = lb.cmp(CmpFPredicate::OEQ, adaptor.getLow(), lb.negInf());
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{index, index}, isDense,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, loc, dense());
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, loc, rounds());
    }
    rewriter.replaceOp(op, ifOp.getResults());
    return success();
  }
};

struct ScoreToLoops : OpConversionPattern<ScoreOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScoreOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = lb.builder();
    Location loc = op.getLoc();
    Value result = tileBuffer(rewriter, op, op.getType());
    ScoreTests tests = op.getTests();
    Value tau = adaptor.getTau();
    ArrayRef<int64_t> shape = op.getType().getShape();
    // A bias tile whose smallest bias reaches tau_max is kept whole.
    Value testBias = lb.boolean(tests != ScoreTests::none && tau);
    if (tests == ScoreTests::bias && adaptor.getTauMax()) {
      Value lowest = lb.reduce(
          lb.index(0), lb.index(shape[1]), lb.f32(INFINITY), [&](Value c, Value m) {
            return lb.min(m, lb.load(adaptor.getBias(), {c}));
          });
      testBias = lb.cmp(CmpFPredicate::ULT, lowest, adaptor.getTauMax());
    }
    forEachElement(lb, shape, [&](ValueRange rc) {
      Value bias = lb.load(adaptor.getBias(), {rc[1]});
      Value logit = lb.load(adaptor.getLogits(), rc);
      Value biasTerm =
          lb.mul(bias, lb.f32(op.getBiasScale().convertToDouble()));
      Value score = math::FmaOp::create(
          b, loc, logit, lb.f32(op.getLogitScale().convertToDouble()),
          biasTerm);
      Value keep = lb.boolean(true);
      if (tests != ScoreTests::none && tau) {
        Value t = lb.load(tau, {rc[0]});
        Value kept = op.getExact() ? lb.keeps(bias, t)
                                   : lb.cmp(CmpFPredicate::UGE, bias, t);
        keep = lb.select(testBias, kept, lb.boolean(true));
      }
      if (tests == ScoreTests::all) {
        Value slot = lb.addi(adaptor.getFirst(), rc[1]);
        Value present = lb.cmpi(CmpIPredicate::ult, slot, adaptor.getCount());
        keep = lb.andi(keep, present);
        if (op.getCausal()) {
          Value key = lb.ifValue(
              present, [&] { return keyAt(lb, adaptor.getKeys(), slot); },
              [&] { return lb.index(0); }, b.getIndexType());
          Value row = lb.addi(adaptor.getFirstRow(), rc[0]);
          Value limit = lb.addi(row, lb.index(op.getKeyOffset()));
          keep = lb.andi(keep, lb.cmpi(CmpIPredicate::sle, key, limit));
        }
      }
      lb.store(lb.select(keep, score, lb.negInf()), result, rc);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SoftmaxUpdateToLoops : OpConversionPattern<SoftmaxUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = lb.builder();
    Location loc = op.getLoc();
    Value probs = tileBuffer(rewriter, op, op.getProbs().getType());
    Value newMax = tileBuffer(rewriter, op, op.getMax().getType());
    Value newSum = tileBuffer(rewriter, op, op.getSum().getType());
    Value alpha = tileBuffer(rewriter, op, op.getMax().getType());
    ArrayRef<int64_t> shape = op.getScores().getType().getShape();
    Value zero = lb.index(0), columns = lb.index(shape[1]);
    Value scores = adaptor.getScores();
    auto exp2 = [&](Value x) { return math::Exp2Op::create(b, loc, x); };
    lb.forEach(zero, lb.index(shape[0]), [&](Value r) {
      // Both inputs are read before any output of the row is written: the
      // loop-carried max and sum may share their buffers with the results.
      Value m = lb.load(adaptor.getMax(), {r});
      Value l = lb.load(adaptor.getSum(), {r});
      Value rowMax = lb.reduce(zero, columns, lb.negInf(), [&](Value c, Value x) {
        return lb.max(x, lb.load(scores, {r, c}));
      });
      Value next = lb.max(m, rowMax);
      // A row whose max is still -inf keeps nothing yet: reference 0, so no
      // exp(-inf - -inf) appears.
      Value unset = lb.cmp(CmpFPredicate::OEQ, next, lb.negInf());
      Value ref = lb.select(unset, lb.f32(0.0), next);
      Value a = exp2(lb.sub(m, ref));
      Value rowSum = lb.reduce(zero, columns, lb.f32(0.0), [&](Value c, Value s) {
        Value p = exp2(lb.sub(lb.load(scores, {r, c}), ref));
        lb.store(p, probs, {r, c});
        return lb.add(s, p);
      });
      lb.store(a, alpha, {r});
      lb.store(next, newMax, {r});
      lb.store(lb.add(lb.mul(l, a), rowSum), newSum, {r});
    });
    rewriter.replaceOp(op, {probs, newMax, newSum, alpha});
    return success();
  }
};

struct ScaleRowsToLoops : OpConversionPattern<ScaleRowsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScaleRowsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value result = tileBuffer(rewriter, op, op.getType());
    forEachElement(lb, op.getType().getShape(), [&](ValueRange rc) {
      Value factor = lb.load(adaptor.getFactors(), {rc[0]});
      lb.store(lb.mul(lb.load(adaptor.getTile(), rc), factor), result, rc);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TruncFToLoops : OpConversionPattern<TruncFOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TruncFOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    TileType type = op.getType();
    Value result = tileBuffer(rewriter, op, type);
    forEachElement(lb, type.getShape(), [&](ValueRange at) {
      auto round = [&](Value x) {
        return arith::TruncFOp::create(rewriter, op.getLoc(),
                                       type.getElementType(), x);
      };
      Value x = lb.load(adaptor.getTile(), at);
      Value narrow = round(x);
      if (op.getResidual())
        narrow = round(lb.sub(
            x, arith::ExtFOp::create(rewriter, op.getLoc(),
                                     rewriter.getF32Type(), narrow)));
      lb.store(narrow, result, at);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct StoreAttentionToLoops : OpConversionPattern<StoreAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StoreAttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = lb.builder();
    Location loc = op.getLoc();
    ArrayRef<int64_t> shape = op.getAcc().getType().getShape();
    Value zero = lb.index(0);
    Value rowsEnd = lb.dim(adaptor.getOut(), 1);
    int64_t lseLast = adaptor.getLseIndices().size() - 1;
    lb.forEach(zero, lb.index(shape[0]), [&](Value r) {
      Value row = lb.addi(adaptor.getIndices()[1], r);
      lb.ifThen(lb.cmpi(CmpIPredicate::ult, row, rowsEnd), [&] {
        Value m = lb.load(adaptor.getMax(), {r});
        Value l = lb.load(adaptor.getSum(), {r});
        // A row whose max is still -inf kept nothing; a NaN one goes on to
        // NaN, and a +inf one gives lse = +inf.
        Value kept = lb.cmp(CmpFPredicate::UNE, m, lb.negInf());
        Value safeL = lb.select(kept, l, lb.f32(1.0));
        Value inverse =
            lb.select(kept, lb.div(lb.f32(1.0), safeL), lb.f32(0.0));
        lb.forEach(zero, lb.index(shape[1]), [&](Value c) {
          SmallVector<Value> at =
              offsetIndices(lb, adaptor.getIndices(), {1, 3}, {r, c});
          lb.store(lb.mul(lb.load(adaptor.getAcc(), {r, c}), inverse),
                   adaptor.getOut(), at);
        });
        Value log2l = math::Log2Op::create(b, loc, safeL);
        Value lse2 = lb.add(m, log2l);
        Value infinite = lb.cmp(CmpFPredicate::OEQ, m, lb.f32(INFINITY));
        lse2 = lb.select(infinite, m, lse2);
        Value scaled = lb.mul(lse2, lb.f32(op.getLseScale().convertToDouble()));
        SmallVector<Value> at =
            offsetIndices(lb, adaptor.getLseIndices(), {lseLast}, {r});
        lb.store(lb.select(kept, scaled, lb.negInf()), adaptor.getLse(), at);
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void tile::populateAttentionToLoopsPatterns(TypeConverter &converter,
                                            RewritePatternSet &patterns) {
  patterns.add<ThresholdsToLoops, CompactToLoops, ScoreToLoops,
               SoftmaxUpdateToLoops, ScaleRowsToLoops, TruncFToLoops,
               StoreAttentionToLoops>(
      converter, patterns.getContext());
}
