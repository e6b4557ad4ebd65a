//===- Attention.cpp - DMA tile ops on warps ------------------------------===//
//
// Thresholds and compaction are CTA-wide (shuffles, then one exchange of
// per-warp values through shared scratch); scores, the online softmax and
// the store work on each lane's rows A and B in the C-fragment layout.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

struct ThresholdsToGPU : TilePattern<ThresholdsOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(ThresholdsOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value tau = adaptor.getThresholds().front();
    SmallVector<Value> at = singles(adaptor.getIndices());
    Value first = at.back(), end = adaptor.getRowsEnd().front();
    auto live = [&](Value row) { return e.cmpi(CmpIPredicate::ult, row, end); };
    auto rowTau = [&](Value relative) {
      Value row = e.addi(first, relative);
      SmallVector<Value> element = at;
      element.back() = row;
      Value t = e.ifValue(live(row), [&] { return e.load(tau, element); },
                          [&] { return e.f32(INFINITY); });
      return op.getNanAsInf() ? e.nanAsInf(t) : t;
    };
    SmallVector<Value> rows;
    Value lowest, highest;
    for (int64_t r = 0; r < kernel.rowTiles(); ++r) {
      Value a = rowTau(kernel.rowA[r]), b = rowTau(kernel.rowB[r]);
      rows.append({a, b});
      Value low = e.min(e.nanAsInf(a), e.nanAsInf(b));
      Value liveA = e.select(live(e.addi(first, kernel.rowA[r])), a, e.negInf());
      Value liveB = e.select(live(e.addi(first, kernel.rowB[r])), b, e.negInf());
      Value high = e.max(liveA, liveB);
      lowest = r ? e.min(lowest, low) : low;
      highest = r ? e.max(highest, high) : high;
    }
    int64_t warps = kernel.config.getWarps();
    Value low = blockReduce(e, lowest, kernel.reduction, kernel.warp,
                            kernel.lane, warps, Combine::min);
    Value high = blockReduce(e, highest, kernel.reduction, kernel.warp,
                             kernel.lane, warps, Combine::max);
    rewriter.replaceOpWithMultiple(op, {rows, {low}, {high}});
    return success();
  }
};

