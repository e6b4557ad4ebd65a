//===- Memory.cpp - Shared buffers, copies and sync on the GPU ------------===//

#include "Lowering.h"

#include "wm/Conversion/WMToGPU/TileChunks.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpIPredicate;

namespace {

/// The word offset the outlining gave each shared buffer.
constexpr StringLiteral kOffsetAttr = "wm_tile.offset";

struct AllocSharedToGPU : TilePattern<AllocSharedOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(AllocSharedOp op, OneToNOpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto offset = op->getAttrOfType<IntegerAttr>(kOffsetAttr);
    if (!offset)
      return rewriter.notifyMatchFailure(op, "no shared layout");
    Emitter e(rewriter, op.getLoc());
    rewriter.replaceOp(op, e.elementPointer(kernel.shared, rewriter.getI32Type(),
                                            e.i32(offset.getInt())));
    return success();
  }
};

struct StageToGPU : TilePattern<StageOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(StageOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value word = e.muli(adaptor.getIndex().front(),
                        e.index(sharedWords(op.getType())));
    rewriter.replaceOp(op, e.elementPointer(adaptor.getBuffer().front(),
                                            rewriter.getI32Type(), e.toI32(word)));
    return success();
  }
};

struct ReadToGPU : TilePattern<ReadOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(ReadOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    rewriter.replaceOp(op, e.loadShared(adaptor.getBuffer().front(), op.getType(),
                                        adaptor.getIndex().front()));
    return success();
  }
};

struct SplatToGPU : TilePattern<SplatOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(SplatOp op, OneToNOpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Type> types;
    if (failed(getTypeConverter()->convertType(op.getType(), types)))
      return failure();
    Emitter e(rewriter, op.getLoc());
    Value value = e.f32(op.getValue().convertToDouble());
    rewriter.replaceOpWithMultiple(
        op, {SmallVector<Value>(types.size(), value)});
    return success();
  }
};

/// Whether index `v` is provably a multiple of `m`: a constant one, a
/// product with such a factor, or a sum of such terms.
bool isMultipleOf(Value v, int64_t m) {
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return *c % m == 0;
  if (auto mul = v.getDefiningOp<arith::MulIOp>())
    return isMultipleOf(mul.getLhs(), m) || isMultipleOf(mul.getRhs(), m);
  if (auto add = v.getDefiningOp<arith::AddIOp>())
    return isMultipleOf(add.getLhs(), m) && isMultipleOf(add.getRhs(), m);
  return false;
}

} // namespace

bool tile::alignedColumns(MemRefType type, Value first, int64_t m) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.back() != 1 ||
      ShapedType::isDynamic(offset) || offset % m != 0)
    return false;
  for (int64_t stride : ArrayRef(strides).drop_back())
    if (ShapedType::isDynamic(stride) || stride % m != 0)
      return false;
  return isMultipleOf(first, m);
}

namespace {

/// Q's mma A fragments, rows past the end zero: per 16-wide key step, the
/// pairs (A, 2 quad), (B, 2 quad), (A, 2 quad + 8), (B, 2 quad + 8).
struct LoadToGPU : TilePattern<LoadOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(LoadOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ArrayRef<int64_t> shape = op.getType().getShape();
    if (shape.size() == 1)
      return loadRowVector(op, adaptor, rewriter);
    if (op.getType().getElementType().isF32())
      return loadFragments(op, adaptor, rewriter);
    if (kernel.rowTiles() != 1 || op.getRowDim() != 1)
      return rewriter.notifyMatchFailure(op, "not a Q fragment load");
    Emitter e(rewriter, op.getLoc());
    Value src = adaptor.getSrc().front();
    auto type = cast<MemRefType>(src.getType());
    SmallVector<Value> at;
    for (ValueRange index : adaptor.getIndices())
      at.push_back(index.front());
    Value rowsEnd = e.index(type.getDimSize(1));
    Value base = e.basePointer(src);
    auto loadPair = [&](Value row, Value d) {
      SmallVector<Value> element = at;
      element[1] = e.addi(at[1], row);
      element[3] = e.addi(at[3], d);
      Value absolute = element[1];
      return e.ifValue(
          e.cmpi(CmpIPredicate::ult, absolute, rowsEnd),
          [&] { return e.loadPair(base, linearOffset(e, type, element)); },
          [&] { return e.i32(0); }, rewriter.getI32Type());
    };
    SmallVector<Value> fragments;
    for (int64_t ks = 0; ks < shape[1] / 16; ++ks) {
      Value d0 = e.addi(e.index(ks * 16), e.muli(kernel.quad, e.index(2)));
      Value d1 = e.addi(d0, e.index(8));
      Value a = kernel.rowA[0], b = kernel.rowB[0];
      fragments.push_back(loadPair(a, d0));
      fragments.push_back(loadPair(b, d0));
      fragments.push_back(loadPair(a, d1));
      fragments.push_back(loadPair(b, d1));
    }
    rewriter.replaceOpWithMultiple(op, {fragments});
    return success();
  }

