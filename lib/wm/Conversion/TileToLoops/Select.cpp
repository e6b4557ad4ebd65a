//===- Select.cpp - Selection tile ops to CPU loops -----------------------===//
//
// The GPU's algorithms in order: radix_select runs the same digit passes
// (11, 11 and 10 bits, most significant first) on one histogram per rank,
// sort the same bitonic network, one compare-exchange at a time.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpIPredicate;

namespace {

/// The radix passes: (shift, bits) of each digit, most significant first.
constexpr std::pair<int64_t, int64_t> kRadixPasses[] = {{21, 11}, {10, 11}, {0, 10}};

struct WriteToLoops : OpConversionPattern<WriteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WriteOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<memref::StoreOp>(
        op, adaptor.getValue(), adaptor.getBuffer(), ValueRange{adaptor.getIndex()});
    return success();
  }
};

struct AtomicAddToLoops : OpConversionPattern<AtomicAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AtomicAddOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value old = lb.load(adaptor.getBuffer(), {adaptor.getIndex()});
    lb.store(lb.addi(old, adaptor.getValue()), adaptor.getBuffer(),
             {adaptor.getIndex()});
    rewriter.replaceOp(op, old);
    return success();
  }
};

/// The digit (from the top) where the count of keys at or above it reaches
/// `rank`, and the rank left within that digit's bin.
std::pair<Value, Value> findDigit(LoopBuilder &lb, Value hist, Value base,
                                  int64_t bins, Value rank) {
  OpBuilder &b = lb.builder();
  Location loc = lb.location();
  Value zero32 = lb.i32(0);
  // (keys above the bin, digit, rank left, found)
  auto loop = scf::ForOp::create(
      b, loc, lb.index(0), lb.index(bins), lb.index(1),
      ValueRange{zero32, zero32, zero32, lb.boolean(false)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    Value above = loop.getRegionIterArgs()[0];
    Value done = loop.getRegionIterArgs()[3];
    Value digit = lb.subi(lb.index(bins - 1), i);
    Value count = lb.load(hist, {lb.addi(base, digit)});
    Value through = lb.addi(above, count);
    Value hit = lb.andi(lb.cmpi(CmpIPredicate::eq, done, lb.boolean(false)),
                        lb.cmpi(CmpIPredicate::sge, through, rank));
    scf::YieldOp::create(
        b, loc,
        ValueRange{through,
                   lb.select(hit, lb.toI32(digit), loop.getRegionIterArgs()[1]),
                   lb.select(hit, lb.subi(rank, above),
                             loop.getRegionIterArgs()[2]),
                   lb.ori(done, hit)});
  }
  return {loop.getResult(1), loop.getResult(2)};
}

struct RadixSelectToLoops : OpConversionPattern<RadixSelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RadixSelectOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value hist = adaptor.getScratch();
    SmallVector<Value> results;
    for (auto [r, rank] : llvm::enumerate(adaptor.getRanks())) {
      Value base = lb.index(r * RadixSelectOp::kHistogramBins);
      Value prefix = lb.i32(0), mask = lb.i32(0), k = rank;
      for (auto [shift, bits] : kRadixPasses) {
        int64_t bins = int64_t(1) << bits;
        lb.forEach(lb.index(0), lb.index(bins), [&](Value d) {
          lb.store(lb.i32(0), hist, {lb.addi(base, d)});
        });
        lb.forEach(lb.index(0), adaptor.getEnd(), [&](Value j) {
          SmallVector<Value> at(adaptor.getIndices());
          at.push_back(j);
          Value key = lb.orderedKey(lb.load(adaptor.getBias(), at));
          Value masked = arith::AndIOp::create(b, loc, key, mask);
          lb.ifThen(lb.cmpi(CmpIPredicate::eq, masked, prefix), [&] {
            Value digit = arith::AndIOp::create(
                b, loc, arith::ShRUIOp::create(b, loc, key, lb.i32(shift)),
                lb.i32(bins - 1));
            Value slot = lb.addi(base, lb.toIndex(digit));
            lb.store(lb.addi(lb.load(hist, {slot}), lb.i32(1)), hist, {slot});
          });
        });
        auto [digit, rest] = findDigit(lb, hist, base, bins, k);
        prefix = arith::OrIOp::create(
            b, loc, prefix, arith::ShLIOp::create(b, loc, digit, lb.i32(shift)));
        mask = arith::OrIOp::create(
            b, loc, mask, lb.i32(static_cast<int32_t>((bins - 1) << shift)));
        k = rest;
      }
      results.push_back(prefix);
      results.push_back(k);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct SortToLoops : OpConversionPattern<SortOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SortOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value buffer = adaptor.getBuffer();
    int64_t n = op.getBuffer().getType().getShape()[0];
    auto bitClear = [&](Value i, int64_t mask) {
      return lb.cmpi(CmpIPredicate::eq,
                     arith::AndIOp::create(b, loc, i, lb.index(mask)),
                     lb.index(0));
    };
    for (int64_t size = 2; size <= n; size *= 2)
      for (int64_t stride = size / 2; stride >= 1; stride /= 2)
        lb.forEach(lb.index(0), lb.index(n), [&](Value i) {
          // Pair (i, i ^ stride) from its lower entry; ascending where the
          // `size` bit of i is clear.
          lb.ifThen(bitClear(i, stride), [&] {
            Value partner = lb.addi(i, lb.index(stride));
            Value low = lb.load(buffer, {i}), high = lb.load(buffer, {partner});
            Value ascending = bitClear(i, size);
            Value small = arith::MinUIOp::create(b, loc, low, high);
            Value large = arith::MaxUIOp::create(b, loc, low, high);
            lb.store(lb.select(ascending, small, large), buffer, {i});
            lb.store(lb.select(ascending, large, small), buffer, {partner});
          });
        });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void tile::populateSelectToLoopsPatterns(TypeConverter &converter,
                                         RewritePatternSet &patterns) {
  patterns.add<WriteToLoops, AtomicAddToLoops, RadixSelectToLoops, SortToLoops>(
      converter, patterns.getContext());
}
