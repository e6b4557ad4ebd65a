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
  pm.addPass(createConvertWMToGPU(
      ConvertWMToGPUOptions{options.threadsPerBlock, options.tensorCores,
                            options.blockSelect, options.mmaWarps,
                            options.mmaWarpRows,
                            options.wgmma && options.chip == "sm_90a"}));
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

void mlir::wm::registerWMPipelines() {
  PassPipelineRegistration<GPUPipelineOptions>(
      "wm-to-nvvm",
      "Compile DMA entry functions to kernel launches and PTX/cubin",
      buildWMToNVVMPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "wm-to-loops",
      "Lower wm ops to scf loop nests on buffers (the CPU reference stage)",
      buildWMToLoops);
  PassPipelineRegistration<CPUPipelineOptions>(
      "wm-to-cpu", "Compile wm ops on tensors to LLVM IR for the host CPU",
      buildWMToCPUPipeline);
}