  /// An f32 tile in the C-fragment layout: each lane loads its column pairs
  /// of rows A and B (one 32-bit load per pair from a 16-bit source),
  /// converted; rows past the end read 0.
  LogicalResult loadFragments(LoadOp op, OneToNOpAdaptor adaptor,
                              ConversionPatternRewriter &rewriter) const {
    Emitter e(rewriter, op.getLoc());
    Value src = adaptor.getSrc().front();
    auto type = cast<MemRefType>(src.getType());
    SmallVector<Value> at = singles(adaptor.getIndices());
    int64_t rowDim = op.getRowDim();
    Value rowsEnd = e.index(type.getDimSize(rowDim));
    int64_t colTiles = op.getType().getShape()[1] / 8;
    Type element = type.getElementType();
    bool narrow = element.getIntOrFloatBitWidth() == 16;
    // f32 column pairs load as one 8-byte access where every pair provably
    // starts at an even element: even strides (but the last) and offset,
    // and an even first column.
    bool pairsAligned = !narrow && alignedColumns(type, at.back(), 2);
    Value base = narrow || pairsAligned ? e.basePointer(src) : Value();
    SmallVector<Type> pairTypes(2 * colTiles, rewriter.getF32Type());
    SmallVector<Value> values;
    for (int64_t r = 0; r < kernel.rowTiles(); ++r) {
      SmallVector<SmallVector<Value>> rows;
      for (Value relative : {kernel.rowA[r], kernel.rowB[r]}) {
        SmallVector<Value> element0 = at;
        element0[rowDim] = e.addi(at[rowDim], relative);
        rows.push_back(e.ifValues(
            e.cmpi(CmpIPredicate::ult, element0[rowDim], rowsEnd), pairTypes,
            [&] {
              SmallVector<Value> row;
              for (int64_t nt = 0; nt < colTiles; ++nt) {
                SmallVector<Value> pair = element0;
                pair.back() = e.addi(at.back(), e.addi(e.index(nt * 8),
                                                       e.muli(kernel.quad, e.index(2))));
                if (narrow) {
                  auto [lo, hi] = e.unpack(
                      e.loadPair(base, linearOffset(e, type, pair)), element);
                  row.append({lo, hi});
                  continue;
                }
                if (pairsAligned) {
                  llvm::append_range(
                      row, e.loadVector(base, element,
                                        linearOffset(e, type, pair), 2));
                  continue;
                }
                row.push_back(e.load(src, pair));
                pair.back() = e.addi(pair.back(), e.index(1));
                row.push_back(e.load(src, pair));
              }
              return row;
            },
            [&] { return SmallVector<Value>(pairTypes.size(), e.f32(0.0)); }));
      }
      for (int64_t nt = 0; nt < colTiles; ++nt)
        values.append({rows[0][2 * nt], rows[0][2 * nt + 1], rows[1][2 * nt],
                       rows[1][2 * nt + 1]});
    }
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }

  /// A row vector (the lse of the rows): each lane loads its rows A and B.
  LogicalResult loadRowVector(LoadOp op, OneToNOpAdaptor adaptor,
                              ConversionPatternRewriter &rewriter) const {
    Emitter e(rewriter, op.getLoc());
    Value src = adaptor.getSrc().front();
    SmallVector<Value> at = singles(adaptor.getIndices());
    int64_t rowDim = op.getRowDim();
    Value rowsEnd = e.index(cast<MemRefType>(src.getType()).getDimSize(rowDim));
    SmallVector<Value> values;
    for (int64_t r = 0; r < kernel.rowTiles(); ++r)
      for (Value relative : {kernel.rowA[r], kernel.rowB[r]}) {
        SmallVector<Value> element = at;
        element[rowDim] = e.addi(at[rowDim], relative);
        values.push_back(e.ifValue(
            e.cmpi(CmpIPredicate::ult, element[rowDim], rowsEnd),
            [&] { return e.load(src, element); }, [&] { return e.f32(0.0); }));
      }
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

/// Rows of `src` named by the candidate list, by cp.async: 4 bytes per key
/// (thread t < rows copies row t) for 1-D tiles, else the 16-byte chunks of
/// TileChunks; absent rows are zero-filled and read nothing.
struct GatherAsyncToGPU : TilePattern<GatherAsyncOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(GatherAsyncOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value src = adaptor.getSrc().front(), rows = adaptor.getRows().front();
    Value dst = adaptor.getDst().front();
    Value first = adaptor.getFirst().front(), count = adaptor.getCount().front();
    auto type = cast<MemRefType>(src.getType());
    SharedType dstType = op.getDst().getType();
    int64_t rowDim = op.getRowDim(), tileRows = dstType.getShape()[0];
    SmallVector<Value> at;
    for (ValueRange index : adaptor.getIndices())
      at.push_back(index.front());
    at.insert(at.begin() + rowDim, e.index(0));
    Value rowBase = linearOffset(e, type, at);
    SmallVector<int64_t> strides;
    int64_t unusedOffset;
    if (failed(type.getStridesAndOffset(strides, unusedOffset)))
      return failure();
    Value base = e.basePointer(src);
    Value zero = e.index(0);
    Type i32 = rewriter.getI32Type(), element = type.getElementType();
    // The key of slot `first + row`, and whether it is present.
    auto keyOf = [&](Value row) -> std::pair<Value, Value> {
      Value slot = e.addi(first, row);
      Value valid = e.cmpi(CmpIPredicate::ult, slot, count);
      Value key = e.toIndex(e.loadShared(rows, i32, e.select(valid, slot, zero)));
      return {key, valid};
    };
    auto source = [&](Value key, Value column) {
      Value offset = e.addi(rowBase, e.muli(e.toI64(key), e.i64(strides[rowDim])));
      return e.elementPointer(base, element, e.addi(offset, e.toI64(column)));
    };
    if (dstType.getShape().size() == 1) {
      if (!element.isF32() || tileRows > kernel.config.getThreads())
        return rewriter.notifyMatchFailure(op, "1-D gathers copy 4-byte rows");
      e.ifThen(e.cmpi(CmpIPredicate::ult, kernel.tid, e.index(tileRows)), [&] {
        auto [key, valid] = keyOf(kernel.tid);
        e.copyAsync(e.elementPointer(dst, element, e.toI32(kernel.tid)),
                    source(key, zero), 4, valid);
      });
      rewriter.eraseOp(op);
      return success();
    }
    int64_t columns = dstType.getShape()[1];
    TileChunks chunks{tileRows, columns / 8, kernel.config.getThreads()};
    if (element.getIntOrFloatBitWidth() != 16 || !chunks.isEven())
      return rewriter.notifyMatchFailure(op, "2-D gathers copy 16-bit rows");
    IndexArith arith{e};
    int64_t rowWords = sharedRowWords(dstType);
    for (int64_t step = 0; step < chunks.steps(); ++step) {
      auto [row, c4] = chunks.chunkAt(arith, step, kernel.tid);
      auto [key, valid] = keyOf(row);
      Value word = e.addi(e.muli(row, e.index(rowWords)), e.muli(c4, e.index(4)));
      e.copyAsync(e.elementPointer(dst, i32, e.toI32(word)),
                  source(key, e.muli(c4, e.index(8))), 16, valid);
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// Contiguous rows into padded shared rows, one 16-byte chunk per thread
/// and step; rows past the end are zero-filled.
struct CopyAsyncToGPU : TilePattern<CopyAsyncOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(CopyAsyncOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SharedType dstType = op.getDst().getType();
    ArrayRef<int64_t> shape = dstType.getShape();
    int64_t threads = kernel.config.getThreads();
    if (shape.size() == 1)
      return copyElements(op, adaptor, rewriter);
    if (shape.size() != 2 || dstType.getElementType().getIntOrFloatBitWidth() != 16 ||
        shape[1] % 8 != 0)
      return rewriter.notifyMatchFailure(op, "copies whole 16-bit rows");
    Emitter e(rewriter, op.getLoc());
    Value src = adaptor.getSrc().front(), dst = adaptor.getDst().front();
    auto type = cast<MemRefType>(src.getType());
    SmallVector<Value> at = singles(adaptor.getIndices());
    int64_t rowDim = op.getRowDim(), chunks = shape[1] / 8;
    Value first = at[rowDim], rowsEnd = e.index(type.getDimSize(rowDim));
    Value base = e.basePointer(src);
    int64_t rowWords = sharedRowWords(dstType);
    auto copyChunk = [&](Value item) {
      Value row = e.divi(item, e.index(chunks));
      Value c4 = e.remi(item, e.index(chunks));
      Value absolute = e.addi(first, row);
      Value valid = e.cmpi(CmpIPredicate::ult, absolute, rowsEnd);
      SmallVector<Value> element = at;
      element[rowDim] = e.select(valid, absolute, first);
      element.back() = e.addi(at.back(), e.muli(c4, e.index(8)));
      Value word = e.addi(e.muli(row, e.index(rowWords)), e.muli(c4, e.index(4)));
      e.copyAsync(e.elementPointer(dst, rewriter.getI32Type(), e.toI32(word)),
                  e.elementPointer(base, type.getElementType(),
                                   linearOffset(e, type, element)),
                  16, valid);
    };
    // With fewer chunks than a multiple of the threads, the last step's
    // spare threads copy nothing.
    int64_t items = shape[0] * chunks;
    for (int64_t step = 0;
         step < static_cast<int64_t>(llvm::divideCeil(items, threads));
         ++step) {
      Value item = e.addi(e.index(step * threads), kernel.tid);
      if ((step + 1) * threads <= items)
        copyChunk(item);
      else
        e.ifThen(e.cmpi(CmpIPredicate::ult, item, e.index(items)),
                 [&] { copyChunk(item); });
    }
    rewriter.eraseOp(op);
    return success();
  }

  LogicalResult copyElements(CopyAsyncOp op, OneToNOpAdaptor adaptor,
                             ConversionPatternRewriter &rewriter) const;
};

/// Into a 1-D f32 buffer: 4 bytes per element, the elements spread over the
/// threads; those past the end are zero-filled.
LogicalResult
CopyAsyncToGPU::copyElements(CopyAsyncOp op, OneToNOpAdaptor adaptor,
                             ConversionPatternRewriter &rewriter) const {
  SharedType dstType = op.getDst().getType();
  if (!dstType.getElementType().isF32() ||
      op.getSrc().getType().getElementType() != dstType.getElementType())
    return rewriter.notifyMatchFailure(op, "copies f32 elements");
  Emitter e(rewriter, op.getLoc());
  Value src = adaptor.getSrc().front(), dst = adaptor.getDst().front();
  auto type = cast<MemRefType>(src.getType());
  SmallVector<Value> at = singles(adaptor.getIndices());
  int64_t rowDim = op.getRowDim(), threads = kernel.config.getThreads();
  int64_t count = dstType.getShape()[0];
  Value first = at[rowDim], rowsEnd = e.index(type.getDimSize(rowDim));
  Value base = e.basePointer(src);
  Type f32 = rewriter.getF32Type();
  for (int64_t step = 0;
       step < static_cast<int64_t>(llvm::divideCeil(count, threads)); ++step) {
    Value item = e.addi(e.index(step * threads), kernel.tid);
    e.ifThen(e.cmpi(CmpIPredicate::ult, item, e.index(count)), [&] {
      Value absolute = e.addi(first, item);
      Value valid = e.cmpi(CmpIPredicate::ult, absolute, rowsEnd);
      SmallVector<Value> element = at;
      element[rowDim] = e.select(valid, absolute, first);
      e.copyAsync(e.elementPointer(dst, f32, e.toI32(item)),
                  e.elementPointer(base, f32, linearOffset(e, type, element)),
                  4, valid);
    });
  }
  rewriter.eraseOp(op);
  return success();
}

struct CommitToGPU : TilePattern<CommitOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(CommitOp op, OneToNOpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<NVVM::CpAsyncCommitGroupOp>(op);
    return success();
  }
};

struct WaitToGPU : TilePattern<WaitOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(WaitOp op, OneToNOpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<NVVM::CpAsyncWaitGroupOp>(op, op.getPending());
    return success();
  }
};

struct BarrierToGPU : TilePattern<BarrierOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(BarrierOp op, OneToNOpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<gpu::BarrierOp>(op);
    return success();
  }
};