/// Rounds of 4 x `steps` keys per thread, all bias loads in flight at once:
/// a warp-wide scan of per-thread counts orders a step's keys, one exchange
/// of the warps' counts per round orders the warps.
struct CompactToGPU : TilePattern<CompactOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(CompactOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t threads = kernel.config.getThreads(), round = op.getRound();
    int64_t steps = round / (4 * threads);
    int64_t capacity = op.getCandidates().getType().getShape()[0];
    if (steps < 1 || steps * 4 * threads != round ||
        capacity % threads != 0)
      return rewriter.notifyMatchFailure(op, "round is not 4 keys per thread");
    Emitter e(rewriter, op.getLoc());
    Value bias = adaptor.getBias().front(), list = adaptor.getCandidates().front();
    Value from = adaptor.getFrom().front(), to = adaptor.getTo().front();
    Value low = adaptor.getLow().front();
    auto biasType = cast<MemRefType>(bias.getType());
    int64_t keys = biasType.getShape().back();
    SmallVector<Value> at = singles(adaptor.getIndices());
    SmallVector<Value> rowStart = at;
    rowStart.push_back(e.index(0));
    Value biasRow = linearOffset(e, biasType, rowStart);
    Value biasBase = e.basePointer(bias);
    Type index = rewriter.getIndexType();
    Value zero = e.index(0);
    // With no threshold every visible key is a candidate.
    auto dense = [&]() -> SmallVector<Value> {
      Value n = e.mini(e.index(capacity), e.subi(to, from));
      e.forEach(zero, e.index(capacity / threads), [&](Value r) {
        Value t = e.addi(e.muli(r, e.index(threads)), kernel.tid);
        e.storeShared(e.toI32(e.addi(from, t)), list, t);
      });
      return {n, e.addi(from, n)};
    };
    auto rounds = [&]() -> SmallVector<Value> {
      SmallVector<Value> state = whileWithState(
          e, ValueRange{from, zero},
          [&](ValueRange r) {
            Value room = e.cmpi(CmpIPredicate::sle, e.addi(r[1], e.index(round)),
                                e.index(capacity));
            return e.andi(e.cmpi(CmpIPredicate::slt, r[0], to), room);
          },
          [&](ValueRange r) -> SmallVector<Value> {
            return compactRound(e, r[0], r[1], to, low, bias, at, biasBase,
                                biasRow, keys, list, steps);
          });
      return {state[1], state[0]};
    };
    SmallVector<Value> result =
        e.ifValues(e.cmp(CmpFPredicate::OEQ, low, e.negInf()), {index, index},
                   dense, rounds);
    rewriter.replaceOpWithMultiple(op, {{result[0]}, {result[1]}});
    return success();
  }

  /// One round from key j0 with `running` candidates listed: the next
  /// (first key, count).
  SmallVector<Value> compactRound(Emitter &e, Value j0, Value running,
                                  Value keyEnd, Value low, Value bias,
                                  ArrayRef<Value> at, Value biasBase,
                                  Value biasRow, int64_t keys, Value list,
                                  int64_t steps) const {
    OpBuilder &b = e.builder();
    Location loc = e.location();
    int64_t threads = kernel.config.getThreads(), warps = kernel.config.getWarps();
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    bool vectorBias = keys % 4 == 0;
    // Step u: thread t tests keys j0 + (u T + t) 4 + x, x < 4.
    SmallVector<Value> firstKey, masks, exclusive, inclusive;
    SmallVector<SmallVector<Value>> keep(steps);
    for (int64_t u = 0; u < steps; ++u) {
      Value j = e.addi(j0, e.muli(e.addi(e.index(u * threads), kernel.tid),
                                  e.index(4)));
      firstKey.push_back(j);
      SmallVector<Value> values;
      if (vectorBias) {
        Value clamped = e.mini(j, e.index(keys - 4));
        values = e.loadFour(biasBase, f32, e.addi(biasRow, e.toI64(clamped)));
      } else {
        for (int64_t x = 0; x < 4; ++x) {
          SmallVector<Value> element(at);
          element.push_back(e.mini(e.addi(j, e.index(x)), e.index(keys - 1)));
          values.push_back(e.load(bias, element));
        }
      }
      Value mask = e.i32(0);
      for (int64_t x = 0; x < 4; ++x) {
        Value present = e.cmpi(CmpIPredicate::ult, e.addi(j, e.index(x)), keyEnd);
        Value pred = e.andi(present, e.cmp(CmpFPredicate::UGE, values[x], low));
        keep[u].push_back(pred);
        mask = arith::OrIOp::create(b, loc, mask,
                                    e.select(pred, e.i32(1 << x), e.i32(0)));
      }
      masks.push_back(mask);
    }
    for (int64_t u = 0; u < steps; ++u) {
      Value own = LLVM::CtPopOp::create(b, loc, i32, masks[u]);
      Value incl = e.warpInclusiveSum(own, kernel.lane);
      inclusive.push_back(incl);
      exclusive.push_back(arith::SubIOp::create(b, loc, incl, own));
    }
    e.barrier();
    e.ifThen(e.cmpi(CmpIPredicate::eq, kernel.lane, e.index(31)), [&] {
      for (int64_t u = 0; u < steps; ++u)
        memref::StoreOp::create(
            b, loc, inclusive[u], kernel.stepCounts,
            ValueRange{e.addi(e.index(u * warps), kernel.warp)});
    });
    e.barrier();
    // Candidates before (step u, this warp), in key order.
    SmallVector<Value> before(steps);
    for (int64_t u = 0; u < steps; ++u) {
      before[u] = running;
      for (int64_t w = 0; w < warps; ++w) {
        Value n = e.toIndex(memref::LoadOp::create(
            b, loc, kernel.stepCounts, ValueRange{e.index(u * warps + w)}));
        Value mine = e.cmpi(CmpIPredicate::eq, e.index(w), kernel.warp);
        before[u] = e.select(mine, running, before[u]);
        running = e.addi(running, n);
      }
    }
    for (int64_t u = 0; u < steps; ++u) {
      Value slot = e.addi(before[u], e.toIndex(exclusive[u]));
      for (int64_t x = 0; x < 4; ++x) {
        Value here = slot;
        e.ifThen(keep[u][x], [&] {
          e.storeShared(e.toI32(e.addi(firstKey[u], e.index(x))), list, here);
        });
        slot = e.addi(slot, e.toIndex(arith::ExtUIOp::create(b, loc, i32,
                                                              keep[u][x])));
      }
    }
    return {e.addi(j0, e.index(steps * 4 * threads)), running};
  }
};

