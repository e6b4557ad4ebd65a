//===- Select.cpp - wm.dma_select to its tile program ---------------------===//
//
// dma_select_blocks, one instance per (batch, kv head, block of 256 query
// rows), exact with ties and O(L) memory (docs/design.md, "selection"):
//
//   row i ranks the prefix [0, size_i), size_i = i + Lk - Lq + 1; the
//   block's rows share P = [0, pEnd) and add at most 256 new keys
//   radix_select over P: tau (the W-th largest) and `upper` (the 256th
//   smallest of the top min(W, |P|))
//   multiset: tau, the values strictly between tau and upper, copies of
//   upper, the block's new keys; sorted
//   each row walks the sorted multiset to its rank
//
// Global scope (or no causality): one radix select over all keys, one
// threshold for every row.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/WMToTile/WMToTile.h"

#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpIPredicate;

namespace {

constexpr int64_t kSelectRows = 256; // query rows per instance
constexpr int64_t kSelectWarps = 8;
constexpr int64_t kSelectWarpRows = kSelectRows / kSelectWarps;
// The multiset: up to 512 values of the prefix between the two thresholds,
// the block's 256 new keys, tau and upper, padded to a power of two.
constexpr int64_t kSortSlots = 4 * kSelectRows, kBelowSlots = 2 * kSelectRows;
constexpr int64_t kNewSlot = kBelowSlots, kTauSlot = kNewSlot + kSelectRows;
constexpr int64_t kUpperSlot = kTauSlot + 1;
constexpr int64_t kWalkSlots = 4; // entries per step of a row's rank walk
// Counters: the append slot of the multiset, the copies of upper.
constexpr int64_t kAppendCounter = 0, kUpperCounter = 1;

/// Builds the region of one selection program.
class SelectProgram {
public:
  SelectProgram(OpBuilder &b, DmaSelectOp op)
      : b(b), loc(op.getLoc()), lb(b, loc) {
    keys = op.getBias().getType().getDimSize(2);
    queries = static_cast<int64_t>(op.getQueryLen());
    window = static_cast<int64_t>(op.getWindow());
    perRow = op.hasRowThresholds();
  }

  void build(Block &block);

private:
  Value shared(int64_t size, Type element) {
    return AllocSharedOp::create(b, loc, SharedType::get({size}, element));
  }
  /// Runs body(i) for i in [lo, hi), the iterations spread over the threads.
  void parallel(Value lo, Value hi, function_ref<void(Value)> body);
  /// A multiset entry: ordered key << 32 | payload. The payload is a new
  /// key's index, or the complement of a multiplicity every row sees.
  Value entry(Value key, Value payload);
  Value everyRow(Value multiplicity) {
    return arith::XOrIOp::create(b, loc, multiplicity, lb.i32(-1));
  }
  Value keyOf(Value j) { return lb.orderedKey(lb.load(bias, {bIdx, g, j})); }
  SmallVector<Value> radixSelect(Value end, ValueRange ranks);
  void selectAll();
  void selectPerRow();
  void fillMultiset(Value pEnd, Value hasTau, Value hasUpper, Value tauKey,
                    Value tauTies, Value upperKey);
  Value rowThreshold(Value size, Value pEnd, Value m);

  OpBuilder &b;
  Location loc;
  LoopBuilder lb;
  int64_t keys, queries, window;
  bool perRow;
  Value bias, tau, scratch, counters, entries;
  Value bIdx, g, i0;
  /// Row i ranks keys [0, i + offset); the block's rows end at rowEnd.
  Value offset, rowEnd;
};

void SelectProgram::parallel(Value lo, Value hi,
                             function_ref<void(Value)> body) {
  auto loop = scf::ParallelOp::create(b, loc, ValueRange{lo}, ValueRange{hi},
                                      ValueRange{lb.index(1)});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVars()[0]);
}

Value SelectProgram::entry(Value key, Value payload) {
  Type i64 = b.getI64Type();
  Value high = arith::ShLIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, i64, key), lb.i64(32));
  return arith::OrIOp::create(b, loc, high,
                              arith::ExtUIOp::create(b, loc, i64, payload));
}

