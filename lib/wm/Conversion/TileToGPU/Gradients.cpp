//===- Gradients.cpp - Tile ops of the DMA backward on the GPU ------------===//
//
// Element-wise ops on C fragments (each lane knows the rows A and B of its
// values), row sums over a quad, the 16-bit stores that let mma read P and
// dS transposed, and the f32 atomics of the scatters: 16-byte vector
// reductions for dK and dV rows, and for the column sums of dS one per warp
// and column after an xor reduction over the warp's row groups.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

/// 16-bit elements per lane in one traded tile store (8 bytes).
constexpr int64_t kTradedColumns = 4;

/// The row vector entry of value `n`'s row.
Value rowEntry(ValueRange vector, int64_t n, int64_t perRowTile) {
  auto [r, isB] = rowOf(n, perRowTile);
  return vector[2 * r + (isB ? 1 : 0)];
}

/// `*ptr += value` in global memory, no result: red.global.add.f32.
void atomicAdd(Emitter &e, Value ptr, Value value) {
  LLVM::AtomicRMWOp::create(e.builder(), e.location(), LLVM::AtomicBinOp::fadd,
                            ptr, value, LLVM::AtomicOrdering::monotonic);
}

/// The key in slot `slot` of an i32 list in shared memory, as an index.
Value keyIn(Emitter &e, Value list, Value slot) {
  return e.toIndex(e.loadShared(list, e.builder().getI32Type(), slot));
}

struct ProbabilitiesToGPU : TilePattern<ProbabilitiesOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(ProbabilitiesOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    ValueRange lse = adaptor.getLse();
    Value first = adaptor.getFirstRow().front();
    Value end = adaptor.getRowsEnd().front();
    Value scale = e.f32(op.getLseScale().convertToDouble());
    SmallVector<Value> reference, live;
    for (int64_t r = 0; r < kernel.rowTiles(); ++r)
      for (auto [row, at] : {std::pair{kernel.rowA[r], 2 * r},
                             std::pair{kernel.rowB[r], 2 * r + 1}}) {
        reference.push_back(e.mul(lse[at], scale));
        live.push_back(e.cmpi(CmpIPredicate::ult, e.addi(first, row), end));
      }
    ValueRange scores = adaptor.getScores();
    int64_t perRowTile = scores.size() / kernel.rowTiles();
    SmallVector<Value> p;
    for (auto [n, s] : llvm::enumerate(scores)) {
      Value keep = e.andi(rowEntry(live, n, perRowTile),
                          e.cmp(CmpFPredicate::UNE, s, e.negInf()));
      Value value = e.exp2(e.sub(s, rowEntry(reference, n, perRowTile)));
      p.push_back(e.select(keep, value, e.f32(0.0)));
    }
    rewriter.replaceOpWithMultiple(op, {p});
    return success();
  }
};

struct RowDotToGPU : TilePattern<RowDotOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(RowDotOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    ValueRange lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    int64_t perRowTile = lhs.size() / kernel.rowTiles();
    SmallVector<Value> sums(2 * kernel.rowTiles(), e.f32(0.0));
    for (int64_t n = 0; n < static_cast<int64_t>(lhs.size()); ++n) {
      auto [r, isB] = rowOf(n, perRowTile);
      Value &sum = sums[2 * r + (isB ? 1 : 0)];
      sum = e.add(sum, e.mul(lhs[n], rhs[n]));
    }
    SmallVector<Value> result;
    for (auto [sum, acc] : llvm::zip(sums, adaptor.getAcc()))
      result.push_back(e.add(acc, e.quadSum(sum)));
    rewriter.replaceOpWithMultiple(op, {result});
    return success();
  }
};

