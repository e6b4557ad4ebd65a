//===- Pipelines.h - Named WM pass pipelines --------------------*- C++ -*-===//

#ifndef WM_PIPELINES_PIPELINES_H
#define WM_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::wm {

struct CPUPipelineOptions : PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> blockQ{*this, "block-q",
                         llvm::cl::desc("Query rows per attention block"),
                         llvm::cl::init(64)};
  Option<int64_t> blockK{*this, "block-k",
                         llvm::cl::desc("Keys per attention tile"),
                         llvm::cl::init(64)};
  Option<bool> skipBlocks{*this, "skip-blocks",
                          llvm::cl::desc("Mask-driven key block skipping"),
                          llvm::cl::init(true)};
  Option<bool> compactKeys{*this, "compact-keys",
                           llvm::cl::desc("Iterate over compacted keys"),
                           llvm::cl::init(false)};
};

/// wm ops on tensors -> LLVM dialect for the host: key selection, tiled
/// attention, scalar loop lowerings, bufferization, LLVM conversion.
void buildWMToCPUPipeline(OpPassManager &pm,
                          const CPUPipelineOptions &options);

/// Registers `wm-to-cpu` (and the CPU loop stage `wm-to-loops`).
void registerWMPipelines();

} // namespace mlir::wm

#endif // WM_PIPELINES_PIPELINES_H
