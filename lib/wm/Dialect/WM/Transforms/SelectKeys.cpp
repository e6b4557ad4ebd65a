//===- SelectKeys.cpp - DMA key selection as thresholds -------------------===//
//
// Expects wm.dma_attention; produces wm.dma_select (per-row thresholds),
// wm.dma_block_summary (per-key-block max/min bias) and
// wm.dma_threshold_attention. The bias depends on the key only, so the top-W
// selection of every row is one threshold: O(Lq + Lk) numbers describe the
// whole mask, and no Lq x Lk tensor is ever built.
//
//===----------------------------------------------------------------------===//

#include "wm/Dialect/WM/IR/WMOps.h"
#include "wm/Dialect/WM/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir::wm {
#define GEN_PASS_DEF_WMSELECTKEYS
#include "wm/Dialect/WM/Transforms/Passes.h.inc"
} // namespace mlir::wm

using namespace mlir;
using namespace mlir::wm;

namespace {

struct SelectDmaKeys : OpRewritePattern<DmaAttentionOp> {
  SelectDmaKeys(MLIRContext *context, int64_t blockSize)
      : OpRewritePattern(context), blockSize(blockSize) {}

  LogicalResult matchAndRewrite(DmaAttentionOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType biasType = op.getBias().getType();
    int64_t queryLen = op.getQuery().getType().getDimSize(1);
    int64_t keyLen = biasType.getDimSize(2);
    if (!biasType.hasStaticShape() || ShapedType::isDynamic(queryLen))
      return rewriter.notifyMatchFailure(op, "needs static sequence lengths");

    Location loc = op.getLoc();
    std::optional<uint64_t> window = op.getWindow();
    // Lk <= W: every allowed key is kept (spec 1.2), no selection at all.
    bool selects = window && static_cast<int64_t>(*window) < keyLen;
    Value tau;
    Value blockMax, blockMin;
    IntegerAttr blockSizeAttr;
    if (selects) {
      tau = DmaSelectOp::create(rewriter, loc, op.getBias(), queryLen,
                                *window, op.getCausal(), op.getScope());
      auto summary =
          DmaBlockSummaryOp::create(rewriter, loc, op.getBias(), blockSize);
      blockMax = summary.getBlockMax();
      blockMin = summary.getBlockMin();
      blockSizeAttr = rewriter.getI64IntegerAttr(blockSize);
    } else {
      auto tauType = RankedTensorType::get(
          {biasType.getDimSize(0), biasType.getDimSize(1), queryLen},
          rewriter.getF32Type());
      tau = arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(
              tauType, rewriter.getF32FloatAttr(
                           -std::numeric_limits<float>::infinity())));
    }
    auto attention = DmaThresholdAttentionOp::create(
        rewriter, loc, op.getQuery(), op.getKey(), op.getValue(),
        op.getBias(), tau, blockMax, blockMin,
        rewriter.getF32FloatAttr(op.getEffectiveScale()), op.getCausalAttr(),
        blockSizeAttr, op.getF32OutputAttr());
    rewriter.replaceOp(op, attention->getResults());
    return success();
  }

  int64_t blockSize;
};

struct WMSelectKeysPass : wm::impl::WMSelectKeysBase<WMSelectKeysPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize <= 0 || blockSize > kMaxBlockSize) {
      getOperation()->emitError() << "block-size must be in [1, "
                                  << kMaxBlockSize << "], got "
                                  << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateSelectKeysPatterns(patterns, blockSize);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::wm::populateSelectKeysPatterns(RewritePatternSet &patterns,
                                          int64_t blockSize) {
  patterns.add<SelectDmaKeys>(patterns.getContext(), blockSize);
}
