//===- Scan.cpp - Tile ops of the chunked SSD scan on the GPU -------------===//
//
// `discretize` on warp 0: each lane sums a contiguous segment of the chunk,
// a warp prefix sum of the segment totals gives the offsets; the CTA then
// saves dt' and ld for the scan. The decay mask,
// the decay of rows and the output epilogue work on C fragments, each lane
// knowing the rows and columns of its values (Lowering.h). The in-place
// rotary of 16-bit shared tiles spreads the elements over the CTA's
// threads; barriers in the program order it.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpIPredicate;

namespace {

constexpr double kLog2E = 1.4426950408889634;

/// exp(v) as 2^(v log2 e), one ex2.approx.
Value fastExp(Emitter &e, Value v) { return e.exp2(e.mul(v, e.f32(kLog2E))); }

/// `body(item)` for the items [0, count) spread over the CTA's threads.
void forEachItem(Emitter &e, const KernelContext &kernel, int64_t count,
                 function_ref<void(Value)> body) {
  OpBuilder &b = e.builder();
  auto loop = scf::ForOp::create(b, e.location(), kernel.tid, e.index(count),
                                 e.index(kernel.config.getThreads()));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

struct DiscretizeToGPU : TilePattern<DiscretizeOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(DiscretizeOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    int64_t length = op.getSteps().getType().getShape()[0];
    int64_t segment = length / 32;
    Value steps = adaptor.getSteps().front();
    Value logDecay = adaptor.getLogDecay().front();
    Value a = adaptor.getA().front(), count = adaptor.getCount().front();
    Value bias = op.getBias() ? adaptor.getBias().front() : Value();
    SmallVector<Value> at = singles(adaptor.getIndices());
    int64_t rowDim = op.getRowDim();
    Value first = e.muli(kernel.lane, e.index(segment));
    Value lastStep = e.subi(count, e.index(1));
    e.ifThen(e.cmpi(CmpIPredicate::eq, kernel.warp, e.index(0)), [&] {
      // The segment's dt loads all issue before any is used: steps past the
      // chunk's end read its last one (in bounds) and count as 0.
      SmallVector<Value> raw;
      for (int64_t k = 0; k < segment; ++k) {
        SmallVector<Value> element = at;
        element[rowDim] = e.addi(
            at[rowDim], e.mini(e.addi(first, e.index(k)), lastStep));
        raw.push_back(e.load(adaptor.getDt().front(), element));
      }
      SmallVector<Value> stepValues, partial;
      Value local = e.f32(0.0);
      for (int64_t k = 0; k < segment; ++k) {
        Value s = e.addi(first, e.index(k));
        Value step = e.select(
            e.cmpi(CmpIPredicate::ult, s, count),
            e.ssdStep(raw[k], bias, op.getSoftplus(),
                      op.getDtMin().convertToDouble(),
                      op.getDtMax().convertToDouble()),
            e.f32(0.0));
        local = e.add(local, e.mul(step, a));
        stepValues.push_back(step);
        partial.push_back(local);
      }
      Value inclusive = e.warpInclusiveSum(local, kernel.lane);
      Value offset = e.sub(inclusive, local);
      Value total = gpu::ShuffleOp::create(rewriter, op.getLoc(), inclusive, 31,
                                           32, gpu::ShuffleMode::IDX)
                        .getShuffleResult();
      for (int64_t k = 0; k < segment; ++k) {
        Value s = e.addi(first, e.index(k));
        Value sum = e.add(offset, partial[k]);
        e.storeShared(stepValues[k], steps, s);
        e.storeShared(sum, logDecay, s);
        if (op.getWeights())
          e.storeShared(e.mul(e.exp(e.sub(total, sum)), stepValues[k]),
                        adaptor.getWeights().front(), s);
      }
      if (op.getTotal())
        e.ifThen(e.cmpi(CmpIPredicate::eq, kernel.lane, e.index(0)), [&] {
          e.store(total, adaptor.getTotal().front(),
                  singles(adaptor.getTotalIndices()));
        });
    });
    e.barrier();
    // The copy for the scan from shared memory, one element per thread: the
    // lanes' segments would write 4 bytes of each 32-byte sector.
    if (op.getSave())
      forEachItem(e, kernel, length, [&](Value s) {
        for (auto [slot, vector] :
             llvm::enumerate(std::array<Value, 2>{steps, logDecay})) {
          SmallVector<Value> saveAt = singles(adaptor.getSaveIndices());
          saveAt.append({e.index(slot), s});
          e.store(e.loadShared(vector, rewriter.getF32Type(), s),
                  adaptor.getSave().front(), saveAt);
        }
      });
    rewriter.eraseOp(op);
    return success();
  }
};

struct DecayMaskToGPU : TilePattern<DecayMaskOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(DecayMaskOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value logDecay = adaptor.getLogDecay().front();
    Value steps = adaptor.getSteps().front();
    Value firstRow = adaptor.getFirstRow().front();
    Value firstCol = adaptor.getFirstCol().front();
    int64_t columns = op.getType().getShape()[1];
    Type f32 = rewriter.getF32Type();
    ValueRange logits = adaptor.getLogits();
    SmallVector<Value> result;
    DenseMap<Value, Value> rowDecay;
    for (auto [n, logit] : llvm::enumerate(logits)) {
      auto [row, col] = positionOf(e, kernel, n, columns);
      Value t = e.addi(firstRow, row), s = e.addi(firstCol, col);
      Value &decayT = rowDecay[row];
      if (!decayT)
        decayT = e.loadShared(logDecay, f32, t);
      Value decay = fastExp(e, e.sub(decayT, e.loadShared(logDecay, f32, s)));
      Value weight = e.mul(logit, e.mul(decay, e.loadShared(steps, f32, s)));
      result.push_back(
          e.select(e.cmpi(CmpIPredicate::ule, s, t), weight, e.f32(0.0)));
    }
    rewriter.replaceOpWithMultiple(op, {result});
    return success();
  }
};

