//===- AttentionKernels.cpp - Tensor-core DMA kernels ---------------------===//
//
// The block-level DMA kernels of convert-wm-to-gpu:
//
// * dma_select_blocks, one CTA of 8 warps per (batch, kv head, block of 256
//   query rows): tau of the block's first row and the 256th smallest of the
//   top W by a radix select over the order-preserving 32-bit image of the
//   bias, then a bitonic sort of the few values that can still be a row's
//   tau, which each row walks to its rank. Exact with ties, O(L) memory.
// * dma_attention_mma / dma_attention_wgmma, one CTA per (batch, head,
//   block of query rows: 4 or 8 warps of 32 or 16 rows, or one warpgroup of
//   64 for wgmma): the candidate keys of the block (bias >= the block's
//   smallest tau, causally visible to its last row) are compacted in key
//   order into shared memory, gathered 64 at a time with cp.async, and
//   S = Q K^T and O += P V run on tensor cores (mma.sync m16n8k16 with
//   ldmatrix fragments, or warpgroup wgmma on sm_90a) with f32 accumulation
//   and an online softmax in registers, in the log2 domain.
//
// Operands keep their memref types in the kernel signature; vectors of
// 16-bit values and biases are loaded through their aligned pointers.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/TileToGPU/Emitter.h"
#include "wm/Conversion/WMToGPU/KernelFactory.h"
#include "wm/Conversion/WMToGPU/TileChunks.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::wm;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

constexpr int64_t kSelectRows = 256;   // query rows per dma_select_blocks CTA
constexpr int64_t kSelectWarps = 8;
constexpr int64_t kSelectThreads = 32 * kSelectWarps;
constexpr int64_t kTileKeys = 64;   // keys per tensor-core tile
constexpr int64_t kPad = 4;         // i32 words of padding per smem row
constexpr double kLog2E = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;

} // namespace

bool mlir::wm::supportsTensorCoreAttention(DmaThresholdAttentionOp op) {
  Type element = op.getQuery().getType().getElementType();
  int64_t headDim = op.getQuery().getType().getDimSize(3);
  // ldmatrix.x4 covers two 16-wide key steps: D is a multiple of 32.
  return (element.isBF16() || element.isF16()) && headDim % 32 == 0 &&
         headDim <= 256;
}


//===----------------------------------------------------------------------===//
// dma_attention_mma / dma_attention_wgmma
//===----------------------------------------------------------------------===//

namespace {

/// Dynamic shared memory of the tensor-core attention kernels, as offsets in
/// 32-bit words: the candidate list of a segment, `stages` stages of K and V
/// tiles and of the tiles' key indices and biases, the Q tile (wgmma, and
/// mma.sync with 32-row warps, which read Q fragments with ldmatrix) and for
/// wgmma the P tile.
///
/// mma.sync tiles are row-major with D / 2 + kPad words per key or query
/// (ldmatrix rows in distinct banks). wgmma tiles are in the no-swizzle
/// canonical layout: 16-byte chunk c of row r (8 elements) at byte
/// ((r / 8) * (D / 8) + c) * 128 + (r % 8) * 16, i.e. 8 x 8 core matrices
/// 128 bytes apart along the row and 16 * D bytes apart per 8 rows; chunk
/// `item` of a cp.async sweep lands at byte 16 * item.
struct AttentionSharedLayout {
  AttentionSharedLayout(int64_t headDim, bool wgmma, int64_t stages,
                        int64_t queryRows)
      : rowWords(wgmma ? headDim / 2 : headDim / 2 + kPad),
        tileWords(kTileKeys * rowWords),
        // Two CTAs per SM: the wgmma one also holds Q and P tiles.
        candidates(wgmma ? 4096 : 8192), kStages(candidates),
        vStages(kStages + stages * tileWords),
        tileKeys(vStages + stages * tileWords),
        tileBias(tileKeys + stages * kTileKeys),
        query(tileBias + stages * kTileKeys),
        probs(query + queryRows * rowWords),
        words(probs + (wgmma ? kWgmmaRows * kTileKeys / 2 : 0)) {}
  static constexpr int64_t kWgmmaRows = 64; // one warpgroup
  int64_t rowWords, tileWords, candidates, kStages, vStages, tileKeys,
      tileBias, query, probs, words;
};


/// The no-swizzle wgmma matrix descriptor of the operand at shared byte
/// address `address`: leading / stride byte offsets in the encoding of the
/// PTX ISA (bits 16-29 and 32-45, in units of 16 bytes).
Value wgmmaDescriptor(Emitter &e, Value address, int64_t leading,
                      int64_t stride) {
  OpBuilder &b = e.builder();
  Location loc = e.location();
  Value start = arith::ShRUIOp::create(
      b, loc, arith::AndIOp::create(b, loc, address, e.i64(0x3FFFF)),
      e.i64(4));
  return arith::OrIOp::create(
      b, loc, start, e.i64(((leading >> 4) << 16) | ((stride >> 4) << 32)));
}

/// An LLVM struct of `values` (the accumulator operand of wgmma).
Value packStruct(Emitter &e, ArrayRef<Value> values) {
  OpBuilder &b = e.builder();
  auto type = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(values.size(), b.getF32Type()));
  Value result = LLVM::PoisonOp::create(b, e.location(), type);
  for (auto [i, v] : llvm::enumerate(values))
    result = LLVM::InsertValueOp::create(b, e.location(), result, v,
                                         ArrayRef<int64_t>{int64_t(i)});
  return result;
}

SmallVector<Value> unpackStruct(Emitter &e, Value value, int64_t count) {
  SmallVector<Value> out;
  for (int64_t i = 0; i < count; ++i)
    out.push_back(LLVM::ExtractValueOp::create(e.builder(), e.location(),
                                               value, ArrayRef<int64_t>{i}));
  return out;
}

/// The CTA of the tensor-core attention kernel for an op and its options.
struct TensorCoreShape {
  bool wgmma, qInRegisters;
  int64_t rowTiles, warps, warpRows, stages;

  static TensorCoreShape choose(DmaThresholdAttentionOp op,
                                const TensorCoreOptions &options) {
    int64_t queries = op.getQuery().getType().getDimSize(1);
    int64_t headDim = op.getQuery().getType().getDimSize(3);
    TensorCoreShape s;
    // The wgmma tile copies map 8 rows of D / 8 chunks onto a warpgroup.
    s.wgmma = options.wgmma && 128 % headDim == 0;
    // Warps of 32 rows (two m16 tiles) use each K and V fragment they load
    // from shared memory twice: half the ldmatrix traffic per mma of
    // 16-row warps. Past D = 128 their accumulators alone would fill the
    // registers.
    s.rowTiles = s.wgmma              ? 1
                 : options.warpRows ? options.warpRows / 16
                 : headDim <= 128   ? 2
                                    : 1;
    // Long sequences: larger CTAs halve the compaction and gathers per row.
    s.warps = s.wgmma           ? 4
              : options.warps ? options.warps
              : queries >= (s.rowTiles == 2 ? 32768 : 16384) ? 8
                                                             : 4;
    s.warpRows = 16 * s.rowTiles;
    // 16-row warps keep their Q fragments in registers and double-buffer
    // K and V tiles. 32-row warps have no registers left for Q: they read
    // its fragments from shared memory, and load V of a tile while its
    // scores are computed and K of the next one while P V is
    // (FlashAttention-2's single stage), so that two CTAs still fit an SM.
    s.qInRegisters = !s.wgmma && s.rowTiles == 1;
    s.stages = s.rowTiles == 1 ? 2 : 1;
    return s;
  }

  AttentionSharedLayout layout(int64_t headDim) const {
    return AttentionSharedLayout(headDim, wgmma, stages,
                                 wgmma ? AttentionSharedLayout::kWgmmaRows
                                 : qInRegisters ? 0
                                                : warpRows * warps);
  }
};

} // namespace

int64_t mlir::wm::tensorCoreSharedBytes(DmaThresholdAttentionOp op,
                                        const TensorCoreOptions &options) {
  int64_t headDim = op.getQuery().getType().getDimSize(3);
  return 4 * TensorCoreShape::choose(op, options).layout(headDim).words;
}

