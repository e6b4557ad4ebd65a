//===- WMToGPU.cpp - DMA ops to GPU kernels and launches ------------------===//
//
// Expects entry functions on buffers (to_tensor / materialize_in_destination
// around wm ops, after wm-select-keys); produces a host body of allocations
// and wm_tile.programs, which convert-wm-tile-to-gpu makes kernels. The
// selection and tensor-core attention programs come from wm-to-tile; the
// others assign one thread per output element or row and are built with
// LoopBuilder, so they share their scalar code shape with the CPU reference
// lowering.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/Passes.h"

#include "wm/Dialect/WM/IR/WMOps.h"
#include "wm/Dialect/WM/Utils/LoopBuilder.h"

#include "wm/Conversion/WMToGPU/KernelFactory.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::wm {
#define GEN_PASS_DEF_CONVERTWMTOGPU
#include "wm/Conversion/Passes.h.inc"
} // namespace mlir::wm

using namespace mlir;
using namespace mlir::wm;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

//===----------------------------------------------------------------------===//
// Kernel bodies
//===----------------------------------------------------------------------===//

void dmaBiasKernel(KernelFactory &factory, OpBuilder &host, DmaBiasOp op,
                   ValueRange buffers) {
  auto values = op.getValues().getType();
  int64_t batch = values.getDimSize(0), keys = values.getDimSize(1);
  int64_t kvHeads = values.getDimSize(2), headDim = values.getDimSize(3);
  bool hasDtBias = static_cast<bool>(op.getDtBias());
  BiasForm form = op.getForm();
  factory.launch(
      host, op.getLoc(), "dma_bias", buffers, batch * kvHeads * keys,
      [&](LoopBuilder &lb, ValueRange args, Value tid) {
        SmallVector<Value> c = delinearize(lb, tid, {batch, kvHeads, keys});
        Value b = c[0], g = c[1], j = c[2];
        Value dt = lb.dmaBiasDt(args[0], args[1], hasDtBias ? args[3] : Value(),
                                b, j, g, lb.index(kvHeads), lb.index(headDim));
        Value scaled = lb.mul(lb.load(args[2], {g}), lb.softplus(dt));
        lb.store(form == BiasForm::exp ? lb.exp(scaled) : scaled,
                 args.back(), {b, g, j});
      });
}

void dmaSelectKernel(KernelFactory &factory, OpBuilder &host, DmaSelectOp op,
                     ValueRange buffers) {
  auto bias = op.getBias().getType();
  int64_t batch = bias.getDimSize(0), kvHeads = bias.getDimSize(1);
  int64_t keys = bias.getDimSize(2);
  int64_t queries = static_cast<int64_t>(op.getQueryLen());
  int64_t window = static_cast<int64_t>(op.getWindow());
  bool perRow = op.hasRowThresholds();
  factory.launch(
      host, op.getLoc(), "dma_select", buffers, batch * kvHeads * queries,
      [&](LoopBuilder &lb, ValueRange args, Value tid) {
        OpBuilder &b = lb.builder();
        Location loc = lb.location();
        SmallVector<Value> c = delinearize(lb, tid, {batch, kvHeads, queries});
        Value bg0 = c[0], g = c[1], i = c[2];
        // Row i ranks keys [0, end): its causal prefix, or every key.
        Value end = perRow ? lb.addi(i, lb.index(keys - queries + 1))
                           : lb.index(keys);
        Value ranked = lb.cmpi(CmpIPredicate::sge, end, lb.index(window));
        Value tau = lb.ifValue(
            ranked,
            [&] {
              // The largest key t with #{j < end : key(bias_j) >= t} >= W is
              // the key of the W-th largest bias: fix it bit by bit.
              Value zero64 = arith::ConstantIntOp::create(b, loc, 0, 64);
              Value found = lb.reduce(
                  lb.index(0), lb.index(32), zero64, [&](Value bit, Value t) {
                    Value shift = arith::IndexCastUIOp::create(
                        b, loc, b.getI64Type(), lb.subi(lb.index(31), bit));
                    Value one64 = arith::ConstantIntOp::create(b, loc, 1, 64);
                    Value candidate = arith::OrIOp::create(
                        b, loc, t, arith::ShLIOp::create(b, loc, one64, shift));
                    Value count = lb.reduce(
                        lb.index(0), end, lb.index(0), [&](Value j, Value n) {
                          Value key = arith::ExtUIOp::create(
                              b, loc, b.getI64Type(),
                              lb.orderedKey(lb.load(args[0], {bg0, g, j})));
                          return lb.select(
                              lb.cmpi(CmpIPredicate::uge, key, candidate),
                              lb.addi(n, lb.index(1)), n);
                        });
                    return lb.select(
                        lb.cmpi(CmpIPredicate::sge, count, lb.index(window)),
                        candidate, t);
                  });
              return lb.fromOrderedKey(
                  arith::TruncIOp::create(b, loc, b.getI32Type(), found));
            },
            [&] { return lb.negInf(); });
        lb.store(tau, args[1], {bg0, g, i});
      });
}

