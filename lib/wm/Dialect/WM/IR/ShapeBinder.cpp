//===- ShapeBinder.cpp - Named-dimension shape checks ---------------------===//

#include "ShapeBinder.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::wm;

std::string mlir::wm::formatLayout(ArrayRef<StringRef> layout) {
  std::string text = "(";
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(layout, os);
  os << ")";
  return text;
}

LogicalResult ShapeBinder::bind(StringRef what, Type type,
                                ArrayRef<StringRef> layout) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return emitError() << what << " must be a ranked tensor "
                       << formatLayout(layout) << ", got " << type;
  if (tensor.getRank() != static_cast<int64_t>(layout.size()))
    return emitError() << what << " must have rank " << layout.size() << " "
                       << formatLayout(layout) << ", got " << type;
  for (auto [index, name, extent] :
       llvm::enumerate(layout, tensor.getShape())) {
    if (ShapedType::isDynamic(extent))
      continue;
    auto [it, inserted] =
        bindings.try_emplace(name, Binding{extent, what.str()});
    if (inserted || it->second.extent == extent)
      continue;
    return emitError() << what << " has " << name << " = " << extent
                       << " (dim " << index << " of " << formatLayout(layout)
                       << ") but " << it->second.source << " has " << name
                       << " = " << it->second.extent;
  }
  return success();
}

std::optional<int64_t> ShapeBinder::get(StringRef name) const {
  auto it = bindings.find(name);
  if (it == bindings.end())
    return std::nullopt;
  return it->second.extent;
}

LogicalResult ShapeBinder::divisible(StringRef name, StringRef divisor) {
  std::optional<int64_t> n = get(name), d = get(divisor);
  if (!n || !d || (*d > 0 && *n % *d == 0))
    return success();
  return emitError() << name << " = " << *n << " must be a multiple of "
                     << divisor << " = " << *d;
}