struct DecayRowsToGPU : TilePattern<DecayRowsOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(DecayRowsOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value first = adaptor.getFirstRow().front();
    SmallVector<Value> values;
    for (int64_t r = 0; r < kernel.rowTiles(); ++r)
      for (Value row : {kernel.rowA[r], kernel.rowB[r]})
        values.push_back(fastExp(
            e, e.loadShared(adaptor.getLogDecay().front(), rewriter.getF32Type(),
                            e.addi(first, row))));
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

/// Stores four i32 at a 16-byte aligned shared word.
void storeFour(Emitter &e, ArrayRef<Value> four, Value base, Value word) {
  OpBuilder &b = e.builder();
  Value vector = LLVM::PoisonOp::create(
      b, e.location(), VectorType::get({4}, b.getI32Type()));
  for (auto [i, v] : llvm::enumerate(four))
    vector = LLVM::InsertElementOp::create(b, e.location(), vector, v,
                                           e.i32(i));
  LLVM::StoreOp::create(b, e.location(), vector,
                        e.elementPointer(base, b.getI32Type(), e.toI32(word)),
                        /*alignment=*/16);
}

/// 16-byte rotary chunks whose table reads a thread issues together.
constexpr int64_t kRotateUnroll = 2;

struct RotateSharedToGPU : TilePattern<RotateSharedOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(RotateSharedOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MemRefType table = op.getCos().getType();
    int64_t rotary = table.getDimSize(table.getRank() - 1);
    Type tableElement = table.getElementType();
    if (rotary % 16 == 0 &&
        (tableElement.isF32() || tableElement.isBF16() || tableElement.isF16()))
      return rotateChunks(op, adaptor, rewriter);
    Emitter e(rewriter, op.getLoc());
    SharedType type = op.getBuffer().getType();
    int64_t rowDim = op.getRowDim();
    int64_t half = table.getDimSize(table.getRank() - 1) / 2;
    int64_t rowHalves = 2 * sharedRowWords(type);
    Value buffer = adaptor.getBuffer().front();
    Value cos = adaptor.getCos().front(), sin = adaptor.getSin().front();
    SmallVector<Value> at = singles(adaptor.getIndices());
    Value positions = e.index(table.getDimSize(rowDim));
    Type element = type.getElementType();
    forEachItem(e, kernel, type.getShape()[0] * half, [&](Value item) {
      Value row = e.divi(item, e.index(half));
      Value j = e.remi(item, e.index(half));
      Value k = e.addi(j, e.index(half));
      SmallVector<Value> position = at;
      position[rowDim] = e.addi(at[rowDim], row);
      e.ifThen(e.cmpi(CmpIPredicate::ult, position[rowDim], positions), [&] {
        auto entry = [&](Value table, Value column) {
          SmallVector<Value> element = position;
          element.push_back(column);
          return e.load(table, element);
        };
        Value rowStart = e.muli(row, e.index(rowHalves));
        auto read = [&](Value column) {
          Value v = e.loadShared(buffer, element, e.addi(rowStart, column));
          return arith::ExtFOp::create(rewriter, op.getLoc(),
                                       rewriter.getF32Type(), v)
              .getResult();
        };
        auto write = [&](Value v, Value column) {
          e.storeShared(
              arith::TruncFOp::create(rewriter, op.getLoc(), element, v),
              buffer, e.addi(rowStart, column));
        };
        Value u = read(j), w = read(k);
        write(e.sub(e.mul(u, entry(cos, j)), e.mul(w, entry(sin, j))), j);
        write(e.add(e.mul(w, entry(cos, k)), e.mul(u, entry(sin, k))), k);
      });
    });
    rewriter.eraseOp(op);
    return success();
  }

  /// With R a multiple of 16: per thread and step, one 16-byte chunk of 8
  /// dims and its partner R / 2 further, with 32-byte reads of f32 tables
  /// or 16-byte reads of 16-bit ones. A thread's table reads for
  /// kRotateUnroll chunks go out together (at a clamped, valid row), so that
  /// it waits for the L2 once per group; only the stores are guarded.
  LogicalResult rotateChunks(RotateSharedOp op, OneToNOpAdaptor adaptor,
                             ConversionPatternRewriter &rewriter) const {
    Emitter e(rewriter, op.getLoc());
    SharedType type = op.getBuffer().getType();
    MemRefType table = op.getCos().getType();
    int64_t rowDim = op.getRowDim();
    int64_t half = table.getDimSize(table.getRank() - 1) / 2;
    int64_t chunks = half / 8, items = type.getShape()[0] * chunks;
    int64_t threads = kernel.config.getThreads();
    int64_t unroll = std::clamp<int64_t>(items / threads, 1, kRotateUnroll);
    Value buffer = adaptor.getBuffer().front();
    Value cosBase = e.basePointer(adaptor.getCos().front());
    Value sinBase = e.basePointer(adaptor.getSin().front());
    SmallVector<Value> at = singles(adaptor.getIndices());
    Value positions = e.index(table.getDimSize(rowDim));
    Type i32 = rewriter.getI32Type(), f32 = rewriter.getF32Type();
    Type element = type.getElementType(), tableElement = table.getElementType();
    // Eight 16-bit values of type `half` in the 16 bytes at i32 word `word`
    // of `base`, as f32.
    auto unpackEight = [&](Value base, Value word, Type half) {
      SmallVector<Value> v;
      for (Value pair : e.loadFour(base, i32, word)) {
        auto [lo, hi] = e.unpack(pair, half);
        v.append({lo, hi});
      }
      return v;
    };
    // The table entries at element `offset + shift`.
    auto eight = [&](Value base, Value offset, int64_t shift) {
      Value at = e.addi(offset, e.i64(shift));
      if (!tableElement.isF32())
        return unpackEight(base, e.divi(at, e.i64(2)), tableElement);
      SmallVector<Value> v = e.loadFour(base, f32, at);
      llvm::append_range(v, e.loadFour(base, f32, e.addi(at, e.i64(4))));
      return v;
    };
    struct Chunk {
      Value valid, word;
      SmallVector<Value> cosJ, sinJ, cosK, sinK;
    };
    OpBuilder &b = e.builder();
    auto loop = scf::ForOp::create(b, e.location(), kernel.tid, e.index(items),
                                   e.index(threads * unroll));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Chunk, kRotateUnroll> group;
    for (int64_t k = 0; k < unroll; ++k) {
      Value item = e.addi(loop.getInductionVar(), e.index(k * threads));
      Value inRange = e.cmpi(CmpIPredicate::ult, item, e.index(items));
      item = e.mini(item, e.index(items - 1));
      Value row = e.divi(item, e.index(chunks));
      Value first = e.muli(e.remi(item, e.index(chunks)), e.index(8));
      SmallVector<Value> entry = at;
      Value position = e.addi(at[rowDim], row);
      entry[rowDim] = e.mini(position, e.subi(positions, e.index(1)));
      entry.push_back(first);
      Value offset = linearOffset(e, table, entry);
      Chunk c;
      c.valid =
          e.andi(inRange, e.cmpi(CmpIPredicate::ult, position, positions));
      c.word = e.addi(e.muli(row, e.index(sharedRowWords(type))),
                      e.divi(first, e.index(2)));
      c.cosJ = eight(cosBase, offset, 0), c.sinJ = eight(sinBase, offset, 0);
      c.cosK = eight(cosBase, offset, half),
      c.sinK = eight(sinBase, offset, half);
      group.push_back(std::move(c));
    }
    for (const Chunk &c : group) {
      e.ifThen(c.valid, [&] {
        Value wordK = e.addi(c.word, e.index(half / 2));
        SmallVector<Value> u = unpackEight(buffer, e.toI32(c.word), element);
        SmallVector<Value> w = unpackEight(buffer, e.toI32(wordK), element);
        SmallVector<Value> outJ, outK;
        for (int64_t i = 0; i < 8; i += 2) {
          auto rotated = [&](int64_t k, bool second) {
            return second
                       ? e.add(e.mul(w[k], c.cosK[k]), e.mul(u[k], c.sinK[k]))
                       : e.sub(e.mul(u[k], c.cosJ[k]), e.mul(w[k], c.sinJ[k]));
          };
          outJ.push_back(e.pack(rotated(i, false), rotated(i + 1, false), element));
          outK.push_back(e.pack(rotated(i, true), rotated(i + 1, true), element));
        }
        storeFour(e, outJ, buffer, c.word);
        storeFour(e, outK, buffer, wordK);
      });
    }
    rewriter.eraseOp(op);
    return success();
  }
};

