//===- TileToGPU.cpp - The convert-wm-tile-to-gpu pass --------------------===//
//
// Each wm_tile.program becomes a gpu.func in @wm_kernels launched where the
// program was: shared buffers are laid out in order in dynamic shared
// memory (those of nonzero phases overlapping), the grid is the linear block
// index, and the region is cloned into the kernel. A dialect conversion then
// maps every tile op (and the scf ops carrying tiles) onto the threads of
// the CTA, by the patterns of Memory.cpp, Matmul.cpp, Attention.cpp,
// Select.cpp and Gradients.cpp.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "wm/Conversion/Passes.h"
#include "wm/Conversion/WMToGPU/KernelFactory.h"

#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/IR/IRMapping.h"

#include <map>

namespace mlir::wm {
#define GEN_PASS_DEF_CONVERTWMTILETOGPU
#include "wm/Conversion/Passes.h.inc"
} // namespace mlir::wm

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

int64_t tile::sharedRowWords(SharedType type) {
  ArrayRef<int64_t> shape = type.getShape();
  int64_t bits = type.getElementType().getIntOrFloatBitWidth();
  if (bits == 16 && shape.size() >= 2)
    return shape.back() / 2 + kPad;
  return shape.back() * bits / 32;
}

int64_t tile::sharedWords(SharedType type) {
  int64_t words = sharedRowWords(type);
  for (int64_t d : type.getShape().drop_back())
    words *= d;
  return words;
}

Value tile::linearOffset(Emitter &e, MemRefType type, ValueRange indices) {
  SmallVector<int64_t> strides;
  int64_t offset;
  (void)type.getStridesAndOffset(strides, offset);
  Value linear = e.i64(offset);
  for (auto [index, stride] : llvm::zip(indices, strides))
    linear = e.addi(linear, e.muli(e.toI64(index), e.i64(stride)));
  return linear;
}

void tile::storePair(Emitter &e, Value dst, Value base, ArrayRef<Value> at,
                     Value lo, Value hi) {
  OpBuilder &b = e.builder();
  auto type = cast<MemRefType>(dst.getType());
  Type element = type.getElementType();
  if (element.getIntOrFloatBitWidth() == 16) {
    Value ptr = e.elementPointer(base, b.getI16Type(), linearOffset(e, type, at));
    LLVM::StoreOp::create(b, e.location(), e.pack(lo, hi, element), ptr,
                          /*alignment=*/4);
    return;
  }
  e.store(lo, dst, at);
  SmallVector<Value> next(at);
  next.back() = e.addi(at.back(), e.index(1));
  e.store(hi, dst, next);
}

TileToGPUTypeConverter::TileToGPUTypeConverter(KernelConfigAttr config) {
  addConversion([](Type type) { return type; });
  addConversion([](SharedType type) -> Type {
    return LLVM::LLVMPointerType::get(type.getContext(), 3);
  });
  addConversion([config](TileType type, SmallVectorImpl<Type> &results)
                    -> std::optional<LogicalResult> {
    MLIRContext *ctx = type.getContext();
    ArrayRef<int64_t> shape = type.getShape();
    int64_t rowTiles = config.getRowTiles();
    if (shape[0] != config.getBlockRows())
      return failure();
    int64_t count;
    Type element = Float32Type::get(ctx);
    if (shape.size() == 1)
      count = 2 * rowTiles;
    else if (type.getElementType().isF32())
      count = rowTiles * (shape[1] / 8) * 4;
    else
      count = rowTiles * (shape[1] / 16) * 4, element = IntegerType::get(ctx, 32);
    results.append(count, element);
    return success();
  });
}