struct SoftmaxGradToGPU : TilePattern<SoftmaxGradOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(SoftmaxGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    ValueRange p = adaptor.getProbs(), dp = adaptor.getGradProbs();
    int64_t perRowTile = p.size() / kernel.rowTiles();
    SmallVector<Value> ds;
    for (int64_t n = 0; n < static_cast<int64_t>(p.size()); ++n)
      ds.push_back(e.mul(
          p[n], e.sub(dp[n], rowEntry(adaptor.getDelta(), n, perRowTile))));
    rewriter.replaceOpWithMultiple(op, {ds});
    return success();
  }
};

/// Pairs (A | B, 2 quad + {0, 1}) of each 8-column tile as one 16-bit pair
/// word: a quad's words are consecutive, and the padded rows put the eight
/// groups of a warp in distinct banks.
struct StoreSharedToGPU : TilePattern<StoreSharedOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(StoreSharedOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    SharedType type = op.getBuffer().getType();
    Type half = type.getElementType();
    Value base = adaptor.getBuffer().front();
    ValueRange v = adaptor.getTile();
    int64_t rowWords = sharedRowWords(type), colTiles = type.getShape()[1] / 8;
    for (int64_t r = 0; r < kernel.rowTiles(); ++r)
      for (int64_t nt = 0; nt < colTiles; ++nt) {
        int64_t at = (r * colTiles + nt) * 4;
        for (auto [row, x] : {std::pair{kernel.rowA[r], 0},
                              std::pair{kernel.rowB[r], 2}}) {
          Value word = e.addi(e.muli(row, e.index(rowWords)),
                              e.addi(e.index(nt * 4), kernel.quad));
          e.storeShared(e.pack(v[at + x], v[at + x + 1], half), base, word);
        }
      }
    rewriter.eraseOp(op);
    return success();
  }
};

/// Into a 16-bit buffer whose rows hold aligned 16-column runs, lanes 2k
/// and 2k + 1 of a quad trade the words of two neighbouring 8-column tiles,
/// so that each stores four consecutive elements in one 8-byte store: a
/// quad then fills a 32-byte sector of its row (pairs fill half of one).
/// Aligned f32 pairs take one 8-byte store each (a quad's fill a sector).
struct StoreToGPU : TilePattern<StoreOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(StoreOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value dst = adaptor.getDst().front();
    auto type = cast<MemRefType>(dst.getType());
    int64_t rowDim = op.getRowDim(), last = type.getRank() - 1;
    SmallVector<Value> at = singles(adaptor.getIndices());
    Value rowsEnd = e.index(type.getDimSize(rowDim));
    Value scale = e.f32(op.getScale().convertToDouble());
    Value base = e.basePointer(dst);
    ValueRange v = adaptor.getTile();
    int64_t colTiles = op.getTile().getType().getShape()[1] / 8;
    Type element = type.getElementType();
    bool traded = element.getIntOrFloatBitWidth() == 16 && colTiles % 2 == 0 &&
                  alignedColumns(type, at.back(), kTradedColumns);
    // f32 pairs as one 8-byte store where each provably starts at an even
    // element.
    bool pairsAligned =
        element.isF32() && alignedColumns(type, at.back(), 2);
    Value odd = traded ? e.cmpi(CmpIPredicate::ne,
                                e.remi(kernel.quad, e.index(2)), e.index(0))
                       : Value();
    for (int64_t r = 0; r < kernel.rowTiles(); ++r)
      for (auto [relative, x] : {std::pair{kernel.rowA[r], 0},
                                 std::pair{kernel.rowB[r], 2}}) {
        auto pairAt = [&](int64_t nt) {
          int64_t n = (r * colTiles + nt) * 4 + x;
          return std::pair{e.mul(scale, v[n]), e.mul(scale, v[n + 1])};
        };
        // The traded words, outside the row test: shuffles take every lane
        // (the two of a pair share their rows).
        SmallVector<std::array<Value, 2>> words;
        if (traded)
          for (int64_t nt = 0; nt < colTiles; nt += 2) {
            auto [a0, a1] = pairAt(nt);
            auto [b0, b1] = pairAt(nt + 1);
            Value a = e.pack(a0, a1, element), b = e.pack(b0, b1, element);
            Value got = e.shuffleXor(e.select(odd, a, b), 1);
            words.push_back({e.select(odd, got, a), e.select(odd, b, got)});
          }
        SmallVector<Value> element0 = at;
        element0[rowDim] = e.addi(at[rowDim], relative);
        e.ifThen(e.cmpi(CmpIPredicate::ult, element0[rowDim], rowsEnd), [&] {
          Value col = e.muli(kernel.quad, e.index(2));
          if (traded) {
            // Even lanes: columns 2 quad + [0, 4); odd: 2 quad + 6 + [0, 4).
            Value first = e.addi(at[last], e.addi(col, e.select(odd, e.index(6),
                                                                e.index(0))));
            for (auto [j, pair] : llvm::enumerate(words)) {
              element0[last] = e.addi(first, e.index(j * 16));
              e.storeVector(base, rewriter.getI16Type(),
                            linearOffset(e, type, element0), pair);
            }
            return;
          }
          for (int64_t nt = 0; nt < colTiles; ++nt) {
            auto [lo, hi] = pairAt(nt);
            element0[last] = e.addi(at[last], e.addi(e.index(nt * 8), col));
            if (pairsAligned)
              e.storeVector(base, element, linearOffset(e, type, element0),
                            {lo, hi});
            else
              storePair(e, dst, base, element0, lo, hi);
          }
        });
      }
    rewriter.eraseOp(op);
    return success();
  }
};

