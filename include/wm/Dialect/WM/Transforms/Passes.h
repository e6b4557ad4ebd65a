//===- Passes.h - wm dialect transformation passes --------------*- C++ -*-===//

#ifndef WM_DIALECT_WM_TRANSFORMS_PASSES_H
#define WM_DIALECT_WM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace wm {

#define GEN_PASS_DECL
#include "wm/Dialect/WM/Transforms/Passes.h.inc"

/// The largest attention tile (block-q, block-k, block-size) a pass
/// accepts: far above any useful tile, small enough that no tile
/// arithmetic or scratch allocation leaves 64 bits.
constexpr int64_t kMaxBlockSize = 4096;

/// wm.dma_attention -> wm.dma_select + wm.dma_block_summary +
/// wm.dma_threshold_attention.
void populateSelectKeysPatterns(RewritePatternSet &patterns,
                                int64_t blockSize);

/// Options of the tiled attention lowering (see wm-tile-dma-attention).
struct DmaTilingOptions {
  int64_t blockQ = 64;
  int64_t blockK = 64;
  bool skipBlocks = true;
  bool compactKeys = false;
};

/// wm.dma_threshold_attention -> tiled online-softmax loop nest.
void populateTileDmaAttentionPatterns(RewritePatternSet &patterns,
                                      const DmaTilingOptions &options);

#define GEN_PASS_REGISTRATION
#include "wm/Dialect/WM/Transforms/Passes.h.inc"

} // namespace wm
} // namespace mlir

#endif // WM_DIALECT_WM_TRANSFORMS_PASSES_H
