//===- WMToSCF.cpp - wm ops to scalar loop nests --------------------------===//
//
// Expects wm ops on tensors; produces scf loop nests on buffers that compute
// shared/spec/ops.md in f32 (see LoopBuilder). This is the executable
// definition every faster lowering is tested against, so each pattern
// follows the spec's formulas plainly, in the forms the spec prescribes:
// thresholds for the DMA selection, the chunked form for SSD, per-side top-k
// for CDMoE.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/Passes.h"

#include "wm/Dialect/WM/IR/WMOps.h"
#include "wm/Dialect/WM/Transforms/Passes.h"
#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::wm {
#define GEN_PASS_DEF_CONVERTWMTOSCF
#include "wm/Conversion/Passes.h.inc"
} // namespace mlir::wm

using namespace mlir;
using namespace mlir::wm;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

/// Inserts `value` (with an optional index payload) into the descending list
/// `values[0, count)` of capacity `capacity`, keeping its largest entries.
/// Returns the new count. `selectionOrder` ranks as the DMA selection does
/// (NaN above +inf above every number).
Value insertTopK(LoopBuilder &lb, Value values, Value payloads, Value count,
                 Value capacity, Value value, Value payload,
                 bool selectionOrder = false) {
  Value zero = lb.index(0), one = lb.index(1);
  auto above = [&](Value x, Value y) {
    return selectionOrder ? lb.ranksAbove(x, y)
                          : lb.cmp(CmpFPredicate::OGT, x, y);
  };
  Value hasRoom = lb.cmpi(CmpIPredicate::slt, count, capacity);
  Value last = lb.subi(capacity, one);
  Value beatsLast = above(value, lb.load(values, {lb.maxi(zero, last)}));
  Value position = lb.select(hasRoom, count, last);
  lb.ifThen(lb.ori(hasRoom, beatsLast), [&] {
    OpBuilder &b = lb.builder();
    lb.store(value, values, {position});
    if (payloads)
      memref::StoreOp::create(b, lb.location(), payload, payloads,
                              ValueRange{position});
    // Bubble the new entry towards the front.
    lb.forEach(zero, position, [&](Value s) {
      Value t = lb.subi(position, s);
      Value prev = lb.subi(t, one);
      Value a = lb.load(values, {prev}), c = lb.load(values, {t});
      lb.ifThen(above(c, a), [&] {
        lb.store(c, values, {prev});
        lb.store(a, values, {t});
        if (!payloads)
          return;
        Value pa = memref::LoadOp::create(b, lb.location(), payloads,
                                          ValueRange{prev});
        Value pc =
            memref::LoadOp::create(b, lb.location(), payloads, ValueRange{t});
        memref::StoreOp::create(b, lb.location(), pc, payloads,
                                ValueRange{prev});
        memref::StoreOp::create(b, lb.location(), pa, payloads,
                                ValueRange{t});
      });
    });
  });
  return lb.mini(lb.addi(count, one), capacity);
}


//===----------------------------------------------------------------------===//
// wm.rms_norm
//===----------------------------------------------------------------------===//

