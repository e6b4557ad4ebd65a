//===- Matmul.cpp - wm_tile.matmul on mma.sync ----------------------------===//
//
// m16n8k16 mma.sync with f32 accumulators in the C-fragment layout of
// Lowering.h. B fragments come from padded shared rows by ldmatrix.x4: two
// 16-wide key steps of one 8-key tile for S = Q K^T (K rows), or two 8-dim
// tiles of one key step, transposed, for O += P V (V rows); A fragments of a
// transposed shared lhs by ldmatrix.trans, for dV += P^T dO and dK += dS^T Q.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

namespace {

NVVM::MMATypes mmaType(Type element) {
  return element.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
}

/// The lane's first word of a shared tile. Fragment addresses are constant
/// word offsets from it, which fold into the ldmatrix immediates; added to
/// the lane's word before the pointer (an i32 index, sign-extended) they
/// would not, and each would hold a register across the tile loop.
Value lanePointer(Emitter &e, Value tile, Value word) {
  return e.elementPointer(tile, e.builder().getI32Type(), e.toI32(word));
}

/// S = Q K^T: Q as A fragments in registers, K rows (N x K) in shared memory.
SmallVector<Value> queryKeyScores(Emitter &e, const KernelContext &kernel,
                                  ArrayRef<Value> q, Value k, SharedType kType,
                                  int64_t columns) {
  int64_t rowWords = sharedRowWords(kType), kSteps = kType.getShape()[1] / 16;
  NVVM::MMATypes type = mmaType(kType.getElementType());
  // Lane l addresses key row l % 8, 8 dims at (l / 8) * 8.
  Value matrixRow = e.remi(kernel.lane, e.index(8));
  Value matrixCol = e.muli(e.divi(kernel.lane, e.index(8)), e.index(4));
  Value lane = lanePointer(e, k, e.addi(e.muli(matrixRow, e.index(rowWords)), matrixCol));
  SmallVector<Value> flat;
  for (int64_t nt = 0; nt < columns / 8; ++nt) {
    SmallVector<Value> acc(4, e.f32(0.0));
    for (int64_t ks = 0; ks < kSteps; ks += 2) {
      SmallVector<Value> frags = e.loadMatrices(
          lane, e.index(nt * 8 * rowWords + ks * 8),
          /*transpose=*/false);
      acc = e.mma(q.slice(ks * 4, 4), {frags[0], frags[1]}, acc, type);
      acc = e.mma(q.slice((ks + 1) * 4, 4), {frags[2], frags[3]}, acc, type);
    }
    flat.append(acc);
  }
  return flat;
}

/// S = Q K^T with Q in padded shared rows as well: per key step, Q's A
/// fragments of every row tile by ldmatrix.x4, and one ldmatrix.x4 of K for
/// two 8-key tiles (fewer live Q fragments than two key steps of one tile).
SmallVector<Value> sharedQueryKeyScores(Emitter &e, const KernelContext &kernel,
                                        Value q, SharedType qType, Value k,
                                        SharedType kType, int64_t columns) {
  int64_t rowWords = sharedRowWords(kType), kSteps = kType.getShape()[1] / 16;
  int64_t rowTiles = kernel.rowTiles(), keyTiles = columns / 8;
  NVVM::MMATypes type = mmaType(kType.getElementType());
  Value lane = kernel.lane;
  Value matrixRow = e.remi(lane, e.index(8));
  // Lane l addresses row l % 8 + 8 ((l / 8) % 2) of the row tile, dims
  // 8 (l / 16).
  Value qRow = e.addi(
      e.addi(e.muli(kernel.warp, e.index(kernel.config.getWarpRows())), matrixRow),
      e.muli(e.remi(e.divi(lane, e.index(8)), e.index(2)), e.index(8)));
  Value qWord = e.addi(e.muli(qRow, e.index(sharedRowWords(qType))),
                       e.muli(e.divi(lane, e.index(16)), e.index(4)));
  // Lane l addresses key row l % 8 + 8 (l / 16), dims 8 ((l / 8) % 2).
  Value pairRow = e.addi(matrixRow, e.muli(e.divi(lane, e.index(16)), e.index(8)));
  Value pairCol = e.muli(e.remi(e.divi(lane, e.index(8)), e.index(2)), e.index(4));
  Value qLane = lanePointer(e, q, qWord);
  Value kLane = lanePointer(e, k, e.addi(e.muli(pairRow, e.index(rowWords)), pairCol));
  SmallVector<SmallVector<Value>> acc(rowTiles * keyTiles,
                                      SmallVector<Value>(4, e.f32(0.0)));
  for (int64_t ks = 0; ks < kSteps; ++ks) {
    SmallVector<SmallVector<Value>> a;
    for (int64_t r = 0; r < rowTiles; ++r)
      a.push_back(e.loadMatrices(
          qLane, e.index(r * 16 * sharedRowWords(qType) + ks * 8),
          /*transpose=*/false));
    for (int64_t nt = 0; nt < keyTiles; nt += 2) {
      SmallVector<Value> frags = e.loadMatrices(
          kLane, e.index(nt * 8 * rowWords + ks * 8),
          /*transpose=*/false);
      for (int64_t r = 0; r < rowTiles; ++r)
        for (int64_t half : {0, 1}) {
          SmallVector<Value> &c = acc[r * keyTiles + nt + half];
          c = e.mma(a[r], {frags[2 * half], frags[2 * half + 1]}, c, type);
        }
    }
  }
  SmallVector<Value> flat;
  for (ArrayRef<Value> c : acc)
    flat.append(c.begin(), c.end());
  return flat;
}

} // namespace

