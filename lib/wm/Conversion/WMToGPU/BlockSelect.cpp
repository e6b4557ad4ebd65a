//===- BlockSelect.cpp - Thresholds per block of query rows ---------------===//
//
// dma_select_blocks, one CTA of 8 warps per (batch, kv head, block of 256
// query rows): tau of the block's first row and the 256th smallest of the
// top W by a radix select over the order-preserving 32-bit image of the
// bias, then a bitonic sort of the few values that can still be a row's
// tau, which each row walks to its rank. Exact with ties, O(L) memory.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/TileToGPU/Emitter.h"
#include "wm/Conversion/WMToGPU/KernelFactory.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::wm;

using arith::CmpIPredicate;

namespace {

constexpr int64_t kSelectRows = 256; // query rows per dma_select_blocks CTA
constexpr int64_t kSelectWarps = 8;
constexpr int64_t kSelectThreads = 32 * kSelectWarps;
static_assert(kSelectThreads == 256 && kSelectRows == kSelectThreads,
              "one histogram bin and one row per thread");
// The sorted multiset of a block: up to 512 values of the prefix between
// the two thresholds, the block's 256 new keys, tau and the upper
// threshold, padded to a power of two.
constexpr int64_t kSortSlots = 4 * kSelectRows, kBelowSlots = 2 * kSelectRows;
constexpr int64_t kNewSlot = kBelowSlots, kTauSlot = kNewSlot + kSelectRows;
constexpr int64_t kUpperSlot = kTauSlot + 1;
constexpr int64_t kWalkSlots = 4; // entries per step of a row's rank walk
// scalars: (digit, rank) x 2, list length, copies of `upper`.
constexpr int64_t kCounter = 4, kUpperCount = 5;
constexpr int64_t kHistogramBins = 2048; // 11-bit digits
// Entries per thread in the bitonic sort, and per warp.
constexpr int64_t kOwn = kSortSlots / kSelectThreads, kWarpSlots = 32 * kOwn;

/// The body of one dma_select_blocks CTA.
class BlockSelect {
public:
  BlockSelect(OpBuilder &b, DmaSelectOp op, ValueRange args, ValueRange smem);
  void build();

private:
  Value entry(Value key, Value payload);
  Value everyRow(Value multiplicity) {
    return arith::XOrIOp::create(b, loc, multiplicity, e.i32(-1)).getResult();
  }
  void atomicAdd(Value value, Value memref, Value i) {
    memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addi, value,
                                memref, ValueRange{i});
  }
  Value keyOf(Value j) { return orderedKey(e, e.load(bias, {bIdx, g, j})); }
  void strided(Value end, function_ref<void(Value)> body);
  void sweep(Value end, function_ref<void(Value, Value)> body);
  SmallVector<std::pair<Value, Value>> radixSelect(Value end,
                                                   ArrayRef<Value> ranks);
  void radixPass(Value end, int shift, int bits, SmallVector<Value> &prefix,
                 SmallVector<Value> &k, Value &mask);
  void findDigit(int64_t r, int64_t bins, Value base, ArrayRef<Value> k);
  void selectWholePrefix();
  void selectPerRow(Value offset, Value rowEnd);
  void fillMultiset(Value pEnd, Value hasTau, Value hasUpper, Value tauKey,
                    Value tauTies, Value upperKey);
  void bitonicSort();
  Value rowThreshold(Value size, Value pEnd, Value m);

  OpBuilder &b;
  Emitter e;
  Location loc;
  int64_t keys, queries, window, kvHeads;
  bool perRow;
  Value bias, tau, hist, warpTotals, scalars, entries;
  Value zero, one, tid, warp, lane, bIdx, g, i0;
  Value biasBase, biasRow;
};

BlockSelect::BlockSelect(OpBuilder &b, DmaSelectOp op, ValueRange args,
                         ValueRange smem)
    : b(b), e(b, op.getLoc()), loc(op.getLoc()) {
  auto biasType = op.getBias().getType();
  int64_t batch = biasType.getDimSize(0);
  kvHeads = biasType.getDimSize(1);
  keys = biasType.getDimSize(2);
  queries = static_cast<int64_t>(op.getQueryLen());
  window = static_cast<int64_t>(op.getWindow());
  perRow = op.hasRowThresholds();
  int64_t rowBlocks = perRow ? llvm::divideCeil(queries, kSelectRows) : 1;
  bias = args[0];
  tau = args[1];
  hist = smem[0];
  warpTotals = smem[1];
  scalars = smem[2];
  entries = smem[3];
  zero = e.index(0);
  one = e.index(1);
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  warp = e.divi(tid, e.index(32));
  lane = e.remi(tid, e.index(32));
  SmallVector<Value> c = delinearize(e, block, {batch, kvHeads, rowBlocks});
  bIdx = c[0];
  g = c[1];
  i0 = e.muli(c[2], e.index(kSelectRows));
}

