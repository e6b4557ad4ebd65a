//===- Pipelines.cpp - Named WM pass pipelines ----------------------------===//

#include "wm/Pipelines/Pipelines.h"

#include "wm/Conversion/Passes.h"
#include "wm/Dialect/WM/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::wm;

/// Stage 1: wm ops -> scf loop nests on buffers, still inside tensor code.
static void buildWMToLoops(OpPassManager &pm,
                           const CPUPipelineOptions &options) {
  pm.addPass(createWMSelectKeys(WMSelectKeysOptions{options.blockK}));
  if (options.gpuKernels) {
    // One selection where the graph asks for the thresholds the attention
    // selects as well (a training forward returns them for the backward).
    pm.addPass(createCSEPass());
    // Exactly what wm-to-nvvm launches, each program a loop nest.
    pm.addPass(createConvertWMToGPU(ConvertWMToGPUOptions{
        options.threadsPerBlock, options.tensorCores, options.blockSelect,
        options.mmaWarps, options.mmaWarpRows, options.wgmma,
        options.deterministic, options.gradWarps, options.ssdRows,
        options.ssdHeads, options.ssdChainRows, options.ssdScanCtas,
        options.ssdChainPieces, options.ssdChunk, options.ssdOverlap}));
    pm.addPass(createConvertWMTileToLoops());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    return;
  }
  if (options.tilePrograms) {
    pm.addPass(createWMToTile(WMToTileOptions{
        options.mmaWarps, options.mmaWarpRows, options.wgmma}));
    pm.addPass(createConvertWMTileToLoops());
  }
  pm.addPass(createWMTileDmaAttention(WMTileDmaAttentionOptions{
      options.blockQ, options.blockK, options.skipBlocks,
      options.compactKeys}));
  pm.addPass(createConvertWMToSCF());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::wm::buildWMToCPUPipeline(OpPassManager &pm,
                                    const CPUPipelineOptions &options) {
  buildWMToLoops(pm, options);

  // Stage 2: bufferize what the graph kept on tensors (linalg, tensor).
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addPass(createConvertLinalgToLoopsPass());

  // Stage 3: host LLVM. bf16 extension/truncation become integer code.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  // What has no LLVM intrinsic (erf, ...) becomes a libm call.
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::wm::buildWMToNVVMPipeline(OpPassManager &pm,
                                     const GPUPipelineOptions &options) {
  pm.addPass(createWMSelectKeys(WMSelectKeysOptions{options.blockK}));
  // One selection where the graph asks for the thresholds the attention
  // selects as well (a training forward returns them for the backward).
  pm.addPass(createCSEPass());
  pm.addPass(createConvertWMToGPU(
      ConvertWMToGPUOptions{options.threadsPerBlock, options.tensorCores,
                            options.blockSelect, options.mmaWarps,
                            options.mmaWarpRows, options.wgmma,
                            options.deterministic, options.gradWarps,
                            options.ssdRows, options.ssdHeads,
                            options.ssdChainRows, options.ssdScanCtas,
                            options.ssdChainPieces, options.ssdChunk,
                            options.ssdOverlap}));
  pm.addPass(createConvertWMTileToGPU());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  ConvertGpuOpsToNVVMOpsOptions toNVVM;
  // One pointer per buffer: what a launch manifest passes.
  toNVVM.useBarePtrCallConv = true;
  kernels.addPass(createConvertGpuOpsToNVVMOps(toNVVM));
  // NVVM ops without an LLVM intrinsic (wgmma.mma_async) become inline PTX.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

namespace {

/// The chips the kernels are built for: cp.async needs sm_80 or later, and
/// LLVM's NVPTX backend must know the chip.
constexpr StringLiteral kChips[] = {"sm_80", "sm_86", "sm_87", "sm_89",
                                    "sm_90", "sm_90a"};
constexpr StringLiteral kFormats[] = {"isa", "bin"};

using ErrorHandler = function_ref<LogicalResult(const Twine &)>;

LogicalResult checkRange(StringRef name, int64_t value, int64_t lo, int64_t hi,
                         ErrorHandler error) {
  if (value >= lo && value <= hi)
    return success();
  return error(name + " must be in [" + Twine(lo) + ", " + Twine(hi) +
               "], got " + Twine(value));
}

template <size_t N>
LogicalResult checkOneOf(StringRef name, StringRef value,
                         const StringLiteral (&valid)[N], ErrorHandler error) {
  if (llvm::is_contained(valid, value))
    return success();
  std::string list;
  llvm::raw_string_ostream os(list);
  llvm::interleaveComma(valid, os);
  return error("unsupported " + name + " '" + value + "' (supported: " + list +
               ")");
}

LogicalResult checkOptions(const CPUPipelineOptions &options,
                           ErrorHandler error) {
  return success(
      succeeded(checkRange("block-q", options.blockQ, 1, kMaxBlockSize, error)) &&
      succeeded(checkRange("block-k", options.blockK, 1, kMaxBlockSize, error)));
}

LogicalResult checkOptions(const GPUPipelineOptions &options,
                           ErrorHandler error) {
  if (failed(checkOneOf("chip", options.chip, kChips, error)) ||
      failed(checkOneOf("format", options.format, kFormats, error)) ||
      failed(checkRange("block-k", options.blockK, 1, kMaxBlockSize, error)))
    return failure();
  if (options.wgmma && options.chip != "sm_90a")
    return error("wgmma needs chip=sm_90a, got chip=" + options.chip);
  return success();
}

/// Registers `build` under `arg`, refusing options that `checkOptions`
/// rejects before any pass runs (wm-opt then exits with the message).
template <typename Options>
void registerChecked(StringRef arg, StringRef description,
                     void (*build)(OpPassManager &, const Options &)) {
  registerPassPipeline(
      arg, description,
      [arg, build](OpPassManager &pm, StringRef text, ErrorHandler error) {
        Options options;
        if (failed(options.parseFromString(text)))
          return failure();
        if (failed(checkOptions(options,
                                [&](const Twine &message) {
                                  return error(arg + ": " + message);
                                })))
          return failure();
        build(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> handler) {
        handler(Options());
      });
}

} // namespace

void mlir::wm::registerWMPipelines() {
  registerChecked<GPUPipelineOptions>(
      "wm-to-nvvm",
      "Compile DMA entry functions to kernel launches and PTX/cubin",
      buildWMToNVVMPipeline);
  registerChecked<CPUPipelineOptions>(
      "wm-to-loops",
      "Lower wm ops to scf loop nests on buffers (the CPU reference stage)",
      buildWMToLoops);
  registerChecked<CPUPipelineOptions>(
      "wm-to-cpu", "Compile wm ops on tensors to LLVM IR for the host CPU",
      buildWMToCPUPipeline);
}
