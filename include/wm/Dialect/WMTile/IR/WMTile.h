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

namespace mlir {
class RewriterBase;
namespace scf {
class ForOp;
class ParallelOp;
} // namespace scf
namespace wm::tile {

/// Replaces a program's scf.parallel by the scf.for over its iterations
/// start, start + step, ... (below its upper bound): the CPU runs all of
/// them, a GPU thread its share.
scf::ForOp serializeParallel(RewriterBase &rewriter, scf::ParallelOp loop,
                             Value start, Value step);

} // namespace wm::tile
} // namespace mlir

#endif // WM_DIALECT_WMTILE_IR_WMTILE_H
