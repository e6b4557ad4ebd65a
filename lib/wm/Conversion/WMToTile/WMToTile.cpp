//===- WMToTile.cpp - The wm-to-tile pass ---------------------------------===//

#include "wm/Conversion/Passes.h"
#include "wm/Conversion/WMToTile/WMToTile.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::wm {
#define GEN_PASS_DEF_WMTOTILE
#include "wm/Conversion/Passes.h.inc"
} // namespace mlir::wm

using namespace mlir;
using namespace mlir::wm;

namespace {

struct WMToTilePass : wm::impl::WMToTileBase<WMToTilePass> {
  using Base::Base;

  void runOnOperation() override {
    if (mmaWarps != 0 && mmaWarps != 4 && mmaWarps != 8) {
      getOperation()->emitError() << "mma-warps must be 0 (automatic), 4 or 8";
      return signalPassFailure();
    }
    if (mmaWarpRows != 0 && mmaWarpRows != 16 && mmaWarpRows != 32) {
      getOperation()->emitError()
          << "mma-warp-rows must be 0 (automatic), 16 or 32";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateWMToTilePatterns(patterns,
                             AttentionKernelOptions{mmaWarps, mmaWarpRows, wgmma});
    populateSelectToTilePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
