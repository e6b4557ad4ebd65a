//===- Gradients.cpp - DMA gradients to scalar loops ----------------------===//
//
// The reference lowerings of wm.dma_attention_grad and wm.dma_bias_grad
// (spec section 1.4), for the CPU: one pass over the rows, each recomputing
// its probabilities from lse over the keys it keeps, with every gradient
// accumulated in f32 and stored once in its storage type at the end.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/Passes.h"
#include "wm/Dialect/WM/IR/WMOps.h"
#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::wm;

using arith::CmpFPredicate;

namespace {

/// sizes[0] x sizes[1] x ... loops; body gets the indices.
void forAll(LoopBuilder &lb, ArrayRef<Value> sizes,
            function_ref<void(ValueRange)> body) {
  SmallVector<Value> at;
  std::function<void(size_t)> nest = [&](size_t d) {
    if (d == sizes.size())
      return body(at);
    lb.forEach(lb.index(0), sizes[d], [&](Value i) {
      at.push_back(i);
      nest(d + 1);
      at.pop_back();
    });
  };
  nest(0);
}

/// An f32 accumulator of `sizes`, zeroed.
Value zeros(LoopBuilder &lb, ArrayRef<Value> sizes) {
  Value buffer = lb.allocF32(sizes);
  forAll(lb, sizes, [&](ValueRange at) { lb.store(lb.f32(0.0), buffer, at); });
  return buffer;
}

/// The result tensor of `type` holding `accumulator` in its element type.
Value resultOf(LoopBuilder &lb, Value accumulator, Type type,
               ArrayRef<Value> sizes) {
  auto tensor = cast<RankedTensorType>(type);
  Value out = lb.allocResult(tensor, sizes);
  forAll(lb, sizes,
         [&](ValueRange at) { lb.store(lb.load(accumulator, at), out, at); });
  return lb.tensorOf(out, tensor);
}

void addTo(LoopBuilder &lb, Value buffer, ValueRange at, Value value) {
  lb.store(lb.add(lb.load(buffer, at), value), buffer, at);
}

struct DmaAttentionGradToSCF : OpRewritePattern<DmaAttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DmaAttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value q = lb.bufferOf(op.getQuery()), k = lb.bufferOf(op.getKey());
    Value v = lb.bufferOf(op.getValue()), bias = lb.bufferOf(op.getBias());
    Value tau = lb.bufferOf(op.getTau());
    Value lse = lb.bufferOf(op.getLse()), dout = lb.bufferOf(op.getGradOutput());
    Value out = lb.bufferOf(op.getOutput());
    bool outputIsF32 = op.getOutput().getType().getElementType().isF32();
    SmallVector<Value> qSizes, kSizes;
    for (int64_t d = 0; d < 4; ++d) {
      qSizes.push_back(lb.dim(q, d));
      kSizes.push_back(lb.dim(k, d));
    }
    Value batch = qSizes[0], queries = qSizes[1], heads = qSizes[2];
    Value headDim = qSizes[3], keys = kSizes[1], kvHeads = kSizes[2];
    SmallVector<Value> biasSizes = {batch, kvHeads, keys};
    Value dq = zeros(lb, qSizes), dk = zeros(lb, kSizes);
    Value dv = zeros(lb, kSizes), dbias = zeros(lb, biasSizes);
    Value scale = lb.f32(op.getScale().convertToDouble());
    Value zero = lb.index(0);
    Value group = lb.divi(heads, kvHeads);
    forAll(lb, {batch, heads, queries}, [&](ValueRange at) {
      Value b = at[0], h = at[1], i = at[2];
      Value g = lb.divi(h, group);
      Value rowLse = lb.load(lse, {b, h, i});
      Value rowTau = lb.load(tau, {b, g, i});
      Value keyEnd = keys;
      if (op.getCausal())
        keyEnd = lb.maxi(zero, lb.mini(keys, lb.addi(lb.addi(i, keys),
                                                     lb.subi(lb.index(1), queries))));
      // Score, p and dp of key j for a row that keeps it.
      auto terms = [&](Value j, Value keyBias) {
        Value logit = lb.dot(
            headDim,
            [&](Value d) {
              return lb.load(q, {b, i, h, d});
            },
            [&](Value d) {
              return lb.load(k, {b, j, g, d});
            });
        Value s = lb.add(lb.mul(scale, logit), keyBias);
        // A kept key whose score is -inf has probability 0 (no
        // exp(-inf - -inf)); NaN and +inf go on.
        Value p = lb.select(lb.cmp(CmpFPredicate::OEQ, s, lb.negInf()),
                            lb.f32(0.0), lb.exp(lb.sub(s, rowLse)));
        Value dp = lb.dot(
            headDim,
            [&](Value d) {
              return lb.load(dout, {b, i, h, d});
            },
            [&](Value d) {
              return lb.load(v, {b, j, g, d});
            });
        return std::pair{p, dp};
      };
      auto pair = [&](Value j, function_ref<void(Value, Value)> body) {
        Value keyBias = lb.load(bias, {b, g, j});
        lb.ifThen(lb.keeps(keyBias, rowTau), [&] {
          auto [p, dp] = terms(j, keyBias);
          body(p, dp);
        });
      };
      // Dr = dO . O from an f32 output; from a 16-bit one, sum_j P dP (the
      // same in exact arithmetic) from the same f32 P and dP as dS, so
      // sum_j dS stays 0 whatever the output's rounding.
      auto fromOutput = [&] {
        return lb.dot(
            headDim, [&](Value d) { return lb.load(dout, {b, i, h, d}); },
            [&](Value d) { return lb.load(out, {b, i, h, d}); });
      };
      auto fromPairs = [&] {
        return lb.reduce(zero, keyEnd, lb.f32(0.0), [&](Value j, Value acc) {
        Value keyBias = lb.load(bias, {b, g, j});
        Value term = lb.ifValue(
            lb.keeps(keyBias, rowTau),
            [&] {
              auto [p, dp] = terms(j, keyBias);
              return lb.mul(p, dp);
            },
            [&] { return lb.f32(0.0); });
        return lb.add(acc, term);
        });
      };
      Value rowDr = outputIsF32 ? fromOutput() : fromPairs();
      lb.forEach(zero, keyEnd, [&](Value j) {
        pair(j, [&](Value p, Value dp) {
          Value ds = lb.mul(p, lb.sub(dp, rowDr));
          Value scaled = lb.mul(scale, ds);
          lb.forEach(zero, headDim, [&](Value d) {
            addTo(lb, dq, {b, i, h, d}, lb.mul(scaled, lb.load(k, {b, j, g, d})));
            addTo(lb, dk, {b, j, g, d}, lb.mul(scaled, lb.load(q, {b, i, h, d})));
            addTo(lb, dv, {b, j, g, d}, lb.mul(p, lb.load(dout, {b, i, h, d})));
          });
          addTo(lb, dbias, {b, g, j}, ds);
        });
      });
    });
    rewriter.replaceOp(
        op, {resultOf(lb, dq, op.getGradQuery().getType(), qSizes),
             resultOf(lb, dk, op.getGradKey().getType(), kSizes),
             resultOf(lb, dv, op.getGradValue().getType(), kSizes),
             resultOf(lb, dbias, op.getGradBias().getType(), biasSizes)});
    return success();
  }
};