struct ScaleAddToGPU : TilePattern<ScaleAddOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(ScaleAddOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value factor = adaptor.getFactor().front();
    SmallVector<Value> result;
    for (auto [v, addend] : llvm::zip(adaptor.getTile(), adaptor.getAddend()))
      result.push_back(e.add(e.mul(v, factor), addend));
    rewriter.replaceOpWithMultiple(op, {result});
    return success();
  }
};

/// D of the lane's 2 colTiles columns nt * 8 + 2 quad + k (k = 0, 1), in
/// that order: one load of a D per head, or one per column of a D per
/// (head, column).
SmallVector<Value> laneSkips(Emitter &e, const KernelContext &kernel,
                             Value skip, ValueRange head, int64_t colTiles) {
  if (cast<MemRefType>(skip.getType()).getRank() == 1)
    return SmallVector<Value>(2 * colTiles, e.load(skip, head));
  SmallVector<Value> d;
  for (int64_t i = 0; i < 2 * colTiles; ++i) {
    Value column = e.addi(e.index(i / 2 * 8 + i % 2),
                          e.muli(kernel.quad, e.index(2)));
    d.push_back(e.load(skip, {head[0], column}));
  }
  return d;
}

struct GateToGPU : TilePattern<GateOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(GateOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    SmallVector<Value> result;
    for (auto [acc, z] : llvm::zip_equal(adaptor.getAcc(), adaptor.getGate()))
      result.push_back(e.mul(acc, e.silu(z)));
    rewriter.replaceOpWithMultiple(op, {result});
    return success();
  }
};

