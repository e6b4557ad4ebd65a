//===- LoopBuilder.h - Scalar loop nests over memrefs -----------*- C++ -*-===//
//
// The reference lowerings of wm ops are scalar loop nests (scf, memref,
// arith, math) that compute in f32 whatever the storage type. LoopBuilder
// keeps them short: loads widen to f32, stores narrow to the element type,
// and loops, reductions and conditionals take lambdas for their bodies.
// Callers bind op-creating arguments to locals before passing two of them to
// one call: C++ leaves argument evaluation order unspecified, and the IR (and
// the lit tests that read it) must not depend on the host compiler.
//
//===----------------------------------------------------------------------===//

#ifndef WM_DIALECT_WM_UTILS_LOOPBUILDER_H
#define WM_DIALECT_WM_UTILS_LOOPBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include <utility>

namespace mlir::wm {

/// Refuses the ops under `root` that `needsStatic` selects (by default every
/// wm op) with a dynamic extent in an operand or result type, naming `pass`.
LogicalResult
checkStaticShapes(Operation *root, StringRef pass,
                  function_ref<bool(Operation *)> needsStatic = nullptr);

class LoopBuilder {
public:
  LoopBuilder(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  OpBuilder &builder() { return b; }
  Location location() const { return loc; }

  // Constants.
  Value index(int64_t value);
  Value f32(double value);
  Value negInf() { return f32(-std::numeric_limits<double>::infinity()); }
  // The DMA selection's total order on biases (spec, Conventions; as
  // torch.topk): NaN above +inf above every number.
  /// Whether `x` ranks strictly above `y`.
  Value ranksAbove(Value x, Value y);
  /// Whether threshold `tau` (a bias of that order, maybe NaN) keeps `bias`.
  Value keeps(Value bias, Value tau);
  /// The smaller in that order (minnum: NaN only if both are).
  Value minInOrder(Value x, Value y);
  /// A threshold with NaN as +inf: keeps no number (what UGE tests see).
  Value nanAsInf(Value tau);
  Value boolean(bool value);

  // Memory. Loads of floats widen to f32; stores narrow to the element type.
  Value dim(Value memref, int64_t dim);
  Value load(Value memref, ValueRange indices);
  void store(Value value, Value memref, ValueRange indices);
  /// Scratch buffers; buffer deallocation frees them after bufferization.
  Value allocF32(ArrayRef<Value> sizes);
  Value allocIndex(ArrayRef<Value> sizes);

  // Control flow.
  void forEach(Value lb, Value ub, function_ref<void(Value)> body);
  /// A loop carrying one value: `body(iv, acc)` returns the next acc.
  /// sum_c lhs(c) * rhs(c) over c in [0, size), in f32.
  Value dot(Value size, function_ref<Value(Value)> lhs,
            function_ref<Value(Value)> rhs);
  Value reduce(Value lb, Value ub, Value init,
               function_ref<Value(Value, Value)> body);
  void ifThen(Value condition, function_ref<void()> then);
  void ifThenElse(Value condition, function_ref<void()> then,
                  function_ref<void()> otherwise);
  /// An scf.if yielding one value (of `type`, f32 by default) per branch.
  Value ifValue(Value condition, function_ref<Value()> then,
                function_ref<Value()> otherwise, Type type = {});

  // Tensor <-> buffer boundary of a lowering: read operands as buffers, write
  // results into fresh buffers that become the op's result tensors.
  Value bufferOf(Value tensor);
  /// A buffer for a result of `type` whose extents are `sizes`.
  Value allocResult(RankedTensorType type, ArrayRef<Value> sizes);
  Value tensorOf(Value buffer, Type tensorType);

  // f32 arithmetic.
  Value add(Value a, Value b);
  Value sub(Value a, Value b);
  Value mul(Value a, Value b);
  Value div(Value a, Value b);
  Value max(Value a, Value b);
  Value min(Value a, Value b);
  Value neg(Value a);
  Value exp(Value a);
  Value log(Value a);
  Value sqrt(Value a);
  Value cmp(arith::CmpFPredicate predicate, Value a, Value b);
  Value select(Value condition, Value a, Value b);
  /// softplus(x) = log(1 + exp(x)), and x itself above 20 (spec convention).
  Value softplus(Value x);
  /// The derivative of softplus: sigmoid(x), and 1 above 20.
  Value softplusGrad(Value x);
  Value sigmoid(Value x);
  Value silu(Value x);
  /// SSD's dt' of spec section 2: clamp(softplus?(dt + bias), dtMin, dtMax),
  /// `bias` optional.
  Value ssdStep(Value dt, Value bias, bool softplus, double dtMin,
                double dtMax);

  // index arithmetic.
  Value addi(Value a, Value b);
  Value subi(Value a, Value b);
  Value muli(Value a, Value b);
  Value divi(Value a, Value b);
  Value remi(Value a, Value b);
  Value ceilDiv(Value a, Value b);
  Value mini(Value a, Value b);
  Value maxi(Value a, Value b);
  Value cmpi(arith::CmpIPredicate predicate, Value a, Value b);
  Value andi(Value a, Value b);
  Value ori(Value a, Value b);
  Value i32(int64_t value);
  Value i64(int64_t value);
  Value toI32(Value index);
  Value toI64(Value index);
  Value toIndex(Value integer);

  /// The selection's order as unsigned 32-bit keys: a negative f32 has
  /// every bit flipped, any other its sign bit raised; NaN of either sign
  /// maps to the key of +NaN, above +inf's (NaN above +inf above every
  /// number).
  Value orderedKey(Value value);
  /// The f32 whose orderedKey is `key`.
  Value fromOrderedKey(Value key);

  /// The dt of spec section 1.1 at (b, j, g): the concatenation over the kv
  /// heads of values[b, j, :, :] dotted with w_dt[g, :] (column h D + d), plus
  /// dt_bias[g] when given.
  Value dmaBiasDt(Value values, Value wDt, Value dtBias, Value b, Value j,
                  Value g, Value kvHeads, Value headDim);
  /// The chain of spec 1.4 through 1.1 at one (b, j, g): given dt, a[g] and
  /// the gradient reaching the bias, the gradients reaching dt and a (the
  /// exp form also differentiates its exp).
  std::pair<Value, Value> dmaBiasGradAt(Value dt, Value decay, Value grad,
                                        bool exp);

private:
  OpBuilder &b;
  Location loc;
};

} // namespace mlir::wm

#endif // WM_DIALECT_WM_UTILS_LOOPBUILDER_H