/// min(tauMax, the largest threshold of the warp's rows): a tighter bound
/// for the warp's tiles. The thresholds do not change in the tile loops, so
/// it is computed once, right after the last of them is defined (where
/// every lane of the warp runs) when they share a block.
Value warpBound(ConversionPatternRewriter &rewriter, Location loc,
                ArrayRef<Value> tau, Value tauMax) {
  OpBuilder::InsertionGuard guard(rewriter);
  Operation *last = tau.front().getDefiningOp();
  for (Value t : tau) {
    Operation *def = t.getDefiningOp();
    if (!def || !last || def->getBlock() != last->getBlock()) {
      last = nullptr;
      break;
    }
    if (last->isBeforeInBlock(def))
      last = def;
  }
  if (last && tauMax.getDefiningOp() &&
      tauMax.getDefiningOp()->getBlock() == last->getBlock()) {
    if (last->isBeforeInBlock(tauMax.getDefiningOp()))
      last = tauMax.getDefiningOp();
    rewriter.setInsertionPointAfter(last);
  }
  Emitter e(rewriter, loc);
  Value highest = tau.front();
  for (Value t : tau.drop_front())
    highest = e.max(highest, t);
  highest = e.xorReduce(highest, {4, 8, 16},
                        [&](Value a, Value b) { return e.max(a, b); });
  return e.min(highest, tauMax);
}