/// Per row of the lane (A and B of each row tile), one branch over the
/// 32-bit column pairs of its row of x; the branch is warp-uniform when
/// `offset` is a multiple of 8, as in the chunk scan.
struct SkipSharedToGPU : TilePattern<SkipSharedOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(SkipSharedOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    int64_t columns = op.getType().getShape()[1], colTiles = columns / 8;
    SharedType xType = op.getX().getType();
    Value buffer = adaptor.getX().front(), offset = adaptor.getOffset().front();
    SmallVector<Value> d =
        laneSkips(e, kernel, adaptor.getSkip().front(),
                  singles(adaptor.getSkipIndices()), colTiles);
    SmallVector<Value> result(adaptor.getAcc().begin(), adaptor.getAcc().end());
    SmallVector<Type> types(2 * colTiles, rewriter.getF32Type());
    Value rows = e.index(xType.getShape()[0]);
    for (int64_t r = 0; r < kernel.rowTiles(); ++r) {
      for (bool isB : {false, true}) {
        // Value n of this row: r * perRowTile + nt * 4 + (isB ? 2 : 0) + k.
        auto valueAt = [&](int64_t i) {
          return r * colTiles * 4 + i / 2 * 4 + (isB ? 2 : 0) + i % 2;
        };
        SmallVector<Value> acc;
        for (int64_t i = 0; i < 2 * colTiles; ++i)
          acc.push_back(result[valueAt(i)]);
        Value row = e.addi(isB ? kernel.rowB[r] : kernel.rowA[r], offset);
        Value inside = e.andi(e.cmpi(CmpIPredicate::sge, row, e.index(0)),
                              e.cmpi(CmpIPredicate::slt, row, rows));
        SmallVector<Value> updated = e.ifValues(
            inside, types,
            [&] {
              Value word0 = e.addi(e.muli(row, e.index(sharedRowWords(xType))),
                                   kernel.quad);
              SmallVector<Value> out;
              for (int64_t nt = 0; nt < colTiles; ++nt) {
                Value word = e.addi(word0, e.index(nt * 4));
                auto [lo, hi] = e.unpack(
                    e.loadShared(buffer, rewriter.getI32Type(), word),
                    xType.getElementType());
                out.push_back(e.add(acc[2 * nt], e.mul(d[2 * nt], lo)));
                out.push_back(e.add(acc[2 * nt + 1], e.mul(d[2 * nt + 1], hi)));
              }
              return out;
            },
            [&] { return acc; });
        for (int64_t i = 0; i < 2 * colTiles; ++i)
          result[valueAt(i)] = updated[i];
      }
    }
    rewriter.replaceOpWithMultiple(op, {result});
    return success();
  }
};

} // namespace

void tile::populateTileScanToGPUPatterns(TypeConverter &converter,
                                         RewritePatternSet &patterns,
                                         const KernelContext &kernel) {
  patterns.add<DiscretizeToGPU, DecayMaskToGPU, DecayRowsToGPU,
               RotateSharedToGPU, ScaleAddToGPU,
               GateToGPU, SkipSharedToGPU>(converter, patterns.getContext(),
                                               kernel);
}
