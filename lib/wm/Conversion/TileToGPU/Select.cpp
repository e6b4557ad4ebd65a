//===- Select.cpp - Selection tile ops on the GPU -------------------------===//
//
// radix_select: passes of 11, 11 and 10 bits, most significant first, each
// one sweep over the keys (16-byte loads where bias rows allow) feeding one
// shared histogram per rank, the digit found by a CTA-wide scan from the
// top. sort: a bitonic network with each thread's entries in registers;
// strides within a thread or a warp need no barrier, only the strides
// across warps go through shared memory.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpIPredicate;

namespace {

/// The radix passes: (shift, bits) of each digit, most significant first.
constexpr std::pair<int, int> kRadixPasses[] = {{21, 11}, {10, 11}, {0, 10}};
constexpr int64_t kMaxDigitBins = 2048;

struct WriteToGPU : TilePattern<WriteOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(WriteOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    e.storeShared(adaptor.getValue().front(), adaptor.getBuffer().front(),
                  adaptor.getIndex().front());
    rewriter.eraseOp(op);
    return success();
  }
};

struct AtomicAddToGPU : TilePattern<AtomicAddOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(AtomicAddOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value ptr = e.elementPointer(adaptor.getBuffer().front(),
                                 rewriter.getI32Type(),
                                 e.toI32(adaptor.getIndex().front()));
    rewriter.replaceOpWithNewOp<LLVM::AtomicRMWOp>(
        op, LLVM::AtomicBinOp::add, ptr, adaptor.getValue().front(),
        LLVM::AtomicOrdering::monotonic);
    return success();
  }
};

/// The radix select of one op, on the CTA's threads.
class RadixSelect {
public:
  RadixSelect(Emitter &e, const KernelContext &kernel, RadixSelectOp op,
              Value bias, ValueRange indices, Value scratch)
      : e(e), b(e.builder()), loc(e.location()), kernel(kernel), bias(bias),
        indices(indices), scratch(scratch) {
    threads = kernel.config.getThreads();
    ranks = op.getRanks().size();
    auto type = cast<MemRefType>(bias.getType());
    keys = type.getShape().back();
    SmallVector<Value> first(indices);
    first.push_back(e.index(0));
    biasBase = e.basePointer(bias);
    biasRow = linearOffset(e, type, first);
  }

  SmallVector<Value> build(Value end, ValueRange rankValues);

private:
  Value totalsWord(int64_t r) {
    return e.index(ranks * kMaxDigitBins + r * kernel.config.getWarps());
  }
  Value scalarWord(int64_t r, int64_t i) {
    return e.index(ranks * (kMaxDigitBins + kernel.config.getWarps()) + 2 * r +
                   i);
  }
  Value loadWord(Value word) {
    return e.loadShared(scratch, b.getI32Type(), word);
  }
  void storeWord(Value value, Value word) { e.storeShared(value, scratch, word); }
  void sweep(Value end, function_ref<void(Value, Value)> body);
  void pass(Value end, int shift, int bits, SmallVector<Value> &prefix,
            SmallVector<Value> &k, Value &mask);
  void findDigit(int64_t r, int64_t bins, Value base, ArrayRef<Value> k);

  Emitter &e;
  OpBuilder &b;
  Location loc;
  const KernelContext &kernel;
  Value bias;
  ValueRange indices;
  Value scratch, biasBase, biasRow;
  int64_t threads, ranks, keys;
};

SmallVector<Value> RadixSelect::build(Value end, ValueRange rankValues) {
  SmallVector<Value> prefix(ranks, e.i32(0)), k(rankValues);
  Value mask = e.i32(0);
  for (auto [shift, bits] : kRadixPasses)
    pass(end, shift, bits, prefix, k, mask);
  SmallVector<Value> results;
  for (int64_t r = 0; r < ranks; ++r) {
    results.push_back(prefix[r]);
    results.push_back(k[r]);
  }
  return results;
}