Value BlockSelect::entry(Value key, Value payload) {
  Type i64 = b.getI64Type();
  Value high = arith::ShLIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, i64, key), e.i64(32));
  return arith::OrIOp::create(b, loc, high,
                              arith::ExtUIOp::create(b, loc, i64, payload))
      .getResult();
}

void BlockSelect::strided(Value end, function_ref<void(Value)> body) {
  e.forEach(zero,
            e.ceilDiv(e.maxi(zero, e.subi(end, tid)), e.index(kSelectThreads)),
            [&](Value step) {
              body(e.addi(tid, e.muli(step, e.index(kSelectThreads))));
            });
}

/// Keys [0, end): per step each thread takes 4 runs of `vec` consecutive
/// keys (16-byte loads when bias rows are 16-byte aligned), all in flight
/// together; body(ordered key, key < end).
void BlockSelect::sweep(Value end, function_ref<void(Value, Value)> body) {
  constexpr int64_t kUnroll = 4;
  int64_t vec = keys % 4 == 0 ? 4 : 1;
  int64_t stride = kSelectThreads * vec;
  Value steps = e.ceilDiv(end, e.index(kUnroll * stride));
  e.forEach(zero, steps, [&](Value step) {
    SmallVector<Value> keysIn, valid;
    for (int64_t u = 0; u < kUnroll; ++u) {
      Value j =
          e.addi(e.muli(e.addi(e.muli(step, e.index(kUnroll)), e.index(u)),
                        e.index(stride)),
                 e.muli(tid, e.index(vec)));
      SmallVector<Value> values;
      if (vec == 4) {
        Value at = e.mini(j, e.index(keys - 4));
        values =
            e.loadFour(biasBase, b.getF32Type(), e.toI64(e.addi(biasRow, at)));
      } else {
        values.push_back(e.load(bias, {bIdx, g, e.mini(j, e.index(keys - 1))}));
      }
      for (int64_t x = 0; x < vec; ++x) {
        keysIn.push_back(orderedKey(e, values[x]));
        valid.push_back(e.cmpi(CmpIPredicate::ult, e.addi(j, e.index(x)), end));
      }
    }
    for (auto [key, isValid] : llvm::zip(keysIn, valid))
      body(key, isValid);
  });
}

/// The ranks[r]-th largest biases of keys [0, end) (1 <= rank <= end) by
/// radix select: passes of 11, 11 and 10 bits, most significant first, each
/// one sweep over the keys feeding one histogram per rank (one bin per
/// thread), the digit found by a CTA-wide scan from the top. Returns per
/// rank its ordered key and how many keys equal to it belong to the top
/// rank.
SmallVector<std::pair<Value, Value>>
BlockSelect::radixSelect(Value end, ArrayRef<Value> ranks) {
  int64_t n = ranks.size();
  SmallVector<Value> prefix(n, e.i32(0)), k(ranks);
  Value mask = e.i32(0);
  for (auto [shift, bits] : {std::pair<int, int>{21, 11}, {10, 11}, {0, 10}})
    radixPass(end, shift, bits, prefix, k, mask);
  SmallVector<std::pair<Value, Value>> result;
  for (int64_t r = 0; r < n; ++r)
    result.push_back({prefix[r], k[r]});
  return result;
}