/// `*ptr += (a, b, c, d)` on four consecutive f32 of global memory, 16-byte
/// aligned: one red.global.add.v4.f32 (sm_90, PTX 8.1), which the NVVM
/// dialect lacks. The L2 serves a vector reduction as one operation: a
/// quarter of the scalar ones, which bound the backward's dK and dV.
void atomicAddFour(Emitter &e, Value ptr, ArrayRef<Value> four) {
  OpBuilder &b = e.builder();
  Value address = LLVM::PtrToIntOp::create(b, e.location(), b.getI64Type(), ptr);
  SmallVector<Value> operands = {address};
  operands.append(four.begin(), four.end());
  LLVM::InlineAsmOp::create(
      b, e.location(), TypeRange{}, operands,
      "red.global.add.v4.f32 [$0], {$1, $2, $3, $4};", "l,f,f,f,f",
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
      ArrayAttr());
}

/// Lanes 2k and 2k + 1 of a quad trade pairs so that the even one holds
/// four consecutive columns of row A and the odd one those of row B; each
/// adds them with one vector reduction.
struct ScatterAddToGPU : TilePattern<ScatterAddOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(ScatterAddOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value dst = adaptor.getDst().front(), rows = adaptor.getRows().front();
    Value first = adaptor.getFirst().front(), count = adaptor.getCount().front();
    auto type = cast<MemRefType>(dst.getType());
    int64_t rowDim = op.getRowDim();
    SmallVector<Value> indices = singles(adaptor.getIndices());
    Value scale = e.f32(op.getScale().convertToDouble());
    Value base = e.basePointer(dst);
    ValueRange v = adaptor.getTile();
    int64_t colTiles = op.getTile().getType().getShape()[1] / 8;
    Value odd = e.cmpi(CmpIPredicate::eq, e.remi(kernel.quad, e.index(2)),
                       e.index(1));
    // The lane's four columns start at 2 (quad - quad % 2).
    Value column = e.muli(e.subi(kernel.quad, e.remi(kernel.quad, e.index(2))),
                          e.index(2));
    for (int64_t r = 0; r < kernel.rowTiles(); ++r) {
      Value relative = e.select(odd, kernel.rowB[r], kernel.rowA[r]);
      SmallVector<Value> four;
      for (int64_t nt = 0; nt < colTiles; ++nt) {
        int64_t n = (r * colTiles + nt) * 4;
        // Send the row the partner keeps, receive the partner's half of ours.
        SmallVector<Value> mine, sent;
        for (int64_t x = 0; x < 2; ++x) {
          Value a = e.mul(scale, v[n + x]), b = e.mul(scale, v[n + 2 + x]);
          mine.push_back(e.select(odd, b, a));
          sent.push_back(e.select(odd, a, b));
        }
        Value got0 = e.shuffleXor(sent[0], 1), got1 = e.shuffleXor(sent[1], 1);
        four.append({e.select(odd, got0, mine[0]), e.select(odd, got1, mine[1]),
                     e.select(odd, mine[0], got0), e.select(odd, mine[1], got1)});
      }
      Value slot = e.addi(first, relative);
      e.ifThen(e.cmpi(CmpIPredicate::ult, slot, count), [&] {
        SmallVector<Value> at = indices;
        at.insert(at.begin() + rowDim, keyIn(e, rows, slot));
        Value row = e.addi(linearOffset(e, type, at), e.toI64(column));
        for (int64_t nt = 0; nt < colTiles; ++nt) {
          Value ptr = e.elementPointer(base, e.builder().getF32Type(),
                                       e.addi(row, e.i64(nt * 8)));
          atomicAddFour(e, ptr, ArrayRef<Value>(four).slice(nt * 4, 4));
        }
      });
    }
    rewriter.eraseOp(op);
    return success();
  }
};