SmallVector<Value> tile::packAFragments(Emitter &e, ArrayRef<Value> p,
                                        int64_t rowTiles, Type half) {
  // (row A | row B) x (keys 2 quad, + 1) of 8-key tile nt, as a 16-bit pair.
  auto pack = [&](int64_t nt, bool rowB) {
    int64_t at = nt * 4 + (rowB ? 2 : 0);
    return e.pack(p[at], p[at + 1], half);
  };
  SmallVector<Value> a;
  int64_t keyTiles = p.size() / rowTiles / 4;
  for (int64_t r = 0; r < rowTiles; ++r)
    for (int64_t nt = r * keyTiles; nt < (r + 1) * keyTiles; nt += 2)
      a.append({pack(nt, false), pack(nt, true), pack(nt + 1, false),
                pack(nt + 1, true)});
  return a;
}

namespace {

/// O += P V: P as 16-bit A fragments (row tile r, key step kk at
/// (r * keys / 16 + kk) * 4), V rows (K x N) in shared memory.
SmallVector<Value> accumulateValues(Emitter &e, const KernelContext &kernel,
                                    ArrayRef<Value> a, int64_t keys, Value v,
                                    SharedType vType, SmallVector<Value> o) {
  NVVM::MMATypes type = mmaType(vType.getElementType());
  int64_t rowWords = sharedRowWords(vType), dTiles = vType.getShape()[1] / 8;
  int64_t rowTiles = kernel.rowTiles();
  // Lane l addresses key (l / 8) % 2 * 8 + l % 8, dims of tile l / 16.
  Value matrixRow = e.remi(kernel.lane, e.index(8));
  Value vRow = e.addi(
      e.muli(e.remi(e.divi(kernel.lane, e.index(8)), e.index(2)), e.index(8)),
      matrixRow);
  Value vCol = e.muli(e.divi(kernel.lane, e.index(16)), e.index(4));
  Value lane = lanePointer(e, v, e.addi(e.muli(vRow, e.index(rowWords)), vCol));
  for (int64_t kk = 0; kk < keys / 16; ++kk) {
    for (int64_t dt = 0; dt < dTiles; dt += 2) {
      SmallVector<Value> frags = e.loadMatrices(
          lane, e.index(kk * 16 * rowWords + dt * 4),
          /*transpose=*/true);
      for (int64_t r = 0; r < rowTiles; ++r) {
        ArrayRef<Value> ar = a.slice((r * (keys / 16) + kk) * 4, 4);
        int64_t at = (r * dTiles + dt) * 4;
        SmallVector<Value> r0 = e.mma(ar, {frags[0], frags[1]},
                                      ArrayRef<Value>(o).slice(at, 4), type);
        SmallVector<Value> r1 = e.mma(ar, {frags[2], frags[3]},
                                      ArrayRef<Value>(o).slice(at + 4, 4), type);
        llvm::copy(r0, o.begin() + at);
        llvm::copy(r1, o.begin() + at + 4);
      }
    }
  }
  return o;
}

/// A^T's mma A fragments from a shared K x M buffer, by ldmatrix.x4.trans:
/// per row tile of the warp and 16-wide step of K, lane l addresses row
/// 16 kk + 8 ((l / 8) / 2) + l % 8 at columns 8 ((l / 8) % 2) of the row
/// tile's 16: matrices (m 0-7 | 8-15) x (k 0-7 | 8-15) in a0..a3 order.
SmallVector<Value> transposedAFragments(Emitter &e, const KernelContext &kernel,
                                        Value lhs, SharedType type) {
  int64_t rowWords = sharedRowWords(type), kSteps = type.getShape()[0] / 16;
  Value matrix = e.divi(kernel.lane, e.index(8));
  Value row = e.addi(e.remi(kernel.lane, e.index(8)),
                     e.muli(e.divi(matrix, e.index(2)), e.index(8)));
  Value col = e.addi(e.muli(kernel.warp, e.index(kernel.config.getWarpRows())),
                     e.muli(e.remi(matrix, e.index(2)), e.index(8)));
  Value lane = lanePointer(
      e, lhs, e.addi(e.muli(row, e.index(rowWords)), e.divi(col, e.index(2))));
  SmallVector<Value> a;
  for (int64_t r = 0; r < kernel.rowTiles(); ++r)
    for (int64_t kk = 0; kk < kSteps; ++kk)
      a.append(e.loadMatrices(lane, e.index(kk * 16 * rowWords + r * 8),
                              /*transpose=*/true));
  return a;
}

/// A fragments (of transposedAFragments) with the element at depth k
/// scaled by scale[first + k] and rounded again: per 16-wide step the lane
/// holds depths 2 quad, + 1 (a0, a1) and 2 quad + 8, + 9 (a2, a3).
SmallVector<Value> scaleAFragments(Emitter &e, const KernelContext &kernel,
                                   ArrayRef<Value> a, Value scale, Value first,
                                   int64_t kSteps, Type half) {
  Type f32 = e.builder().getF32Type();
  // The factors of depths 8 j + 2 quad, + 1, read once for every row tile.
  SmallVector<std::pair<Value, Value>> factors;
  for (int64_t j = 0; j < 2 * kSteps; ++j) {
    Value depth = e.addi(e.addi(first, e.index(j * 8)),
                         e.muli(kernel.quad, e.index(2)));
    factors.push_back({e.loadShared(scale, f32, depth),
                       e.loadShared(scale, f32, e.addi(depth, e.index(1)))});
  }
  SmallVector<Value> out;
  for (auto [i, word] : llvm::enumerate(a)) {
    auto [scaleLo, scaleHi] = factors[i / 4 % kSteps * 2 + i % 4 / 2];
    auto [lo, hi] = e.unpack(word, half);
    out.push_back(e.pack(e.mul(lo, scaleLo), e.mul(hi, scaleHi), half));
  }
  return out;
}

struct MatmulToGPU : TilePattern<MatmulOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(MatmulOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (kernel.config.getWgmma())
      return rewriter.notifyMatchFailure(op, "wgmma is not lowered yet");
    if (!op.getLiveFrom())
      return lowerProduct(op, adaptor, rewriter);
    // A warp whose rows all lie before live_from keeps acc (or 0) and
    // issues no mma; one whose rows all lie after it takes the product; one
    // across it (not in programs whose live_from is a multiple of the warp's
    // rows) takes acc for the rows before. Three branches, so that the
    // common ones hold no more registers than the plain product.
    Emitter e(rewriter, op.getLoc());
    Value liveFrom = adaptor.getLiveFrom().front();
    int64_t columns = op.getType().getShape()[1];
    int64_t count = kernel.rowTiles() * columns / 2;
    SmallVector<Value> kept = op.getAcc()
                                  ? llvm::to_vector(adaptor.getAcc())
                                  : SmallVector<Value>(count, e.f32(0.0));
    Value warpRows = e.index(kernel.config.getWarpRows());
    Value warpStart = e.muli(kernel.warp, warpRows);
    Value warpEnd = e.addi(warpStart, warpRows);
    SmallVector<Type> types(count, rewriter.getF32Type());
    LogicalResult lowered = success();
    auto product = [&](bool partial) {
      SmallVector<Value> values;
      lowered = lowerProduct(op, adaptor, rewriter, &values);
      if (failed(lowered))
        return kept;
      for (int64_t n = 0; partial && n < count; ++n) {
        Value row = positionOf(e, kernel, n, columns).first;
        values[n] = e.select(e.cmpi(arith::CmpIPredicate::slt, row, liveFrom),
                             kept[n], values[n]);
      }
      return values;
    };
    SmallVector<Value> result = e.ifValues(
        e.cmpi(arith::CmpIPredicate::sle, warpEnd, liveFrom), types,
        [&] { return kept; },
        [&] {
          return e.ifValues(
              e.cmpi(arith::CmpIPredicate::sge, warpStart, liveFrom), types,
              [&] { return product(false); }, [&] { return product(true); });
        });
    if (failed(lowered))
      return failure();
    rewriter.replaceOpWithMultiple(op, {result});
    return success();
  }