/// One radix pass: the digit at `shift` of every rank's key; `prefix`,
/// `mask` and the ranks `k` left within the keys matching the prefix.
void BlockSelect::radixPass(Value end, int shift, int bits,
                            SmallVector<Value> &prefix, SmallVector<Value> &k,
                            Value &mask) {
  int64_t n = prefix.size();
  int64_t bins = int64_t(1) << bits;
  int64_t perThread = bins / kSelectThreads;
  bool first = shift == 21;
  e.barrier();
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < perThread; ++i)
      e.store(e.i32(0), hist,
              e.addi(tid, e.index(r * kHistogramBins + i * kSelectThreads)));
  e.barrier();
  // Ranks whose digits agreed so far share rank 0's histogram (always in
  // the first pass).
  SmallVector<Value> ownHistogram(n, e.boolean(true));
  for (int64_t r = 1; r < n; ++r)
    ownHistogram[r] = first ? e.boolean(false)
                            : e.cmpi(CmpIPredicate::ne, prefix[r], prefix[0]);
  sweep(end, [&](Value key, Value valid) {
    Value digit = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, key, e.i32(shift)),
        e.i32(bins - 1));
    Value masked = arith::AndIOp::create(b, loc, key, mask);
    for (int64_t r = 0; r < n; ++r) {
      if (r > 0 && first)
        continue;
      Value match = e.andi(valid, e.cmpi(CmpIPredicate::eq, masked, prefix[r]));
      e.ifThen(r == 0 ? match : e.andi(match, ownHistogram[r]), [&] {
        atomicAdd(e.i32(1), hist,
                  e.addi(e.toIndex(digit), e.index(r * kHistogramBins)));
      });
    }
  });
  e.barrier();
  for (int64_t r = 0; r < n; ++r)
    findDigit(r, bins,
              e.select(ownHistogram[r], e.index(r * kHistogramBins), zero), k);
  e.barrier();
  for (int64_t r = 0; r < n; ++r) {
    Value digit = e.load(scalars, e.index(2 * r));
    k[r] = e.load(scalars, e.index(2 * r + 1));
    prefix[r] = arith::OrIOp::create(
        b, loc, prefix[r], arith::ShLIOp::create(b, loc, digit, e.i32(shift)));
  }
  mask = arith::OrIOp::create(
      b, loc, mask, e.i32(static_cast<int32_t>(uint32_t(bins - 1) << shift)));
}

/// Thread t owns `perThread` bins of the histogram at `base` from digit
/// bins - 1 - t * perThread down; an inclusive scan of their sums over the
/// CTA finds the thread holding rank k[r], which walks its bins and stores
/// the digit and the rank left within it as scalars 2r and 2r + 1.
void BlockSelect::findDigit(int64_t r, int64_t bins, Value base,
                            ArrayRef<Value> k) {
  int64_t perThread = bins / kSelectThreads;
  Value top = e.subi(e.index(bins - 1), e.muli(tid, e.index(perThread)));
  SmallVector<Value> own;
  Value sum = e.i32(0);
  for (int64_t i = 0; i < perThread; ++i) {
    own.push_back(e.load(hist, e.addi(base, e.subi(top, e.index(i)))));
    sum = e.addi(sum, own.back());
  }
  Value incl = e.warpInclusiveSum(sum, lane);
  Value totals = e.index(r * kSelectWarps);
  e.ifThen(e.cmpi(CmpIPredicate::eq, lane, e.index(31)),
           [&] { e.store(incl, warpTotals, e.addi(totals, warp)); });
  e.barrier();
  for (int64_t w = 0; w < kSelectWarps; ++w)
    incl = e.select(
        e.cmpi(CmpIPredicate::ugt, warp, e.index(w)),
        e.addi(incl, e.load(warpTotals, e.addi(totals, e.index(w)))), incl);
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
    e.store(digit, scalars, e.index(2 * r));
    e.store(rest, scalars, e.index(2 * r + 1));
  });
}

/// Global scope: one tau for every row, the W-th largest of all keys.
void BlockSelect::selectWholePrefix() {
  Value all = e.index(keys), win = e.index(window);
  Value t = e.ifValue(
      e.cmpi(CmpIPredicate::sge, all, win),
      [&] {
        return fromOrderedKey(e, radixSelect(all, {e.i32(window)})[0].first);
      },
      [&] { return e.negInf(); });
  strided(e.index(queries), [&](Value row) {
    e.store(t, tau, {bIdx, g, row});
  });
}

void BlockSelect::build() {
  biasBase = e.basePointer(bias);
  biasRow = e.muli(e.addi(e.muli(bIdx, e.index(kvHeads)), g), e.index(keys));
  Value win = e.index(window);
  if (!perRow)
    return selectWholePrefix();
  Value offset = e.index(keys - queries + 1);
  Value rowEnd = e.mini(e.index(queries), e.addi(i0, e.index(kSelectRows)));
  Value lastSize = e.addi(e.subi(rowEnd, one), offset);
  // No row of the block reaches W keys: nothing to select.
  e.ifThenElse(
      e.cmpi(CmpIPredicate::slt, lastSize, win),
      [&] {
        e.ifThen(e.cmpi(CmpIPredicate::ult, e.addi(i0, tid), rowEnd), [&] {
          e.store(e.negInf(), tau, {bIdx, g, e.addi(i0, tid)});
        });
      },
      [&] { selectPerRow(offset, rowEnd); });
}