/// Keys [0, end): per step each thread takes 4 runs of `vec` consecutive
/// keys (16-byte loads when bias rows are 16-byte aligned), all in flight
/// together; body(ordered key, key < end).
void RadixSelect::sweep(Value end, function_ref<void(Value, Value)> body) {
  constexpr int64_t kUnroll = 4;
  int64_t vec = keys % 4 == 0 ? 4 : 1;
  int64_t stride = threads * vec;
  Value steps = e.ceilDiv(end, e.index(kUnroll * stride));
  e.forEach(e.index(0), steps, [&](Value step) {
    SmallVector<Value> keysIn, valid;
    for (int64_t u = 0; u < kUnroll; ++u) {
      Value run = e.addi(e.muli(step, e.index(kUnroll)), e.index(u));
      Value j = e.addi(e.muli(run, e.index(stride)),
                       e.muli(kernel.tid, e.index(vec)));
      SmallVector<Value> values;
      if (vec == 4) {
        Value at = e.toI64(e.mini(j, e.index(keys - 4)));
        values = e.loadFour(biasBase, b.getF32Type(), e.addi(biasRow, at));
      } else {
        SmallVector<Value> at(indices);
        at.push_back(e.mini(j, e.index(keys - 1)));
        values.push_back(e.load(bias, at));
      }
      for (int64_t x = 0; x < vec; ++x) {
        keysIn.push_back(e.orderedKey(values[x]));
        valid.push_back(e.cmpi(CmpIPredicate::ult, e.addi(j, e.index(x)), end));
      }
    }
    for (auto [key, isValid] : llvm::zip(keysIn, valid))
      body(key, isValid);
  });
}

/// One pass: the digit at `shift` of every rank's key; `prefix`, `mask` and
/// the ranks `k` left within the keys matching the prefix.
void RadixSelect::pass(Value end, int shift, int bits,
                       SmallVector<Value> &prefix, SmallVector<Value> &k,
                       Value &mask) {
  int64_t bins = int64_t(1) << bits;
  int64_t perThread = bins / threads;
  bool first = shift == kRadixPasses[0].first;
  e.barrier();
  for (int64_t r = 0; r < ranks; ++r)
    for (int64_t i = 0; i < perThread; ++i)
      storeWord(e.i32(0),
                e.addi(kernel.tid, e.index(r * kMaxDigitBins + i * threads)));
  e.barrier();
  // Ranks whose digits agreed so far share rank 0's histogram (always in
  // the first pass).
  SmallVector<Value> own(ranks, e.boolean(true));
  for (int64_t r = 1; r < ranks; ++r)
    own[r] = first ? e.boolean(false)
                   : e.cmpi(CmpIPredicate::ne, prefix[r], prefix[0]);
  sweep(end, [&](Value key, Value valid) {
    Value digit = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, key, e.i32(shift)),
        e.i32(bins - 1));
    Value masked = arith::AndIOp::create(b, loc, key, mask);
    for (int64_t r = 0; r < ranks; ++r) {
      if (r > 0 && first)
        continue;
      Value match = e.andi(valid, e.cmpi(CmpIPredicate::eq, masked, prefix[r]));
      e.ifThen(r == 0 ? match : e.andi(match, own[r]), [&] {
        Value word = e.addi(e.toIndex(digit), e.index(r * kMaxDigitBins));
        LLVM::AtomicRMWOp::create(
            b, loc, LLVM::AtomicBinOp::add,
            e.elementPointer(scratch, b.getI32Type(), e.toI32(word)), e.i32(1),
            LLVM::AtomicOrdering::monotonic);
      });
    }
  });
  e.barrier();
  for (int64_t r = 0; r < ranks; ++r)
    findDigit(r, bins,
              e.select(own[r], e.index(r * kMaxDigitBins), e.index(0)), k);
  e.barrier();
  for (int64_t r = 0; r < ranks; ++r) {
    Value digit = loadWord(scalarWord(r, 0));
    k[r] = loadWord(scalarWord(r, 1));
    prefix[r] = arith::OrIOp::create(
        b, loc, prefix[r], arith::ShLIOp::create(b, loc, digit, e.i32(shift)));
  }
  mask = arith::OrIOp::create(
      b, loc, mask, e.i32(static_cast<int32_t>(uint32_t(bins - 1) << shift)));
}

