//===- LoopBuilder.cpp - Scalar loop nests over memrefs -------------------===//

#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::wm;

Value LoopBuilder::index(int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value LoopBuilder::f32(double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value LoopBuilder::boolean(bool value) {
  return arith::ConstantIntOp::create(b, loc, value, 1);
}

Value LoopBuilder::dim(Value memref, int64_t dim) {
  return memref::DimOp::create(b, loc, memref, dim);
}

Value LoopBuilder::load(Value memref, ValueRange indices) {
  Value value = memref::LoadOp::create(b, loc, memref, indices);
  if (isa<FloatType>(value.getType()) && !value.getType().isF32())
    value = arith::ExtFOp::create(b, loc, b.getF32Type(), value);
  return value;
}

void LoopBuilder::store(Value value, Value memref, ValueRange indices) {
  Type elementType = cast<MemRefType>(memref.getType()).getElementType();
  if (value.getType() != elementType)
    value = arith::TruncFOp::create(b, loc, elementType, value);
  memref::StoreOp::create(b, loc, value, memref, indices);
}

static Value allocOf(OpBuilder &b, Location loc, Type elementType,
                     ArrayRef<Value> sizes) {
  SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
  return memref::AllocOp::create(b, loc, MemRefType::get(shape, elementType),
                                 sizes);
}

Value LoopBuilder::allocF32(ArrayRef<Value> sizes) {
  return allocOf(b, loc, b.getF32Type(), sizes);
}

Value LoopBuilder::allocIndex(ArrayRef<Value> sizes) {
  return allocOf(b, loc, b.getIndexType(), sizes);
}

void LoopBuilder::forEach(Value lb, Value ub, function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(b, loc, lb, ub, index(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

Value LoopBuilder::reduce(Value lb, Value ub, Value init,
                          function_ref<Value(Value, Value)> body) {
  auto loop = scf::ForOp::create(b, loc, lb, ub, index(1), ValueRange{init});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value next = body(loop.getInductionVar(), loop.getRegionIterArg(0));
  scf::YieldOp::create(b, loc, next);
  return loop.getResult(0);
}

void LoopBuilder::ifThen(Value condition, function_ref<void()> then) {
  auto branch = scf::IfOp::create(b, loc, condition, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(branch.thenBlock()->getTerminator());
  then();
}

void LoopBuilder::ifThenElse(Value condition, function_ref<void()> then,
                             function_ref<void()> otherwise) {
  auto branch = scf::IfOp::create(b, loc, condition, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(branch.thenBlock()->getTerminator());
  then();
  b.setInsertionPoint(branch.elseBlock()->getTerminator());
  otherwise();
}

Value LoopBuilder::ifValue(Value condition, function_ref<Value()> then,
                           function_ref<Value()> otherwise, Type type) {
  OpBuilder::InsertionGuard guard(b);
  auto branch = scf::IfOp::create(b, loc, TypeRange{type ? type : b.getF32Type()},
                                  condition, /*withElseRegion=*/true);
  b.setInsertionPointToStart(branch.thenBlock());
  Value thenValue = then();
  scf::YieldOp::create(b, loc, thenValue);
  b.setInsertionPointToStart(branch.elseBlock());
  Value elseValue = otherwise();
  scf::YieldOp::create(b, loc, elseValue);
  return branch.getResult(0);
}

Value LoopBuilder::bufferOf(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  return bufferization::ToBufferOp::create(
      b, loc, bufferization::getMemRefTypeWithFullyDynamicLayout(type),
      tensor, /*readOnly=*/true);
}

Value LoopBuilder::allocResult(RankedTensorType type, ArrayRef<Value> sizes) {
  SmallVector<Value> dynamicSizes;
  for (auto [extent, size] : llvm::zip_equal(type.getShape(), sizes))
    if (ShapedType::isDynamic(extent))
      dynamicSizes.push_back(size);
  return memref::AllocOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType()),
      dynamicSizes);
}

Value LoopBuilder::tensorOf(Value buffer, Type tensorType) {
  return bufferization::ToTensorOp::create(b, loc, tensorType, buffer,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

Value LoopBuilder::add(Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value LoopBuilder::sub(Value x, Value y) {
  return arith::SubFOp::create(b, loc, x, y);
}
Value LoopBuilder::mul(Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value LoopBuilder::div(Value x, Value y) {
  return arith::DivFOp::create(b, loc, x, y);
}
Value LoopBuilder::max(Value x, Value y) {
  return arith::MaximumFOp::create(b, loc, x, y);
}
Value LoopBuilder::ranksAbove(Value x, Value y) {
  Value xIsNaN = cmp(arith::CmpFPredicate::UNO, x, x);
  Value yIsNumber = cmp(arith::CmpFPredicate::ORD, y, y);
  Value nanOverNumber = andi(xIsNaN, yIsNumber);
  Value greater = cmp(arith::CmpFPredicate::OGT, x, y);
  return ori(greater, nanOverNumber);
}
Value LoopBuilder::keeps(Value bias, Value tau) {
  Value reaches = cmp(arith::CmpFPredicate::OGE, bias, tau);
  Value isNaN = cmp(arith::CmpFPredicate::UNO, bias, bias);
  return ori(reaches, isNaN);
}
Value LoopBuilder::nanAsInf(Value tau) {
  Value isNaN = cmp(arith::CmpFPredicate::UNO, tau, tau);
  return select(isNaN, f32(INFINITY), tau);
}
Value LoopBuilder::minInOrder(Value x, Value y) {
  return arith::MinNumFOp::create(b, loc, x, y);
}
Value LoopBuilder::min(Value x, Value y) {
  return arith::MinimumFOp::create(b, loc, x, y);
}
Value LoopBuilder::neg(Value x) { return arith::NegFOp::create(b, loc, x); }
Value LoopBuilder::exp(Value x) { return math::ExpOp::create(b, loc, x); }
Value LoopBuilder::log(Value x) { return math::LogOp::create(b, loc, x); }
Value LoopBuilder::sqrt(Value x) { return math::SqrtOp::create(b, loc, x); }

Value LoopBuilder::cmp(arith::CmpFPredicate predicate, Value x, Value y) {
  return arith::CmpFOp::create(b, loc, predicate, x, y);
}

Value LoopBuilder::select(Value condition, Value x, Value y) {
  return arith::SelectOp::create(b, loc, condition, x, y);
}

Value LoopBuilder::softplus(Value x) {
  Value smooth = math::Log1pOp::create(b, loc, exp(x));
  return select(cmp(arith::CmpFPredicate::OGT, x, f32(20.0)), x, smooth);
}

Value LoopBuilder::ssdStep(Value dt, Value bias, bool softplus, double dtMin,
                           double dtMax) {
  if (bias)
    dt = add(dt, bias);
  if (softplus)
    dt = this->softplus(dt);
  Value low = max(dt, f32(dtMin));
  return min(low, f32(dtMax));
}

Value LoopBuilder::softplusGrad(Value x) {
  return select(cmp(arith::CmpFPredicate::OGT, x, f32(20.0)), f32(1.0),
                sigmoid(x));
}

Value LoopBuilder::sigmoid(Value x) {
  Value one = f32(1.0);
  return div(one, add(one, exp(neg(x))));
}

Value LoopBuilder::silu(Value x) { return mul(x, sigmoid(x)); }

Value LoopBuilder::addi(Value x, Value y) {
  return arith::AddIOp::create(b, loc, x, y);
}
Value LoopBuilder::subi(Value x, Value y) {
  return arith::SubIOp::create(b, loc, x, y);
}
Value LoopBuilder::muli(Value x, Value y) {
  return arith::MulIOp::create(b, loc, x, y);
}
Value LoopBuilder::divi(Value x, Value y) {
  return arith::DivUIOp::create(b, loc, x, y);
}
Value LoopBuilder::remi(Value x, Value y) {
  return arith::RemUIOp::create(b, loc, x, y);
}
Value LoopBuilder::ceilDiv(Value x, Value y) {
  return arith::CeilDivUIOp::create(b, loc, x, y);
}
Value LoopBuilder::mini(Value x, Value y) {
  return arith::MinSIOp::create(b, loc, x, y);
}
Value LoopBuilder::maxi(Value x, Value y) {
  return arith::MaxSIOp::create(b, loc, x, y);
}
Value LoopBuilder::cmpi(arith::CmpIPredicate predicate, Value x, Value y) {
  return arith::CmpIOp::create(b, loc, predicate, x, y);
}
Value LoopBuilder::andi(Value x, Value y) {
  return arith::AndIOp::create(b, loc, x, y);
}
Value LoopBuilder::ori(Value x, Value y) {
  return arith::OrIOp::create(b, loc, x, y);
}

LogicalResult
mlir::wm::checkStaticShapes(Operation *root, StringRef pass,
                            function_ref<bool(Operation *)> needsStatic) {
  Dialect *wm = root->getContext()->getLoadedDialect("wm");
  WalkResult result = root->walk([&](Operation *op) {
    if (needsStatic ? !needsStatic(op) : op->getDialect() != wm)
      return WalkResult::advance();
    auto check = [&](Type type, StringRef kind, unsigned index) {
      auto shaped = dyn_cast<ShapedType>(type);
      if (!shaped || shaped.hasStaticShape())
        return true;
      op->emitOpError() << kind << " #" << index << " has the dynamic type "
                        << type << "; " << pass
                        << " needs static shapes";
      return false;
    };
    for (auto [i, operand] : llvm::enumerate(op->getOperandTypes()))
      if (!check(operand, "operand", i))
        return WalkResult::interrupt();
    for (auto [i, result] : llvm::enumerate(op->getResultTypes()))
      if (!check(result, "result", i))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

Value LoopBuilder::i32(int64_t value) {
  return arith::ConstantIntOp::create(b, loc, value, 32);
}

Value LoopBuilder::i64(int64_t value) {
  return arith::ConstantIntOp::create(b, loc, value, 64);
}

Value LoopBuilder::toI32(Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
}

Value LoopBuilder::toI64(Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
}

Value LoopBuilder::toIndex(Value integer) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), integer);
}

Value LoopBuilder::orderedKey(Value value) {
  Value isNaN = cmp(arith::CmpFPredicate::UNO, value, value);
  Value canonical =
      select(isNaN, f32(std::numeric_limits<double>::quiet_NaN()), value);
  Value bits = arith::BitcastOp::create(b, loc, b.getI32Type(), canonical);
  Value sign = arith::ShRSIOp::create(b, loc, bits, i32(31));
  Value mask = arith::OrIOp::create(b, loc, sign,
                                    i32(static_cast<int32_t>(0x80000000u)));
  return arith::XOrIOp::create(b, loc, bits, mask);
}

Value LoopBuilder::fromOrderedKey(Value key) {
  Value sign = arith::ShRSIOp::create(b, loc, key, i32(31));
  Value flipped = arith::XOrIOp::create(b, loc, sign, i32(-1));
  Value mask = arith::OrIOp::create(b, loc, flipped,
                                    i32(static_cast<int32_t>(0x80000000u)));
  Value bits = arith::XOrIOp::create(b, loc, key, mask);
  return arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
}

Value LoopBuilder::dot(Value size, function_ref<Value(Value)> lhs,
                       function_ref<Value(Value)> rhs) {
  return reduce(index(0), size, f32(0.0), [&](Value c, Value acc) {
    Value l = lhs(c);
    Value r = rhs(c);
    return add(acc, mul(l, r));
  });
}

Value LoopBuilder::dmaBiasDt(Value values, Value wDt, Value dtBias, Value b,
                             Value j, Value g, Value kvHeads, Value headDim) {
  Value dt = dot(
      muli(kvHeads, headDim),
      [&](Value col) {
        Value h = divi(col, headDim);
        Value d = remi(col, headDim);
        return load(values, {b, j, h, d});
      },
      [&](Value col) {
        return load(wDt, {g, col});
      });
  return dtBias ? add(dt, load(dtBias, {g})) : dt;
}

std::pair<Value, Value> LoopBuilder::dmaBiasGradAt(Value dt, Value decay,
                                                   Value grad, bool exp) {
  Value sp = softplus(dt);
  Value sg = softplusGrad(dt);
  if (exp)
    grad = mul(grad, this->exp(mul(decay, sp)));
  return {mul(grad, mul(decay, sg)), mul(grad, sp)};
}
