//===- WMTile.h - The wm_tile dialect ---------------------------*- C++ -*-===//

#ifndef WM_DIALECT_WMTILE_IR_WMTILE_H
#define WM_DIALECT_WMTILE_IR_WMTILE_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "wm/Dialect/WMTile/IR/WMTileDialect.h.inc"
#include "wm/Dialect/WMTile/IR/WMTileEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "wm/Dialect/WMTile/IR/WMTileTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "wm/Dialect/WMTile/IR/WMTileAttrs.h.inc"

#define GET_OP_CLASSES
#include "wm/Dialect/WMTile/IR/WMTileOps.h.inc"

#endif // WM_DIALECT_WMTILE_IR_WMTILE_H
