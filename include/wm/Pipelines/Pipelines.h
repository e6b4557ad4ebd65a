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
  Option<bool> tilePrograms{
      *this, "tile-programs",
      llvm::cl::desc("Run bf16/f16 attention as the GPU kernel's tile program "
                     "(wm-to-tile, convert-wm-tile-to-loops)"),
      llvm::cl::init(true)};
  Option<int64_t> mmaWarps{
      *this, "mma-warps",
      llvm::cl::desc("Tile programs: warps per CTA (0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> mmaWarpRows{
      *this, "mma-warp-rows",
      llvm::cl::desc("Tile programs: query rows (SSD: chunk-scan rows) per "
                     "warp, 16 or 32 (0: automatic)"),
      llvm::cl::init(0)};
  Option<bool> wgmma{*this, "wgmma",
                     llvm::cl::desc("Tile programs: the wgmma kernel's config"),
                     llvm::cl::init(false)};
  Option<bool> gpuKernels{
      *this, "gpu-kernels",
      llvm::cl::desc("Run the GPU pipeline's kernels on the CPU: the tile "
                     "programs of convert-wm-to-gpu (DMA entry functions "
                     "only), through convert-wm-tile-to-loops"),
      llvm::cl::init(false)};
  Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("With gpu-kernels: the tensor-core attention program"),
      llvm::cl::init(true)};
  Option<bool> blockSelect{
      *this, "block-select",
      llvm::cl::desc("With gpu-kernels: thresholds per block of rows"),
      llvm::cl::init(true)};
  Option<bool> deterministic{
      *this, "deterministic",
      llvm::cl::desc("With gpu-kernels: gradients by the deterministic row "
                     "programs"),
      llvm::cl::init(false)};
  Option<int64_t> gradWarps{
      *this, "grad-warps",
      llvm::cl::desc("With gpu-kernels: warps per backward CTA, 4 or 8 (0: "
                     "automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdRows{
      *this, "ssd-rows",
      llvm::cl::desc("With gpu-kernels: rows per SSD chunk-scan CTA, 64 or "
                     "128 (0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdHeads{
      *this, "ssd-heads",
      llvm::cl::desc("With gpu-kernels: heads of a group per SSD chunk-scan "
                     "CTA, up to 8 (0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdChainRows{
      *this, "ssd-chain-rows",
      llvm::cl::desc("With gpu-kernels: rows of P per SSD state-chain CTA, "
                     "16 to 128 (-1: no chain; 0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdScanCtas{
      *this, "ssd-scan-ctas",
      llvm::cl::desc("With gpu-kernels: CTAs per SM an SSD chunk-scan CTA's "
                     "registers leave room for, 1 to 8 (-1: no bound; 0: "
                     "automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdChainPieces{
      *this, "ssd-chain-pieces",
      llvm::cl::desc("With gpu-kernels: pieces of each head's chunks the SSD "
                     "state chain walks in parallel, 1 to 16 (0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdChunk{
      *this, "ssd-chunk",
      llvm::cl::desc("With gpu-kernels: steps per SSD chunk, 64, 128 or 256 "
                     "(0: automatic)"),
      llvm::cl::init(0)};
  Option<bool> ssdOverlap{
      *this, "ssd-overlap",
      llvm::cl::desc("With gpu-kernels: the SSD chunk scan overlaps the "
                     "state chain (signals and waits; the CPU runs them in "
                     "order)"),
      llvm::cl::init(true)};
  Option<int64_t> threadsPerBlock{
      *this, "threads-per-block",
      llvm::cl::desc("With gpu-kernels: threads per block of the row kernels"),
      llvm::cl::init(128)};
};

struct GPUPipelineOptions : PassPipelineOptions<GPUPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("GPU architecture"),
                           llvm::cl::init("sm_90a")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features (8.1: vector "
                                              "reductions)"),
                               llvm::cl::init("+ptx81")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Kernel binary: isa (PTX) or bin (cubin, needs ptxas)"),
      llvm::cl::init("isa")};
  Option<int64_t> blockK{*this, "block-k",
                         llvm::cl::desc("Keys per block of the summaries"),
                         llvm::cl::init(64)};
  Option<bool> tensorCores{*this, "tensor-cores",
                           llvm::cl::desc("Tensor-core attention kernel"),
                           llvm::cl::init(true)};
  Option<bool> blockSelect{*this, "block-select",
                           llvm::cl::desc("Thresholds per block of rows"),
                           llvm::cl::init(true)};
  Option<bool> deterministic{
      *this, "deterministic",
      llvm::cl::desc("Gradients by the deterministic row programs (no "
                     "atomics, O(Lq Lk D))"),
      llvm::cl::init(false)};
  Option<int64_t> gradWarps{*this, "grad-warps",
                            llvm::cl::desc("Warps per backward CTA, 4 or 8 "
                                           "(0: automatic)"),
                            llvm::cl::init(0)};
  Option<int64_t> ssdRows{*this, "ssd-rows",
                          llvm::cl::desc("Rows per SSD chunk-scan CTA, 64 or "
                                         "128 (0: automatic)"),
                          llvm::cl::init(0)};
  Option<int64_t> ssdHeads{*this, "ssd-heads",
                           llvm::cl::desc("Heads of a group per SSD "
                                          "chunk-scan CTA, sharing C B^T, up "
                                          "to 8 (0: automatic)"),
                           llvm::cl::init(0)};
  Option<int64_t> ssdChainRows{
      *this, "ssd-chain-rows",
      llvm::cl::desc("Rows of P per SSD state-chain CTA, 16 to 128 (-1: no "
                     "chain, chunk states and state passing apart; 0: "
                     "automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdScanCtas{
      *this, "ssd-scan-ctas",
      llvm::cl::desc("CTAs per SM an SSD chunk-scan CTA's registers leave "
                     "room for, 1 to 8 (ptxas's .minnctapersm; -1: no bound; "
                     "0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdChainPieces{
      *this, "ssd-chain-pieces",
      llvm::cl::desc("Pieces of each head's chunks the SSD state chain walks "
                     "in parallel, 1 to 16 (0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> ssdChunk{
      *this, "ssd-chunk",
      llvm::cl::desc("Steps per SSD chunk, 64, 128 or 256 (0: the op's "
                     "chunk_size, at most 128 with the state chain)"),
      llvm::cl::init(0)};
  Option<bool> ssdOverlap{
      *this, "ssd-overlap",
      llvm::cl::desc("The SSD chunk scan starts while the state chain runs "
                     "(programmatic dependent launch), each CTA waiting for "
                     "its chunk's entering state"),
      llvm::cl::init(true)};
  Option<bool> wgmma{*this, "wgmma",
                      llvm::cl::desc("The warpgroup wgmma attention config "
                                     "(not lowered to the GPU yet)"),
                      llvm::cl::init(false)};
  Option<int64_t> mmaWarps{
      *this, "mma-warps",
      llvm::cl::desc("Warps per attention CTA (0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> mmaWarpRows{
      *this, "mma-warp-rows",
      llvm::cl::desc("Query rows (SSD: chunk-scan rows) per mma.sync warp, "
                     "16 or 32 (0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> threadsPerBlock{*this, "threads-per-block",
                                  llvm::cl::desc("Threads per kernel block"),
                                  llvm::cl::init(128)};
};

/// DMA entry functions on buffers -> host launches + a gpu.binary holding
/// PTX (or a cubin) for the chip: key selection, kernel generation, the
/// upstream NVVM lowering of the kernels and their serialization.
void buildWMToNVVMPipeline(OpPassManager &pm,
                           const GPUPipelineOptions &options);

/// wm ops on tensors -> LLVM dialect for the host: key selection, tiled
/// attention, scalar loop lowerings, bufferization, LLVM conversion.
void buildWMToCPUPipeline(OpPassManager &pm,
                          const CPUPipelineOptions &options);

/// Registers `wm-to-cpu`, its loop stage `wm-to-loops`, and `wm-to-nvvm`.
void registerWMPipelines();

} // namespace mlir::wm

#endif // WM_PIPELINES_PIPELINES_H