  /// The product's fragments: replaces `op` with them, or returns them in
  /// `out` when given.
  LogicalResult lowerProduct(MatmulOp op, OneToNOpAdaptor adaptor,
                             ConversionPatternRewriter &rewriter,
                             SmallVector<Value> *out = nullptr) const {
    Emitter e(rewriter, op.getLoc());
    auto finish = [&](SmallVector<Value> values) {
      if (out)
        *out = std::move(values);
      else
        rewriter.replaceOpWithMultiple(op, {values});
      return success();
    };
    Value rhs = adaptor.getRhs().front();
    SharedType rhsType = op.getRhs().getType();
    ArrayRef<int64_t> shape = op.getType().getShape();
    SmallVector<Value> result;
    auto lhs = dyn_cast<TileType>(op.getLhs().getType());
    if (op.getTransposeLhs()) {
      if (op.getTransposeRhs())
        return rewriter.notifyMatchFailure(op, "transposed lhs: A^T B only");
      auto lhsType = cast<SharedType>(op.getLhs().getType());
      SmallVector<Value> a =
          transposedAFragments(e, kernel, adaptor.getLhs().front(), lhsType);
      if (op.getScale())
        a = scaleAFragments(e, kernel, a, adaptor.getScale().front(),
                            adaptor.getScaleFirst().front(),
                            lhsType.getShape()[0] / 16,
                            lhsType.getElementType());
      SmallVector<Value> acc =
          op.getAcc() ? llvm::to_vector(adaptor.getAcc())
                      : SmallVector<Value>(kernel.rowTiles() * shape[1] / 2,
                                           e.f32(0.0));
      result = accumulateValues(e, kernel, a, lhsType.getShape()[0], rhs,
                                rhsType, acc);
      return finish(std::move(result));
    }
    if (!lhs) {
      if (!op.getTransposeRhs() || op.getAcc())
        return rewriter.notifyMatchFailure(op, "shared lhs: S = Q K^T only");
      result = sharedQueryKeyScores(e, kernel, adaptor.getLhs().front(),
                                    cast<SharedType>(op.getLhs().getType()), rhs,
                                    rhsType, shape[1]);
      return finish(std::move(result));
    }
    if (op.getTransposeRhs() && !lhs.getElementType().isF32() &&
        kernel.rowTiles() == 1 && !op.getAcc()) {
      result = queryKeyScores(e, kernel, llvm::to_vector(adaptor.getLhs()), rhs,
                              rhsType, shape[1]);
    } else if (!op.getTransposeRhs() && op.getAcc()) {
      SmallVector<Value> a = llvm::to_vector(adaptor.getLhs());
      if (lhs.getElementType().isF32())
        a = packAFragments(e, a, kernel.rowTiles(), rhsType.getElementType());
      result = accumulateValues(e, kernel, a, lhs.getShape()[1], rhs, rhsType,
                                llvm::to_vector(adaptor.getAcc()));
    } else {
      return rewriter.notifyMatchFailure(op, "no mma.sync form for this matmul");
    }
    return finish(std::move(result));
  }
};

struct TruncFToGPU : TilePattern<TruncFOp> {
  using TilePattern::TilePattern;
  LogicalResult
  matchAndRewrite(TruncFOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.getType().getShape().size() != 2)
      return rewriter.notifyMatchFailure(op, "rounds 2-D tiles to A fragments");
    Emitter e(rewriter, op.getLoc());
    Type half = op.getType().getElementType();
    SmallVector<Value> values = llvm::to_vector(adaptor.getTile());
    if (op.getResidual()) {
      OpBuilder &b = e.builder();
      for (Value &x : values) {
        Value rounded = arith::TruncFOp::create(b, e.location(), half, x);
        x = e.sub(x, arith::ExtFOp::create(b, e.location(), b.getF32Type(),
                                           rounded));
      }
    }
    rewriter.replaceOpWithMultiple(
        op, {packAFragments(e, values, kernel.rowTiles(), half)});
    return success();
  }
};

} // namespace

void tile::populateTileMatmulToGPUPatterns(TypeConverter &converter,
                                           RewritePatternSet &patterns,
                                           const KernelContext &kernel) {
  patterns.add<MatmulToGPU, TruncFToGPU>(converter, patterns.getContext(), kernel);
}
