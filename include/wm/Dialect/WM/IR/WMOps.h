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

#define GET_OP_CLASSES
#include "wm/Dialect/WM/IR/WMOps.h.inc"

#endif // WM_DIALECT_WM_IR_WMOPS_H