SmallVector<Value> SelectProgram::radixSelect(Value end, ValueRange ranks) {
  SmallVector<Type> types(2 * ranks.size(), b.getI32Type());
  auto select = RadixSelectOp::create(b, loc, types, bias, ValueRange{bIdx, g},
                                      end, ranks, scratch);
  return SmallVector<Value>(select.getFound());
}

void SelectProgram::build(Block &block) {
  bIdx = block.getArgument(0);
  g = block.getArgument(1);
  i0 = lb.muli(block.getArgument(2), lb.index(kSelectRows));
  bias = block.getArgument(3);
  tau = block.getArgument(4);
  int64_t ranks = perRow ? 2 : 1;
  scratch = shared(ranks * (RadixSelectOp::kHistogramBins +
                            RadixSelectOp::scanWords(kSelectWarps)),
                   b.getI32Type());
  if (!perRow)
    return selectAll();
  counters = shared(2, b.getI32Type());
  entries = shared(kSortSlots, b.getI64Type());
  offset = lb.index(keys - queries + 1);
  rowEnd = lb.mini(lb.index(queries), lb.addi(i0, lb.index(kSelectRows)));
  Value lastSize = lb.addi(lb.subi(rowEnd, lb.index(1)), offset);
  // No row of the block reaches W keys: nothing to select.
  lb.ifThenElse(
      lb.cmpi(CmpIPredicate::slt, lastSize, lb.index(window)),
      [&] {
        parallel(i0, rowEnd, [&](Value row) {
          lb.store(lb.negInf(), tau, {bIdx, g, row});
        });
      },
      [&] { selectPerRow(); });
}

/// One tau for every row: the W-th largest of all keys.
void SelectProgram::selectAll() {
  Value t = lb.ifValue(
      lb.cmpi(CmpIPredicate::sge, lb.index(keys), lb.index(window)),
      [&] {
        return lb.fromOrderedKey(
            radixSelect(lb.index(keys), {lb.i32(window)})[0]);
      },
      [&] { return lb.negInf(); });
  parallel(lb.index(0), lb.index(queries),
           [&](Value row) { lb.store(t, tau, {bIdx, g, row}); });
}

/// If U is the top min(W, |P|) of P, tau_i is the k'_i-th smallest of U
/// plus the new keys visible to row i, k'_i = size_i - W + 1 - (|P| - |U|)
/// <= 256: only the 256 smallest of U matter. They are tau (with its
/// multiplicity in U), the values strictly between tau and upper, and
/// copies of upper.
void SelectProgram::selectPerRow() {
  Type i32 = b.getI32Type();
  Value win = lb.index(window);
  Value pEnd =
      lb.maxi(lb.index(0), lb.mini(lb.index(keys), lb.addi(i0, offset)));
  Value m = lb.mini(win, pEnd);
  Value hasTau = lb.cmpi(CmpIPredicate::sge, pEnd, win);
  Value hasUpper = lb.cmpi(CmpIPredicate::sge, m, lb.index(kSelectRows));
  Value noKey = lb.i32(-1); // all ones: sorts last
  // tau (rank W) and upper (rank m - 255) in the same sweeps; an absent one
  // is replaced by rank 1 and ignored.
  auto found = scf::IfOp::create(b, loc, TypeRange{i32, i32, i32},
                                 lb.ori(hasTau, hasUpper),
                                 /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&found.getThenRegion().front());
    Value upperRank = lb.toI32(lb.subi(m, lb.index(kSelectRows - 1)));
    SmallVector<Value> t =
        radixSelect(pEnd, {lb.select(hasTau, lb.i32(window), lb.i32(1)),
                           lb.select(hasUpper, upperRank, lb.i32(1))});
    scf::YieldOp::create(b, loc, ValueRange{t[0], t[1], t[2]});
    b.setInsertionPointToStart(&found.getElseRegion().front());
    scf::YieldOp::create(b, loc, ValueRange{lb.i32(0), lb.i32(0), noKey});
  }
  Value tauKey = lb.select(hasTau, found.getResult(0), lb.i32(0));
  Value tauTies = lb.select(hasTau, found.getResult(1), lb.i32(0));
  Value upperKey = lb.select(hasUpper, found.getResult(2), noKey);
  fillMultiset(pEnd, hasTau, hasUpper, tauKey, tauTies, upperKey);
  SortOp::create(b, loc, entries);
  parallel(i0, rowEnd, [&](Value row) {
    Value size = lb.addi(row, offset);
    Value value = lb.ifValue(
        lb.cmpi(CmpIPredicate::slt, size, win), [&] { return lb.negInf(); },
        [&] { return rowThreshold(size, pEnd, m); });
    lb.store(value, tau, {bIdx, g, row});
  });
}

