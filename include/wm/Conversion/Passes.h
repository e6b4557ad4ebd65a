//===- Passes.h - wm conversion passes --------------------------*- C++ -*-===//

#ifndef WM_CONVERSION_PASSES_H
#define WM_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "wm/Dialect/WMTile/IR/WMTile.h"

namespace mlir {
class RewritePatternSet;
namespace wm {

#define GEN_PASS_DECL
#include "wm/Conversion/Passes.h.inc"

/// Scalar loop lowerings of wm.rms_norm, wm.rope, wm.dma_bias, wm.dma_select,
/// wm.dma_block_summary, wm.ssd and wm.cdmoe.
void populateWMToSCFPatterns(RewritePatternSet &patterns);
/// wm.dma_attention_grad and wm.dma_bias_grad as scalar loops.
void populateDmaGradientToSCFPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "wm/Conversion/Passes.h.inc"

} // namespace wm
} // namespace mlir

#endif // WM_CONVERSION_PASSES_H