struct DmaBiasGradToSCF : OpRewritePattern<DmaBiasGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DmaBiasGradOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value values = lb.bufferOf(op.getValues()), w = lb.bufferOf(op.getWDt());
    Value a = lb.bufferOf(op.getA()), dbias = lb.bufferOf(op.getGradBias());
    Value dtBias = op.getDtBias() ? lb.bufferOf(op.getDtBias()) : Value();
    SmallVector<Value> vSizes;
    for (int64_t d = 0; d < 4; ++d)
      vSizes.push_back(lb.dim(values, d));
    Value batch = vSizes[0], keys = vSizes[1], kvHeads = vSizes[2];
    Value headDim = vSizes[3];
    Value width = lb.muli(kvHeads, headDim);
    SmallVector<Value> wSizes = {kvHeads, width}, aSizes = {kvHeads};
    Value dvalues = zeros(lb, vSizes), dw = zeros(lb, wSizes);
    Value da = zeros(lb, aSizes), ddtBias = zeros(lb, aSizes);
    Value zero = lb.index(0);
    auto column = [&](Value col) {
      return std::pair{lb.divi(col, headDim), lb.remi(col, headDim)};
    };
    forAll(lb, {batch, keys, kvHeads}, [&](ValueRange at) {
      Value b = at[0], j = at[1], g = at[2];
      Value dt = lb.dmaBiasDt(values, w, dtBias, b, j, g, kvHeads, headDim);
      Value decay = lb.load(a, {g});
      Value grad = lb.load(dbias, {b, g, j});
      auto [ddt, dda] =
          lb.dmaBiasGradAt(dt, decay, grad, op.getForm() == BiasForm::exp);
      addTo(lb, da, {g}, dda);
      addTo(lb, ddtBias, {g}, ddt);
      lb.forEach(zero, width, [&](Value col) {
        auto [h, d] = column(col);
        addTo(lb, dw, {g, col}, lb.mul(ddt, lb.load(values, {b, j, h, d})));
        addTo(lb, dvalues, {b, j, h, d}, lb.mul(ddt, lb.load(w, {g, col})));
      });
    });
    SmallVector<Value> results = {
        resultOf(lb, dvalues, op.getGradValues().getType(), vSizes),
        resultOf(lb, dw, op.getGradWDt().getType(), wSizes),
        resultOf(lb, da, op.getGradA().getType(), aSizes)};
    if (Value grad = op.getGradDtBias())
      results.push_back(resultOf(lb, ddtBias, grad.getType(), aSizes));
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::wm::populateDmaGradientToSCFPatterns(RewritePatternSet &patterns) {
  patterns.add<DmaAttentionGradToSCF, DmaBiasGradToSCF>(patterns.getContext());
}