/// Scores of the lane's values: value n of row tile r is row A (n % 4 < 2)
/// or B, column (n / 4) * 8 + 2 quad + n % 2.
struct ScoreToGPU : TilePattern<ScoreOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(ScoreOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    int64_t columns = op.getType().getShape()[1];
    int64_t perRowTile = columns / 2;
    Value biasTile = adaptor.getBias().front(), keys = adaptor.getKeys().front();
    Value first = adaptor.getFirst().front(), count = adaptor.getCount().front();
    Value firstRow = adaptor.getFirstRow().front();
    SmallVector<Value> tau;
    if (op.getTau())
      tau = llvm::to_vector(adaptor.getTau());
    ValueRange logits = adaptor.getLogits();
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
    // Value n's column is 2 quad + columnOffset(n): the lane's biases and
    // keys are constant offsets from its first ones.
    auto columnOffset = [](int64_t n) { return (n / 4) * 8 + n % 2; };
    Value quadColumn = e.muli(kernel.quad, e.index(2));
    Value biasLane = e.elementPointer(biasTile, f32, e.toI32(quadColumn));
    // The lane's 2 x columns / 8 distinct biases.
    SmallVector<Value> columnBias;
    for (int64_t c = 0; c < columns / 4; ++c)
      columnBias.push_back(
          e.loadShared(biasLane, f32, e.index(columnOffset((c / 2) * 4 + c % 2))));
    auto biasOf = [&](int64_t n) { return columnBias[(n / 4) * 2 + n % 2]; };
    double logitScale = op.getLogitScale().convertToDouble();
    double biasScale = op.getBiasScale().convertToDouble();
    auto scored = [&](ScoreTests tests) {
      SmallVector<Value> keyIndex;
      if (tests == ScoreTests::all) {
        // Slots past `count` are read (they lie in the list) but not used.
        Value laneSlot = e.addi(first, quadColumn);
        Value keyLane = e.elementPointer(keys, i32, e.toI32(laneSlot));
        for (int64_t n = 0; n < perRowTile; ++n) {
          Value slot = e.addi(laneSlot, e.index(columnOffset(n)));
          Value present = e.cmpi(CmpIPredicate::ult, slot, count);
          Value key = e.loadShared(keyLane, i32, e.index(columnOffset(n)));
          keyIndex.push_back(e.select(present, key, e.i32(-1)));
        }
      }
      SmallVector<Value> scores;
      for (int64_t r = 0; r < kernel.rowTiles(); ++r) {
        Value limA = e.addi(e.addi(firstRow, kernel.rowA[r]),
                            e.index(static_cast<int64_t>(op.getKeyOffset())));
        Value limB = e.addi(limA, e.index(8));
        for (int64_t n = 0; n < perRowTile; ++n) {
          Value kb = biasOf(n);
          Value score = math::FmaOp::create(
              e.builder(), e.location(), logits[r * perRowTile + n],
              e.f32(logitScale), e.mul(kb, e.f32(biasScale)));
          bool isA = n % 4 < 2;
          if (tests != ScoreTests::none) {
            Value keep = e.boolean(true);
            if (!tau.empty()) {
              Value rowTau = tau[2 * r + (isA ? 0 : 1)];
              keep = op.getExact() ? e.keeps(kb, rowTau)
                                   : e.cmp(CmpFPredicate::UGE, kb, rowTau);
            }
            if (tests == ScoreTests::all) {
              Value k = keyIndex[n];
              keep = e.andi(keep, e.cmpi(CmpIPredicate::sge, k, e.i32(0)));
              if (op.getCausal())
                keep = e.andi(keep, e.cmpi(CmpIPredicate::sle, e.toIndex(k),
                                           isA ? limA : limB));
            }
            score = e.select(keep, score, e.negInf());
          }
          scores.push_back(score);
        }
      }
      return scores;
    };
    SmallVector<Value> result;
    if (op.getTests() == ScoreTests::bias && op.getTauMax()) {
      // The quad's lanes hold every column: the tile's smallest bias is the
      // same in every lane, and so is the branch.
      Value lowest = columnBias.front();
      for (Value kb : ArrayRef<Value>(columnBias).drop_front())
        lowest = e.min(lowest, kb);
      Value bound = warpBound(rewriter, op.getLoc(), tau,
                              adaptor.getTauMax().front());
      Value keptWhole = e.cmp(CmpFPredicate::OGE, e.quadMin(lowest), bound);
      SmallVector<Type> types(logits.size(), f32);
      result = e.ifValues(keptWhole, types,
                          [&] { return scored(ScoreTests::none); },
                          [&] { return scored(ScoreTests::bias); });
    } else {
      result = scored(op.getTests());
    }
    rewriter.replaceOpWithMultiple(op, {result});
    return success();
  }
};