void dmaBlockSummaryKernel(KernelFactory &factory, OpBuilder &host,
                           DmaBlockSummaryOp op, ValueRange buffers) {
  auto bias = op.getBias().getType();
  int64_t batch = bias.getDimSize(0), kvHeads = bias.getDimSize(1);
  int64_t keys = bias.getDimSize(2);
  int64_t block = static_cast<int64_t>(op.getBlockSize());
  int64_t blocks = llvm::divideCeil(keys, block);
  factory.launch(
      host, op.getLoc(), "dma_block_summary", buffers,
      batch * kvHeads * blocks,
      [&](LoopBuilder &lb, ValueRange args, Value tid) {
        SmallVector<Value> c = delinearize(lb, tid, {batch, kvHeads, blocks});
        Value j0 = lb.muli(c[2], lb.index(block));
        Value j1 = lb.mini(lb.index(keys), lb.addi(j0, lb.index(block)));
        // In the selection's order: NaN is the largest (maximumf) and the
        // smallest only if all are NaN (minnum).
        auto biasAt = [&](Value j) { return lb.load(args[0], {c[0], c[1], j}); };
        lb.store(lb.reduce(j0, j1, lb.negInf(),
                           [&](Value j, Value m) { return lb.max(m, biasAt(j)); }),
                 args[1], c);
        lb.store(lb.reduce(j0, j1, lb.f32(INFINITY),
                           [&](Value j, Value m) {
                             return lb.minInOrder(m, biasAt(j));
                           }),
                 args[2], c);
      });
}