/// Nanoseconds a waiting thread sleeps between polls of a flag.
constexpr int32_t kPollSleepNs = 64;

/// A pointer to the i32 flag at `indices` of global `flags`.
Value flagPointer(Emitter &e, Value flags, MemRefType type, ValueRange at) {
  return e.elementPointer(e.basePointer(flags), e.builder().getI32Type(),
                          linearOffset(e, type, at));
}

/// GPU-scope atomics, as "device" is the GPU in LLVM's NVPTX syncscopes.
constexpr StringLiteral kGpuScope = "device";

/// Barrier; then thread 0 stores the count with release at GPU scope
/// (st.release.gpu), which covers the CTA's writes the barrier ordered
/// before it.
struct SignalToGPU : TilePattern<SignalOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(SignalOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    e.barrier();
    e.ifThen(e.cmpi(CmpIPredicate::eq, kernel.tid, e.index(0)), [&] {
      Value ptr = flagPointer(e, adaptor.getFlags().front(),
                              op.getFlags().getType(),
                              singles(adaptor.getIndices()));
      LLVM::StoreOp::create(rewriter, op.getLoc(),
                            e.toI32(adaptor.getValue().front()), ptr,
                            /*alignment=*/4, /*isVolatile=*/false,
                            /*isNonTemporal=*/false,
                            /*isInvariantGroup=*/false,
                            LLVM::AtomicOrdering::release, kGpuScope);
    });
    rewriter.eraseOp(op);
    return success();
  }
};