/// Per row tile: row maxima over the quad's lanes, 2^(s - ref) with one
/// ex2.approx each, and this lane's share of the row sums.
struct SoftmaxUpdateToGPU : TilePattern<SoftmaxUpdateOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(SoftmaxUpdateOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    SmallVector<Value> s = llvm::to_vector(adaptor.getScores());
    ValueRange max = adaptor.getMax(), sum = adaptor.getSum();
    int64_t perRowTile = op.getScores().getType().getShape()[1] / 2;
    // A row whose max is still -inf keeps nothing yet: reference 0, so no
    // exp(-inf - -inf) appears.
    auto safe = [&](Value m) {
      return e.select(e.cmp(CmpFPredicate::OEQ, m, e.negInf()), e.f32(0.0), m);
    };
    SmallVector<Value> newMax, newSum, alpha;
    for (int64_t r = 0; r < kernel.rowTiles(); ++r) {
      MutableArrayRef<Value> sr = MutableArrayRef<Value>(s).slice(r * perRowTile,
                                                                  perRowTile);
      Value maxA = e.negInf(), maxB = e.negInf();
      for (int64_t n = 0; n < perRowTile; n += 4) {
        maxA = e.max(maxA, e.max(sr[n], sr[n + 1]));
        maxB = e.max(maxB, e.max(sr[n + 2], sr[n + 3]));
      }
      maxA = e.quadMax(maxA);
      maxB = e.quadMax(maxB);
      Value mA = max[2 * r], mB = max[2 * r + 1];
      Value nextA = e.max(mA, maxA), nextB = e.max(mB, maxB);
      Value refA = safe(nextA), refB = safe(nextB);
      // Exactly 1 where the maximum did not move (also for a row still
      // empty, whose O and l are 0): scale_rows tests that predicate, not
      // the exponential's result.
      alpha.push_back(e.select(e.cmp(CmpFPredicate::OEQ, nextA, mA),
                               e.f32(1.0), e.exp2(e.sub(mA, refA))));
      alpha.push_back(e.select(e.cmp(CmpFPredicate::OEQ, nextB, mB),
                               e.f32(1.0), e.exp2(e.sub(mB, refB))));
      Value sumA = e.f32(0.0), sumB = e.f32(0.0);
      for (int64_t n = 0; n < perRowTile; n += 4)
        for (int64_t x = 0; x < 2; ++x) {
          sr[n + x] = e.exp2(e.sub(sr[n + x], refA));
          sr[n + 2 + x] = e.exp2(e.sub(sr[n + 2 + x], refB));
          sumA = e.add(sumA, sr[n + x]);
          sumB = e.add(sumB, sr[n + 2 + x]);
        }
      newMax.append({nextA, nextB});
      newSum.append({e.add(e.mul(sum[2 * r], alpha[2 * r]), sumA),
                     e.add(e.mul(sum[2 * r + 1], alpha[2 * r + 1]), sumB)});
    }
    rewriter.replaceOpWithMultiple(op, {s, newMax, newSum, alpha});
    return success();
  }
};

/// Once the row maxima settle most tiles change none of a warp's: the
/// rescale is skipped while every factor of the warp is 1.
struct ScaleRowsToGPU : TilePattern<ScaleRowsOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(ScaleRowsOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    OpBuilder &b = e.builder();
    ValueRange tile = adaptor.getTile(), factors = adaptor.getFactors();
    // A factor selected as 1.0 is one where its predicate holds: testing
    // the predicate does not wait for the other operand (an exponential).
    auto isOne = [&](Value f) -> Value {
      auto select = f.getDefiningOp<arith::SelectOp>();
      if (select && matchPattern(select.getTrueValue(), m_OneFloat()))
        return select.getCondition();
      return e.cmp(CmpFPredicate::OEQ, f, e.f32(1.0));
    };
    Value unit = e.boolean(true);
    for (Value f : factors)
      unit = e.andi(unit, isOne(f));
    Value warpUnit = NVVM::VoteSyncOp::create(
        b, e.location(), b.getI1Type(), e.i32(-1), unit,
        NVVM::VoteSyncKindAttr::get(b.getContext(), NVVM::VoteSyncKind::all));
    int64_t perRowTile = tile.size() / kernel.rowTiles();
    SmallVector<Type> types(tile.size(), b.getF32Type());
    SmallVector<Value> result = e.ifValues(
        warpUnit, types, [&] { return SmallVector<Value>(tile); },
        [&] {
          SmallVector<Value> scaled;
          for (auto [n, v] : llvm::enumerate(tile)) {
            int64_t r = n / perRowTile;
            bool isA = n % 4 < 2;
            scaled.push_back(e.mul(v, factors[2 * r + (isA ? 0 : 1)]));
          }
          return scaled;
        });
    rewriter.replaceOpWithMultiple(op, {result});
    return success();
  }
};

