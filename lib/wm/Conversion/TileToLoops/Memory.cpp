//===- Memory.cpp - Tile allocation, copies and sync to CPU loops ---------===//

#include "Patterns.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpIPredicate;

namespace {

struct AllocSharedToLoops : OpConversionPattern<AllocSharedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AllocSharedOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value buffer = tileBuffer(rewriter, op, op.getType());
    Type type = getTypeConverter()->convertType(op.getType());
    rewriter.replaceOpWithNewOp<memref::CastOp>(op, type, buffer);
    return success();
  }
};

struct StageToLoops : OpConversionPattern<StageOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StageOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ArrayRef<int64_t> shape = op.getType().getShape();
    SmallVector<OpFoldResult> offsets(shape.size() + 1, rewriter.getIndexAttr(0));
    offsets[0] = adaptor.getIndex();
    SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1)};
    for (int64_t d : shape)
      sizes.push_back(rewriter.getIndexAttr(d));
    SmallVector<OpFoldResult> strides(shape.size() + 1, rewriter.getIndexAttr(1));
    auto source = cast<MemRefType>(adaptor.getBuffer().getType());
    auto reduced = memref::SubViewOp::inferRankReducedResultType(
        shape, source, offsets, sizes, strides);
    Value view = memref::SubViewOp::create(rewriter, op.getLoc(), reduced,
                                           adaptor.getBuffer(), offsets, sizes,
                                           strides);
    Type type = getTypeConverter()->convertType(op.getType());
    rewriter.replaceOpWithNewOp<memref::CastOp>(op, type, view);
    return success();
  }
};

struct ReadToLoops : OpConversionPattern<ReadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<memref::LoadOp>(op, adaptor.getBuffer(),
                                                ValueRange{adaptor.getIndex()});
    return success();
  }
};

struct SplatToLoops : OpConversionPattern<SplatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SplatOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value buffer = tileBuffer(rewriter, op, op.getType());
    Value value = lb.f32(op.getValue().convertToDouble());
    forEachElement(lb, op.getType().getShape(),
                   [&](ValueRange at) { lb.store(value, buffer, at); });
    rewriter.replaceOp(op, buffer);
    return success();
  }
};

/// Rows `first + r` of `src` (rows at or past its end read 0) into `dst`,
/// each row addressed by `rowIndex(r)` (null: absent).
void copyRows(LoopBuilder &lb, Value src, ValueRange indices, int64_t rowDim,
              Value dst, function_ref<Value(Value)> rowIndex) {
  auto dstType = cast<MemRefType>(dst.getType());
  auto srcType = cast<MemRefType>(src.getType());
  bool matrix = dstType.getRank() == 2;
  Value rowsEnd = lb.dim(src, rowDim);
  forEachElement(lb, dstType.getShape(), [&](ValueRange rc) {
    Value row = rowIndex(rc[0]);
    Value zero = lb.f32(0.0);
    Value valid = lb.cmpi(CmpIPredicate::ult, row, rowsEnd);
    Value value = lb.ifValue(
        valid,
        [&] {
          SmallVector<Value> at(indices);
          at[rowDim] = row;
          if (matrix)
            at[srcType.getRank() - 1] =
                lb.addi(at[srcType.getRank() - 1], rc[1]);
          return lb.load(src, at);
        },
        [&] { return zero; });
    lb.store(value, dst, rc);
  });
}

struct LoadToLoops : OpConversionPattern<LoadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LoadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value buffer = tileBuffer(rewriter, op, op.getType());
    Value first = adaptor.getIndices()[op.getRowDim()];
    copyRows(lb, adaptor.getSrc(), adaptor.getIndices(), op.getRowDim(), buffer,
             [&](Value r) { return lb.addi(first, r); });
    rewriter.replaceOp(op, buffer);
    return success();
  }
};

struct CopyAsyncToLoops : OpConversionPattern<CopyAsyncOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CopyAsyncOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value first = adaptor.getIndices()[op.getRowDim()];
    copyRows(lb, adaptor.getSrc(), adaptor.getIndices(), op.getRowDim(),
             adaptor.getDst(), [&](Value r) { return lb.addi(first, r); });
    rewriter.eraseOp(op);
    return success();
  }
};

struct GatherAsyncToLoops : OpConversionPattern<GatherAsyncOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherAsyncOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = lb.builder();
    SmallVector<Value> indices(adaptor.getIndices());
    int64_t rowDim = op.getRowDim();
    indices.insert(indices.begin() + rowDim, lb.index(0));
    // An absent slot addresses a row past the end: zeros.
    Value past = lb.dim(adaptor.getSrc(), rowDim);
    copyRows(lb, adaptor.getSrc(), indices, rowDim, adaptor.getDst(),
             [&](Value r) {
               Value slot = lb.addi(adaptor.getFirst(), r);
               Value present = lb.cmpi(CmpIPredicate::ult, slot,
                                       adaptor.getCount());
               Value key = lb.ifValue(
                   present, [&] { return keyAt(lb, adaptor.getRows(), slot); },
                   [&] { return past; }, b.getIndexType());
               return key;
             });
    rewriter.eraseOp(op);
    return success();
  }
};

/// Copies are synchronous on the CPU: nothing to order.
template <typename Op>
struct EraseToLoops : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.eraseOp(op);
    return success();
  }
};

/// The programs run one after another: the count is stored for any later
/// reader, and every signal a wait_signal waits for was made before it.
struct SignalToLoops : OpConversionPattern<SignalOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SignalOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value count = arith::IndexCastOp::create(
        rewriter, op.getLoc(), rewriter.getI32Type(), adaptor.getValue());
    rewriter.replaceOpWithNewOp<memref::StoreOp>(op, count, adaptor.getFlags(),
                                                 adaptor.getIndices());
    return success();
  }
};

} // namespace

void tile::populateMemoryToLoopsPatterns(TypeConverter &converter,
                                         RewritePatternSet &patterns) {
  patterns.add<AllocSharedToLoops, StageToLoops, ReadToLoops, SplatToLoops,
               LoadToLoops, CopyAsyncToLoops, GatherAsyncToLoops,
               EraseToLoops<CommitOp>, EraseToLoops<WaitOp>,
               EraseToLoops<BarrierOp>, SignalToLoops,
               EraseToLoops<WaitSignalOp>, EraseToLoops<LaunchDependentsOp>>(
      converter, patterns.getContext());
}
