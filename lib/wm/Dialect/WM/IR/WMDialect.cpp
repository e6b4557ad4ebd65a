//===- WMDialect.cpp - The wm dialect -------------------------------------===//

#include "wm/Dialect/WM/IR/WMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "wm/Dialect/WM/IR/WMAttrs.h"
#include "wm/Dialect/WM/IR/WMOps.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::wm;

#include "wm/Dialect/WM/IR/WMOpsDialect.cpp.inc"
#include "wm/Dialect/WM/IR/WMEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "wm/Dialect/WM/IR/WMAttrs.cpp.inc"

void WMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "wm/Dialect/WM/IR/WMOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "wm/Dialect/WM/IR/WMAttrs.cpp.inc"
      >();
}