namespace {

/// The program's shared buffers at consecutive 16-byte aligned word offsets,
/// phase 0 first, then each phase from the same offset after them (the
/// verifier checked that phases are never live together); returns the words
/// they take.
int64_t layOutShared(ProgramOp program) {
  std::map<int64_t, int64_t> ends;
  int64_t base = 0;
  auto place = [&](AllocSharedOp alloc) {
    int64_t &end = ends[alloc.getPhase()];
    int64_t at = alloc.getPhase() ? base + end : end;
    alloc->setAttr("wm_tile.offset",
                   IntegerAttr::get(IntegerType::get(program.getContext(), 64),
                                    at));
    end += llvm::alignTo(sharedWords(alloc.getType()), 4);
  };
  for (auto alloc : program.getBodyBlock().getOps<AllocSharedOp>())
    if (alloc.getPhase() == 0)
      place(alloc);
  base = ends[0];
  int64_t words = base;
  for (auto alloc : program.getBodyBlock().getOps<AllocSharedOp>())
    if (alloc.getPhase() != 0) {
      place(alloc);
      words = std::max(words, base + ends[alloc.getPhase()]);
    }
  return words;
}

/// Spreads the iterations of each scf.parallel of `func` over the CTA's
/// threads: thread t runs lo + t, lo + t + threads, ...
void distributeParallelLoops(gpu::GPUFuncOp func, Value tid, int64_t threads) {
  SmallVector<scf::ParallelOp> loops;
  func.walk([&](scf::ParallelOp loop) { loops.push_back(loop); });
  IRRewriter rewriter(func.getContext());
  for (scf::ParallelOp loop : loops) {
    rewriter.setInsertionPoint(loop);
    Emitter e(rewriter, loop.getLoc());
    Value first = e.addi(loop.getLowerBound()[0], tid);
    serializeParallel(rewriter, loop, first, e.index(threads));
  }
}

/// Outlines `program` into a kernel and launches it in its place; fills
/// `kernel` with the per-thread values at the kernel's entry.
FailureOr<gpu::GPUFuncOp> outline(ProgramOp program, KernelFactory &factory,
                                  KernelContext &kernel) {
  KernelConfigAttr config = program.getConfig();
  if (config.getWgmma())
    return program.emitOpError()
           << "has the wgmma config " << config
           << ", which convert-wm-tile-to-gpu does not lower yet (it maps "
              "mma.sync programs); compile with wgmma=false";
  int64_t words = layOutShared(program);
  if (4 * words > kMaxSharedBytesSm90)
    return program.emitOpError()
           << "needs " << 4 * words << " bytes of shared memory per CTA, more "
           << "than the " << kMaxSharedBytesSm90
           << " (227 KiB) of an sm_90 CTA, with " << config.getWarps()
           << " warps of " << config.getWarpRows()
           << " rows; use fewer warps or rows per warp (mma-warps, "
              "mma-warp-rows)";
  int64_t warps = config.getWarps(), threads = config.getThreads();
  int64_t steps = 1;
  program.walk([&](CompactOp c) {
    steps = std::max<int64_t>(steps, c.getRound() / (4 * threads));
  });
  MLIRContext *ctx = program.getContext();
  auto workgroup = [&](int64_t size, Type element) -> Type {
    return MemRefType::get({size}, element, MemRefLayoutAttrInterface(),
                           gpu::AddressSpaceAttr::get(
                               ctx, gpu::AddressSpace::Workgroup));
  };
  SmallVector<Type> scratch = {workgroup(steps * warps, IntegerType::get(ctx, 32)),
                               workgroup(warps, Float32Type::get(ctx))};
  int64_t blocks = 1;
  for (int64_t d : program.getGrid())
    blocks *= d;
  OpBuilder host(program);
  Location loc = program.getLoc();
  kernel.config = config;
  gpu::GPUFuncOp func = factory.launchBlocks(
      host, loc, program.getKernelName(), program.getBuffers(), blocks, threads,
      scratch, 4 * words, [&](OpBuilder &b, ValueRange args, ValueRange smem) {
        Emitter e(b, loc);
        kernel.tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
        kernel.warp = e.divi(kernel.tid, e.index(32));
        kernel.lane = e.remi(kernel.tid, e.index(32));
        kernel.group = e.divi(kernel.lane, e.index(4));
        kernel.quad = e.remi(kernel.lane, e.index(4));
        kernel.shared = factory.dynamicSharedMemory(b, loc);
        kernel.stepCounts = smem[0];
        kernel.reduction = smem[1];
        for (int64_t r = 0; r < config.getRowTiles(); ++r) {
          Value warpRow = e.muli(kernel.warp, e.index(config.getWarpRows()));
          kernel.rowA.push_back(
              e.addi(warpRow, e.addi(e.index(16 * r), kernel.group)));
          kernel.rowB.push_back(e.addi(kernel.rowA.back(), e.index(8)));
        }
        Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
        IRMapping mapping;
        SmallVector<Value> coords = delinearize(e, block, program.getGrid());
        Block &body = program.getBodyBlock();
        for (auto [i, c] : llvm::enumerate(coords))
          mapping.map(body.getArgument(i), c);
        for (auto [i, arg] : llvm::enumerate(args))
          mapping.map(program.getBufferArgument(i), arg);
        for (Operation &op : body.without_terminator())
          b.clone(op, mapping);
      },
      program.getOverlapPrevious());
  distributeParallelLoops(func, kernel.tid, threads);
  // The heuristics' choice stays visible on the kernel (and to lit).
  Builder attrs(ctx);
  func->setAttr("wm_tile.config", config);
  if (int64_t ctas = config.getMinCtas())
    func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  attrs.getI32IntegerAttr(ctas));
  func->setAttr("wm_tile.shared_bytes", attrs.getI64IntegerAttr(4 * words));
  program.erase();
  return func;
}

struct ConvertWMTileToGPUPass
    : wm::impl::ConvertWMTileToGPUBase<ConvertWMTileToGPUPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ProgramOp> programs;
    module.walk([&](ProgramOp p) { programs.push_back(p); });
    if (programs.empty())
      return;
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    KernelFactory factory(module, /*threads=*/128);
    std::deque<KernelContext> contexts;
    SmallVector<gpu::GPUFuncOp> kernels;
    for (ProgramOp program : programs) {
      contexts.emplace_back();
      FailureOr<gpu::GPUFuncOp> func = outline(program, factory, contexts.back());
      if (failed(func))
        return signalPassFailure();
      kernels.push_back(*func);
    }
    for (auto [func, kernel] : llvm::zip(kernels, contexts)) {
      TileToGPUTypeConverter converter(kernel.config);
      RewritePatternSet patterns(&getContext());
      ConversionTarget target(getContext());
      target.addIllegalDialect<WMTileDialect>();
      target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
      scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns,
                                                           target);
      populateTileMemoryToGPUPatterns(converter, patterns, kernel);
      populateTileMatmulToGPUPatterns(converter, patterns, kernel);
      populateTileAttentionToGPUPatterns(converter, patterns, kernel);
      populateTileSelectToGPUPatterns(converter, patterns, kernel);
      populateTileGradientToGPUPatterns(converter, patterns, kernel);
      populateTileScanToGPUPatterns(converter, patterns, kernel);
      if (failed(applyPartialConversion(func, target, std::move(patterns))))
        return signalPassFailure();
    }
  }
};

} // namespace