/// The multiset, unsorted: padding, tau, the values strictly between tau
/// and upper, the block's new keys, upper.
void SelectProgram::fillMultiset(Value pEnd, Value hasTau, Value hasUpper,
                                 Value tauKey, Value tauTies, Value upperKey) {
  Value zero = lb.index(0), one = lb.i32(1);
  Value noEntry = entry(lb.i32(-1), everyRow(lb.i32(0)));
  Value tauEntry = entry(tauKey, everyRow(tauTies));
  parallel(zero, lb.index(kSortSlots), [&](Value slot) {
    Value isTau = lb.cmpi(CmpIPredicate::eq, slot, lb.index(kTauSlot));
    WriteOp::create(b, loc, lb.select(isTau, tauEntry, noEntry), entries, slot);
    lb.ifThen(lb.cmpi(CmpIPredicate::ult, slot, lb.index(2)), [&] {
      WriteOp::create(b, loc, lb.i32(0), counters, slot);
    });
  });
  BarrierOp::create(b, loc);
  parallel(zero, pEnd, [&](Value j) {
    Value key = keyOf(j);
    Value aboveTau = lb.ori(lb.cmpi(CmpIPredicate::eq, hasTau, lb.boolean(false)),
                            lb.cmpi(CmpIPredicate::ugt, key, tauKey));
    Value belowUpper =
        lb.ori(lb.cmpi(CmpIPredicate::eq, hasUpper, lb.boolean(false)),
               lb.cmpi(CmpIPredicate::ult, key, upperKey));
    lb.ifThen(lb.andi(aboveTau, belowUpper), [&] {
      Value slot = AtomicAddOp::create(b, loc, b.getI32Type(), one, counters,
                                       lb.index(kAppendCounter));
      WriteOp::create(b, loc, entry(key, everyRow(one)), entries,
                      lb.toIndex(slot));
    });
    Value isUpper = lb.cmpi(CmpIPredicate::eq, key, upperKey);
    lb.ifThen(lb.andi(hasUpper, lb.andi(aboveTau, isUpper)), [&] {
      AtomicAddOp::create(b, loc, b.getI32Type(), one, counters, lb.index(kUpperCounter));
    });
  });
  Value newEnd = lb.mini(lb.index(keys), lb.addi(pEnd, lb.index(kSelectRows)));
  parallel(pEnd, newEnd, [&](Value j) {
    Value slot = lb.addi(lb.index(kNewSlot), lb.subi(j, pEnd));
    WriteOp::create(b, loc, entry(keyOf(j), lb.toI32(j)), entries, slot);
  });
  BarrierOp::create(b, loc);
  parallel(zero, lb.select(hasUpper, lb.index(1), zero), [&](Value) {
    Value copies = ReadOp::create(b, loc, b.getI32Type(), counters,
                                  lb.index(kUpperCounter));
    WriteOp::create(b, loc, entry(upperKey, everyRow(copies)), entries,
                    lb.index(kUpperSlot));
  });
}

