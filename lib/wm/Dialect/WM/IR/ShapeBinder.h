//===- ShapeBinder.h - Named-dimension shape checks -------------*- C++ -*-===//
//
// The spec states every shape relation with named dimensions: q is
// (B, Lq, H, D), k is (B, Lk, Hk, D), bias is (B, Hk, Lk). A ShapeBinder binds
// each name to the first static extent it meets and reports, with both
// operands named, the first extent that disagrees. Dynamic extents match
// anything, so verifiers accept partially dynamic IR.
//
//===----------------------------------------------------------------------===//

#ifndef WM_LIB_DIALECT_WM_IR_SHAPEBINDER_H
#define WM_LIB_DIALECT_WM_IR_SHAPEBINDER_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>

namespace mlir::wm {

class ShapeBinder {
public:
  using EmitErrorFn = llvm::function_ref<InFlightDiagnostic()>;

  explicit ShapeBinder(EmitErrorFn emitError) : emitError(emitError) {}

  /// Checks that `type` is a ranked tensor with one dimension per name of
  /// `layout` and that every static extent agrees with earlier bindings.
  LogicalResult bind(StringRef what, Type type, ArrayRef<StringRef> layout);

  /// The static extent bound to `name`, if any.
  std::optional<int64_t> get(StringRef name) const;

  /// Checks that dimension `name` is divisible by dimension `divisor` when
  /// both are static.
  LogicalResult divisible(StringRef name, StringRef divisor);

private:
  struct Binding {
    int64_t extent;
    std::string source;
  };
  EmitErrorFn emitError;
  llvm::StringMap<Binding> bindings;
};

/// "(B, Lq, H, D)".
std::string formatLayout(ArrayRef<StringRef> layout);

} // namespace mlir::wm

#endif // WM_LIB_DIALECT_WM_IR_SHAPEBINDER_H