/// out = O / l (one division per row; (d, d + 1) stored as one pair),
/// lse = (m + log2 l) ln 2 by the quad's first lane.
struct StoreAttentionToGPU : TilePattern<StoreAttentionOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(StoreAttentionOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    OpBuilder &b = e.builder();
    Value out = adaptor.getOut().front(), lse = adaptor.getLse().front();
    auto outType = cast<MemRefType>(out.getType());
    SmallVector<Value> at = singles(adaptor.getIndices());
    SmallVector<Value> lseAt = singles(adaptor.getLseIndices());
    ValueRange acc = adaptor.getAcc(), max = adaptor.getMax();
    ValueRange sum = adaptor.getSum();
    int64_t dTiles = op.getAcc().getType().getShape()[1] / 8;
    Value rowsEnd = e.index(outType.getDimSize(1));
    double lseScale = op.getLseScale().convertToDouble();
    Value outBase = e.basePointer(out);
    auto finish = [&](Value relative, Value m, Value l, int64_t r, int64_t half) {
      Value row = e.addi(at[1], relative);
      e.ifThen(e.cmpi(CmpIPredicate::ult, row, rowsEnd), [&] {
        // A row whose max is still -inf kept nothing; a NaN one goes on to
        // NaN, and a +inf one gives lse = +inf.
        Value kept = e.cmp(CmpFPredicate::UNE, m, e.negInf());
        Value safeL = e.select(kept, l, e.f32(1.0));
        Value inverse = e.select(kept, e.div(e.f32(1.0), safeL), e.f32(0.0));
        for (int64_t dt = 0; dt < dTiles; ++dt) {
          Value d = e.addi(e.index(dt * 8), e.muli(kernel.quad, e.index(2)));
          int64_t n = (r * dTiles + dt) * 4 + half;
          Value lo = e.mul(acc[n], inverse), hi = e.mul(acc[n + 1], inverse);
          SmallVector<Value> element0 = at;
          element0[1] = row;
          element0[3] = e.addi(at[3], d);
          storePair(e, out, outBase, element0, lo, hi);
        }
        e.ifThen(e.cmpi(CmpIPredicate::eq, kernel.quad, e.index(0)), [&] {
          Value lse2 = e.add(m, math::Log2Op::create(b, e.location(), safeL));
          Value infinite = e.cmp(CmpFPredicate::OEQ, m, e.f32(INFINITY));
          lse2 = e.select(infinite, m, lse2);
          SmallVector<Value> element = lseAt;
          element.back() = e.addi(lseAt.back(), relative);
          e.store(e.select(kept, e.mul(lse2, e.f32(lseScale)), e.negInf()), lse,
                  element);
        });
      });
    };
    for (int64_t r = 0; r < kernel.rowTiles(); ++r) {
      finish(kernel.rowA[r], max[2 * r], e.quadSum(sum[2 * r]), r, 0);
      finish(kernel.rowB[r], max[2 * r + 1], e.quadSum(sum[2 * r + 1]), r, 2);
    }
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void tile::populateTileAttentionToGPUPatterns(TypeConverter &converter,
                                              RewritePatternSet &patterns,
                                              const KernelContext &kernel) {
  patterns.add<ThresholdsToGPU, CompactToGPU, ScoreToGPU, SoftmaxUpdateToGPU,
               ScaleRowsToGPU, StoreAttentionToGPU>(converter,
                                                    patterns.getContext(), kernel);
}