struct RmsNormToSCF : OpRewritePattern<RmsNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RmsNormOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value x = lb.bufferOf(op.getX()), weight = lb.bufferOf(op.getWeight());
    int64_t rank = op.getX().getType().getRank();
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < rank; ++d)
      sizes.push_back(lb.dim(x, d));
    Value out = lb.allocResult(op.getOutput().getType(), sizes);
    Value width = sizes.back();
    Value widthF = arith::UIToFPOp::create(
        rewriter, op.getLoc(), rewriter.getF32Type(),
        arith::IndexCastUIOp::create(rewriter, op.getLoc(),
                                     rewriter.getI64Type(), width));
    Value eps = lb.f32(op.getEps().convertToDouble());

    SmallVector<Value> row;
    std::function<void(int64_t)> nest = [&](int64_t d) {
      if (d + 1 < rank) {
        lb.forEach(lb.index(0), sizes[d], [&](Value i) {
          row.push_back(i);
          nest(d + 1);
          row.pop_back();
        });
        return;
      }
      auto at = [&](Value c) {
        SmallVector<Value> indices(row);
        indices.push_back(c);
        return indices;
      };
      Value sumSq = lb.reduce(lb.index(0), width, lb.f32(0.0),
                              [&](Value c, Value acc) {
                                Value v = lb.load(x, at(c));
                                return lb.add(acc, lb.mul(v, v));
                              });
      Value oneF = lb.f32(1.0);
      Value inv = lb.div(oneF, lb.sqrt(lb.add(lb.div(sumSq, widthF), eps)));
      lb.forEach(lb.index(0), width, [&](Value c) {
        Value normalized = lb.mul(lb.load(x, at(c)), inv);
        lb.store(lb.mul(normalized, lb.load(weight, {c})), out, at(c));
      });
    };
    nest(0);
    rewriter.replaceOp(op, lb.tensorOf(out, op.getOutput().getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// wm.rope
//===----------------------------------------------------------------------===//

/// u' = u * cos + rotate_half(u) * sin over the first `rotary` channels,
/// rotate_half([a, b]) = [-b, a]; `load(c)` reads channel c of u, `table`
/// reads cos/sin at channel c; `store(c, v)` writes channel c of u'.
void emitRotation(LoopBuilder &lb, Value rotary,
                  function_ref<Value(Value)> load,
                  function_ref<Value(Value, Value)> table, Value cosines,
                  Value sines, function_ref<void(Value, Value)> store) {
  Value half = lb.divi(rotary, lb.index(2));
  lb.forEach(lb.index(0), half, [&](Value c) {
    Value c2 = lb.addi(c, half);
    Value a = load(c);
    Value b = load(c2);
    Value aCos = lb.mul(a, table(cosines, c));
    Value bSin = lb.mul(b, table(sines, c));
    store(c, lb.sub(aCos, bSin));
    Value bCos = lb.mul(b, table(cosines, c2));
    Value aSin = lb.mul(a, table(sines, c2));
    store(c2, lb.add(bCos, aSin));
  });
}

/// Reads a rope table of shape (L, R) or (B, L, R).
Value tableAt(LoopBuilder &lb, Value table, Value batch, Value position,
              Value channel) {
  if (cast<MemRefType>(table.getType()).getRank() == 3)
    return lb.load(table, {batch, position, channel});
  return lb.load(table, {position, channel});
}

struct RopeToSCF : OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RopeOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value x = lb.bufferOf(op.getX());
    Value cosines = lb.bufferOf(op.getCos()), sines = lb.bufferOf(op.getSin());
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < 4; ++d)
      sizes.push_back(lb.dim(x, d));
    Value out = lb.allocResult(op.getOutput().getType(), sizes);
    Value rotary = lb.index(static_cast<int64_t>(op.getRotaryDims()));
    Value zero = lb.index(0);
    lb.forEach(zero, sizes[0], [&](Value b) {
      lb.forEach(zero, sizes[1], [&](Value l) {
        lb.forEach(zero, sizes[2], [&](Value h) {
          emitRotation(
              lb, rotary, [&](Value c) { return lb.load(x, {b, l, h, c}); },
              [&](Value table, Value c) { return tableAt(lb, table, b, l, c); },
              cosines, sines,
              [&](Value c, Value v) { lb.store(v, out, {b, l, h, c}); });
          lb.forEach(rotary, sizes[3], [&](Value c) {
            lb.store(lb.load(x, {b, l, h, c}), out, {b, l, h, c});
          });
        });
      });
    });
    rewriter.replaceOp(op, lb.tensorOf(out, op.getOutput().getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// wm.dma_bias
//===----------------------------------------------------------------------===//

struct DmaBiasToSCF : OpRewritePattern<DmaBiasOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DmaBiasOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value values = lb.bufferOf(op.getValues()), w = lb.bufferOf(op.getWDt());
    Value a = lb.bufferOf(op.getA());
    Value dtBias = op.getDtBias() ? lb.bufferOf(op.getDtBias()) : Value();
    Value batch = lb.dim(values, 0), keys = lb.dim(values, 1);
    Value kvHeads = lb.dim(values, 2), headDim = lb.dim(values, 3);
    Value bias =
        lb.allocResult(op.getBias().getType(), {batch, kvHeads, keys});
    Value zero = lb.index(0);
    lb.forEach(zero, batch, [&](Value b) {
      lb.forEach(zero, keys, [&](Value j) {
        lb.forEach(zero, kvHeads, [&](Value g) {
          // dt = concat_h(v[b, j, h, :]) . w_dt[g, :]
          Value dt =
              lb.reduce(zero, kvHeads, lb.f32(0.0), [&](Value h, Value acc) {
                Value partial = lb.dot(
                    headDim,
                    [&](Value c) {
                      return lb.load(values, {b, j, h, c});
                    },
                    [&](Value c) {
                      return lb.load(w, {g, lb.addi(lb.muli(h, headDim), c)});
                    });
                return lb.add(acc, partial);
              });
          if (dtBias)
            dt = lb.add(dt, lb.load(dtBias, {g}));
          Value decay = lb.load(a, {g});
          Value scaled = lb.mul(decay, lb.softplus(dt));
          Value result =
              op.getForm() == BiasForm::exp ? lb.exp(scaled) : scaled;
          lb.store(result, bias, {b, g, j});
        });
      });
    });
    rewriter.replaceOp(op, lb.tensorOf(bias, op.getBias().getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// wm.dma_select and wm.dma_block_summary
//===----------------------------------------------------------------------===//

struct DmaSelectToSCF : OpRewritePattern<DmaSelectOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DmaSelectOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value bias = lb.bufferOf(op.getBias());
    Value batch = lb.dim(bias, 0), kvHeads = lb.dim(bias, 1);
    Value keys = lb.dim(bias, 2);
    Value queries = lb.index(static_cast<int64_t>(op.getQueryLen()));
    Value window = lb.index(static_cast<int64_t>(op.getWindow()));
    Value tau = lb.allocResult(op.getTau().getType(), {batch, kvHeads, queries});
    // The W largest biases seen so far, in descending order.
    Value top = lb.allocF32({window});
    Value zero = lb.index(0);
    // The W-th largest once W keys were seen, -inf before.
    auto threshold = [&](Value count) {
      Value full = lb.cmpi(CmpIPredicate::sge, count, window);
      Value last = lb.load(top, {lb.subi(window, lb.index(1))});
      return lb.select(full, last, lb.negInf());
    };
    // Prefix scope with causality: row i ranks the keys j <= i + Lk - Lq.
    bool perRow = op.hasRowThresholds();
    lb.forEach(zero, batch, [&](Value b) {
      lb.forEach(zero, kvHeads, [&](Value g) {
        if (!perRow) {
          Value count = lb.reduce(zero, keys, zero, [&](Value j, Value n) {
            return insertTopK(lb, top, Value(), n, window,
                              lb.load(bias, {b, g, j}), Value(),
                              /*selectionOrder=*/true);
          });
          Value rowTau = threshold(count);
          lb.forEach(zero, queries,
                     [&](Value i) { lb.store(rowTau, tau, {b, g, i}); });
          return;
        }
        // Rows whose prefix is empty (Lq > Lk) keep nothing: -inf.
        lb.forEach(zero, queries,
                   [&](Value i) { lb.store(lb.negInf(), tau, {b, g, i}); });
        Value offset = lb.subi(keys, queries);
        lb.reduce(zero, keys, zero, [&](Value p, Value n) {
          Value count = insertTopK(lb, top, Value(), n, window,
                                   lb.load(bias, {b, g, p}), Value(),
                                   /*selectionOrder=*/true);
          // Key p completes the prefix of row p - (Lk - Lq).
          Value row = lb.subi(p, offset);
          lb.ifThen(lb.cmpi(CmpIPredicate::sge, row, zero),
                    [&] { lb.store(threshold(count), tau, {b, g, row}); });
          return count;
        });
      });
    });
    rewriter.replaceOp(op, lb.tensorOf(tau, op.getTau().getType()));
    return success();
  }
};

struct DmaBlockSummaryToSCF : OpRewritePattern<DmaBlockSummaryOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DmaBlockSummaryOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value bias = lb.bufferOf(op.getBias());
    Value batch = lb.dim(bias, 0), kvHeads = lb.dim(bias, 1);
    Value keys = lb.dim(bias, 2);
    Value block = lb.index(static_cast<int64_t>(op.getBlockSize()));
    Value blocks = lb.ceilDiv(keys, block);
    Value maxima = lb.allocResult(op.getBlockMax().getType(),
                                  {batch, kvHeads, blocks});
    Value minima = lb.allocResult(op.getBlockMin().getType(),
                                  {batch, kvHeads, blocks});
    Value zero = lb.index(0);
    lb.forEach(zero, batch, [&](Value b) {
      lb.forEach(zero, kvHeads, [&](Value g) {
        lb.forEach(zero, blocks, [&](Value kb) {
          Value j0 = lb.muli(kb, block);
          Value j1 = lb.mini(keys, lb.addi(j0, block));
          lb.store(lb.reduce(j0, j1, lb.negInf(),
                             [&](Value j, Value m) {
                               // NaN is the largest: maximumf.
                               return lb.max(m, lb.load(bias, {b, g, j}));
                             }),
                   maxima, {b, g, kb});
          lb.store(lb.reduce(j0, j1, lb.f32(INFINITY),
                             [&](Value j, Value m) {
                               return lb.minInOrder(
                                   m, lb.load(bias, {b, g, j}));
                             }),
                   minima, {b, g, kb});
        });
      });
    });
    rewriter.replaceOp(op, {lb.tensorOf(maxima, op.getBlockMax().getType()),
                            lb.tensorOf(minima, op.getBlockMin().getType())});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// wm.ssd
//===----------------------------------------------------------------------===//

/// The chunked SSD form, per (b, h) and chunk [t0, t1) with a_t = dt'_t A:
///  1. intra-chunk:  y_t  = sum_{s<=t} (C_t . B_s) exp(seg(t, s)) dt'_s x_s,
///     seg(t, s) = sum_{r=s+1..t} a_r accumulated directly (a masked
///     cumulative sum, never a difference of two long sums);
///  2. chunk state:  S_c = sum_s exp(seg(end, s)) dt'_s outer(x_s, B_s);
///  3. state passing: S <- exp(seg(end, t0 - 1)) S + S_c;
///  4. state to output: y_t += exp(seg(t, t0 - 1)) C_t . S_{previous}.
/// The per-chunk loops of one (batch, head): the operands' buffers and the
/// chunk scratch they share.
struct SsdChunkLoops {
  LoopBuilder &lb;
  SsdOp op;
  Value x, dt, a, bm, cm, dSkip, z, dtBias, cosines, sines, y;
  Value state, channels, rotary;
  double dtMin = 0.0, dtMax = INFINITY;
  Value stateBuf, dtChunk, bChunk, cChunk, weights;
  Value cumulative; // seg(t, t0 - 1)
  Value toEnd;      // seg(t1 - 1, s)
  Value b, h, g, decay, t0, len;

  /// Row of B or C at step t into row s of `target`, rotated when rope is on.
  void loadRow(Value source, Value target, Value t, Value s) {
    lb.forEach(lb.index(0), state, [&](Value n) {
      lb.store(lb.load(source, {b, t, g, n}), target, {s, n});
    });
    if (!cosines)
      return;
    emitRotation(
        lb, rotary,
        [&](Value n) {
          return lb.load(source, {b, t, g, n});
        },
        [&](Value table, Value n) { return tableAt(lb, table, b, t, n); },
        cosines, sines,
        [&](Value n, Value v) {
          lb.store(v, target, {s, n});
        });
  }

  Value logDecay(Value s) { return lb.mul(lb.load(dtChunk, {s}), decay); }

  /// dt', the rows of B and C, and the masked cumulative sums of the chunk.
  void loadChunk() {
    Value zero = lb.index(0), one = lb.index(1);
    lb.forEach(zero, len, [&](Value s) {
      Value t = lb.addi(t0, s);
      Value step = lb.load(dt, {b, t, h});
      Value bias = dtBias ? lb.load(dtBias, {h}) : Value();
      step = lb.ssdStep(step, bias, op.getDtSoftplus(), dtMin, dtMax);
      lb.store(step, dtChunk, {s});
      loadRow(bm, bChunk, t, s);
      loadRow(cm, cChunk, t, s);
    });
    lb.reduce(zero, len, lb.f32(0.0), [&](Value s, Value acc) {
      Value next = lb.add(acc, logDecay(s));
      lb.store(next, cumulative, {s});
      return next;
    });
    lb.reduce(zero, len, lb.f32(0.0), [&](Value r, Value acc) {
      Value s = lb.subi(lb.subi(len, one), r);
      lb.store(acc, toEnd, {s});
      return lb.add(acc, logDecay(s));
    });
  }

  /// Step 1 weights: (C_t . B_s) exp(seg(t, s)) dt'_s for s <= t.
  void intraWeights() {
    Value zero = lb.index(0), one = lb.index(1);
    lb.forEach(zero, len, [&](Value t) {
      lb.reduce(zero, lb.addi(t, one), lb.f32(0.0), [&](Value r, Value seg) {
        Value s = lb.subi(t, r);
        Value cb = lb.dot(
            state,
            [&](Value n) {
              return lb.load(cChunk, {t, n});
            },
            [&](Value n) {
              return lb.load(bChunk, {s, n});
            });
        Value decayed = lb.mul(cb, lb.exp(seg));
        lb.store(lb.mul(decayed, lb.load(dtChunk, {s})), weights, {t, s});
        return lb.add(seg, logDecay(s));
      });
    });
  }

  /// Steps 1 and 4 into y, then D and the z gate.
  void outputs() {
    Value zero = lb.index(0), one = lb.index(1);
    lb.forEach(zero, len, [&](Value s) {
      Value t = lb.addi(t0, s);
      Value fromStart = lb.exp(lb.load(cumulative, {s}));
      lb.forEach(zero, channels, [&](Value p) {
        Value intra = lb.reduce(
            zero, lb.addi(s, one), lb.f32(0.0), [&](Value r, Value acc) {
              Value weight = lb.load(weights, {s, r});
              Value xr = lb.load(x, {b, lb.addi(t0, r), h, p});
              return lb.add(acc, lb.mul(weight, xr));
            });
        Value carried = lb.dot(
            state,
            [&](Value n) {
              return lb.load(stateBuf, {p, n});
            },
            [&](Value n) {
              return lb.load(cChunk, {s, n});
            });
        Value out = lb.add(intra, lb.mul(fromStart, carried));
        if (dSkip) {
          bool perChannel = cast<MemRefType>(dSkip.getType()).getRank() == 2;
          Value skip =
              perChannel ? lb.load(dSkip, {h, p}) : lb.load(dSkip, {h});
          out = lb.add(out, lb.mul(skip, lb.load(x, {b, t, h, p})));
        }
        if (z)
          out = lb.mul(out, lb.silu(lb.load(z, {b, t, h, p})));
        lb.store(out, y, {b, t, h, p});
      });
    });
  }

  /// Steps 2 and 3, after the outputs have read the previous state.
  void updateState() {
    Value zero = lb.index(0), one = lb.index(1);
    Value chunkDecay = lb.exp(lb.load(cumulative, {lb.subi(len, one)}));
    lb.forEach(zero, channels, [&](Value p) {
      lb.forEach(zero, state, [&](Value n) {
        Value fresh =
            lb.reduce(zero, len, lb.f32(0.0), [&](Value s, Value acc) {
              Value toEndDecay = lb.exp(lb.load(toEnd, {s}));
              Value w = lb.mul(toEndDecay, lb.load(dtChunk, {s}));
              Value xs = lb.load(x, {b, lb.addi(t0, s), h, p});
              Value wx = lb.mul(w, xs);
              return lb.add(acc, lb.mul(wx, lb.load(bChunk, {s, n})));
            });
        lb.store(lb.add(lb.mul(chunkDecay, lb.load(stateBuf, {p, n})), fresh),
                 stateBuf, {p, n});
      });
    });
  }
};

struct SsdToSCF : OpRewritePattern<SsdOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SsdOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    auto buffer = [&](Value v) { return v ? lb.bufferOf(v) : Value(); };
    SsdChunkLoops k{lb, op};
    k.x = buffer(op.getX()), k.dt = buffer(op.getDt()), k.a = buffer(op.getA());
    k.bm = buffer(op.getB()), k.cm = buffer(op.getC());
    k.dSkip = buffer(op.getD()), k.z = buffer(op.getZ());
    k.dtBias = buffer(op.getDtBias());
    Value h0 = buffer(op.getInitialState());
    k.cosines = buffer(op.getCos()), k.sines = buffer(op.getSin());

    Value batch = lb.dim(k.x, 0), steps = lb.dim(k.x, 1);
    Value heads = lb.dim(k.x, 2);
    k.channels = lb.dim(k.x, 3);
    Value groups = lb.dim(k.bm, 2);
    k.state = lb.dim(k.bm, 3);
    k.y =
        lb.allocResult(op.getY().getType(), {batch, steps, heads, k.channels});
    Value finalState = lb.allocResult(op.getFinalState().getType(),
                                      {batch, heads, k.channels, k.state});
    // Every chunk length gives the same result: one no longer than T
    // (rounded up to a power of two) spares the (Lc, Lc) scratch.
    int64_t chunkSize = static_cast<int64_t>(op.getChunkSize());
    int64_t sequence = op.getX().getType().getDimSize(1);
    if (!ShapedType::isDynamic(sequence))
      chunkSize = std::min<int64_t>(
          chunkSize, llvm::PowerOf2Ceil(std::max<int64_t>(sequence, 1)));
    Value chunk = lb.index(chunkSize);
    Value zero = lb.index(0);
    if (std::optional<ArrayRef<double>> limit = op.getDtLimit()) {
      k.dtMin = (*limit)[0];
      k.dtMax = (*limit)[1];
    }

    k.stateBuf = lb.allocF32({k.channels, k.state});
    k.dtChunk = lb.allocF32({chunk});
    k.cumulative = lb.allocF32({chunk});
    k.toEnd = lb.allocF32({chunk});
    k.bChunk = lb.allocF32({chunk, k.state});
    k.cChunk = lb.allocF32({chunk, k.state});
    k.weights = lb.allocF32({chunk, chunk});
    if (k.cosines)
      k.rotary = lb.dim(k.cosines,
                        cast<MemRefType>(k.cosines.getType()).getRank() - 1);

    lb.forEach(zero, batch, [&](Value b) {
      lb.forEach(zero, heads, [&](Value h) {
        k.b = b, k.h = h, k.g = lb.divi(h, lb.divi(heads, groups));
        k.decay = lb.load(k.a, {h});
        lb.forEach(zero, k.channels, [&](Value p) {
          lb.forEach(zero, k.state, [&](Value n) {
            lb.store(h0 ? lb.load(h0, {b, h, p, n}) : lb.f32(0.0), k.stateBuf,
                     {p, n});
          });
        });
        lb.forEach(zero, lb.ceilDiv(steps, chunk), [&](Value c) {
          k.t0 = lb.muli(c, chunk);
          k.len = lb.subi(lb.mini(steps, lb.addi(k.t0, chunk)), k.t0);
          k.loadChunk();
          k.intraWeights();
          k.outputs();
          k.updateState();
        });
        lb.forEach(zero, k.channels, [&](Value p) {
          lb.forEach(zero, k.state, [&](Value n) {
            lb.store(lb.load(k.stateBuf, {p, n}), finalState, {b, h, p, n});
          });
        });
      });
    });
    rewriter.replaceOp(op,
                       {lb.tensorOf(k.y, op.getY().getType()),
                        lb.tensorOf(finalState, op.getFinalState().getType())});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// wm.cdmoe
//===----------------------------------------------------------------------===//

struct CdmoeToSCF : OpRewritePattern<CdmoeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CdmoeOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = lb.builder();
    Location loc = op.getLoc();
    Value x = lb.bufferOf(op.getX()), wGate = lb.bufferOf(op.getWGate());
    Value wUp = lb.bufferOf(op.getWUp()), wDown = lb.bufferOf(op.getWDown());
    Value wRouter = lb.bufferOf(op.getWRouter());
    Value down = lb.bufferOf(op.getDown()), up = lb.bufferOf(op.getUp());
    Value tokens = lb.dim(x, 0), width = lb.dim(x, 1);
    Value hidden = lb.dim(wGate, 0);
    Value sideKeys = lb.divi(lb.dim(wRouter, 0), lb.index(2));
    Value topK = lb.index(static_cast<int64_t>(op.getTopK()));
    // Per-side top-min(k, K) loses nothing: the k best pairs use only them.
    Value perSide = lb.mini(topK, sideKeys);
    Value y = lb.allocResult(op.getY().getType(), {tokens, width});
    Value zero = lb.index(0);

    Value scores = lb.allocF32({lb.dim(wRouter, 0)});
    Value sideValues[2] = {lb.allocF32({perSide}), lb.allocF32({perSide})};
    Value sideIndices[2] = {lb.allocIndex({perSide}),
                            lb.allocIndex({perSide})};
    Value bestValues = lb.allocF32({topK});
    Value bestExperts = lb.allocIndex({topK});
    Value gated = lb.allocF32({hidden});
    auto loadIndex = [&](Value buffer, Value i) -> Value {
      return memref::LoadOp::create(b, loc, buffer, ValueRange{i});
    };

    lb.forEach(zero, tokens, [&](Value t) {
      auto xAt = [&](Value c) { return lb.load(x, {t, c}); };
      lb.forEach(zero, lb.dim(wRouter, 0), [&](Value e) {
        lb.store(lb.dot(
                     width,
                     [&](Value c) {
                       return lb.load(wRouter, {e, c});
                     },
                     xAt),
                 scores, {e});
      });
      for (int side = 0; side < 2; ++side) {
        Value base = side == 0 ? zero : sideKeys;
        lb.reduce(zero, sideKeys, zero, [&](Value i, Value n) {
          return insertTopK(lb, sideValues[side], sideIndices[side], n,
                            perSide, lb.load(scores, {lb.addi(base, i)}), i);
        });
      }
      // Pair (i, j) of the descending side lists is beaten by the
      // (i + 1)(j + 1) - 1 pairs (<= i, <= j): only (i + 1)(j + 1) <= k can
      // be among the k best, about k ln k pairs instead of k * k.
      lb.reduce(zero, perSide, zero, [&](Value i, Value n) {
        Value pairs = lb.mini(perSide, lb.divi(topK, lb.addi(i, lb.index(1))));
        return lb.reduce(zero, pairs, n, [&](Value j, Value m) {
          Value scoreX = lb.load(sideValues[0], {i});
          Value scoreY = lb.load(sideValues[1], {j});
          Value score = lb.add(scoreX, scoreY);
          Value row = lb.muli(loadIndex(sideIndices[0], i), sideKeys);
          Value expert = lb.addi(row, loadIndex(sideIndices[1], j));
          return insertTopK(lb, bestValues, bestExperts, m, topK, score,
                            expert);
        });
      });
      // Softmax over the chosen scores (bestValues[0] is the largest), then
      // each expert's coefficient silu(<x, down[e]>) * w.
      Value largest = lb.load(bestValues, {zero});
      Value total = lb.reduce(zero, topK, lb.f32(0.0), [&](Value m, Value s) {
        return lb.add(s, lb.exp(lb.sub(lb.load(bestValues, {m}), largest)));
      });
      lb.forEach(zero, topK, [&](Value m) {
        Value weight =
            lb.div(lb.exp(lb.sub(lb.load(bestValues, {m}), largest)), total);
        Value e = loadIndex(bestExperts, m);
        Value act = lb.silu(lb.dot(
            width,
            [&](Value c) {
              return lb.load(down, {e, c});
            },
            xAt));
        lb.store(lb.mul(act, weight), bestValues, {m});
      });
      lb.forEach(zero, hidden, [&](Value i) {
        Value gate = lb.dot(
            width,
            [&](Value c) {
              return lb.load(wGate, {i, c});
            },
            xAt);
        Value lin = lb.dot(
            width,
            [&](Value c) {
              return lb.load(wUp, {i, c});
            },
            xAt);
        lb.store(lb.mul(lb.silu(gate), lin), gated, {i});
      });
      lb.forEach(zero, width, [&](Value c) {
        Value shared = lb.dot(
            hidden,
            [&](Value i) {
              return lb.load(wDown, {c, i});
            },
            [&](Value i) { return lb.load(gated, {i}); });
        Value experts = lb.dot(
            topK, [&](Value m) { return lb.load(bestValues, {m}); },
            [&](Value m) {
              return lb.load(up, {loadIndex(bestExperts, m), c});
            });
        lb.store(lb.add(shared, experts), y, {t, c});
      });
    });
    rewriter.replaceOp(op, lb.tensorOf(y, op.getY().getType()));
    return success();
  }
};

struct ConvertWMToSCFPass
    : wm::impl::ConvertWMToSCFBase<ConvertWMToSCFPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    // The selection needs static lengths (wm-select-keys leaves dynamic
    // attention alone); every other lowering takes dynamic extents.
    if (failed(checkStaticShapes(getOperation(), getArgument(),
                                 [](Operation *op) {
                                   return isa<DmaAttentionOp>(op);
                                 })))
      return signalPassFailure();
    RewritePatternSet patterns(context);
    populateSelectKeysPatterns(patterns, DmaTilingOptions().blockK);
    populateTileDmaAttentionPatterns(patterns, DmaTilingOptions());
    populateWMToSCFPatterns(patterns);
    ConversionTarget target(*context);
    target.addIllegalDialect<WMDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::wm::populateWMToSCFPatterns(RewritePatternSet &patterns) {
  patterns.add<RmsNormToSCF, RopeToSCF, DmaBiasToSCF, DmaSelectToSCF,
               DmaBlockSummaryToSCF, SsdToSCF, CdmoeToSCF>(
      patterns.getContext());
  populateDmaGradientToSCFPatterns(patterns);
}