void mlir::wm::tensorCoreAttentionKernel(KernelFactory &factory,
                                         OpBuilder &host,
                                         DmaThresholdAttentionOp op,
                                         ValueRange buffers,
                                         const TensorCoreOptions &options) {
  auto query = op.getQuery().getType();
  int64_t batch = query.getDimSize(0), queries = query.getDimSize(1);
  int64_t heads = query.getDimSize(2), headDim = query.getDimSize(3);
  auto key = op.getKey().getType();
  int64_t keys = key.getDimSize(1), kvHeads = key.getDimSize(2);
  Type half = query.getElementType();
  NVVM::MMATypes mmaType =
      half.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  NVVM::WGMMATypes wgmmaType =
      half.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  double scale = op.getScale().convertToDouble();
  bool causal = op.getCausal();
  TensorCoreShape shape = TensorCoreShape::choose(op, options);
  // Thresholds of a causal global selection (or of unknown origin) may be
  // NaN for rows that see no NaN key: they need the exact keep test.
  auto selection = op.getTau().getDefiningOp<DmaSelectOp>();
  bool exactThresholds = !selection || (selection.getCausal() &&
                                        selection.getScope() ==
                                            SelectionScope::global);
  bool wgmma = shape.wgmma, qInRegisters = shape.qInRegisters;
  int64_t rowTiles = shape.rowTiles, warps = shape.warps;
  int64_t warpRows = shape.warpRows, stages = shape.stages;
  int64_t threads = 32 * warps, blockRows = warpRows * warps;
  int64_t queryBlocks = llvm::divideCeil(queries, blockRows);
  int64_t kSteps = headDim / 16, dTiles = headDim / 8, quads = headDim / 8;
  AttentionSharedLayout layout = shape.layout(headDim);
  // A compaction round: 4 x kCompactSteps keys per thread (loads in flight
  // together), half the candidate list.
  const int64_t kCompactSteps = layout.candidates / (8 * threads);
  int64_t roundKeys = threads * 4 * kCompactSteps;
  // 16-byte bias loads need 16-byte aligned rows.
  bool vectorBias = keys % 4 == 0;
  assert(layout.candidates % roundKeys == 0 &&
         TileChunks({kTileKeys, quads, threads}).isEven());
  // wgmma operand strides (bytes): 8-row groups of a tile are 16 * D bytes
  // apart, 8-element chunks of a row 128 bytes.
  int64_t groupBytes = 16 * headDim, chunkBytes = 128;
  MLIRContext *ctx = host.getContext();
  Type i32 = IntegerType::get(ctx, 32), f32 = Float32Type::get(ctx);
  SmallVector<Type> workgroup = {
      workgroupType(ctx, {kCompactSteps * warps}, i32), // compaction counts
      workgroupType(ctx, {warps}, f32),                // reductions
  };

  gpu::GPUFuncOp kernel = factory.launchBlocks(
      host, op.getLoc(), wgmma ? "dma_attention_wgmma" : "dma_attention_mma",
      buffers, batch * heads * queryBlocks, threads, workgroup,
      layout.words * 4, [&](OpBuilder &b, ValueRange args, ValueRange smem) {
        Emitter e(b, op.getLoc());
        Location loc = op.getLoc();
        Value q = args[0], k = args[1], v = args[2], bias = args[3];
        Value tau = args[4];
        Value out = args[args.size() - 2], lse = args.back();
        Value stepCounts = smem[0], reduction = smem[1];
        Value zero = e.index(0), one = e.index(1);
        Value shared = factory.dynamicSharedMemory(b, loc);
        auto region = [&](int64_t word) {
          return e.elementPointer(shared, i32, e.i32(word));
        };
        Value cand = shared, kShared = region(layout.kStages);
        Value vShared = region(layout.vStages);
        Value tileKey = region(layout.tileKeys);
        Value tileBias = region(layout.tileBias);
        Value qShared = region(layout.query), pShared = region(layout.probs);
        auto sharedAddress = [&](Value ptr) {
          return LLVM::PtrToIntOp::create(b, loc, b.getI64Type(), ptr)
              .getResult();
        };

        // Heaviest blocks first: causal blocks late in the sequence see the
        // most keys, so block ids count query blocks down, slowest.
        Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
        Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
        Value warp = e.divi(tid, e.index(32)), lane = e.remi(tid, e.index(32));
        Value group = e.divi(lane, e.index(4)), quad = e.remi(lane, e.index(4));
        SmallVector<Value> c = delinearize(e, block, {queryBlocks, batch, heads});
        Value qb = e.subi(e.index(queryBlocks - 1), c[0]);
        Value bIdx = c[1], h = c[2];
        Value g = e.divi(h, e.index(heads / kvHeads));
        Value i0 = e.muli(qb, e.index(blockRows));
        // Row tile r of the warp holds rows A (group) and B (group + 8).
        SmallVector<Value> rowA, rowB;
        for (int64_t r = 0; r < rowTiles; ++r) {
          rowA.push_back(e.addi(
              i0, e.addi(e.muli(warp, e.index(warpRows)),
                         e.addi(e.index(16 * r), group))));
          rowB.push_back(e.addi(rowA.back(), e.index(8)));
        }
        Value offset = e.index(keys - queries);
        // Thresholds of the warp's rows, the block's smallest (which keys
        // are candidates) and whether no row has one: then tiles the
        // causal limit does not cut need no predicate at all. Without
        // selection (constant -inf thresholds) all of it is static.
        SmallVector<Value> tauA(rowTiles, e.negInf()), tauB(rowTiles, e.negInf());
        Value tauLo = e.negInf();
        Value noThreshold = e.boolean(true), warpTauHi;
        if (!keepsEveryKey(op)) {
          auto rowTau = [&](Value row) {
            return e.ifValue(e.cmpi(CmpIPredicate::ult, row, e.index(queries)),
                             [&] { return e.load(tau, {bIdx, g, row}); },
                             [&] { return e.f32(INFINITY); });
          };
          auto liveTau = [&](Value row, Value t) {
            return e.select(e.cmpi(CmpIPredicate::ult, row, e.index(queries)),
                            t, e.negInf());
          };
          // A NaN threshold (W NaN biases) keeps NaN keys only. Where every
          // row with one sees those NaN keys (prefix scope, or not causal),
          // its row is NaN whatever else it keeps: +inf does, and the test
          // is `bias UGE tau`, one compare. Causal global scope keeps the
          // exact test. Candidates are always those UGE the smallest
          // threshold with NaN as +inf: a superset.
          Value lowest, highest;
          for (int64_t r = 0; r < rowTiles; ++r) {
            tauA[r] = rowTau(rowA[r]);
            tauB[r] = rowTau(rowB[r]);
            if (!exactThresholds) {
              tauA[r] = e.nanAsInf(tauA[r]);
              tauB[r] = e.nanAsInf(tauB[r]);
            }
            Value lowA = exactThresholds ? e.nanAsInf(tauA[r]) : tauA[r];
            Value lowB = exactThresholds ? e.nanAsInf(tauB[r]) : tauB[r];
            Value low = e.min(lowA, lowB);
            Value high = e.max(liveTau(rowA[r], tauA[r]),
                               liveTau(rowB[r], tauB[r]));
            lowest = r ? e.min(lowest, low) : low;
            highest = r ? e.max(highest, high) : high;
          }
          tauLo = blockReduce(e, lowest, reduction, warp, lane, warps,
                              Combine::min);
          Value tauHi = blockReduce(e, highest, reduction, warp, lane, warps,
                                    Combine::max);
          noThreshold = e.cmp(CmpFPredicate::OEQ, tauHi, e.negInf());
          // The warp's largest threshold (lanes of a row group share rows).
          warpTauHi = e.xorReduce(highest, {4, 8, 16},
                                  [&](Value a, Value b) { return e.max(a, b); });
        }
        Value i1 = e.mini(e.index(queries), e.addi(i0, e.index(blockRows)));
        Value keyEnd = causal ? e.maxi(zero, e.mini(e.index(keys),
                                                    e.addi(i1, offset)))
                              : e.index(keys);

        Value qBase = e.basePointer(q), kBase = e.basePointer(k);
        Value vBase = e.basePointer(v), biasBase = e.basePointer(bias);
        Type i16 = b.getI16Type();
        auto qOffset = [&](Value row, Value d) {
          // ((b * Lq + row) * H + h) * D + d
          Value r = e.addi(e.muli(bIdx, e.index(queries)), row);
          return e.toI64(e.addi(e.muli(e.addi(e.muli(r, e.index(heads)), h),
                                       e.index(headDim)),
                                d));
        };
        // Q: A fragments in registers (mma.sync) or the Q tile in shared
        // memory (wgmma, loaded with the first tile's group).
        SmallVector<Value> qFrag;
        if (wgmma) {
          for (int64_t r = 0; r < blockRows * quads / threads; ++r) {
            Value item = e.addi(e.index(r * threads), tid);
            Value row = e.addi(e.muli(e.divi(item, e.index(8 * quads)), e.index(8)),
                               e.remi(item, e.index(8)));
            Value c4 = e.remi(e.divi(item, e.index(8)), e.index(quads));
            Value qRow = e.addi(i0, row);
            Value valid = e.cmpi(CmpIPredicate::ult, qRow, e.index(queries));
            Value element = qOffset(e.select(valid, qRow, i0), e.muli(c4, e.index(8)));
            e.copyAsync(e.elementPointer(qShared, i32, e.toI32(e.muli(item, e.index(4)))),
                        e.elementPointer(qBase, i16, element), 16, valid);
          }
        } else if (qInRegisters) {
          auto loadQ = [&](Value row, Value d) {
            return e.ifValue(
                e.cmpi(CmpIPredicate::ult, row, e.index(queries)),
                [&] { return e.loadPair(qBase, qOffset(row, d)); },
                [&] { return e.i32(0); }, i32);
          };
          for (int64_t ks = 0; ks < kSteps; ++ks) {
            Value d0 = e.addi(e.index(ks * 16), e.muli(quad, e.index(2)));
            Value d1 = e.addi(d0, e.index(8));
            qFrag.append({loadQ(rowA[0], d0), loadQ(rowB[0], d0),
                          loadQ(rowA[0], d1), loadQ(rowB[0], d1)});
          }
        } else {
          // Padded rows like the K tiles; rows past the end are zeros.
          for (int64_t r = 0; r < blockRows * quads / threads; ++r) {
            Value item = e.addi(e.index(r * threads), tid);
            Value row = e.divi(item, e.index(quads));
            Value c4 = e.remi(item, e.index(quads));
            Value qRow = e.addi(i0, row);
            Value valid = e.cmpi(CmpIPredicate::ult, qRow, e.index(queries));
            Value element = qOffset(e.select(valid, qRow, i0), e.muli(c4, e.index(8)));
            Value word = e.addi(e.muli(row, e.index(layout.rowWords)),
                                e.muli(c4, e.index(4)));
            e.copyAsync(e.elementPointer(qShared, i32, e.toI32(word)),
                        e.elementPointer(qBase, i16, element), 16, valid);
          }
        }
        // K and V elements: key * Hk * D + the (b, g) base, 64-bit.
        Value kvRow = e.toI64(e.muli(e.addi(e.muli(bIdx, e.index(keys * kvHeads)), g),
                                     e.index(headDim)));
        Value biasRow = e.muli(e.addi(e.muli(bIdx, e.index(kvHeads)), g),
                               e.index(keys));

        auto candidateAt = [&](Value slot) {
          return e.toIndex(e.loadShared(cand, i32, slot));
        };
        // The chunks of a tile this thread copies (TileChunks). With a fixed
        // column, one 16-byte chunk of every `rowStep`-th row: mma.sync
        // whole rows, padded; wgmma 8 rows x 4 chunks per warp, chunk `item`
        // at 16 * item (needs 128 % D == 0). Otherwise the column moves
        // from step to step.
        TileChunks tileChunks{kTileKeys, quads, threads};
        IndexArith arith{e};
        bool fixedColumn = wgmma || tileChunks.fixedColumn();
        Value threadRow, threadC4, threadWord, threadElement;
        int64_t rowStep = 0, wordStep = 0;
        if (wgmma) {
          threadRow = e.addi(e.muli(e.divi(tid, e.index(headDim)), e.index(8)),
                             e.remi(tid, e.index(8)));
          threadC4 = e.remi(e.divi(tid, e.index(8)), e.index(quads));
          threadWord = e.muli(tid, e.index(4));
          rowStep = 8 * threads / headDim;
          wordStep = 4 * threads;
        } else if (fixedColumn) {
          std::tie(threadRow, threadC4) = tileChunks.chunkAt(arith, 0, tid);
          threadWord = e.addi(e.muli(threadRow, e.index(layout.rowWords)),
                              e.muli(threadC4, e.index(4)));
          rowStep = tileChunks.rowStep();
          wordStep = rowStep * layout.rowWords;
        }
        auto chunkElement = [&](Value c4) {
          return e.addi(kvRow, e.toI64(e.muli(c4, e.index(8))));
        };
        if (fixedColumn)
          threadElement = chunkElement(threadC4);
        struct TileChunk {
          Value row, element, word;
        };
        // Step r's chunk; `stageWord` is the stage's first word (plus
        // threadWord with a fixed column).
        auto tileChunk = [&](int64_t r, Value stageWord) -> TileChunk {
          if (fixedColumn)
            return {e.addi(threadRow, e.index(r * rowStep)), threadElement,
                    e.addi(stageWord, e.index(r * wordStep))};
          auto [row, c4] = tileChunks.chunkAt(arith, r, tid);
          Value rowWord = e.muli(row, e.index(layout.rowWords));
          Value word = e.addi(rowWord, e.muli(c4, e.index(4)));
          return {row, chunkElement(c4), e.addi(stageWord, word)};
        };
        // Starts the asynchronous copies of candidate tile `tile` into
        // `stage`: with `keysAndK` its keys (-1 past the end), biases and K
        // rows, with `values` its V rows (rows past the end zero-filled).
        auto issueTile = [&](Value tile, Value stage, Value count,
                             bool keysAndK, bool values) {
          Value c0 = e.muli(tile, e.index(kTileKeys));
          Value stageRow = e.muli(stage, e.index(kTileKeys));
          if (keysAndK)
            e.ifThen(e.cmpi(CmpIPredicate::ult, tid, e.index(kTileKeys)), [&] {
            Value valid = e.cmpi(CmpIPredicate::ult, e.addi(c0, tid), count);
            Value kIdx = candidateAt(e.select(valid, e.addi(c0, tid), zero));
            Value slot = e.addi(stageRow, tid);
            e.storeShared(e.select(valid, e.toI32(kIdx), e.i32(-1)), tileKey,
                          slot);
            e.copyAsync(e.elementPointer(tileBias, f32, e.toI32(slot)),
                        e.elementPointer(biasBase, f32,
                                         e.toI64(e.addi(biasRow, kIdx))),
                        4, valid);
          });
          Value stageWord = e.muli(stage, e.index(layout.tileWords));
          if (fixedColumn)
            stageWord = e.addi(stageWord, threadWord);
          for (int64_t r = 0; r < tileChunks.steps(); ++r) {
            TileChunk chunk = tileChunk(r, stageWord);
            Value row = chunk.row;
            Value valid = e.cmpi(CmpIPredicate::ult, e.addi(c0, row), count);
            Value kIdx = candidateAt(e.select(valid, e.addi(c0, row), zero));
            Value element = e.addi(
                e.muli(e.toI64(kIdx), e.i64(kvHeads * headDim)), chunk.element);
            Value word = e.toI32(chunk.word);
            if (keysAndK)
              e.copyAsync(e.elementPointer(kShared, i32, word),
                          e.elementPointer(kBase, i16, element), 16, valid);
            if (values)
              e.copyAsync(e.elementPointer(vShared, i32, word),
                          e.elementPointer(vBase, i16, element), 16, valid);
          }
        };

        // Compacts the candidates of keys [s0, ...) into `cand`, in key
        // order: returns their count and where the next segment starts.
        auto compactCandidates = [&](Value s0) -> SmallVector<Value> {
          // Compact candidates in key order. With no threshold in the
          // block (tauLo = -inf) they are simply the visible keys.
          auto denseSegment = [&]() -> SmallVector<Value> {
            Value n = e.mini(e.index(layout.candidates), e.subi(keyEnd, s0));
            e.forEach(zero, e.index(layout.candidates / threads), [&](Value round) {
              Value t = e.addi(e.muli(round, e.index(threads)), tid);
              e.storeShared(e.toI32(e.addi(s0, t)), cand, t);
            });
            return {n, e.addi(s0, n)};
          };
          // Rounds of 4 x kCompactSteps keys per thread, while the list
          // has room for a whole round: all bias loads in flight at
          // once, one exchange of the warps' counts per round.
          auto compactSegment = [&]() -> SmallVector<Value> {
            SmallVector<Value> rounds = whileWithState(
              e, ValueRange{s0, zero},
              [&](ValueRange r) {
                return e.andi(e.cmpi(CmpIPredicate::slt, r[0], keyEnd),
                              e.cmpi(CmpIPredicate::sle, e.addi(r[1], e.index(roundKeys)),
                                     e.index(layout.candidates)));
              },
              [&](ValueRange r) -> SmallVector<Value> {
                Value j0 = r[0];
                Value running = r[1];
                // Step u: thread t tests keys j0 + (u T + t) 4 + x,
                // x < 4 (one 16-byte load when rows are 16-byte
                // aligned); a warp-wide scan of the per-thread counts
                // orders them.
                SmallVector<Value> firstKey, masks, exclusive, inclusive;
                SmallVector<SmallVector<Value>> keep(kCompactSteps);
                for (int64_t u = 0; u < kCompactSteps; ++u) {
                  Value j = e.addi(j0, e.muli(e.addi(e.index(u * threads), tid),
                                              e.index(4)));
                  firstKey.push_back(j);
                  SmallVector<Value> values;
                  if (vectorBias) {
                    Value at = e.mini(j, e.index(keys - 4));
                    values = e.loadFour(biasBase, f32, e.toI64(e.addi(biasRow, at)));
                  } else {
                    for (int64_t x = 0; x < 4; ++x)
                      values.push_back(e.load(
                          bias, {bIdx, g, e.mini(e.addi(j, e.index(x)),
                                                 e.index(keys - 1))}));
                  }
                  Value mask = e.i32(0);
                  for (int64_t x = 0; x < 4; ++x) {
                    Value pred = e.andi(
                        e.cmpi(CmpIPredicate::ult, e.addi(j, e.index(x)), keyEnd),
                        e.cmp(CmpFPredicate::UGE, values[x], tauLo));
                    keep[u].push_back(pred);
                    mask = arith::OrIOp::create(
                        b, loc, mask, e.select(pred, e.i32(1 << x), e.i32(0)));
                  }
                  masks.push_back(mask);
                }
                for (int64_t u = 0; u < kCompactSteps; ++u) {
                  Value own = LLVM::CtPopOp::create(b, loc, i32, masks[u]);
                  Value incl = e.warpInclusiveSum(own, lane);
                  inclusive.push_back(incl);
                  exclusive.push_back(arith::SubIOp::create(b, loc, incl, own));
                }
                e.barrier();
                e.ifThen(e.cmpi(CmpIPredicate::eq, lane, e.index(31)), [&] {
                  for (int64_t u = 0; u < kCompactSteps; ++u)
                    memref::StoreOp::create(
                        b, loc, inclusive[u], stepCounts,
                        ValueRange{e.addi(e.index(u * warps), warp)});
                });
                e.barrier();
                // Candidates before (step u, this warp), in key order.
                SmallVector<Value> before(kCompactSteps);
                for (int64_t u = 0; u < kCompactSteps; ++u) {
                  before[u] = running;
                  for (int64_t w = 0; w < warps; ++w) {
                    Value n = e.toIndex(memref::LoadOp::create(
                        b, loc, stepCounts, ValueRange{e.index(u * warps + w)}));
                    before[u] = e.select(e.cmpi(CmpIPredicate::eq, e.index(w), warp),
                                         running, before[u]);
                    running = e.addi(running, n);
                  }
                }
                for (int64_t u = 0; u < kCompactSteps; ++u) {
                  Value slot = e.addi(before[u], e.toIndex(exclusive[u]));
                  for (int64_t x = 0; x < 4; ++x) {
                    Value at = slot;
                    e.ifThen(keep[u][x], [&] {
                      e.storeShared(e.toI32(e.addi(firstKey[u], e.index(x))), cand, at);
                    });
                    slot = e.addi(slot, e.toIndex(arith::ExtUIOp::create(
                                            b, loc, i32, keep[u][x])));
                  }
                }
                return {e.addi(j0, e.index(roundKeys)), running};
              });
            return {rounds[1], rounds[0]};
          };
          return e.ifValues(e.cmp(CmpFPredicate::OEQ, tauLo, e.negInf()),
                            {b.getIndexType(), b.getIndexType()}, denseSegment,
                            compactSegment);
        };

        // S = Q K^T for the warp's rows x the 64 keys of the tile at
        // `stageWord`, as 32 values per row tile in the mma.sync C-fragment
        // order (tile nt of 8 keys: rows A, A, B, B; keys 2 quad + x % 2).
        auto queryKeyScores = [&](Value stageWord) {
          SmallVector<Value> flat;
          if (wgmma) {
            Value qAddress = sharedAddress(qShared);
            Value kAddress = sharedAddress(e.elementPointer(
                kShared, i32, e.toI32(stageWord)));
            NVVM::WgmmaFenceAlignedOp::create(b, loc);
            Value acc = packStruct(e, SmallVector<Value>(32, e.f32(0.0)));
            for (int64_t ks = 0; ks < kSteps; ++ks) {
              Value step = e.i64(ks * 2 * chunkBytes);
              acc = e.wgmma(
                  acc,
                  wgmmaDescriptor(e, e.addi(qAddress, step), chunkBytes, groupBytes),
                  wgmmaDescriptor(e, e.addi(kAddress, step), chunkBytes, groupBytes),
                  kTileKeys, wgmmaType, /*accumulate=*/ks > 0,
                  /*transposeB=*/false);
            }
            NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
            NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
            flat = unpackStruct(e, acc, 32);
          } else {
            // One ldmatrix.x4 brings the B fragments of two key
            // steps: lane l addresses key row l % 8, 8 dims at
            // (l / 8) * 8.
            Value matrixRow = e.remi(lane, e.index(8));
            Value matrixCol = e.muli(e.divi(lane, e.index(8)), e.index(4));
            auto keyFragments = [&](int64_t nt, int64_t ks) {
              Value rowWord = e.addi(
                  stageWord, e.muli(e.addi(e.index(nt * 8), matrixRow),
                                    e.index(layout.rowWords)));
              return e.loadMatrices(
                  kShared, e.addi(rowWord, e.addi(e.index(ks * 8), matrixCol)),
                  /*transpose=*/false);
            };
            if (qInRegisters) {
              for (int64_t nt = 0; nt < kTileKeys / 8; ++nt) {
                SmallVector<Value> acc(4, e.f32(0.0));
                for (int64_t ks = 0; ks < kSteps; ks += 2) {
                  SmallVector<Value> frags = keyFragments(nt, ks);
                  acc = e.mma(ArrayRef<Value>(qFrag).slice(ks * 4, 4),
                              {frags[0], frags[1]}, acc, mmaType);
                  acc = e.mma(ArrayRef<Value>(qFrag).slice((ks + 1) * 4, 4),
                              {frags[2], frags[3]}, acc, mmaType);
                }
                flat.append(acc);
              }
            } else {
              // Q's A fragments by ldmatrix.x4: lane l addresses row
              // l % 8 + 8 ((l / 8) % 2) of the row tile, dims 8 (l / 16).
              Value qRow = e.addi(
                  e.addi(e.muli(warp, e.index(warpRows)), matrixRow),
                  e.muli(e.remi(e.divi(lane, e.index(8)), e.index(2)), e.index(8)));
              Value qWord = e.addi(e.muli(qRow, e.index(layout.rowWords)),
                                   e.muli(e.divi(lane, e.index(16)), e.index(4)));
              // Here one ldmatrix.x4 of K brings the B fragments of two
              // key tiles of one step (fewer live Q fragments): lane l
              // addresses key row l % 8 + 8 (l / 16), dims 8 ((l / 8) % 2).
              Value pairRow = e.addi(matrixRow, e.muli(e.divi(lane, e.index(16)), e.index(8)));
              Value pairCol = e.muli(e.remi(e.divi(lane, e.index(8)), e.index(2)), e.index(4));
              int64_t keyTiles = kTileKeys / 8;
              SmallVector<SmallVector<Value>> acc(
                  rowTiles * keyTiles, SmallVector<Value>(4, e.f32(0.0)));
              for (int64_t ks = 0; ks < kSteps; ++ks) {
                SmallVector<SmallVector<Value>> a;
                for (int64_t r = 0; r < rowTiles; ++r)
                  a.push_back(e.loadMatrices(
                      qShared, e.addi(qWord, e.index(r * 16 * layout.rowWords + ks * 8)),
                      /*transpose=*/false));
                for (int64_t nt = 0; nt < keyTiles; nt += 2) {
                  Value rowWord = e.addi(
                      stageWord, e.muli(e.addi(e.index(nt * 8), pairRow),
                                        e.index(layout.rowWords)));
                  SmallVector<Value> frags = e.loadMatrices(
                      kShared, e.addi(rowWord, e.addi(e.index(ks * 8), pairCol)),
                      /*transpose=*/false);
                  for (int64_t r = 0; r < rowTiles; ++r)
                    for (int64_t half : {0, 1}) {
                      SmallVector<Value> &c = acc[r * keyTiles + nt + half];
                      c = e.mma(a[r], {frags[2 * half], frags[2 * half + 1]}, c,
                                mmaType);
                    }
                }
              }
              for (ArrayRef<Value> c : acc)
                flat.append(c.begin(), c.end());
            }
          }

          return flat;
        };

        auto scoreTile = [&](ArrayRef<Value> flat, Value stageRow, Value c0,
                             Value count) {
          // Scores in the log2 domain (exp2 is one ex2.approx):
          // fma(logit, scale log2 e, bias log2 e). Tiles inside
          // the causal limit with every key present only test
          // bias >= tau_i; tiles kept whole by every row test
          // nothing; the others also test presence and causality.
          auto column = [&](int64_t n) {
            return e.addi(e.index((n / 4) * 8 + n % 2), e.muli(quad, e.index(2)));
          };
          SmallVector<Value> columnBias(kTileKeys / 4);
          for (int64_t n = 0; n < kTileKeys / 4; ++n) {
            int64_t flatIndex = (n / 2) * 4 + n % 2;
            columnBias[n] = e.loadShared(tileBias, f32,
                                         e.addi(stageRow, column(flatIndex)));
          }
          auto biasOf = [&](int64_t n) { return columnBias[(n / 4) * 2 + n % 2]; };
          // A warp keeps every key of a whole tile whose smallest bias
          // reaches all its rows' thresholds (the lanes of a row group hold
          // all 64 columns).
          Value keepsAll = noThreshold;
          if (!keepsEveryKey(op)) {
            Value lowest = columnBias[0];
            for (Value kb : ArrayRef<Value>(columnBias).drop_front())
              lowest = e.min(lowest, kb);
            lowest = e.quadMin(lowest);
            keepsAll = e.ori(noThreshold,
                             e.cmp(CmpFPredicate::OGE, lowest, warpTauHi));
          }
          enum class Test { none, bias, all };
          auto scored = [&](Test test) {
            SmallVector<Value> keyIndex;
            if (test == Test::all)
              for (int64_t n = 0; n < kTileKeys / 2; ++n)
                keyIndex.push_back(
                    e.loadShared(tileKey, i32, e.addi(stageRow, column(n))));
            SmallVector<Value> scores;
            for (int64_t r = 0; r < static_cast<int64_t>(flat.size()) / 32; ++r) {
              Value limA = e.addi(rowA[r], offset), limB = e.addi(rowB[r], offset);
              for (int64_t n = 0; n < 32; ++n) {
                Value kb = biasOf(n);
                Value score = math::FmaOp::create(
                    b, loc, flat[r * 32 + n], e.f32(scale * kLog2E),
                    e.mul(kb, e.f32(kLog2E)));
                bool isA = n % 4 < 2;
                if (test != Test::none) {
                  Value rowTau = isA ? tauA[r] : tauB[r];
                  Value keep = exactThresholds
                                   ? e.keeps(kb, rowTau)
                                   : e.cmp(CmpFPredicate::UGE, kb, rowTau);
                  if (test == Test::all) {
                    Value kIdx = keyIndex[n];
                    keep = e.andi(keep, e.cmpi(CmpIPredicate::sge, kIdx, e.i32(0)));
                    if (causal)
                      keep = e.andi(keep, e.cmpi(CmpIPredicate::sle, e.toIndex(kIdx),
                                                 isA ? limA : limB));
                  }
                  score = e.select(keep, score, e.negInf());
                }
                scores.push_back(score);
              }
            }
            return scores;
          };
          Value whole = e.cmpi(CmpIPredicate::sle, e.addi(c0, e.index(kTileKeys)), count);
          if (causal) {
            Value last = candidateAt(e.mini(e.addi(c0, e.index(kTileKeys - 1)),
                                            e.subi(count, one)));
            whole = e.andi(whole, e.cmpi(CmpIPredicate::sle, last,
                                         e.addi(i0, offset)));
          }
          SmallVector<Type> scoreTypes(flat.size(), f32);
          SmallVector<Value> scores = e.ifValues(
              whole, scoreTypes,
              [&] {
                return e.ifValues(
                    keepsAll, scoreTypes, [&] { return scored(Test::none); },
                    [&] { return scored(Test::bias); });
              },
              [&] { return scored(Test::all); });
          return scores;
        };

        // O += P V for the tile at `stageWord`, P the exponentiated scores.
        auto accumulateValues = [&](ArrayRef<SmallVector<Value>> s,
                                    SmallVector<Value> o, Value stageWord) {
          // P as 16-bit pairs: (row A | row B) x (keys 2 quad, +1)
          // of each 8-key tile.
          auto packP = [&](int64_t nt, bool rowB) {
            int64_t x = rowB ? 2 : 0;
            return e.pack(s[nt][x], s[nt][x + 1], half);
          };
          if (wgmma) {
            // O += P V: P to shared memory (A operand, K-major),
            // V (B operand) is MN-major: transposed.
            for (int64_t nt = 0; nt < kTileKeys / 8; ++nt)
              for (bool isB : {false, true}) {
                // Row r of the tile, keys nt * 8 + 2 quad: word
                // (r / 8) * 256 + nt * 32 + (r % 8) * 4 + quad.
                Value rowGroup = e.addi(e.muli(warp, e.index(2)), e.index(isB ? 1 : 0));
                Value word = e.addi(
                    e.addi(e.muli(rowGroup, e.index(kTileKeys * 4)), e.index(nt * 32)),
                    e.addi(e.muli(group, e.index(4)), quad));
                e.storeShared(packP(nt, isB), pShared, word);
              }
            e.fenceAsyncShared();
            e.barrier();
            Value pAddress = sharedAddress(pShared);
            Value vAddress = sharedAddress(e.elementPointer(
                vShared, i32, e.toI32(stageWord)));
            NVVM::WgmmaFenceAlignedOp::create(b, loc);
            Value acc = packStruct(e, o);
            for (int64_t kk = 0; kk < kTileKeys / 16; ++kk) {
              acc = e.wgmma(
                  acc,
                  wgmmaDescriptor(e, e.addi(pAddress, e.i64(kk * 2 * chunkBytes)),
                                  chunkBytes, kTileKeys * 16),
                  // MN-major, no swizzle: the leading offset
                  // steps along K (8 keys), the stride along N.
                  wgmmaDescriptor(e, e.addi(vAddress, e.i64(kk * 2 * groupBytes)),
                                  groupBytes, chunkBytes),
                  headDim, wgmmaType, /*accumulate=*/true,
                  /*transposeB=*/true);
            }
            NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
            NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
            o = unpackStruct(e, acc, dTiles * 4);
          } else {
            // O += P V, P straight from the S registers. V tiles
            // are row-major (key, dim): one ldmatrix.x4.trans
            // brings the B fragments of two dim tiles of a key
            // step. Lane l addresses key (l / 8) % 2 * 8 + l % 8,
            // dims of tile l / 16.
            int64_t keyTiles = kTileKeys / 8;
            SmallVector<SmallVector<Value>> a; // row tile r, key step kk
            for (int64_t r = 0; r < rowTiles; ++r)
              for (int64_t kk = 0; kk < kTileKeys / 16; ++kk) {
                int64_t nt = r * keyTiles + 2 * kk;
                a.push_back({packP(nt, false), packP(nt, true),
                             packP(nt + 1, false), packP(nt + 1, true)});
              }
            Value matrixRow = e.remi(lane, e.index(8));
            Value vRow = e.addi(e.muli(e.remi(e.divi(lane, e.index(8)), e.index(2)),
                                       e.index(8)),
                                matrixRow);
            Value vCol = e.muli(e.divi(lane, e.index(16)), e.index(4));
            for (int64_t kk = 0; kk < kTileKeys / 16; ++kk) {
              Value rowWord = e.addi(
                  stageWord, e.muli(e.addi(e.index(kk * 16), vRow),
                                    e.index(layout.rowWords)));
              for (int64_t dt = 0; dt < dTiles; dt += 2) {
                SmallVector<Value> frags = e.loadMatrices(
                    vShared, e.addi(rowWord, e.addi(e.index(dt * 4), vCol)),
                    /*transpose=*/true);
                for (int64_t r = 0; r < rowTiles; ++r) {
                  ArrayRef<Value> ar = a[r * (kTileKeys / 16) + kk];
                  int64_t at = (r * dTiles + dt) * 4;
                  SmallVector<Value> r0 = e.mma(
                      ar, {frags[0], frags[1]}, ArrayRef<Value>(o).slice(at, 4), mmaType);
                  SmallVector<Value> r1 = e.mma(
                      ar, {frags[2], frags[3]}, ArrayRef<Value>(o).slice(at + 4, 4), mmaType);
                  llvm::copy(r0, o.begin() + at);
                  llvm::copy(r1, o.begin() + at + 4);
                }
              }
            }
          }
          return o;
        };

        // State: O (row tile, dim tile, 4 values), then mA, mB, lA, lB of
        // each row tile.
        int64_t oCount = rowTiles * dTiles * 4;
        SmallVector<Value> init(oCount, e.f32(0.0));
        for (int64_t r = 0; r < rowTiles; ++r)
          init.append({e.negInf(), e.negInf(), e.f32(0.0), e.f32(0.0)});

        // One tile of candidates: scores, online softmax, then
        // `beforeValues()` (the single stage hands K over to V there) and
        // O += P V. Returns the next state.
        auto attendTile = [&](ValueRange st2, Value stage, Value c0, Value count,
                              function_ref<void()> beforeValues) {
          Value stageRow = e.muli(stage, e.index(kTileKeys));
          Value stageWord = e.muli(stage, e.index(layout.tileWords));
          SmallVector<Value> flat = queryKeyScores(stageWord);
          SmallVector<Value> scores = scoreTile(flat, stageRow, c0, count);
          int64_t keyTiles = kTileKeys / 8;
          SmallVector<SmallVector<Value>> s(rowTiles * keyTiles);
          for (int64_t nt = 0; nt < rowTiles * keyTiles; ++nt)
            s[nt].assign(scores.begin() + nt * 4, scores.begin() + nt * 4 + 4);
          // A row whose max is still -inf keeps nothing yet: use 0 as its
          // reference so no exp(-inf - -inf) appears.
          auto safe = [&](Value m) {
            return e.select(e.cmp(CmpFPredicate::OEQ, m, e.negInf()), e.f32(0.0), m);
          };
          SmallVector<Value> alphaA, alphaB, softmaxState;
          Value settled;
          for (int64_t r = 0; r < rowTiles; ++r) {
            MutableArrayRef<SmallVector<Value>> sr =
                MutableArrayRef<SmallVector<Value>>(s).slice(r * keyTiles, keyTiles);
            Value maxA = e.negInf(), maxB = e.negInf();
            for (int64_t nt = 0; nt < keyTiles; ++nt) {
              maxA = e.max(maxA, e.max(sr[nt][0], sr[nt][1]));
              maxB = e.max(maxB, e.max(sr[nt][2], sr[nt][3]));
            }
            maxA = e.quadMax(maxA);
            maxB = e.quadMax(maxB);
            Value mA = st2[oCount + 4 * r], mB = st2[oCount + 4 * r + 1];
            Value lA = st2[oCount + 4 * r + 2], lB = st2[oCount + 4 * r + 3];
            Value newA = e.max(mA, maxA), newB = e.max(mB, maxB);
            Value refA = safe(newA), refB = safe(newB);
            alphaA.push_back(e.exp2(e.sub(mA, refA)));
            alphaB.push_back(e.exp2(e.sub(mB, refB)));
            Value sumA = e.f32(0.0), sumB = e.f32(0.0);
            for (int64_t nt = 0; nt < keyTiles; ++nt)
              for (int64_t x = 0; x < 2; ++x) {
                sr[nt][x] = e.exp2(e.sub(sr[nt][x], refA));
                sr[nt][2 + x] = e.exp2(e.sub(sr[nt][2 + x], refB));
                sumA = e.add(sumA, sr[nt][x]);
                sumB = e.add(sumB, sr[nt][2 + x]);
              }
            Value rowsSettled = e.andi(e.cmp(CmpFPredicate::OEQ, newA, mA),
                                       e.cmp(CmpFPredicate::OEQ, newB, mB));
            settled = r ? e.andi(settled, rowsSettled) : rowsSettled;
            softmaxState.append({newA, newB, e.add(e.mul(lA, alphaA[r]), sumA),
                                 e.add(e.mul(lB, alphaB[r]), sumB)});
          }
          // Once the row maxima settle, most tiles change none of the
          // warp's: skip the rescale of O then.
          Value warpSettled = NVVM::VoteSyncOp::create(
              b, loc, b.getI1Type(), e.i32(-1), settled,
              NVVM::VoteSyncKindAttr::get(ctx, NVVM::VoteSyncKind::all));
          SmallVector<Type> oTypes(oCount, f32);
          SmallVector<Value> o = e.ifValues(
              warpSettled, oTypes,
              [&] { return SmallVector<Value>(st2.take_front(oCount)); },
              [&] {
                SmallVector<Value> scaled;
                for (int64_t r = 0; r < rowTiles; ++r)
                  for (int64_t dt = 0; dt < dTiles; ++dt) {
                    int64_t at = (r * dTiles + dt) * 4;
                    scaled.append({e.mul(st2[at], alphaA[r]), e.mul(st2[at + 1], alphaA[r]),
                                   e.mul(st2[at + 2], alphaB[r]),
                                   e.mul(st2[at + 3], alphaB[r])});
                  }
                return scaled;
              });
          beforeValues();
          SmallVector<Value> next = accumulateValues(s, std::move(o), stageWord);
          next.append(softmaxState);
          return next;
        };

        // Segments: as many keys from s0 on as the candidate list can take,
        // then their tiles.
        SmallVector<Value> segmentInit = {zero};
        segmentInit.append(init);
        SmallVector<Value> state = whileWithState(
            e, segmentInit,
            [&](ValueRange st) {
              return e.cmpi(CmpIPredicate::slt, st[0], keyEnd);
            },
            [&](ValueRange segmentState) -> SmallVector<Value> {
              Value s0 = segmentState[0];
              ValueRange st = segmentState.drop_front();
              SmallVector<Value> compacted = compactCandidates(s0);
              Value count = compacted[0], segmentEnd = compacted[1];
              e.barrier();

              Value tiles = e.ceilDiv(count, e.index(kTileKeys));
              bool twoStages = stages == 2;
              e.ifThen(e.cmpi(CmpIPredicate::sgt, tiles, zero),
                       [&] { issueTile(zero, zero, count, true, twoStages); });
              NVVM::CpAsyncCommitGroupOp::create(b, loc);
              SmallVector<Value> segmentNext = {segmentEnd};
              segmentNext.append(forWithState(
                  e, zero, tiles, st,
                  [&](Value tile, ValueRange st2) -> SmallVector<Value> {
                    Value nextTile = e.addi(tile, one);
                    Value c0 = e.muli(tile, e.index(kTileKeys));
                    if (twoStages) {
                      // Tile t + 1 is in flight while tile t is computed.
                      Value stage = e.remi(tile, e.index(2));
                      e.ifThen(e.cmpi(CmpIPredicate::slt, nextTile, tiles), [&] {
                        issueTile(nextTile, e.subi(one, stage), count, true, true);
                      });
                      NVVM::CpAsyncCommitGroupOp::create(b, loc);
                      NVVM::CpAsyncWaitGroupOp::create(b, loc, 1);
                      if (wgmma) // the tile is read by the async proxy
                        e.fenceAsyncShared();
                      e.barrier();
                      SmallVector<Value> next = attendTile(st2, stage, c0, count, [] {});
                      // The next iteration refills this stage (and P).
                      e.barrier();
                      return next;
                    }
                    // One stage: K of tile t has landed; V of tile t loads
                    // while its scores are computed, K of tile t + 1 while
                    // P V is.
                    NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
                    e.barrier();
                    issueTile(tile, zero, count, false, true);
                    NVVM::CpAsyncCommitGroupOp::create(b, loc);
                    return attendTile(st2, zero, c0, count, [&] {
                      NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
                      e.barrier();
                      e.ifThen(e.cmpi(CmpIPredicate::slt, nextTile, tiles), [&] {
                        issueTile(nextTile, zero, count, true, false);
                      });
                      NVVM::CpAsyncCommitGroupOp::create(b, loc);
                    });
                  }));
              return segmentNext;
            });
        state.erase(state.begin());

        // out = O / l, lse = m + log(l); rows that kept nothing: 0, -inf.
        bool pairedOutput =
            cast<MemRefType>(out.getType()).getElementType() == half;
        // Row tile r's row A (`base` 0) or B (`base` 2).
        auto finish = [&](Value row, Value m, Value l, int64_t r, int64_t base) {
          e.ifThen(e.cmpi(CmpIPredicate::ult, row, e.index(queries)), [&] {
            // A row whose maximum is still -inf kept nothing; a NaN one
            // goes on to NaN, and a +inf one gives lse = +inf.
            Value kept = e.cmp(CmpFPredicate::UNE, m, e.negInf());
            Value safeL = e.select(kept, l, e.f32(1.0));
            // One division per row; (d, d + 1) stored as one 16-bit pair.
            Value inverse = e.select(kept, e.div(e.f32(1.0), safeL), e.f32(0.0));
            Value outBase = e.basePointer(out);
            Value rowElement = qOffset(row, zero); // out has q's layout
            for (int64_t dt = 0; dt < dTiles; ++dt) {
              Value d = e.addi(e.index(dt * 8), e.muli(quad, e.index(2)));
              int64_t at = (r * dTiles + dt) * 4 + base;
              Value lo = e.mul(state[at], inverse);
              Value hi = e.mul(state[at + 1], inverse);
              if (pairedOutput) {
                Value ptr = e.elementPointer(outBase, b.getI16Type(),
                                             e.addi(rowElement, e.toI64(d)));
                LLVM::StoreOp::create(b, loc, e.pack(lo, hi, half), ptr,
                                      /*alignment=*/4);
              } else {
                e.store(lo, out, {bIdx, row, h, d});
                e.store(hi, out, {bIdx, row, h, e.addi(d, one)});
              }
            }
            e.ifThen(e.cmpi(CmpIPredicate::eq, quad, zero), [&] {
              // Back from the log2 domain: lse = (m2 + log2 l) ln 2.
              Value lse2 = e.add(m, math::Log2Op::create(b, loc, safeL));
              lse2 = e.select(e.cmp(CmpFPredicate::OEQ, m, e.f32(INFINITY)), m,
                              lse2);
              e.store(e.select(kept, e.mul(lse2, e.f32(kLn2)), e.negInf()), lse,
                      {bIdx, h, row});
            });
          });
        };
        for (int64_t r = 0; r < rowTiles; ++r) {
          ArrayRef<Value> softmax = ArrayRef<Value>(state).slice(oCount + 4 * r, 4);
          finish(rowA[r], softmax[0], e.quadSum(softmax[2]), r, 0);
          finish(rowB[r], softmax[1], e.quadSum(softmax[3]), r, 2);
        }
      });
  // The heuristics' choice, visible in the IR (and checked by lit).
  Builder attrs(ctx);
  kernel->setAttr(
      "wm.cta", attrs.getDictionaryAttr({
                    attrs.getNamedAttr("warps", attrs.getI64IntegerAttr(warps)),
                    attrs.getNamedAttr("warp_rows",
                                       attrs.getI64IntegerAttr(warpRows)),
                    attrs.getNamedAttr("stages", attrs.getI64IntegerAttr(stages)),
                    attrs.getNamedAttr("candidates",
                                       attrs.getI64IntegerAttr(layout.candidates)),
                    attrs.getNamedAttr("shared_bytes",
                                       attrs.getI64IntegerAttr(layout.words * 4)),
                }));
}