/// The threshold of a row that ranks `size` >= W keys: the entry of the
/// sorted multiset where the row's count reaches its rank.
Value SelectProgram::rowThreshold(Value size, Value pEnd, Value m) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value one = lb.index(1), zero = lb.index(0);
  Value rank = lb.toI32(lb.subi(
      lb.addi(lb.subi(size, lb.index(window)), one), lb.subi(pEnd, m)));
  Value size32 = lb.toI32(size);
  // What an entry adds to the row's count.
  auto weight = [&](Value entry) {
    Value payload = arith::TruncIOp::create(b, loc, i32, entry);
    Value shared = lb.cmpi(CmpIPredicate::slt, payload, lb.i32(0));
    Value visible =
        lb.ori(shared, lb.cmpi(CmpIPredicate::slt, payload, size32));
    return lb.select(visible, lb.select(shared, everyRow(payload), lb.i32(1)),
                     lb.i32(0));
  };
  auto read = [&](Value slot) {
    return ReadOp::create(b, loc, i64, entries, slot).getResult();
  };
  // Groups of kWalkSlots entries, read together, until the count reaches
  // the rank: the last group's start, the count before it, the count after
  // it, its entries.
  SmallVector<Type> group = {b.getIndexType(), i32, i32};
  group.append(kWalkSlots, i64);
  auto walk =
      scf::WhileOp::create(b, loc, group, ValueRange{zero, lb.i32(0)});
  {
    OpBuilder::InsertionGuard guard(b);
    Block *before = b.createBlock(&walk.getBefore(), {},
                                  {b.getIndexType(), i32}, {loc, loc});
    Value slot = before->getArgument(0), count = before->getArgument(1);
    SmallVector<Value> forward = {slot, count, count};
    for (int64_t k = 0; k < kWalkSlots; ++k) {
      forward.push_back(read(lb.addi(slot, lb.index(k))));
      forward[2] = lb.addi(forward[2], weight(forward.back()));
    }
    Value more = lb.andi(
        lb.cmpi(CmpIPredicate::slt, forward[2], rank),
        lb.cmpi(CmpIPredicate::ult, slot, lb.index(kSortSlots - kWalkSlots)));
    scf::ConditionOp::create(b, loc, more, forward);
    Block *after = b.createBlock(&walk.getAfter(), {}, group,
                                 SmallVector<Location>(group.size(), loc));
    scf::YieldOp::create(
        b, loc,
        ValueRange{lb.addi(after->getArgument(0), lb.index(kWalkSlots)),
                   after->getArgument(2)});
  }
  // The group's first entry reaching the rank; none: the last slot.
  Value running = walk.getResult(1);
  Value found = walk.getResults().back();
  Value done = lb.boolean(false);
  for (int64_t k = 0; k < kWalkSlots; ++k) {
    Value entry = walk.getResult(3 + k);
    running = lb.addi(running, weight(entry));
    Value hit = lb.andi(lb.cmpi(CmpIPredicate::sge, running, rank),
                        lb.cmpi(CmpIPredicate::eq, done, lb.boolean(false)));
    found = lb.select(hit, entry, found);
    done = lb.ori(done, hit);
  }
  return lb.fromOrderedKey(arith::TruncIOp::create(
      b, loc, i32, arith::ShRUIOp::create(b, loc, found, lb.i64(32))));
}

} // namespace

KernelConfigAttr mlir::wm::selectConfig(MLIRContext *context) {
  return KernelConfigAttr::get(context, kSelectWarps, kSelectWarpRows,
                               /*stages=*/1, /*candidates=*/kSortSlots,
                               /*tile_keys=*/kSelectRows,
                               /*q_in_registers=*/false, /*wgmma=*/false,
                               /*min_ctas=*/0);
}

ProgramOp mlir::wm::buildSelectProgram(OpBuilder &b, DmaSelectOp op,
                                       ValueRange buffers) {
  Location loc = op.getLoc();
  auto bias = op.getBias().getType();
  int64_t rowBlocks =
      op.hasRowThresholds() ? llvm::divideCeil(op.getQueryLen(), kSelectRows)
                            : 1;
  SmallVector<int64_t> grid = {bias.getDimSize(0), bias.getDimSize(1),
                               rowBlocks};
  return ProgramOp::create(b, loc, "dma_select_blocks", grid,
                           selectConfig(op.getContext()), buffers,
                           [&](OpBuilder &body, Block &block) {
                             SelectProgram(body, op).build(block);
                           });
}

namespace {

/// wm.dma_select on tensors: the bias read as a buffer, tau written by the
/// program into a fresh one.
struct SelectToProgram : OpRewritePattern<DmaSelectOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DmaSelectOp op,
                                PatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    auto type = cast<RankedTensorType>(op.getType());
    SmallVector<Value> sizes;
    for (int64_t d : type.getShape())
      sizes.push_back(lb.index(d));
    SmallVector<Value> buffers = {lb.bufferOf(op.getBias()),
                                  lb.allocResult(type, sizes)};
    buildSelectProgram(rewriter, op, buffers);
    rewriter.replaceOp(op, lb.tensorOf(buffers[1], type));
    return success();
  }
};

} // namespace

void mlir::wm::populateSelectToTilePatterns(RewritePatternSet &patterns) {
  patterns.add<SelectToProgram>(patterns.getContext());
}