/// Thread t owns `perThread` bins of the histogram at `base` from digit
/// bins - 1 - t * perThread down; an inclusive scan of their sums over the
/// CTA finds the thread holding rank k[r], which walks its bins and stores
/// the digit and the rank left within it as scalars (r, 0) and (r, 1).
void RadixSelect::findDigit(int64_t r, int64_t bins, Value base,
                            ArrayRef<Value> k) {
  int64_t perThread = bins / threads, warps = kernel.config.getWarps();
  Value top = e.subi(e.index(bins - 1), e.muli(kernel.tid, e.index(perThread)));
  SmallVector<Value> own;
  Value sum = e.i32(0);
  for (int64_t i = 0; i < perThread; ++i) {
    own.push_back(loadWord(e.addi(base, e.subi(top, e.index(i)))));
    sum = e.addi(sum, own.back());
  }
  Value incl = e.warpInclusiveSum(sum, kernel.lane);
  e.ifThen(e.cmpi(CmpIPredicate::eq, kernel.lane, e.index(31)), [&] {
    storeWord(incl, e.addi(totalsWord(r), kernel.warp));
  });
  e.barrier();
  for (int64_t w = 0; w < warps; ++w) {
    Value total = loadWord(e.addi(totalsWord(r), e.index(w)));
    incl = e.select(e.cmpi(CmpIPredicate::ugt, kernel.warp, e.index(w)),
                    e.addi(incl, total), incl);
  }
  Value above = e.subi(incl, sum);
  Value found = e.andi(e.cmpi(CmpIPredicate::sge, incl, k[r]),
                       e.cmpi(CmpIPredicate::slt, above, k[r]));
  e.ifThen(found, [&] {
    // The first of the thread's bins (from the top) where the count
    // reaches the rank.
    Value digit = e.toI32(top), rest = e.subi(k[r], above);
    Value seen = e.i32(0), done = e.boolean(false);
    for (int64_t i = 0; i < perThread; ++i) {
      Value reach = e.andi(e.cmpi(CmpIPredicate::eq, done, e.boolean(false)),
                           e.cmpi(CmpIPredicate::sge, e.addi(seen, own[i]),
                                  e.subi(k[r], above)));
      digit = e.select(reach, e.toI32(e.subi(top, e.index(i))), digit);
      rest = e.select(reach, e.subi(e.subi(k[r], above), seen), rest);
      done = e.ori(done, reach);
      seen = e.addi(seen, own[i]);
    }
    storeWord(digit, scalarWord(r, 0));
    storeWord(rest, scalarWord(r, 1));
  });
}

struct RadixSelectToGPU : TilePattern<RadixSelectOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(RadixSelectOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t threads = kernel.config.getThreads();
    if (!llvm::isPowerOf2_64(threads) || threads > 1024)
      return op.emitOpError()
             << "needs a power-of-two CTA of at most 1024 threads (one or "
                "more histogram bins per thread), got "
             << threads;
    Emitter e(rewriter, op.getLoc());
    SmallVector<Value> indices = singles(adaptor.getIndices());
    RadixSelect select(e, kernel, op, adaptor.getBias().front(), indices,
                       adaptor.getScratch().front());
    rewriter.replaceOp(op, select.build(adaptor.getEnd().front(),
                                        singles(adaptor.getRanks())));
    return success();
  }
};

