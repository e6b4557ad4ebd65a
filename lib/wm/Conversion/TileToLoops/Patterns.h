//===- Patterns.h - Tile ops to CPU loop nests ------------------*- C++ -*-===//
//
// Shared by the files of convert-wm-tile-to-loops, one per op family.
// Every tile value gets its own buffer, allocated once at the top of the
// function (shapes are static): a value is never read after its op runs
// again, which wm-to-tile's programs respect, so updates of loop-carried
// tiles (row maxima, sums) are done row by row in place.
//
//===----------------------------------------------------------------------===//

#ifndef WM_LIB_CONVERSION_TILETOLOOPS_PATTERNS_H
#define WM_LIB_CONVERSION_TILETOLOOPS_PATTERNS_H

#include "wm/Dialect/WM/Utils/LoopBuilder.h"
#include "wm/Dialect/WMTile/IR/WMTile.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::wm::tile {

/// Register tiles -> identity buffers; shared buffers -> buffers of any
/// strides (stages are subviews).
class TileToLoopsTypeConverter : public TypeConverter {
public:
  TileToLoopsTypeConverter();
};

/// A buffer of `type` allocated at the top of `op`'s function.
Value hoistedBuffer(OpBuilder &b, Operation *op, MemRefType type);

/// An identity-layout buffer of a tile's (or a shared buffer's) shape,
/// hoisted as above.
Value tileBuffer(OpBuilder &b, Operation *op, ShapedType type);

/// Slot `slot` of an i32 key list, as an index.
Value keyAt(LoopBuilder &lb, Value keys, Value slot);

/// Loops over every element of a static shape; `body` gets the indices.
void forEachElement(LoopBuilder &lb, ArrayRef<int64_t> shape,
                    function_ref<void(ValueRange)> body);

/// `indices` with `offsets` added at dimensions `dims`.
SmallVector<Value> offsetIndices(LoopBuilder &lb, ValueRange indices,
                                 ArrayRef<int64_t> dims, ValueRange offsets);

void populateMemoryToLoopsPatterns(TypeConverter &converter,
                                   RewritePatternSet &patterns);
void populateMatmulToLoopsPatterns(TypeConverter &converter,
                                   RewritePatternSet &patterns);
void populateAttentionToLoopsPatterns(TypeConverter &converter,
                                      RewritePatternSet &patterns);
void populateSelectToLoopsPatterns(TypeConverter &converter,
                                   RewritePatternSet &patterns);
void populateGradientToLoopsPatterns(TypeConverter &converter,
                                     RewritePatternSet &patterns);
void populateScanToLoopsPatterns(TypeConverter &converter,
                                 RewritePatternSet &patterns);

} // namespace mlir::wm::tile

#endif // WM_LIB_CONVERSION_TILETOLOOPS_PATTERNS_H