void dmaAttentionKernel(KernelFactory &factory, OpBuilder &host,
                        DmaThresholdAttentionOp op, ValueRange buffers) {
  auto query = op.getQuery().getType();
  int64_t batch = query.getDimSize(0), queries = query.getDimSize(1);
  int64_t heads = query.getDimSize(2), headDim = query.getDimSize(3);
  auto key = op.getKey().getType();
  int64_t keys = key.getDimSize(1), kvHeads = key.getDimSize(2);
  bool summaries = static_cast<bool>(op.getBlockMax());
  int64_t block = summaries ? static_cast<int64_t>(*op.getBlockSize()) : keys;
  double scale = op.getScale().convertToDouble();
  bool causal = op.getCausal();
  factory.launch(
      host, op.getLoc(), "dma_attention", buffers, batch * heads * queries,
      [&](LoopBuilder &lb, ValueRange args, Value tid) {
        OpBuilder &b = lb.builder();
        Location loc = lb.location();
        Value q = args[0], k = args[1], v = args[2], bias = args[3];
        Value tauBuf = args[4];
        Value blockMax = summaries ? args[5] : Value();
        Value blockMin = summaries ? args[6] : Value();
        Value out = args[args.size() - 2], lse = args.back();
        SmallVector<Value> c = delinearize(lb, tid, {batch, heads, queries});
        Value bq = c[0], h = c[1], i = c[2];
        Value g = lb.divi(h, lb.index(heads / kvHeads));
        Value zero = lb.index(0), dim = lb.index(headDim);
        Value tau = lb.load(tauBuf, {bq, g, i});
        Value limit = lb.addi(i, lb.index(keys - queries));
        Value keyEnd = causal ? lb.maxi(zero, lb.mini(lb.index(keys),
                                                      lb.addi(limit, lb.index(1))))
                              : lb.index(keys);
        // Row state in registers/local memory: q (scaled), acc, max, sum.
        auto rowType = MemRefType::get({headDim}, b.getF32Type());
        auto scalarType = MemRefType::get({}, b.getF32Type());
        Value qRow = memref::AllocaOp::create(b, loc, rowType);
        Value acc = memref::AllocaOp::create(b, loc, rowType);
        Value rowMax = memref::AllocaOp::create(b, loc, scalarType);
        Value rowSum = memref::AllocaOp::create(b, loc, scalarType);
        lb.forEach(zero, dim, [&](Value d) {
          lb.store(lb.mul(lb.load(q, {bq, i, h, d}), lb.f32(scale)), qRow, {d});
          lb.store(lb.f32(0.0), acc, {d});
        });
        lb.store(lb.negInf(), rowMax, {});
        lb.store(lb.f32(0.0), rowSum, {});

        auto visit = [&](Value j, Value keyBias) {
          Value s = lb.add(
              lb.reduce(zero, dim, lb.f32(0.0),
                        [&](Value d, Value sum) {
                          return lb.add(sum, lb.mul(lb.load(qRow, {d}),
                                                    lb.load(k, {bq, j, g, d})));
                        }),
              keyBias);
          // A -inf score adds nothing (and no exp(-inf - -inf)); NaN and
          // +inf go on, to make the row NaN.
          lb.ifThen(lb.cmp(CmpFPredicate::UNE, s, lb.negInf()), [&] {
            Value oldMax = lb.load(rowMax, {});
            Value newMax = lb.max(oldMax, s);
            Value alpha = lb.exp(lb.sub(oldMax, newMax));
            Value p = lb.exp(lb.sub(s, newMax));
            lb.store(lb.add(lb.mul(lb.load(rowSum, {}), alpha), p), rowSum, {});
            lb.forEach(zero, dim, [&](Value d) {
              lb.store(lb.add(lb.mul(lb.load(acc, {d}), alpha),
                              lb.mul(p, lb.load(v, {bq, j, g, d}))),
                       acc, {d});
            });
            lb.store(newMax, rowMax, {});
          });
        };
        auto scan = [&](Value j0, Value j1, bool predicated) {
          lb.forEach(j0, j1, [&](Value j) {
            Value keyBias = lb.load(bias, {bq, g, j});
            if (!predicated)
              return visit(j, keyBias);
            lb.ifThen(lb.keeps(keyBias, tau), [&] { visit(j, keyBias); });
          });
        };
        lb.forEach(zero, lb.ceilDiv(keyEnd, lb.index(block)), [&](Value kb) {
          Value j0 = lb.muli(kb, lb.index(block));
          Value j1 = lb.mini(keyEnd, lb.addi(j0, lb.index(block)));
          if (!summaries)
            return scan(j0, j1, true);
          // Skip blocks this row keeps nothing of; no predicate on blocks
          // it keeps whole (keyEnd already applies causality).
          Value live = lb.keeps(lb.load(blockMax, {bq, g, kb}), tau);
          lb.ifThen(live, [&] {
            Value full = lb.keeps(lb.load(blockMin, {bq, g, kb}), tau);
            lb.ifThenElse(full, [&] { scan(j0, j1, false); },
                          [&] { scan(j0, j1, true); });
          });
        });

        // A row whose maximum is still -inf kept nothing: out 0, lse -inf.
        Value max = lb.load(rowMax, {});
        Value kept = lb.cmp(CmpFPredicate::UNE, max, lb.negInf());
        Value sum = lb.load(rowSum, {});
        Value safeSum = lb.select(kept, sum, lb.f32(1.0));
        lb.forEach(zero, dim, [&](Value d) {
          lb.store(lb.select(kept, lb.div(lb.load(acc, {d}), safeSum),
                             lb.f32(0.0)),
                   out, {bq, i, h, d});
        });
        Value infinite = lb.cmp(CmpFPredicate::OEQ, max, lb.f32(INFINITY));
        Value rowLse =
            lb.select(infinite, max, lb.add(max, lb.log(safeSum)));
        lb.store(lb.select(kept, rowLse, lb.negInf()), lse, {bq, h, i});
      });
}

