//===- WMDialect.h - The wm dialect -----------------------------*- C++ -*-===//

#ifndef WM_DIALECT_WM_IR_WMDIALECT_H
#define WM_DIALECT_WM_IR_WMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "wm/Dialect/WM/IR/WMOpsDialect.h.inc"

#endif // WM_DIALECT_WM_IR_WMDIALECT_H