/// Row i ranks the prefix [0, size_i), size_i = i + Lk - Lq + 1. The
/// block's rows share P = [0, pEnd) and add at most 256 new keys. If U is
/// the top min(W, |P|) of P, tau_i is the k'_i-th smallest of U plus the
/// new keys visible to row i, k'_i = size_i - W + 1 - (|P| - |U|) <= 256:
/// only the 256 smallest of U matter. They are tau (with its multiplicity
/// in U), the values strictly between tau and `upper` (the 256th smallest
/// of U), and copies of `upper`.
void BlockSelect::selectPerRow(Value offset, Value rowEnd) {
  Type i32 = b.getI32Type();
  Value win = e.index(window);
  Value pEnd = e.maxi(zero, e.mini(e.index(keys), e.addi(i0, offset)));
  Value m = e.mini(win, pEnd);
  Value hasTau = e.cmpi(CmpIPredicate::sge, pEnd, win);
  Value hasUpper = e.cmpi(CmpIPredicate::sgt, m, e.index(kSelectRows - 1));
  Value noKey = e.i32(-1); // all-ones: sorts last
  // tau (rank W) and `upper` (rank m - 127) in the same sweeps; an absent
  // one is replaced by rank 1 and ignored.
  SmallVector<Value> t = e.ifValues(
      e.ori(hasTau, hasUpper), {i32, i32, i32},
      [&]() -> SmallVector<Value> {
        Value upperRank = e.toI32(e.subi(m, e.index(kSelectRows - 1)));
        auto found =
            radixSelect(pEnd, {e.select(hasTau, e.i32(window), e.i32(1)),
                               e.select(hasUpper, upperRank, e.i32(1))});
        return {found[0].first, found[0].second, found[1].first};
      },
      [&]() -> SmallVector<Value> {
        return {e.i32(0), e.i32(0), noKey};
      });
  fillMultiset(pEnd, hasTau, hasUpper, e.select(hasTau, t[0], e.i32(0)),
               e.select(hasTau, t[1], e.i32(0)),
               e.select(hasUpper, t[2], noKey));
  bitonicSort();
  // Each row walks the sorted multiset up to its rank.
  e.ifThen(e.cmpi(CmpIPredicate::ult, tid, e.index(kSelectRows)), [&] {
    Value row = e.addi(i0, tid);
    e.ifThen(e.cmpi(CmpIPredicate::ult, row, e.index(queries)), [&] {
      Value size = e.addi(row, offset);
      Value value = e.ifValue(
          e.cmpi(CmpIPredicate::slt, size, win), [&] { return e.negInf(); },
          [&] { return rowThreshold(size, pEnd, m); });
      e.store(value, tau, {bIdx, g, row});
    });
  });
}

/// The multiset in shared memory, unsorted: padding, tau, the values
/// strictly between tau and `upper`, the block's new keys, `upper`.
void BlockSelect::fillMultiset(Value pEnd, Value hasTau, Value hasUpper,
                               Value tauKey, Value tauTies, Value upperKey) {
  Value noKey = e.i32(-1);
  e.barrier();
  for (int64_t part = 0; part < kSortSlots / kSelectThreads; ++part)
    e.store(entry(noKey, everyRow(e.i32(0))), entries,
            e.addi(tid, e.index(part * kSelectThreads)));
  e.ifThen(e.cmpi(CmpIPredicate::eq, tid, zero), [&] {
    e.store(e.i32(0), scalars, e.index(kCounter));
    e.store(e.i32(0), scalars, e.index(kUpperCount));
  });
  e.barrier();
  e.ifThen(e.cmpi(CmpIPredicate::eq, tid, zero), [&] {
    e.store(entry(tauKey, everyRow(tauTies)), entries, e.index(kTauSlot));
  });
  sweep(pEnd, [&](Value key, Value valid) {
    Value aboveTau = e.ori(e.cmpi(CmpIPredicate::eq, hasTau, e.boolean(false)),
                           e.cmpi(CmpIPredicate::ugt, key, tauKey));
    Value belowUpper =
        e.ori(e.cmpi(CmpIPredicate::eq, hasUpper, e.boolean(false)),
              e.cmpi(CmpIPredicate::ult, key, upperKey));
    e.ifThen(e.andi(valid, e.andi(aboveTau, belowUpper)), [&] {
      Value slot = memref::AtomicRMWOp::create(
          b, loc, arith::AtomicRMWKind::addi, e.i32(1), scalars,
          ValueRange{e.index(kCounter)});
      e.store(entry(key, everyRow(e.i32(1))), entries, e.toIndex(slot));
    });
    e.ifThen(e.andi(e.andi(valid, hasUpper),
                    e.andi(aboveTau, e.cmpi(CmpIPredicate::eq, key, upperKey))),
             [&] { atomicAdd(e.i32(1), scalars, e.index(kUpperCount)); });
  });
  e.ifThen(e.cmpi(CmpIPredicate::ult, tid, e.index(kSelectRows)), [&] {
    Value j = e.addi(pEnd, tid);
    e.ifThen(e.cmpi(CmpIPredicate::ult, j, e.index(keys)), [&] {
      e.store(entry(keyOf(j), e.toI32(j)), entries,
              e.addi(e.index(kNewSlot), tid));
    });
  });
  e.barrier();
  e.ifThen(e.andi(hasUpper, e.cmpi(CmpIPredicate::eq, tid, zero)), [&] {
    e.store(entry(upperKey, everyRow(e.load(scalars, e.index(kUpperCount)))),
            entries, e.index(kUpperSlot));
  });
}