//===----------------------------------------------------------------------===//
// dma_select_blocks
//===----------------------------------------------------------------------===//

void mlir::wm::blockSelectKernel(KernelFactory &factory, OpBuilder &host,
                                 DmaSelectOp op, ValueRange buffers) {
  auto biasType = op.getBias().getType();
  int64_t batch = biasType.getDimSize(0), kvHeads = biasType.getDimSize(1);
  int64_t keys = biasType.getDimSize(2);
  int64_t queries = static_cast<int64_t>(op.getQueryLen());
  int64_t window = static_cast<int64_t>(op.getWindow());
  bool perRow = op.hasRowThresholds();
  int64_t rowBlocks = perRow ? llvm::divideCeil(queries, kSelectRows) : 1;
  // The sorted multiset of a block: up to 512 values of the prefix between
  // the two thresholds, the block's 256 new keys, tau and the upper
  // threshold, padded to a power of two.
  constexpr int64_t kSortSlots = 4 * kSelectRows, kBelowSlots = 2 * kSelectRows;
  constexpr int64_t kNewSlot = kBelowSlots, kTauSlot = kNewSlot + kSelectRows;
  constexpr int64_t kUpperSlot = kTauSlot + 1;
  static_assert(kSelectThreads == 256 && kSelectRows == kSelectThreads,
                "one histogram bin and one row per thread");
  constexpr int64_t kWalkSlots = 4; // entries per step of a row's rank walk
  MLIRContext *ctx = host.getContext();
  Type i32 = IntegerType::get(ctx, 32);
  // scalars: (digit, rank) x 2, list length, copies of `upper`.
  constexpr int64_t kCounter = 4, kUpperCount = 5;
  constexpr int64_t kHistogramBins = 2048; // 11-bit digits
  SmallVector<Type> workgroup = {
      workgroupType(ctx, {2 * kHistogramBins}, i32), // radix histograms
      workgroupType(ctx, {2 * kSelectWarps}, i32),   // per-warp scan totals
      workgroupType(ctx, {kUpperCount + 1}, i32),    // scalars
      // Multiset entries: ordered key << 32 | payload, the payload a new
      // key's index, or ~multiplicity for values every row sees.
      workgroupType(ctx, {kSortSlots}, IntegerType::get(ctx, 64))};

  factory.launchBlocks(
      host, op.getLoc(), "dma_select_blocks", buffers,
      batch * kvHeads * rowBlocks, kSelectThreads, workgroup,
      /*dynamicSharedBytes=*/0,
      [&](OpBuilder &b, ValueRange args, ValueRange smem) {
        Emitter e(b, op.getLoc());
        Location loc = op.getLoc();
        Value bias = args[0], tau = args[1];
        Value hist = smem[0], warpTotals = smem[1], scalars = smem[2];
        Value entries = smem[3];
        auto entry = [&](Value key, Value payload) {
          Type i64 = b.getI64Type();
          Value high = arith::ShLIOp::create(
              b, loc, arith::ExtUIOp::create(b, loc, i64, key), e.i64(32));
          return arith::OrIOp::create(
                     b, loc, high, arith::ExtUIOp::create(b, loc, i64, payload))
              .getResult();
        };
        auto everyRow = [&](Value multiplicity) {
          return arith::XOrIOp::create(b, loc, multiplicity, e.i32(-1))
              .getResult();
        };
        Value zero = e.index(0), one = e.index(1);
        Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
        Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
        Value warp = e.divi(tid, e.index(32)), lane = e.remi(tid, e.index(32));
        SmallVector<Value> c =
            delinearize(e, block, {batch, kvHeads, rowBlocks});
        Value bIdx = c[0], g = c[1];
        Value i0 = e.muli(c[2], e.index(kSelectRows));
        auto ld = [&](Value memref, Value i) {
          return memref::LoadOp::create(b, loc, memref, ValueRange{i})
              .getResult();
        };
        auto st = [&](Value value, Value memref, Value i) {
          memref::StoreOp::create(b, loc, value, memref, ValueRange{i});
        };
        auto keyOf = [&](Value j) {
          return orderedKey(e, e.load(bias, {bIdx, g, j}));
        };
        auto valueOf = [&](Value key) { return fromOrderedKey(e, key); };
        auto strided = [&](Value end, function_ref<void(Value)> body) {
          e.forEach(zero,
                    e.ceilDiv(e.maxi(zero, e.subi(end, tid)),
                              e.index(kSelectThreads)),
                    [&](Value step) {
                      body(e.addi(tid, e.muli(step, e.index(kSelectThreads))));
                    });
        };
        // Keys [0, end): per step each thread takes 4 runs of `vec`
        // consecutive keys (16-byte loads when bias rows are 16-byte
        // aligned), all in flight together; body(ordered key, key < end).
        int64_t vec = keys % 4 == 0 ? 4 : 1;
        Value biasBase = e.basePointer(bias);
        Value biasRow = e.muli(e.addi(e.muli(bIdx, e.index(kvHeads)), g),
                               e.index(keys));
        auto sweep = [&](Value end, function_ref<void(Value, Value)> body) {
          constexpr int64_t kUnroll = 4;
          int64_t stride = kSelectThreads * vec;
          Value steps = e.ceilDiv(end, e.index(kUnroll * stride));
          e.forEach(zero, steps, [&](Value step) {
            SmallVector<Value> keysIn, valid;
            for (int64_t u = 0; u < kUnroll; ++u) {
              Value j = e.addi(
                  e.muli(e.addi(e.muli(step, e.index(kUnroll)), e.index(u)),
                         e.index(stride)),
                  e.muli(tid, e.index(vec)));
              SmallVector<Value> values;
              if (vec == 4) {
                Value at = e.mini(j, e.index(keys - 4));
                values = e.loadFour(biasBase, b.getF32Type(),
                                    e.toI64(e.addi(biasRow, at)));
              } else {
                values.push_back(e.load(
                    bias, {bIdx, g, e.mini(j, e.index(keys - 1))}));
              }
              for (int64_t x = 0; x < vec; ++x) {
                keysIn.push_back(orderedKey(e, values[x]));
                valid.push_back(
                    e.cmpi(CmpIPredicate::ult, e.addi(j, e.index(x)), end));
              }
            }
            for (auto [key, isValid] : llvm::zip(keysIn, valid))
              body(key, isValid);
          });
        };
        auto atomicAdd = [&](Value value, Value memref, Value i) {
          memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addi, value,
                                      memref, ValueRange{i});
        };

        // The ranks[r]-th largest biases of keys [0, end) (1 <= rank <= end)
        // by radix select: four passes of 8 bits, each one sweep over the
        // keys feeding one histogram per rank (one bin per thread), the
        // digit found by a CTA-wide scan from the top. Returns per rank its
        // ordered key and how many keys equal to it belong to the top rank.
        auto radixSelect = [&](Value end, ArrayRef<Value> ranks) {
          int64_t n = ranks.size();
          SmallVector<Value> prefix(n, e.i32(0)), k(ranks);
          Value mask = e.i32(0);
          // Digits of 11, 11 and 10 bits, most significant first.
          for (auto digitBits : {std::pair<int, int>{21, 11}, {10, 11}, {0, 10}}) {
            int shift = digitBits.first;
            int64_t bins = int64_t(1) << digitBits.second;
            int64_t perThread = bins / kSelectThreads;
            bool first = shift == 21;
            e.barrier();
            for (int64_t r = 0; r < n; ++r)
              for (int64_t i = 0; i < perThread; ++i)
                st(e.i32(0), hist,
                   e.addi(tid, e.index(r * kHistogramBins + i * kSelectThreads)));
            e.barrier();
            // Ranks whose digits agreed so far share rank 0's histogram
            // (always in the first pass).
            SmallVector<Value> ownHistogram(n, e.boolean(true));
            for (int64_t r = 1; r < n; ++r)
              ownHistogram[r] = first ? e.boolean(false)
                                      : e.cmpi(CmpIPredicate::ne, prefix[r],
                                               prefix[0]);
            sweep(end, [&](Value key, Value valid) {
              Value digit = arith::AndIOp::create(
                  b, loc, arith::ShRUIOp::create(b, loc, key, e.i32(shift)),
                  e.i32(bins - 1));
              Value masked = arith::AndIOp::create(b, loc, key, mask);
              for (int64_t r = 0; r < n; ++r) {
                if (r > 0 && first)
                  continue;
                Value match = e.andi(
                    valid, e.cmpi(CmpIPredicate::eq, masked, prefix[r]));
                e.ifThen(r == 0 ? match : e.andi(match, ownHistogram[r]), [&] {
                  atomicAdd(e.i32(1), hist,
                            e.addi(e.toIndex(digit), e.index(r * kHistogramBins)));
                });
              }
            });
            e.barrier();
            for (int64_t r = 0; r < n; ++r) {
              // Thread t owns `perThread` bins from digit bins - 1 - t *
              // perThread down; an inclusive scan of their sums over the
              // CTA finds the thread holding the rank, which then walks its
              // bins.
              Value base = e.select(ownHistogram[r], e.index(r * kHistogramBins), zero);
              Value top = e.subi(e.index(bins - 1), e.muli(tid, e.index(perThread)));
              SmallVector<Value> own;
              Value sum = e.i32(0);
              for (int64_t i = 0; i < perThread; ++i) {
                own.push_back(ld(hist, e.addi(base, e.subi(top, e.index(i)))));
                sum = e.addi(sum, own.back());
              }
              Value incl = e.warpInclusiveSum(sum, lane);
              Value totals = e.index(r * kSelectWarps);
              e.ifThen(e.cmpi(CmpIPredicate::eq, lane, e.index(31)),
                       [&] { st(incl, warpTotals, e.addi(totals, warp)); });
              e.barrier();
              for (int64_t w = 0; w < kSelectWarps; ++w)
                incl = e.select(
                    e.cmpi(CmpIPredicate::ugt, warp, e.index(w)),
                    e.addi(incl, ld(warpTotals, e.addi(totals, e.index(w)))),
                    incl);
              Value above = e.subi(incl, sum);
              Value found = e.andi(e.cmpi(CmpIPredicate::sge, incl, k[r]),
                                   e.cmpi(CmpIPredicate::slt, above, k[r]));
              e.ifThen(found, [&] {
                // The first of the thread's bins (from the top) where the
                // count reaches the rank.
                Value digit = e.toI32(top), rest = e.subi(k[r], above);
                Value seen = e.i32(0), done = e.boolean(false);
                for (int64_t i = 0; i < perThread; ++i) {
                  Value reach = e.andi(
                      e.cmpi(CmpIPredicate::eq, done, e.boolean(false)),
                      e.cmpi(CmpIPredicate::sge, e.addi(seen, own[i]),
                             e.subi(k[r], above)));
                  digit = e.select(reach, e.toI32(e.subi(top, e.index(i))), digit);
                  rest = e.select(reach, e.subi(e.subi(k[r], above), seen), rest);
                  done = e.ori(done, reach);
                  seen = e.addi(seen, own[i]);
                }
                st(digit, scalars, e.index(2 * r));
                st(rest, scalars, e.index(2 * r + 1));
              });
            }
            e.barrier();
            for (int64_t r = 0; r < n; ++r) {
              Value digit = ld(scalars, e.index(2 * r));
              k[r] = ld(scalars, e.index(2 * r + 1));
              prefix[r] = arith::OrIOp::create(
                  b, loc, prefix[r],
                  arith::ShLIOp::create(b, loc, digit, e.i32(shift)));
            }
            mask = arith::OrIOp::create(
                b, loc, mask,
                e.i32(static_cast<int32_t>(uint32_t(bins - 1) << shift)));
          }
          SmallVector<std::pair<Value, Value>> result;
          for (int64_t r = 0; r < n; ++r)
            result.push_back({prefix[r], k[r]});
          return result;
        };
        Value win = e.index(window);

        if (!perRow) {
          Value all = e.index(keys);
          Value t = e.ifValue(
              e.cmpi(CmpIPredicate::sge, all, win),
              [&] {
                return valueOf(radixSelect(all, {e.i32(window)})[0].first);
              },
              [&] { return e.negInf(); });
          strided(e.index(queries), [&](Value row) {
            e.store(t, tau, {bIdx, g, row});
          });
          return;
        }

        // Row i ranks the prefix [0, size_i), size_i = i + Lk - Lq + 1. The
        // block's rows share P = [0, pEnd) and add at most 256 new keys. If
        // U is the top min(W, |P|) of P, tau_i is the k'_i-th smallest of U
        // plus the new keys visible to row i, k'_i = size_i - W + 1 -
        // (|P| - |U|) <= 256: only the 256 smallest of U matter. They are
        // tau (with its multiplicity in U), the values strictly between tau
        // and `upper` (the 256th smallest of U), and copies of `upper`.
        Value offset = e.index(keys - queries + 1);
        Value rowEnd =
            e.mini(e.index(queries), e.addi(i0, e.index(kSelectRows)));
        Value lastSize = e.addi(e.subi(rowEnd, one), offset);
        // No row of the block reaches W keys: nothing to select.
        e.ifThenElse(
            e.cmpi(CmpIPredicate::slt, lastSize, win),
            [&] {
              e.ifThen(e.cmpi(CmpIPredicate::ult, e.addi(i0, tid), rowEnd),
                       [&] {
                         e.store(e.negInf(), tau, {bIdx, g, e.addi(i0, tid)});
                       });
            },
            [&] {
              Value pEnd =
                  e.maxi(zero, e.mini(e.index(keys), e.addi(i0, offset)));
              Value m = e.mini(win, pEnd);
              Value hasTau = e.cmpi(CmpIPredicate::sge, pEnd, win);
              Value hasUpper =
                  e.cmpi(CmpIPredicate::sgt, m, e.index(kSelectRows - 1));
              Value noKey = e.i32(-1); // all-ones: sorts last
              // tau (rank W) and `upper` (rank m - 127) in the same sweeps;
              // an absent one is replaced by rank 1 and ignored.
              SmallVector<Value> t = e.ifValues(
                  e.ori(hasTau, hasUpper), {i32, i32, i32},
                  [&]() -> SmallVector<Value> {
                    Value upperRank =
                        e.toI32(e.subi(m, e.index(kSelectRows - 1)));
                    auto found = radixSelect(
                        pEnd, {e.select(hasTau, e.i32(window), e.i32(1)),
                               e.select(hasUpper, upperRank, e.i32(1))});
                    return {found[0].first, found[0].second, found[1].first};
                  },
                  [&]() -> SmallVector<Value> {
                    return {e.i32(0), e.i32(0), noKey};
                  });
              Value tauKey = e.select(hasTau, t[0], e.i32(0));
              Value tauTies = e.select(hasTau, t[1], e.i32(0));
              Value upperKey = e.select(hasUpper, t[2], noKey);
              // The multiset, sorted below: padding first.
              e.barrier();
              for (int64_t part = 0; part < kSortSlots / kSelectThreads; ++part)
                st(entry(noKey, everyRow(e.i32(0))), entries,
                   e.addi(tid, e.index(part * kSelectThreads)));
              e.ifThen(e.cmpi(CmpIPredicate::eq, tid, zero), [&] {
                st(e.i32(0), scalars, e.index(kCounter));
                st(e.i32(0), scalars, e.index(kUpperCount));
              });
              e.barrier();
              e.ifThen(e.cmpi(CmpIPredicate::eq, tid, zero), [&] {
                st(entry(tauKey, everyRow(tauTies)), entries, e.index(kTauSlot));
              });
              sweep(pEnd, [&](Value key, Value valid) {
                Value aboveTau =
                    e.ori(e.cmpi(CmpIPredicate::eq, hasTau, e.boolean(false)),
                          e.cmpi(CmpIPredicate::ugt, key, tauKey));
                Value belowUpper =
                    e.ori(e.cmpi(CmpIPredicate::eq, hasUpper, e.boolean(false)),
                          e.cmpi(CmpIPredicate::ult, key, upperKey));
                e.ifThen(e.andi(valid, e.andi(aboveTau, belowUpper)), [&] {
                  Value slot = memref::AtomicRMWOp::create(
                      b, loc, arith::AtomicRMWKind::addi, e.i32(1), scalars,
                      ValueRange{e.index(kCounter)});
                  st(entry(key, everyRow(e.i32(1))), entries, e.toIndex(slot));
                });
                e.ifThen(
                    e.andi(e.andi(valid, hasUpper),
                           e.andi(aboveTau,
                                  e.cmpi(CmpIPredicate::eq, key, upperKey))),
                    [&] { atomicAdd(e.i32(1), scalars, e.index(kUpperCount)); });
              });
              e.ifThen(
                  e.cmpi(CmpIPredicate::ult, tid, e.index(kSelectRows)), [&] {
                    Value j = e.addi(pEnd, tid);
                    e.ifThen(e.cmpi(CmpIPredicate::ult, j, e.index(keys)), [&] {
                      st(entry(keyOf(j), e.toI32(j)), entries,
                         e.addi(e.index(kNewSlot), tid));
                    });
                  });
              e.barrier();
              e.ifThen(e.andi(hasUpper, e.cmpi(CmpIPredicate::eq, tid, zero)), [&] {
                st(entry(upperKey, everyRow(ld(scalars, e.index(kUpperCount)))),
                   entries, e.index(kUpperSlot));
              });
              // Bitonic sort, ascending by ordered key. Thread t holds
              // entries 4t .. 4t + 3 in registers: exchanges within a
              // thread or a warp (strides below 128) need no barrier, only
              // the strides across warps go through shared memory.
              e.barrier();
              auto bit = [&](Value i, int64_t mask) {
                return e.cmpi(CmpIPredicate::eq,
                              arith::AndIOp::create(b, loc, i, e.index(mask)), zero);
              };
              // Entry i keeps the smaller of itself and its partner when it
              // is the lower one of an ascending pair or the upper one of a
              // descending pair.
              auto exchange = [&](Value mine, Value other, Value i, int64_t size,
                                  int64_t stride) {
                Value keepMin = e.cmpi(CmpIPredicate::eq, bit(i, stride), bit(i, size));
                return e.select(keepMin, arith::MinUIOp::create(b, loc, mine, other),
                                arith::MaxUIOp::create(b, loc, mine, other));
              };
              auto shuffle64 = [&](Value value, int32_t lanes) {
                Type i64 = b.getI64Type();
                Value low = arith::TruncIOp::create(b, loc, i32, value);
                Value high = arith::TruncIOp::create(
                    b, loc, i32, arith::ShRUIOp::create(b, loc, value, e.i64(32)));
                auto widen = [&](Value half) {
                  return arith::ExtUIOp::create(b, loc, i64, e.shuffleXor(half, lanes));
                };
                return arith::OrIOp::create(
                           b, loc, widen(low),
                           arith::ShLIOp::create(b, loc, widen(high), e.i64(32)))
                    .getResult();
              };
              constexpr int64_t kOwn = kSortSlots / kSelectThreads, kWarpSlots = 32 * kOwn;
              SmallVector<Value> own, index;
              for (int64_t j = 0; j < kOwn; ++j) {
                index.push_back(e.addi(e.muli(tid, e.index(kOwn)), e.index(j)));
                own.push_back(ld(entries, index.back()));
              }
              for (int64_t size = 2; size <= kSortSlots; size *= 2)
                for (int64_t stride = size / 2; stride >= 1; stride /= 2) {
                  SmallVector<Value> other(kOwn);
                  if (stride < kOwn) {
                    for (int64_t j = 0; j < kOwn; ++j)
                      other[j] = own[j ^ stride];
                  } else if (stride < kWarpSlots) {
                    for (int64_t j = 0; j < kOwn; ++j)
                      other[j] = shuffle64(own[j], stride / kOwn);
                  } else {
                    for (int64_t j = 0; j < kOwn; ++j)
                      st(own[j], entries, index[j]);
                    e.barrier();
                    for (int64_t j = 0; j < kOwn; ++j)
                      other[j] = ld(entries, arith::XOrIOp::create(
                                                 b, loc, index[j], e.index(stride)));
                    e.barrier();
                  }
                  for (int64_t j = 0; j < kOwn; ++j)
                    own[j] = exchange(own[j], other[j], index[j], size, stride);
                }
              for (int64_t j = 0; j < kOwn; ++j)
                st(own[j], entries, index[j]);
              e.barrier();
              // Each row walks the sorted multiset up to its rank.
              e.ifThen(
                  e.cmpi(CmpIPredicate::ult, tid, e.index(kSelectRows)), [&] {
                    Value row = e.addi(i0, tid);
                    e.ifThen(
                        e.cmpi(CmpIPredicate::ult, row, e.index(queries)), [&] {
                          Value size = e.addi(row, offset);
                          Value value = e.ifValue(
                              e.cmpi(CmpIPredicate::slt, size, win),
                              [&] { return e.negInf(); },
                              [&] {
                                Value rank = e.toI32(
                                    e.subi(e.addi(e.subi(size, win), one),
                                           e.subi(pEnd, m)));
                                Value size32 = e.toI32(size);
                                // What an entry adds to the row's count.
                                auto weight = [&](Value entry) {
                                  Value payload = arith::TruncIOp::create(b, loc, i32, entry);
                                  Value shared = e.cmpi(CmpIPredicate::slt, payload, e.i32(0));
                                  Value visible = e.ori(
                                      shared, e.cmpi(CmpIPredicate::slt, payload, size32));
                                  return e.select(
                                      visible, e.select(shared, everyRow(payload), e.i32(1)),
                                      e.i32(0));
                                };
                                // Groups of kWalkSlots entries, loaded
                                // together, until the count reaches the
                                // rank: the last group's start, the count
                                // before it, the count after it, its entries.
                                Type i64 = b.getI64Type();
                                SmallVector<Type> group = {b.getIndexType(), i32, i32};
                                group.append(kWalkSlots, i64);
                                auto walk = scf::WhileOp::create(
                                    b, loc, group, ValueRange{zero, e.i32(0)});
                                {
                                  OpBuilder::InsertionGuard guard(b);
                                  Block *before = b.createBlock(
                                      &walk.getBefore(), {},
                                      {b.getIndexType(), i32}, {loc, loc});
                                  Value slot = before->getArgument(0),
                                        count = before->getArgument(1);
                                  SmallVector<Value> forward = {slot, count, count};
                                  for (int64_t k = 0; k < kWalkSlots; ++k) {
                                    forward.push_back(ld(entries, e.addi(slot, e.index(k))));
                                    forward[2] = e.addi(forward[2], weight(forward.back()));
                                  }
                                  Value more = e.andi(
                                      e.cmpi(CmpIPredicate::slt, forward[2], rank),
                                      e.cmpi(CmpIPredicate::ult, slot,
                                             e.index(kSortSlots - kWalkSlots)));
                                  scf::ConditionOp::create(b, loc, more, forward);
                                  Block *after = b.createBlock(
                                      &walk.getAfter(), {}, group,
                                      SmallVector<Location>(group.size(), loc));
                                  scf::YieldOp::create(
                                      b, loc,
                                      ValueRange{e.addi(after->getArgument(0),
                                                        e.index(kWalkSlots)),
                                                 after->getArgument(2)});
                                }
                                // The group's first entry reaching the rank;
                                // none: the last slot.
                                Value running = walk.getResult(1);
                                Value found = walk.getResults().back();
                                Value done = e.boolean(false);
                                for (int64_t k = 0; k < kWalkSlots; ++k) {
                                  Value entry = walk.getResult(3 + k);
                                  running = e.addi(running, weight(entry));
                                  Value hit = e.andi(
                                      e.cmpi(CmpIPredicate::sge, running, rank),
                                      e.cmpi(CmpIPredicate::eq, done, e.boolean(false)));
                                  found = e.select(hit, entry, found);
                                  done = e.ori(done, hit);
                                }
                                return valueOf(arith::TruncIOp::create(
                                    b, loc, i32,
                                    arith::ShRUIOp::create(b, loc, found,
                                                           e.i64(32))));
                              });
                          e.store(value, tau, {bIdx, g, row});
                        });
                  });
            });
      });
}
