//===- KernelFactory.h - Kernels and their launches -------------*- C++ -*-===//
//
// Shared by the kernel generators of convert-wm-to-gpu: builds gpu.func
// kernels in gpu.module @wm_kernels and launches them from the host body.
//
//===----------------------------------------------------------------------===//

#ifndef WM_CONVERSION_WMTOGPU_KERNELFACTORY_H
#define WM_CONVERSION_WMTOGPU_KERNELFACTORY_H

#include "wm/Conversion/WMToTile/WMToTile.h"
#include "wm/Dialect/WM/IR/WMOps.h"
#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::wm {

constexpr StringLiteral kKernelModule = "wm_kernels";
/// On a gpu.launch_func: the kernel may start while the previous launch runs
/// (programmatic dependent launch); the launch manifest carries it.
constexpr StringLiteral kOverlapPreviousAttr = "wm.overlap_previous";

/// The config fields a row kernel (no tiles) does not use, at their
/// smallest valid values.
constexpr int64_t kRowKernelWarpRows = 16, kRowKernelTileKeys = 16;

inline MemRefType bufferType(Type tensorType) {
  auto tensor = cast<RankedTensorType>(tensorType);
  return MemRefType::get(tensor.getShape(), tensor.getElementType());
}

/// Builds kernels into gpu.module @wm_kernels and their launches.
class KernelFactory {
public:
  KernelFactory(ModuleOp module, int64_t threads)
      : module(module), threads(threads), symbols(module) {}

  /// Emits the program `name(buffers...)` running `body(lb, args, tid)` for
  /// every tid in [0, total), one thread each: a grid of CTAs of `threads`
  /// threads whose region is one scf.parallel over them. convert-wm-tile-
  /// to-gpu makes it a kernel, convert-wm-tile-to-loops a loop nest.
  void launch(OpBuilder &host, Location loc, StringRef name,
              ValueRange buffers, int64_t total,
              function_ref<void(LoopBuilder &, ValueRange, Value)> body) {
    MLIRContext *ctx = module.getContext();
    auto config = tile::KernelConfigAttr::get(
        ctx, threads / 32, kRowKernelWarpRows, /*stages=*/1,
        /*candidates=*/kRowKernelTileKeys, /*tile_keys=*/kRowKernelTileKeys,
        /*q_in_registers=*/false, /*wgmma=*/false, /*min_ctas=*/0);
    SmallVector<int64_t> grid = {
        static_cast<int64_t>(llvm::divideCeil(total, threads))};
    tile::ProgramOp::create(
        host, loc, name, grid, config, buffers,
        [&](OpBuilder &b, Block &block) {
          LoopBuilder lb(b, loc);
          auto cta = scf::ParallelOp::create(b, loc, ValueRange{lb.index(0)},
                                             ValueRange{lb.index(threads)},
                                             ValueRange{lb.index(1)});
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(cta.getBody()->getTerminator());
          Value tid = lb.addi(lb.muli(block.getArgument(0), lb.index(threads)),
                              cta.getInductionVars()[0]);
          lb.ifThen(lb.cmpi(arith::CmpIPredicate::ult, tid, lb.index(total)),
                    [&] { body(lb, block.getArguments().drop_front(), tid); });
        });
  }

  /// Emits `name(buffers...)` with `workgroup` shared buffers, run by
  /// `blocks` blocks of `threadsPerBlock` threads (the body guards itself),
  /// and launches it on `buffers` with `dynamicSharedBytes` of dynamic
  /// shared memory. Returns the kernel.
  gpu::GPUFuncOp launchBlocks(
      OpBuilder &host, Location loc, StringRef name, ValueRange buffers,
      int64_t blocks, int64_t threadsPerBlock, TypeRange workgroup,
      int64_t dynamicSharedBytes,
      function_ref<void(OpBuilder &, ValueRange, ValueRange)> body,
      bool overlapPrevious = false) {
    gpu::GPUModuleOp kernels = kernelModule(loc);
    // Built detached: the symbol table inserts it, renamed if two programs
    // share a name (a graph may select keys twice).
    OpBuilder b(module.getContext());
    auto type = FunctionType::get(module.getContext(),
                                  TypeRange(ValueRange(buffers)), {});
    auto func = gpu::GPUFuncOp::create(b, loc, name, type, workgroup);
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    // 16-byte aligned shared buffers: ldmatrix reads 16-byte rows.
    for (unsigned i = 0; i < workgroup.size(); ++i)
      func.setWorkgroupAttributionAttr(
          i, b.getStringAttr(LLVM::LLVMDialect::getAlignAttrName()),
          b.getI64IntegerAttr(16));
    func.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({static_cast<int32_t>(threadsPerBlock), 1, 1}));
    SymbolTable(kernels).insert(func);
    b.setInsertionPointToStart(&func.getBody().front());
    // The entry block also holds the workgroup attributions: split them off.
    body(b, func.getArguments().drop_back(workgroup.size()),
         func.getWorkgroupAttributions());
    gpu::ReturnOp::create(b, loc);

