//===- WMTileDialect.cpp - The wm_tile dialect, types, config -------------===//

#include "wm/Dialect/WMTile/IR/WMTile.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::wm::tile;

#include "wm/Dialect/WMTile/IR/WMTileDialect.cpp.inc"
#include "wm/Dialect/WMTile/IR/WMTileEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "wm/Dialect/WMTile/IR/WMTileTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "wm/Dialect/WMTile/IR/WMTileAttrs.cpp.inc"

void WMTileDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "wm/Dialect/WMTile/IR/WMTileOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "wm/Dialect/WMTile/IR/WMTileTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "wm/Dialect/WMTile/IR/WMTileAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Types: `<` static dims `x` element type [`,` `partial`] `>`
//===----------------------------------------------------------------------===//

static ParseResult parseShapeAndType(AsmParser &parser,
                                     SmallVectorImpl<int64_t> &shape,
                                     Type &elementType) {
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/true) ||
      parser.parseType(elementType))
    return failure();
  if (shape.empty() || llvm::any_of(shape, [](int64_t d) { return d <= 0; }))
    return parser.emitError(parser.getNameLoc(),
                            "tile dimensions must be positive, at least one");
  return success();
}

static void printShapeAndType(AsmPrinter &printer, ArrayRef<int64_t> shape,
                              Type elementType) {
  printer << "<";
  for (int64_t d : shape)
    printer << d << "x";
  printer << elementType;
}

Type TileType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  Type elementType;
  if (failed(parseShapeAndType(parser, shape, elementType)))
    return {};
  bool partial = succeeded(parser.parseOptionalComma());
  if ((partial && parser.parseKeyword("partial")) || parser.parseGreater())
    return {};
  return TileType::get(parser.getContext(), shape, elementType, partial);
}

void TileType::print(AsmPrinter &printer) const {
  printShapeAndType(printer, getShape(), getElementType());
  if (getPartial())
    printer << ", partial";
  printer << ">";
}

ShapedType TileType::cloneWith(std::optional<ArrayRef<int64_t>> shape,
                               Type elementType) const {
  return TileType::get(getContext(), shape ? *shape : getShape(), elementType,
                       getPartial());
}

Type SharedType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  Type elementType;
  if (failed(parseShapeAndType(parser, shape, elementType)) ||
      parser.parseGreater())
    return {};
  return SharedType::get(parser.getContext(), shape, elementType);
}

void SharedType::print(AsmPrinter &printer) const {
  printShapeAndType(printer, getShape(), getElementType());
  printer << ">";
}

ShapedType SharedType::cloneWith(std::optional<ArrayRef<int64_t>> shape,
                                 Type elementType) const {
  return SharedType::get(getContext(), shape ? *shape : getShape(),
                         elementType);
}

//===----------------------------------------------------------------------===//
// Config
//===----------------------------------------------------------------------===//

/// Resident CTAs per SM on sm_90.
static constexpr int64_t kMaxCtasPerSm = 32;

LogicalResult
KernelConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         int64_t warps, int64_t warpRows, int64_t stages,
                         int64_t candidates, int64_t tileKeys,
                         bool qInRegisters, bool wgmma, int64_t minCtas) {
  if (warps < 1 || warps > 32)
    return emitError() << "warps must be in [1, 32], got " << warps;
  if (warpRows != 16 && warpRows != 32)
    return emitError() << "warp_rows must be 16 or 32, got " << warpRows;
  if (stages != 1 && stages != 2)
    return emitError() << "stages must be 1 or 2, got " << stages;
  if (tileKeys < 16 || tileKeys % 16 != 0)
    return emitError() << "tile_keys must be a positive multiple of 16, got "
                       << tileKeys;
  if (candidates < tileKeys || candidates % tileKeys != 0)
    return emitError() << "candidates must be a multiple of tile_keys ("
                       << tileKeys << "), got " << candidates;
  if (qInRegisters && warpRows != 16)
    return emitError() << "q_in_registers needs warp_rows = 16";
  if (minCtas < 0 || minCtas > kMaxCtasPerSm)
    return emitError() << "min_ctas must be in [0, " << kMaxCtasPerSm
                       << "], got " << minCtas;
  return success();
}
