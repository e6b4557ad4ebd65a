//===- WMAttrs.h - wm dialect attributes and enums --------------*- C++ -*-===//

#ifndef WM_DIALECT_WM_IR_WMATTRS_H
#define WM_DIALECT_WM_IR_WMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "wm/Dialect/WM/IR/WMEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "wm/Dialect/WM/IR/WMAttrs.h.inc"

#endif // WM_DIALECT_WM_IR_WMATTRS_H
