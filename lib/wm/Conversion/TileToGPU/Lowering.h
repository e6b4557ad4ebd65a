//===- Lowering.h - Tile ops to warps, fragments and tensor cores -*- C++ -*-===//
//
// Shared by the files of convert-wm-tile-to-gpu, one per op family. A CTA of
// `config.warps` warps runs one program instance. Warp w owns query rows
// [w * warp_rows, (w + 1) * warp_rows) of the block in row tiles of 16; lane
// l of a row tile holds rows A = l / 4 and B = l / 4 + 8 (its mma "group")
// and columns 2 (l % 4) + {0, 1} of every 8-column tile (its "quad"):
//
//   2-D f32 tile R x C   -> (C / 8) * 4 f32 per row tile: A, A, B, B per 8 cols
//   1-D f32 tile R       -> A, B per row tile (a `partial` one: this lane's
//                           share of the row sum; the quad adds them up)
//   2-D 16-bit tile R x C -> mma A fragments: (C / 16) * 4 i32 per row tile
//   shared buffer        -> an !llvm.ptr<3> into dynamic shared memory, 16-bit
//                           rows padded to D / 2 + kPad words (ldmatrix rows in
//                           distinct banks)
//
//===----------------------------------------------------------------------===//

#ifndef WM_LIB_CONVERSION_TILETOGPU_LOWERING_H
#define WM_LIB_CONVERSION_TILETOGPU_LOWERING_H

#include "wm/Conversion/TileToGPU/Emitter.h"
#include "wm/Dialect/WMTile/IR/WMTile.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::wm::tile {

/// i32 words of padding per 16-bit shared row.
constexpr int64_t kPad = 4;

/// The per-thread values every pattern of one kernel uses, created at the
/// kernel's entry.
struct KernelContext {
  KernelConfigAttr config;
  Value tid, warp, lane, group, quad;
  /// The start of dynamic shared memory (!llvm.ptr<3>).
  Value shared;
  /// Scratch: one i32 per (compaction step, warp), one f32 per warp.
  Value stepCounts, reduction;
  /// Rows A and B of each row tile, relative to the block's first row.
  SmallVector<Value> rowA, rowB;
  int64_t rowTiles() const { return config.getRowTiles(); }
};

/// A conversion pattern of one kernel's tile ops.
template <typename Op>
struct TilePattern : OpConversionPattern<Op> {
  TilePattern(TypeConverter &converter, MLIRContext *context,
              const KernelContext &kernel)
      : OpConversionPattern<Op>(converter, context), kernel(kernel) {}
  const KernelContext &kernel;
};

/// The values of a 1:N adaptor's operands, one per operand.
inline SmallVector<Value> singles(ArrayRef<ValueRange> operands) {
  SmallVector<Value> values;
  for (ValueRange range : operands)
    values.push_back(range.front());
  return values;
}

/// i32 words of one row of a shared buffer (16-bit rows are padded).
int64_t sharedRowWords(SharedType type);
/// i32 words of a whole shared buffer.
int64_t sharedWords(SharedType type);

/// Tiles to their per-thread values, shared buffers to pointers.
class TileToGPUTypeConverter : public TypeConverter {
public:
  explicit TileToGPUTypeConverter(KernelConfigAttr config);
};

/// An f32 tile's values (C-fragment layout) as 16-bit mma A fragments:
/// per row tile and 16-wide key step, (A, B) x (keys 2 quad, 2 quad + 8).
SmallVector<Value> packAFragments(Emitter &e, ArrayRef<Value> values,
                                  int64_t rowTiles, Type half);

/// The element offset of `indices` in a buffer of static strides, as i64.
Value linearOffset(Emitter &e, MemRefType type, ValueRange indices);

/// Whether every `m` columns of a buffer of `type` from column `first` on
/// (a multiple of m) provably start at a multiple of m elements: strides
/// (but the last) and offset multiples of m, and first one too.
bool alignedColumns(MemRefType type, Value first, int64_t m);

/// Stores the f32 pair (lo, hi) at `at` and the next element along the
/// last dimension of global `dst` (whose first element `base` points to),
/// in its element type: one 32-bit store of the pair for a 16-bit type.
void storePair(Emitter &e, Value dst, Value base, ArrayRef<Value> at, Value lo,
               Value hi);

/// The row tile of value `n` of a 2-D f32 tile's C fragments (`perRowTile`
/// values per row tile), and whether it lies on the lane's row B.
inline std::pair<int64_t, bool> rowOf(int64_t n, int64_t perRowTile) {
  return {n / perRowTile, n % 4 >= 2};
}

/// Row and column (relative to the tile) of value `n` of a 2-D f32 tile of
/// `columns` columns in the C-fragment layout.
inline std::pair<Value, Value> positionOf(Emitter &e,
                                          const KernelContext &kernel,
                                          int64_t n, int64_t columns) {
  int64_t perRowTile = columns / 2, nt = (n % perRowTile) / 4;
  auto [r, isB] = rowOf(n, perRowTile);
  Value row = isB ? kernel.rowB[r] : kernel.rowA[r];
  Value col = e.addi(e.index(nt * 8 + n % 2), e.muli(kernel.quad, e.index(2)));
  return {row, col};
}

void populateTileMemoryToGPUPatterns(TypeConverter &converter,
                                     RewritePatternSet &patterns,
                                     const KernelContext &context);
void populateTileMatmulToGPUPatterns(TypeConverter &converter,
                                     RewritePatternSet &patterns,
                                     const KernelContext &context);
void populateTileAttentionToGPUPatterns(TypeConverter &converter,
                                        RewritePatternSet &patterns,
                                        const KernelContext &context);
void populateTileSelectToGPUPatterns(TypeConverter &converter,
                                     RewritePatternSet &patterns,
                                     const KernelContext &context);
void populateTileGradientToGPUPatterns(TypeConverter &converter,
                                       RewritePatternSet &patterns,
                                       const KernelContext &context);
void populateTileScanToGPUPatterns(TypeConverter &converter,
                                   RewritePatternSet &patterns,
                                   const KernelContext &context);

} // namespace mlir::wm::tile

#endif // WM_LIB_CONVERSION_TILETOGPU_LOWERING_H
