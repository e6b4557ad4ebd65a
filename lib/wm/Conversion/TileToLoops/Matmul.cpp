//===- Matmul.cpp - wm_tile.matmul to CPU loops ---------------------------===//

#include "Patterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

namespace {

/// C[i, j] = acc[i, j] + sum_k A[i, k] B[k, j], in f32. Products of 16-bit
/// values are exact in f32, as in an mma; an f32 lhs is first rounded to
/// rhs's type, as the GPU packs P for the mma. Rows i < live_from are
/// acc[i, j] (or 0).
struct MatmulToLoops : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    OpBuilder &b = lb.builder();
    Location loc = op.getLoc();
    TileType type = op.getType();
    Value result = tileBuffer(rewriter, op, type);
    Type lhsElement = cast<ShapedType>(op.getLhs().getType()).getElementType();
    Type rhsElement = op.getRhs().getType().getElementType();
    bool roundLhs = lhsElement.isF32() && !rhsElement.isF32();
    int64_t depth = cast<ShapedType>(op.getLhs().getType())
                        .getShape()[op.getTransposeLhs() ? 0 : 1];
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs(), acc = adaptor.getAcc();
    forEachElement(lb, type.getShape(), [&](ValueRange ij) {
      Value init = acc ? lb.load(acc, ij) : lb.f32(0.0);
      Value sum = lb.reduce(
          lb.index(0), lb.index(depth), init, [&](Value k, Value partial) {
            Value a = op.getTransposeLhs() ? lb.load(lhs, {k, ij[0]})
                                           : lb.load(lhs, {ij[0], k});
            if (Value scale = adaptor.getScale()) {
              Value factor =
                  lb.load(scale, {lb.addi(adaptor.getScaleFirst(), k)});
              Value narrow = arith::TruncFOp::create(b, loc, lhsElement,
                                                     lb.mul(a, factor));
              a = arith::ExtFOp::create(b, loc, b.getF32Type(), narrow);
            }
            if (roundLhs) {
              Value narrow = arith::TruncFOp::create(b, loc, rhsElement, a);
              a = arith::ExtFOp::create(b, loc, b.getF32Type(), narrow);
            }
            SmallVector<Value> at = op.getTransposeRhs()
                                        ? SmallVector<Value>{ij[1], k}
                                        : SmallVector<Value>{k, ij[1]};
            Value bv = lb.load(rhs, at);
            return lb.add(partial, lb.mul(a, bv));
          });
      if (Value liveFrom = adaptor.getLiveFrom())
        sum = lb.select(lb.cmpi(arith::CmpIPredicate::slt, ij[0], liveFrom),
                        init, sum);
      lb.store(sum, result, ij);
    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void tile::populateMatmulToLoopsPatterns(TypeConverter &converter,
                                         RewritePatternSet &patterns) {
  patterns.add<MatmulToLoops>(converter, patterns.getContext());
}