    LoopBuilder hb(host, loc);
    Value one = hb.index(1);
    auto launch = gpu::LaunchFuncOp::create(
        host, loc, func, gpu::KernelDim3{hb.index(blocks), one, one},
        gpu::KernelDim3{hb.index(threadsPerBlock), one, one},
        dynamicSharedBytes ? arith::ConstantIntOp::create(
                                 host, loc, dynamicSharedBytes, 32)
                                 .getResult()
                           : Value(),
        buffers);
    if (overlapPrevious)
      launch->setAttr(kOverlapPreviousAttr, host.getUnitAttr());
    return func;
  }

  /// The start of the dynamic shared memory of the kernel being built at
  /// `b`: an external zero-length shared array, which the NVPTX backend
  /// emits as `.extern .shared .b8 name[]` (upstream's
  /// gpu.dynamic_shared_memory lowers to an internal global, which the
  /// backend demotes to a one-byte static variable).
  Value dynamicSharedMemory(OpBuilder &b, Location loc) {
    constexpr StringLiteral name = "wm_dynamic_shared";
    gpu::GPUModuleOp kernels = kernelModule(loc);
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), 0);
    if (!SymbolTable::lookupSymbolIn(kernels, name)) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(kernels.getBody());
      LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/false,
                             LLVM::Linkage::External, name, Attribute(),
                             /*alignment=*/16, /*addrSpace=*/3);
    }
    return LLVM::AddressOfOp::create(
        b, loc, LLVM::LLVMPointerType::get(b.getContext(), 3), name);
  }

private:
  gpu::GPUModuleOp kernelModule(Location loc) {
    if (!kernels)
      kernels = symbols.lookup<gpu::GPUModuleOp>(kKernelModule);
    if (!kernels) {
      OpBuilder b(module.getBodyRegion());
      b.setInsertionPointToEnd(module.getBody());
      kernels = gpu::GPUModuleOp::create(b, loc, kKernelModule);
      symbols.insert(kernels);
    }
    return kernels;
  }

  ModuleOp module;
  int64_t threads;
  SymbolTable symbols;
  gpu::GPUModuleOp kernels;
};

/// Splits a linear id into coordinates, the last extent varying fastest.
inline SmallVector<Value> delinearize(LoopBuilder &lb, Value id,
                               ArrayRef<int64_t> extents) {
  SmallVector<Value> coords(extents.size());
  for (int64_t d = extents.size() - 1; d >= 0; --d) {
    Value extent = lb.index(extents[d]);
    coords[d] = d == 0 ? id : lb.remi(id, extent);
    id = lb.divi(id, extent);
  }
  return coords;
}


/// The row programs of wm.dma_attention_grad on buffers (q, k, v, bias,
/// tau, out, lse, dout, dq, dk, dv, dbias), launched at `host`.
void dmaAttentionGradKernels(KernelFactory &factory, OpBuilder &host,
                             DmaAttentionGradOp op, ValueRange buffers);

/// The tensor-core backward on the same buffers: dK, dV and dBias zeroed
/// (in f32 scratch when dK and dV are 16-bit), the tile program of
/// buildAttentionGradProgram, then dK and dV rounded into their buffers.
void dmaAttentionGradProgram(KernelFactory &factory, OpBuilder &host,
                             DmaAttentionGradOp op, ValueRange buffers,
                             int64_t warps);

/// The row programs of wm.dma_bias_grad on buffers (values, w_dt, a,
/// [dt_bias], grad_bias, then its results), launched at `host`.
void dmaBiasGradKernels(KernelFactory &factory, OpBuilder &host,
                        DmaBiasGradOp op, ValueRange buffers);

} // namespace mlir::wm

#endif // WM_CONVERSION_WMTOGPU_KERNELFACTORY_H