/// Bitonic sort, ascending, entries i * own .. i * own + own - 1 in thread
/// i's registers.
struct SortToGPU : TilePattern<SortOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(SortOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t n = op.getBuffer().getType().getShape()[0];
    int64_t threads = kernel.config.getThreads();
    if (!llvm::isPowerOf2_64(threads) || n < threads)
      return op.emitOpError() << "sorts at least one entry per thread of a "
                                 "power-of-two CTA: "
                              << n << " entries, " << threads << " threads";
    Emitter e(rewriter, op.getLoc());
    Value buffer = adaptor.getBuffer().front();
    int64_t own = n / threads, warpSlots = 32 * own;
    Type i64 = rewriter.getI64Type();
    e.barrier();
    SmallVector<Value> mine, index;
    for (int64_t j = 0; j < own; ++j) {
      index.push_back(e.addi(e.muli(kernel.tid, e.index(own)), e.index(j)));
      mine.push_back(e.loadShared(buffer, i64, index.back()));
    }
    for (int64_t size = 2; size <= n; size *= 2)
      for (int64_t stride = size / 2; stride >= 1; stride /= 2) {
        SmallVector<Value> other(own);
        if (stride < own) {
          for (int64_t j = 0; j < own; ++j)
            other[j] = mine[j ^ stride];
        } else if (stride < warpSlots) {
          for (int64_t j = 0; j < own; ++j)
            other[j] = shuffle64(e, mine[j], stride / own);
        } else {
          for (int64_t j = 0; j < own; ++j)
            e.storeShared(mine[j], buffer, index[j]);
          e.barrier();
          for (int64_t j = 0; j < own; ++j)
            other[j] = e.loadShared(
                buffer, i64,
                arith::XOrIOp::create(rewriter, op.getLoc(), index[j],
                                      e.index(stride)));
          e.barrier();
        }
        for (int64_t j = 0; j < own; ++j)
          mine[j] = exchange(e, mine[j], other[j], index[j], size, stride);
      }
    for (int64_t j = 0; j < own; ++j)
      e.storeShared(mine[j], buffer, index[j]);
    e.barrier();
    rewriter.eraseOp(op);
    return success();
  }

  /// Entry i keeps the smaller of itself and its partner when it is the
  /// lower one of an ascending pair or the upper one of a descending pair.
  static Value exchange(Emitter &e, Value mine, Value other, Value i,
                        int64_t size, int64_t stride) {
    OpBuilder &b = e.builder();
    Location loc = e.location();
    auto bitClear = [&](int64_t mask) {
      return e.cmpi(CmpIPredicate::eq,
                    arith::AndIOp::create(b, loc, i, e.index(mask)),
                    e.index(0));
    };
    Value keepMin = e.cmpi(CmpIPredicate::eq, bitClear(stride), bitClear(size));
    return e.select(keepMin, arith::MinUIOp::create(b, loc, mine, other),
                    arith::MaxUIOp::create(b, loc, mine, other));
  }

  static Value shuffle64(Emitter &e, Value value, int32_t lanes) {
    OpBuilder &b = e.builder();
    Location loc = e.location();
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    Value low = arith::TruncIOp::create(b, loc, i32, value);
    Value high = arith::TruncIOp::create(
        b, loc, i32, arith::ShRUIOp::create(b, loc, value, e.i64(32)));
    auto widen = [&](Value half) {
      return arith::ExtUIOp::create(b, loc, i64, e.shuffleXor(half, lanes));
    };
    return arith::OrIOp::create(
        b, loc, widen(low),
        arith::ShLIOp::create(b, loc, widen(high), e.i64(32)));
  }
};

} // namespace

void tile::populateTileSelectToGPUPatterns(TypeConverter &converter,
                                           RewritePatternSet &patterns,
                                           const KernelContext &kernel) {
  patterns.add<WriteToGPU, AtomicAddToGPU, RadixSelectToGPU, SortToGPU>(
      converter, patterns.getContext(), kernel);
}
