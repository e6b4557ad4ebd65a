//===- WMOps.h - wm dialect ops ---------------------------------*- C++ -*-===//

#ifndef WM_DIALECT_WM_IR_WMOPS_H
#define WM_DIALECT_WM_IR_WMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "wm/Dialect/WM/IR/WMAttrs.h"
#include "wm/Dialect/WM/IR/WMDialect.h"

namespace mlir::wm::OpTrait {
/// Fails on a discardable attribute without a dialect prefix, suggesting the
/// closest of the op's own attribute names.
LogicalResult verifyOwnAttributes(Operation *op);

template <typename ConcreteType>
class OwnAttributesOnly
    : public mlir::OpTrait::TraitBase<ConcreteType, OwnAttributesOnly> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    return verifyOwnAttributes(op);
  }
};
} // namespace mlir::wm::OpTrait

#define GET_OP_CLASSES
#include "wm/Dialect/WM/IR/WMOps.h.inc"

#endif // WM_DIALECT_WM_IR_WMOPS_H