struct ScatterColumnSumsToGPU : TilePattern<ScatterColumnSumsOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(ScatterColumnSumsOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value dst = adaptor.getDst().front(), keys = adaptor.getKeys().front();
    Value first = adaptor.getFirst().front(), count = adaptor.getCount().front();
    auto type = cast<MemRefType>(dst.getType());
    SmallVector<Value> indices = singles(adaptor.getIndices());
    Value base = e.basePointer(dst);
    ValueRange v = adaptor.getTile();
    int64_t colTiles = op.getTile().getType().getShape()[1] / 8;
    auto add = [&](Value a, Value b) { return e.add(a, b); };
    SmallVector<Value> sums;
    for (int64_t nt = 0; nt < colTiles; ++nt)
      for (int64_t x = 0; x < 2; ++x) {
        Value sum = e.f32(0.0);
        for (int64_t r = 0; r < kernel.rowTiles(); ++r) {
          int64_t n = (r * colTiles + nt) * 4 + x;
          sum = e.add(sum, e.add(v[n], v[n + 2]));
        }
        // Over the warp's eight row groups (lane bits 2-4).
        sums.push_back(e.xorReduce(sum, {4, 8, 16}, add));
      }
    e.ifThen(e.cmpi(CmpIPredicate::eq, kernel.group, e.index(0)), [&] {
      for (int64_t nt = 0; nt < colTiles; ++nt)
        for (int64_t x = 0; x < 2; ++x) {
          Value column = e.addi(e.index(nt * 8 + x),
                                e.muli(kernel.quad, e.index(2)));
          Value slot = e.addi(first, column);
          e.ifThen(e.cmpi(CmpIPredicate::ult, slot, count), [&] {
            SmallVector<Value> at = indices;
            at.push_back(keyIn(e, keys, slot));
            Value ptr = e.elementPointer(base, e.builder().getF32Type(),
                                         linearOffset(e, type, at));
            atomicAdd(e, ptr, sums[2 * nt + x]);
          });
        }
    });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void tile::populateTileGradientToGPUPatterns(TypeConverter &converter,
                                             RewritePatternSet &patterns,
                                             const KernelContext &kernel) {
  patterns.add<ProbabilitiesToGPU, RowDotToGPU, SoftmaxGradToGPU,
               StoreSharedToGPU, StoreToGPU, ScatterAddToGPU,
               ScatterColumnSumsToGPU>(converter, patterns.getContext(), kernel);
}