/// Bitonic sort of the multiset, ascending by ordered key. Thread t holds
/// entries 4t .. 4t + 3 in registers: exchanges within a thread or a warp
/// (strides below 128) need no barrier, only the strides across warps go
/// through shared memory.
void BlockSelect::bitonicSort() {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  e.barrier();
  auto bit = [&](Value i, int64_t mask) {
    return e.cmpi(CmpIPredicate::eq,
                  arith::AndIOp::create(b, loc, i, e.index(mask)), zero);
  };
  // Entry i keeps the smaller of itself and its partner when it is the
  // lower one of an ascending pair or the upper one of a descending pair.
  auto exchange = [&](Value mine, Value other, Value i, int64_t size,
                      int64_t stride) {
    Value keepMin = e.cmpi(CmpIPredicate::eq, bit(i, stride), bit(i, size));
    return e.select(keepMin, arith::MinUIOp::create(b, loc, mine, other),
                    arith::MaxUIOp::create(b, loc, mine, other));
  };
  auto shuffle64 = [&](Value value, int32_t lanes) {
    Value low = arith::TruncIOp::create(b, loc, i32, value);
    Value high = arith::TruncIOp::create(
        b, loc, i32, arith::ShRUIOp::create(b, loc, value, e.i64(32)));
    auto widen = [&](Value half) {
      return arith::ExtUIOp::create(b, loc, i64, e.shuffleXor(half, lanes));
    };
    return arith::OrIOp::create(
               b, loc, widen(low),
               arith::ShLIOp::create(b, loc, widen(high), e.i64(32)))
        .getResult();
  };
  SmallVector<Value> own, index;
  for (int64_t j = 0; j < kOwn; ++j) {
    index.push_back(e.addi(e.muli(tid, e.index(kOwn)), e.index(j)));
    own.push_back(e.load(entries, index.back()));
  }
  for (int64_t size = 2; size <= kSortSlots; size *= 2)
    for (int64_t stride = size / 2; stride >= 1; stride /= 2) {
      SmallVector<Value> other(kOwn);
      if (stride < kOwn) {
        for (int64_t j = 0; j < kOwn; ++j)
          other[j] = own[j ^ stride];
      } else if (stride < kWarpSlots) {
        for (int64_t j = 0; j < kOwn; ++j)
          other[j] = shuffle64(own[j], stride / kOwn);
      } else {
        for (int64_t j = 0; j < kOwn; ++j)
          e.store(own[j], entries, index[j]);
        e.barrier();
        for (int64_t j = 0; j < kOwn; ++j)
          other[j] = e.load(
              entries, arith::XOrIOp::create(b, loc, index[j], e.index(stride))
                           .getResult());
        e.barrier();
      }
      for (int64_t j = 0; j < kOwn; ++j)
        own[j] = exchange(own[j], other[j], index[j], size, stride);
    }
  for (int64_t j = 0; j < kOwn; ++j)
    e.store(own[j], entries, index[j]);
  e.barrier();
}

