//===- Emitter.h - Scalar and warp-level helpers of GPU kernels -*- C++ -*-===//
//
// LoopBuilder plus what kernels need below the tile level: shuffles and
// warp reductions, shared and global pointers, cp.async, ldmatrix, mma.sync
// and CTA-wide reductions through shared scratch.
//
//===----------------------------------------------------------------------===//

#ifndef WM_CONVERSION_TILETOGPU_EMITTER_H
#define WM_CONVERSION_TILETOGPU_EMITTER_H

#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::wm {

/// Scalar helpers of the block kernels on top of LoopBuilder.
struct Emitter : LoopBuilder {
  Emitter(OpBuilder &b, Location loc) : LoopBuilder(b, loc) {}

  /// 2^v as one ex2.approx.ftz.f32: the softmax weights can lose
  /// subnormals, and without .ftz ptxas adds a fix-up per call for them.
  Value exp2(Value v) {
    return LLVM::CallIntrinsicOp::create(
               builder(), location(), builder().getF32Type(),
               builder().getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
               ValueRange{v})
        .getResult(0);
  }
  Value shuffleXor(Value v, int32_t offset) {
    return gpu::ShuffleOp::create(builder(), location(), v, offset, 32,
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  /// Combines `v` over the lanes whose ids differ only in the bits of
  /// `offsets`, by xor shuffles in that order.
  Value xorReduce(Value v, ArrayRef<int32_t> offsets,
                  function_ref<Value(Value, Value)> combine) {
    for (int32_t offset : offsets)
      v = combine(v, shuffleXor(v, offset));
    return v;
  }
  /// Reduces over the 4 lanes of an mma row group (xor 1, 2).
  Value quadMax(Value v) {
    return xorReduce(v, {1, 2}, [&](Value a, Value b) { return max(a, b); });
  }
  Value quadMin(Value v) {
    return xorReduce(v, {1, 2}, [&](Value a, Value b) { return min(a, b); });
  }
  /// Inclusive prefix sum of an i32 or f32 over the lanes of a warp.
  Value warpInclusiveSum(Value v, Value lane) {
    for (int32_t offset : {1, 2, 4, 8, 16}) {
      Value up = gpu::ShuffleOp::create(builder(), location(), v, offset, 32,
                                        gpu::ShuffleMode::UP)
                     .getShuffleResult();
      Value sum = isa<FloatType>(v.getType())
                      ? add(v, up)
                      : arith::AddIOp::create(builder(), location(), v, up);
      v = select(cmpi(arith::CmpIPredicate::uge, lane, index(offset)), sum, v);
    }
    return v;
  }
  Value quadSum(Value v) {
    return xorReduce(v, {1, 2}, [&](Value a, Value b) { return add(a, b); });
  }
  void barrier() { gpu::BarrierOp::create(builder(), location()); }
  /// A pointer in `addressSpace` (1: global) to the first element of
  /// `memref`.
  Value pointerTo(Value memref, unsigned addressSpace) {
    Value address = memref::ExtractAlignedPointerAsIndexOp::create(
        builder(), location(), builder().getIndexType(), memref);
    auto ptrType =
        LLVM::LLVMPointerType::get(builder().getContext(), addressSpace);
    return LLVM::IntToPtrOp::create(builder(), location(), ptrType,
                                    toI64(address), nullptr);
  }
  Value basePointer(Value memref) { return pointerTo(memref, 1); }
  /// `base` advanced by `offset` elements of `element` type.
  Value elementPointer(Value base, Type element, Value offset) {
    return LLVM::GEPOp::create(builder(), location(), base.getType(), element,
                               base, ValueRange{offset});
  }
  /// The i32 holding 16-bit elements `element` and `element + 1`.
  Value loadPair(Value base, Value element) {
    Value ptr = elementPointer(base, builder().getI16Type(), element);
    return LLVM::LoadOp::create(builder(), location(), builder().getI32Type(),
                                ptr, /*alignment=*/4);
  }
  /// The `count` values of 32-bit `type` at `element` of `base`, one load
  /// aligned to its size.
  SmallVector<Value> loadVector(Value base, Type type, Value element,
                                int64_t count) {
    Value ptr = elementPointer(base, type, element);
    Value vector = LLVM::LoadOp::create(builder(), location(),
                                        VectorType::get({count}, type), ptr,
                                        /*alignment=*/4 * count);
    SmallVector<Value> values;
    for (int64_t i = 0; i < count; ++i)
      values.push_back(LLVM::ExtractElementOp::create(builder(), location(),
                                                      vector, i32(i)));
    return values;
  }
  SmallVector<Value> loadFour(Value base, Type type, Value element) {
    return loadVector(base, type, element, 4);
  }
  /// ldmatrix.x4 of 8x8 16-bit matrices: lane l names row l % 8 of matrix
  /// l / 8 at i32 word `word` of `base`; returns one i32 per matrix
  /// (transposed with `transpose`: .trans).
  SmallVector<Value> loadMatrices(Value base, Value word, bool transpose) {
    MLIRContext *ctx = builder().getContext();
    Value ptr = elementPointer(base, builder().getI32Type(), toI32(word));
    Type i32Type = builder().getI32Type();
    auto result = LLVM::LLVMStructType::getLiteral(
        ctx, {i32Type, i32Type, i32Type, i32Type});
    Value m = NVVM::LdMatrixOp::create(
        builder(), location(), result, ptr, builder().getI32IntegerAttr(4),
        NVVM::MMALayoutAttr::get(ctx, transpose ? NVVM::MMALayout::col
                                                : NVVM::MMALayout::row),
        NVVM::LdStMatrixShapeAttr::get(ctx, 8, 8),
        NVVM::LdStMatrixEltTypeAttr::get(ctx, NVVM::LdStMatrixEltType::B16));
    SmallVector<Value> out;
    for (int64_t i = 0; i < 4; ++i)
      out.push_back(LLVM::ExtractValueOp::create(builder(), location(), m,
                                                 ArrayRef<int64_t>{i}));
    return out;
  }
  /// Element `index` of type `type` at shared pointer `base`.
  Value loadShared(Value base, Type type, Value index) {
    return LLVM::LoadOp::create(builder(), location(), type,
                                elementPointer(base, type, toI32(index)));
  }
  /// `values` (of one 32-bit type) at element `element` of `element`-typed
  /// global `base`, one store aligned to their size.
  void storeVector(Value base, Type type, Value element,
                   ArrayRef<Value> values) {
    OpBuilder &b = builder();
    auto vectorType = VectorType::get({static_cast<int64_t>(values.size())},
                                      values.front().getType());
    Value vector = LLVM::PoisonOp::create(b, location(), vectorType);
    for (auto [i, value] : llvm::enumerate(values))
      vector = LLVM::InsertElementOp::create(b, location(), vector, value,
                                             i32(i));
    LLVM::StoreOp::create(b, location(), vector,
                          elementPointer(base, type, element),
                          /*alignment=*/4 * values.size());
  }
  void storeShared(Value value, Value base, Value index) {
    LLVM::StoreOp::create(
        builder(), location(), value,
        elementPointer(base, value.getType(), toI32(index)));
  }
  /// cp.async of `bytes` (4 or 16) from global `src` to shared `dst`; when
  /// `valid` is false the destination is zero-filled and nothing is read.
  void copyAsync(Value dst, Value src, int32_t bytes, Value valid) {
    Value srcBytes = select(valid, i32(bytes), i32(0));
    NVVM::CpAsyncOp::create(builder(), location(), dst, src, bytes,
                            bytes == 16 ? NVVM::LoadCacheModifierKind::CG
                                        : NVVM::LoadCacheModifierKind::CA,
                            srcBytes);
  }
  /// An scf.if yielding `types` from each branch.
  SmallVector<Value> ifValues(Value condition, TypeRange types,
                              function_ref<SmallVector<Value>()> then,
                              function_ref<SmallVector<Value>()> otherwise) {
    auto op = scf::IfOp::create(builder(), location(), types, condition,
                                /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(builder());
    builder().setInsertionPointToStart(op.thenBlock());
    scf::YieldOp::create(builder(), location(), then());
    builder().setInsertionPointToStart(op.elseBlock());
    scf::YieldOp::create(builder(), location(), otherwise());
    return SmallVector<Value>(op.getResults());
  }
  /// Two f32 rounded to the 16-bit type and packed, `lo` in the low half.
  Value pack(Value lo, Value hi, Type half) {
    // One vector conversion: cvt.rn.{bf16x2,f16x2}.f32.
    OpBuilder &b = builder();
    auto wide = VectorType::get({2}, b.getF32Type());
    Value pair = LLVM::PoisonOp::create(b, location(), wide);
    pair = LLVM::InsertElementOp::create(b, location(), pair, lo, i32(0));
    pair = LLVM::InsertElementOp::create(b, location(), pair, hi, i32(1));
    Value narrow = LLVM::FPTruncOp::create(
        b, location(), VectorType::get({2}, half), pair);
    return LLVM::BitcastOp::create(b, location(), b.getI32Type(), narrow);
  }
  /// The two 16-bit floats of an i32 word, as f32 (low half first).
  std::pair<Value, Value> unpack(Value word, Type half) {
    OpBuilder &b = builder();
    Value narrow = LLVM::BitcastOp::create(b, location(),
                                           VectorType::get({2}, half), word);
    Value pair = LLVM::FPExtOp::create(
        b, location(), VectorType::get({2}, b.getF32Type()), narrow);
    return {LLVM::ExtractElementOp::create(b, location(), pair, i32(0)),
            LLVM::ExtractElementOp::create(b, location(), pair, i32(1))};
  }
  /// D = A B + C on a 16x8x16 tile: A 4 x i32, B 2 x i32, C 4 x f32.
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> b,
                         ArrayRef<Value> c, NVVM::MMATypes type) {
    Type f32 = builder().getF32Type();
    auto result = LLVM::LLVMStructType::getLiteral(builder().getContext(),
                                                   {f32, f32, f32, f32});
    // bf16 fragments travel as i32, f16 ones as vector<2xf16>.
    auto operands = [&](ArrayRef<Value> regs) {
      SmallVector<Value> out(regs);
      if (type == NVVM::MMATypes::f16)
        for (Value &r : out)
          r = LLVM::BitcastOp::create(
              builder(), location(),
              VectorType::get({2}, builder().getF16Type()), r);
      return out;
    };
    Value d = NVVM::MmaOp::create(
        builder(), location(), result, operands(a), operands(b), c, {16, 8, 16},
        /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
        std::array<NVVM::MMATypes, 2>{type, type},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    SmallVector<Value> out;
    for (int64_t i = 0; i < 4; ++i)
      out.push_back(LLVM::ExtractValueOp::create(builder(), location(), d,
                                                 ArrayRef<int64_t>{i}));
    return out;
  }
};

/// An scf.for carrying `init`; `body(iv, state)` returns the next state.
inline SmallVector<Value>
forWithState(Emitter &e, Value lb, Value ub, ValueRange init,
             function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  OpBuilder &b = e.builder();
  auto loop = scf::ForOp::create(b, e.location(), lb, ub, e.index(1), init);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  SmallVector<Value> next = body(loop.getInductionVar(), loop.getRegionIterArgs());
  scf::YieldOp::create(b, e.location(), next);
  return loop.getResults();
}

enum class Combine { min, max };

/// An scf.while carrying `init`: runs `body(state)` (the next state) while
/// `condition(state)` holds; returns the final state.
inline SmallVector<Value>
whileWithState(Emitter &e, ValueRange init,
               function_ref<Value(ValueRange)> condition,
               function_ref<SmallVector<Value>(ValueRange)> body) {
  OpBuilder &b = e.builder();
  Location loc = e.location();
  TypeRange types = init.getTypes();
  auto loop = scf::WhileOp::create(b, loc, types, init);
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Location> locs(types.size(), loc);
  Block *before = b.createBlock(&loop.getBefore(), {}, types, locs);
  scf::ConditionOp::create(b, loc, condition(before->getArguments()),
                           before->getArguments());
  Block *after = b.createBlock(&loop.getAfter(), {}, types, locs);
  scf::YieldOp::create(b, loc, body(after->getArguments()));
  return loop.getResults();
}

/// A CTA-wide reduction of one value per thread of `warps` warps (all
/// threads get the result); `scratch` holds one value per warp.
inline Value blockReduce(Emitter &e, Value value, Value scratch, Value warp,
                  Value lane, int64_t warps, Combine kind) {
  auto combine = [&](Value a, Value b) {
    switch (kind) {
    case Combine::min:
      return e.min(a, b);
    case Combine::max:
      return e.max(a, b);
    }
    llvm_unreachable("unknown combine");
  };
  value = e.xorReduce(value, {16, 8, 4, 2, 1}, combine);
  e.barrier();
  e.ifThen(e.cmpi(arith::CmpIPredicate::eq, lane, e.index(0)),
           [&] { memref::StoreOp::create(e.builder(), e.location(), value,
                                         scratch, ValueRange{warp}); });
  e.barrier();
  Value total = memref::LoadOp::create(e.builder(), e.location(), scratch,
                                       ValueRange{e.index(0)});
  for (int64_t w = 1; w < warps; ++w)
    total = combine(total, memref::LoadOp::create(e.builder(), e.location(),
                                                  scratch,
                                                  ValueRange{e.index(w)}));
  return total;
}

inline MemRefType workgroupType(MLIRContext *context, ArrayRef<int64_t> shape,
                         Type element) {
  return MemRefType::get(
      shape, element, MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup));
}

/// TileChunks::chunkAt on index values.
struct IndexArith {
  Emitter &e;
  Value add(Value a, int64_t b) { return e.addi(a, e.index(b)); }
  Value div(Value a, int64_t b) { return e.divi(a, e.index(b)); }
  Value rem(Value a, int64_t b) { return e.remi(a, e.index(b)); }
};

} // namespace mlir::wm

#endif // WM_CONVERSION_TILETOGPU_EMITTER_H