/// Thread 0 polls the flag with acquire loads at GPU scope (ld.acquire.gpu)
/// until it reaches the count; the barrier then orders the CTA's reads
/// after the acquire.
struct WaitSignalToGPU : TilePattern<WaitSignalOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(WaitSignalOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Location loc = op.getLoc();
    Value target = e.toI32(adaptor.getValue().front());
    Type i32 = rewriter.getI32Type();
    e.ifThen(e.cmpi(CmpIPredicate::eq, kernel.tid, e.index(0)), [&] {
      Value ptr = flagPointer(e, adaptor.getFlags().front(),
                              op.getFlags().getType(),
                              singles(adaptor.getIndices()));
      scf::WhileOp::create(
          rewriter, loc, TypeRange{}, ValueRange{},
          [&](OpBuilder &b, Location l, ValueRange) {
            Value seen = LLVM::LoadOp::create(
                b, l, i32, ptr, /*alignment=*/4, /*isVolatile=*/false,
                /*isNonTemporal=*/false, /*isInvariant=*/false,
                /*isInvariantGroup=*/false, LLVM::AtomicOrdering::acquire,
                kGpuScope);
            Value behind = arith::CmpIOp::create(b, l, CmpIPredicate::slt,
                                                 seen, target);
            scf::ConditionOp::create(b, l, behind, ValueRange{});
          },
          [&](OpBuilder &b, Location l, ValueRange) {
            Value sleep = arith::ConstantIntOp::create(b, l, kPollSleepNs, 32);
            NVVM::NanosleepOp::create(b, l, sleep);
            scf::YieldOp::create(b, l);
          });
    });
    e.barrier();
    rewriter.eraseOp(op);
    return success();
  }
};

struct LaunchDependentsToGPU : TilePattern<LaunchDependentsOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(LaunchDependentsOp op, OneToNOpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<NVVM::GriddepcontrolOp>(
        op, NVVM::GridDepActionKind::launch_dependents);
    return success();
  }
};

} // namespace

void tile::populateTileMemoryToGPUPatterns(TypeConverter &converter,
                                           RewritePatternSet &patterns,
                                           const KernelContext &kernel) {
  patterns.add<AllocSharedToGPU, StageToGPU, ReadToGPU, SplatToGPU, LoadToGPU,
               CopyAsyncToGPU, GatherAsyncToGPU, CommitToGPU, WaitToGPU,
               BarrierToGPU, SignalToGPU, WaitSignalToGPU,
               LaunchDependentsToGPU>(
      converter, patterns.getContext(), kernel);
}