/// The threshold of a row that ranks `size` >= W keys: the entry of the
/// sorted multiset where the row's count reaches its rank.
Value BlockSelect::rowThreshold(Value size, Value pEnd, Value m) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value win = e.index(window);
  Value rank = e.toI32(e.subi(e.addi(e.subi(size, win), one), e.subi(pEnd, m)));
  Value size32 = e.toI32(size);
  // What an entry adds to the row's count.
  auto weight = [&](Value entry) {
    Value payload = arith::TruncIOp::create(b, loc, i32, entry);
    Value shared = e.cmpi(CmpIPredicate::slt, payload, e.i32(0));
    Value visible = e.ori(shared, e.cmpi(CmpIPredicate::slt, payload, size32));
    return e.select(visible, e.select(shared, everyRow(payload), e.i32(1)),
                    e.i32(0));
  };
  // Groups of kWalkSlots entries, loaded together, until the count reaches
  // the rank: the last group's start, the count before it, the count after
  // it, its entries.
  SmallVector<Type> group = {b.getIndexType(), i32, i32};
  group.append(kWalkSlots, i64);
  auto walk = scf::WhileOp::create(b, loc, group, ValueRange{zero, e.i32(0)});
  {
    OpBuilder::InsertionGuard guard(b);
    Block *before = b.createBlock(&walk.getBefore(), {},
                                  {b.getIndexType(), i32}, {loc, loc});
    Value slot = before->getArgument(0), count = before->getArgument(1);
    SmallVector<Value> forward = {slot, count, count};
    for (int64_t k = 0; k < kWalkSlots; ++k) {
      forward.push_back(e.load(entries, e.addi(slot, e.index(k))));
      forward[2] = e.addi(forward[2], weight(forward.back()));
    }
    Value more = e.andi(
        e.cmpi(CmpIPredicate::slt, forward[2], rank),
        e.cmpi(CmpIPredicate::ult, slot, e.index(kSortSlots - kWalkSlots)));
    scf::ConditionOp::create(b, loc, more, forward);
    Block *after = b.createBlock(&walk.getAfter(), {}, group,
                                 SmallVector<Location>(group.size(), loc));
    scf::YieldOp::create(
        b, loc,
        ValueRange{e.addi(after->getArgument(0), e.index(kWalkSlots)),
                   after->getArgument(2)});
  }
  // The group's first entry reaching the rank; none: the last slot.
  Value running = walk.getResult(1);
  Value found = walk.getResults().back();
  Value done = e.boolean(false);
  for (int64_t k = 0; k < kWalkSlots; ++k) {
    Value entry = walk.getResult(3 + k);
    running = e.addi(running, weight(entry));
    Value hit = e.andi(e.cmpi(CmpIPredicate::sge, running, rank),
                       e.cmpi(CmpIPredicate::eq, done, e.boolean(false)));
    found = e.select(hit, entry, found);
    done = e.ori(done, hit);
  }
  return fromOrderedKey(
      e, arith::TruncIOp::create(
             b, loc, i32, arith::ShRUIOp::create(b, loc, found, e.i64(32))));
}

} // namespace

void mlir::wm::blockSelectKernel(KernelFactory &factory, OpBuilder &host,
                                 DmaSelectOp op, ValueRange buffers) {
  auto biasType = op.getBias().getType();
  int64_t rows = op.hasRowThresholds()
                     ? llvm::divideCeil(op.getQueryLen(), kSelectRows)
                     : 1;
  MLIRContext *ctx = host.getContext();
  Type i32 = IntegerType::get(ctx, 32);
  SmallVector<Type> workgroup = {
      workgroupType(ctx, {2 * kHistogramBins}, i32), // radix histograms
      workgroupType(ctx, {2 * kSelectWarps}, i32),   // per-warp scan totals
      workgroupType(ctx, {kUpperCount + 1}, i32),    // scalars
      // Multiset entries: ordered key << 32 | payload, the payload a new
      // key's index, or ~multiplicity for values every row sees.
      workgroupType(ctx, {kSortSlots}, IntegerType::get(ctx, 64))};
  factory.launchBlocks(host, op.getLoc(), "dma_select_blocks", buffers,
                       biasType.getDimSize(0) * biasType.getDimSize(1) * rows,
                       kSelectThreads, workgroup, /*dynamicSharedBytes=*/0,
                       [&](OpBuilder &b, ValueRange args, ValueRange smem) {
                         BlockSelect(b, op, args, smem).build();
                       });
}
