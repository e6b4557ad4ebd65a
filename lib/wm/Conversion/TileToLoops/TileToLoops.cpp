//===- TileToLoops.cpp - The convert-wm-tile-to-loops pass ----------------===//
//
// A program becomes a loop nest over its grid around its region; then a
// dialect conversion rewrites the tile ops (and the scf ops carrying tiles)
// on buffers.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "wm/Conversion/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::wm {
#define GEN_PASS_DEF_CONVERTWMTILETOLOOPS
#include "wm/Conversion/Passes.h.inc"
} // namespace mlir::wm

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

static MemRefType identityBuffer(ShapedType type) {
  return MemRefType::get(type.getShape(), type.getElementType());
}

TileToLoopsTypeConverter::TileToLoopsTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](TileType type) -> Type { return identityBuffer(type); });
  addConversion([](SharedType type) -> Type {
    SmallVector<int64_t> strides(type.getShape().size(), ShapedType::kDynamic);
    auto layout = StridedLayoutAttr::get(type.getContext(),
                                         ShapedType::kDynamic, strides);
    return MemRefType::get(type.getShape(), type.getElementType(), layout);
  });
}

Value tile::hoistedBuffer(OpBuilder &b, Operation *op, MemRefType type) {
  auto func = op->getParentOfType<FunctionOpInterface>();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&func.getFunctionBody().front());
  return memref::AllocOp::create(b, op->getLoc(), type);
}

Value tile::tileBuffer(OpBuilder &b, Operation *op, ShapedType type) {
  return hoistedBuffer(b, op, identityBuffer(type));
}

Value tile::keyAt(LoopBuilder &lb, Value keys, Value slot) {
  OpBuilder &b = lb.builder();
  Value k = memref::LoadOp::create(b, lb.location(), keys, ValueRange{slot});
  return arith::IndexCastOp::create(b, lb.location(), b.getIndexType(), k);
}

void tile::forEachElement(LoopBuilder &lb, ArrayRef<int64_t> shape,
                          function_ref<void(ValueRange)> body) {
  SmallVector<Value> ivs;
  std::function<void(size_t)> nest = [&](size_t d) {
    if (d == shape.size())
      return body(ivs);
    lb.forEach(lb.index(0), lb.index(shape[d]), [&](Value iv) {
      ivs.push_back(iv);
      nest(d + 1);
      ivs.pop_back();
    });
  };
  nest(0);
}

SmallVector<Value> tile::offsetIndices(LoopBuilder &lb, ValueRange indices,
                                       ArrayRef<int64_t> dims,
                                       ValueRange offsets) {
  SmallVector<Value> at(indices);
  for (auto [d, offset] : llvm::zip(dims, offsets))
    at[d] = lb.addi(at[d], offset);
  return at;
}

namespace {

/// The grid as a loop nest, first dimension outermost, around the region.
void programToLoops(ProgramOp program) {
  IRRewriter rewriter(program);
  SmallVector<scf::ParallelOp> parallels;
  program.walk([&](scf::ParallelOp loop) { parallels.push_back(loop); });
  // Its iterations in order.
  for (scf::ParallelOp loop : parallels)
    serializeParallel(rewriter, loop, loop.getLowerBound()[0],
                      loop.getStep()[0]);
  rewriter.setInsertionPoint(program);
  Location loc = program.getLoc();
  LoopBuilder lb(rewriter, loc);
  Value zero = lb.index(0), one = lb.index(1);
  SmallVector<Value> args;
  for (int64_t extent : program.getGrid()) {
    auto loop = scf::ForOp::create(rewriter, loc, zero, lb.index(extent), one);
    args.push_back(loop.getInductionVar());
    rewriter.setInsertionPoint(loop.getBody()->getTerminator());
  }
  llvm::append_range(args, program.getBuffers());
  Block *body = &program.getBodyBlock();
  rewriter.eraseOp(body->getTerminator());
  rewriter.inlineBlockBefore(body, rewriter.getInsertionBlock()->getTerminator(),
                             args);
  rewriter.eraseOp(program);
}

struct ConvertWMTileToLoopsPass
    : wm::impl::ConvertWMTileToLoopsBase<ConvertWMTileToLoopsPass> {
  void runOnOperation() override {
    SmallVector<ProgramOp> programs;
    getOperation()->walk([&](ProgramOp p) { programs.push_back(p); });
    for (ProgramOp program : programs) {
      if (!program->getParentOfType<FunctionOpInterface>()) {
        program.emitOpError() << "must be inside a function to run on the CPU";
        return signalPassFailure();
      }
      programToLoops(program);
    }
    MLIRContext *context = &getContext();
    TileToLoopsTypeConverter converter;
    RewritePatternSet patterns(context);
    ConversionTarget target(*context);
    target.addIllegalDialect<WMTileDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns,
                                                         target);
    populateMemoryToLoopsPatterns(converter, patterns);
    populateMatmulToLoopsPatterns(converter, patterns);
    populateAttentionToLoopsPatterns(converter, patterns);
    populateSelectToLoopsPatterns(converter, patterns);
    populateGradientToLoopsPatterns(converter, patterns);
    populateScanToLoopsPatterns(converter, patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