/// A splat tensor constant (tau = -inf when nothing is selected).
void fillKernel(KernelFactory &factory, OpBuilder &host, arith::ConstantOp op,
                SplatElementsAttr splat, ValueRange buffers) {
  auto type = cast<RankedTensorType>(op.getType());
  double value = splat.getSplatValue<APFloat>().convertToDouble();
  factory.launch(host, op.getLoc(), "fill", buffers, type.getNumElements(),
                 [&](LoopBuilder &lb, ValueRange args, Value tid) {
                   lb.store(lb.f32(value), args[0],
                            delinearize(lb, tid, type.getShape()));
                 });
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

LogicalResult convertFunction(func::FuncOp func, KernelFactory &factory,
                              bool tensorCores, bool blockSelect,
                              bool deterministic, int64_t gradWarps,
                              const SsdKernelOptions &ssdOptions,
                              const AttentionKernelOptions &kernelOptions) {
  // The buffer of every tensor: function arguments read through to_tensor,
  // destinations of materialize_in_destination, or fresh scratch.
  DenseMap<Value, Value> buffers;
  for (auto read : func.getOps<bufferization::ToTensorOp>())
    buffers[read.getResult()] = read.getBuffer();
  for (auto write : func.getOps<bufferization::MaterializeInDestinationOp>()) {
    if (buffers.count(write.getSource()))
      return write.emitOpError()
             << "writes a value that already has a buffer; the GPU entry "
                "form needs each output computed by its own op";
    buffers[write.getSource()] = write.getDest();
  }

  // Attention that runs as a tile program (else the row kernel).
  auto onTensorCores = [&](Operation *op) {
    auto attention = dyn_cast<DmaThresholdAttentionOp>(op);
    return attention && tensorCores && supportsAttentionProgram(attention);
  };
  SmallVector<Operation *> lowered;
  for (Operation &op : func.getBody().getOps()) {
    if (isa<bufferization::ToTensorOp, bufferization::MaterializeInDestinationOp,
            func::ReturnOp>(op))
      continue;
    auto constant = dyn_cast<arith::ConstantOp>(op);
    auto splat = constant ? dyn_cast<SplatElementsAttr>(constant.getValue())
                          : SplatElementsAttr();
    if (splat && !splat.getElementType().isF32())
      splat = {};
    if (!splat && !isa<DmaBiasOp, DmaSelectOp, DmaBlockSummaryOp,
                       DmaThresholdAttentionOp, DmaAttentionGradOp,
                       DmaBiasGradOp, SsdOp>(op))
      return op.emitOpError()
             << "is not supported on the GPU yet (convert-wm-to-gpu lowers "
                "wm.dma_bias, wm.dma_select, wm.dma_attention after "
                "wm-select-keys, their gradients, and wm.ssd)";
    if (auto ssd = dyn_cast<SsdOp>(op); ssd && failed(checkSsdPrograms(ssd)))
      return failure();
    // The tensor-core program compacts keys by their bias directly;
    // summaries only serve the row kernels.
    if (isa<DmaBlockSummaryOp>(op) &&
        llvm::all_of(op.getUsers(), onTensorCores)) {
      lowered.push_back(&op);
      continue;
    }
    OpBuilder host(&op);
    SmallVector<Value> args;
    SmallVector<Value> operands =
        onTensorCores(&op)
            ? SmallVector<Value>(attentionProgramOperands(
                  cast<DmaThresholdAttentionOp>(op)))
            : SmallVector<Value>(op.getOperands());
    for (Value operand : operands) {
      if (!buffers.count(operand))
        return op.emitOpError() << "has an operand without a buffer";
      args.push_back(buffers[operand]);
    }
    for (Value result : op.getResults()) {
      if (!buffers.count(result))
        buffers[result] = memref::AllocOp::create(host, op.getLoc(),
                                                  bufferType(result.getType()));
      args.push_back(buffers[result]);
    }
    TypeSwitch<Operation *>(&op)
        .Case([&](DmaBiasOp o) { dmaBiasKernel(factory, host, o, args); })
        .Case([&](DmaSelectOp o) {
          // The tile program, mapped onto the CTA by convert-wm-tile-to-gpu.
          if (blockSelect)
            buildSelectProgram(host, o, args);
          else
            dmaSelectKernel(factory, host, o, args);
        })
        .Case([&](DmaBlockSummaryOp o) {
          dmaBlockSummaryKernel(factory, host, o, args);
        })
        .Case([&](DmaAttentionGradOp o) {
          if (tensorCores && !deterministic && supportsAttentionGradProgram(o))
            dmaAttentionGradProgram(factory, host, o, args, gradWarps);
          else
            dmaAttentionGradKernels(factory, host, o, args);
        })
        .Case([&](DmaBiasGradOp o) { dmaBiasGradKernels(factory, host, o, args); })
        .Case([&](SsdOp o) {
          auto of = [&](Value v) { return v ? buffers.lookup(v) : Value(); };
          buildSsdPrograms(
              host, o, ssdOptions,
              {of(o.getX()), of(o.getDt()), of(o.getA()), of(o.getB()),
               of(o.getC()), of(o.getD()), of(o.getZ()), of(o.getDtBias()),
               of(o.getInitialState()), of(o.getCos()), of(o.getSin()),
               of(o.getY()), of(o.getFinalState())});
        })
        .Case([&](DmaThresholdAttentionOp o) {
          // The tile program, mapped onto warps by convert-wm-tile-to-gpu.
          if (onTensorCores(o))
            buildAttentionProgram(host, o, args,
                                  chooseAttentionConfig(o, kernelOptions));
          else
            dmaAttentionKernel(factory, host, o, args);
        })
        .Case([&](arith::ConstantOp o) {
          // Thresholds the tensor-core kernel knows to be -inf need no
          // buffer contents.
          bool staticUse = llvm::all_of(o->getUses(), [&](OpOperand &use) {
            if (!onTensorCores(use.getOwner()))
              return false;
            auto attention = cast<DmaThresholdAttentionOp>(use.getOwner());
            return &use == &attention.getTauMutable() && keepsEveryKey(attention.getTau());
          });
          if (!staticUse)
            fillKernel(factory, host, o, splat, args);
        });
    lowered.push_back(&op);
  }
  // Erase tensor code, users first.
  SmallVector<Operation *> tensorOps;
  for (Operation &op : func.getBody().getOps())
    if (isa<bufferization::ToTensorOp,
            bufferization::MaterializeInDestinationOp>(op))
      tensorOps.push_back(&op);
  for (auto *op : llvm::reverse(tensorOps))
    if (isa<bufferization::MaterializeInDestinationOp>(op))
      op->erase();
  for (auto *op : llvm::reverse(lowered))
    op->erase();
  for (auto *op : tensorOps)
    if (isa<bufferization::ToTensorOp>(op))
      op->erase();
  return success();
}

struct ConvertWMToGPUPass
    : wm::impl::ConvertWMToGPUBase<ConvertWMToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Row kernels are programs of whole warps.
    if (threadsPerBlock < 32 || threadsPerBlock > 1024 ||
        threadsPerBlock % 32 != 0) {
      module.emitError() << "threads-per-block must be a multiple of 32 in "
                            "[32, 1024], got "
                         << threadsPerBlock;
      return signalPassFailure();
    }
    // The compaction rounds and tile copies split evenly over 4 or 8 warps.
    if (mmaWarps != 0 && mmaWarps != 4 && mmaWarps != 8) {
      module.emitError() << "mma-warps must be 0 (automatic), 4 or 8";
      return signalPassFailure();
    }
    if (gradWarps != 0 && gradWarps != 4 && gradWarps != 8) {
      module.emitError() << "grad-warps must be 0 (automatic), 4 or 8";
      return signalPassFailure();
    }
    if (ssdRows != 0 && ssdRows != 64 && ssdRows != 128) {
      module.emitError() << "ssd-rows must be 0 (automatic), 64 or 128";
      return signalPassFailure();
    }
    if (mmaWarpRows != 0 && mmaWarpRows != 16 && mmaWarpRows != 32) {
      module.emitError() << "mma-warp-rows must be 0 (automatic), 16 or 32";
      return signalPassFailure();
    }
    if (ssdHeads < 0 || ssdHeads > kMaxSsdHeads) {
      module.emitError() << "ssd-heads must be in [0, " << kMaxSsdHeads
                         << "] (0: automatic), got " << ssdHeads.getValue();
      return signalPassFailure();
    }
    if (!llvm::is_contained({-1, 0, 16, 32, 64, 128}, ssdChainRows.getValue())) {
      module.emitError() << "ssd-chain-rows must be -1 (no chain), 0 "
                            "(automatic), 16, 32, 64 or 128, got "
                         << ssdChainRows.getValue();
      return signalPassFailure();
    }
    if (ssdScanCtas < -1 || ssdScanCtas > kMaxSsdScanCtas) {
      module.emitError() << "ssd-scan-ctas must be -1 (no bound), 0 "
                            "(automatic) or at most "
                         << kMaxSsdScanCtas << ", got " << ssdScanCtas.getValue();
      return signalPassFailure();
    }
    if (ssdChainPieces < 0 || ssdChainPieces > kMaxSsdChainPieces) {
      module.emitError() << "ssd-chain-pieces must be in [0, "
                         << kMaxSsdChainPieces << "] (0: automatic), got "
                         << ssdChainPieces.getValue();
      return signalPassFailure();
    }
    if (!llvm::is_contained({0, 64, 128, 256}, ssdChunk.getValue())) {
      module.emitError() << "ssd-chunk must be 0 (automatic), 64, 128 or "
                            "256, got "
                         << ssdChunk.getValue();
      return signalPassFailure();
    }
    if (failed(checkStaticShapes(module, getArgument())))
      return signalPassFailure();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    KernelFactory factory(module, threadsPerBlock);
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      bool hasWMOps = false;
      func.walk([&](Operation *op) {
        hasWMOps |= isa<WMDialect>(op->getDialect());
      });
      if (hasWMOps && failed(convertFunction(func, factory, tensorCores,
                                             blockSelect, deterministic,
                                             gradWarps,
                                             SsdKernelOptions{ssdRows,
                                                              mmaWarpRows,
                                                              ssdHeads,
                                                              ssdChainRows,
                                                              ssdScanCtas,
                                                              ssdChainPieces,
                                                              ssdChunk,
                                                              ssdOverlap},
                                             AttentionKernelOptions{
                                                 mmaWarps, mmaWarpRows, wgmma})))
        return signalPassFailure();
    }
  }
};

} // namespace
