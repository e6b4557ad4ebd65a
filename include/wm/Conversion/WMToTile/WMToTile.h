//===- WMToTile.h - wm ops to tile programs ---------------------*- C++ -*-===//
//
// The first GPU stage, shared with the CPU: tiling, block skipping and key
// compaction of a wm op become one wm_tile.program per kernel.
//
//===----------------------------------------------------------------------===//

#ifndef WM_CONVERSION_WMTOTILE_WMTOTILE_H
#define WM_CONVERSION_WMTOTILE_WMTOTILE_H

#include "wm/Dialect/WM/IR/WMOps.h"
#include "wm/Dialect/WMTile/IR/WMTile.h"

namespace mlir {
class RewritePatternSet;
namespace wm {

/// What the user may choose of the attention kernel (0: the heuristic).
struct AttentionKernelOptions {
  int64_t warps = 0;    // 4 or 8
  int64_t warpRows = 0; // 16 or 32
  bool wgmma = false;
};

/// Keys per attention tile (32-row warps of an f32_output forward take
/// kResidualTileKeys), and the capacity of the candidate lists.
constexpr int64_t kAttentionTileKeys = 64;
constexpr int64_t kResidualTileKeys = 32;
constexpr int64_t kMmaCandidates = 8192;
constexpr int64_t kWgmmaCandidates = 4096;

/// Whether the tile program of wm.dma_threshold_attention takes `op`:
/// bf16/f16 with D a multiple of 32 up to 256 (ldmatrix.x4 spans two
/// 16-wide key steps).
bool supportsAttentionProgram(DmaThresholdAttentionOp op);

/// What the attention program reads, in its buffer order (q, k, v, bias,
/// tau; the block summaries only serve other lowerings); its results follow.
SmallVector<Value, 5> attentionProgramOperands(DmaThresholdAttentionOp op);

/// Whether thresholds `tau` keep every allowed key: the constant -inf
/// (wm-select-keys found Lk <= W).
bool keepsEveryKey(Value tau);

/// The kernel heuristics of `op`'s attention program.
tile::KernelConfigAttr chooseAttentionConfig(DmaThresholdAttentionOp op,
                                             const AttentionKernelOptions &options);

/// Builds the attention program of `op` at `b` on buffers (q, k, v, bias,
/// tau, out, lse).
tile::ProgramOp buildAttentionProgram(OpBuilder &b, DmaThresholdAttentionOp op,
                                      ValueRange buffers,
                                      tile::KernelConfigAttr config);

/// Whether the tensor-core backward takes `op`: bf16/f16 with D a multiple
/// of 32 up to 128 (its dQ accumulator and a dK or dV tile share the
/// registers).
bool supportsAttentionGradProgram(DmaAttentionGradOp op);

/// The config of the backward program of `op`: `warps` (4 or 8; 0: 8 from
/// 4096 query rows on) warps of 16 rows and tiles of as many keys as rows,
/// so that dK and dV tiles are register tiles of the block's shape. 8 warps
/// halve the atomics per kept pair.
tile::KernelConfigAttr attentionGradConfig(DmaAttentionGradOp op,
                                           int64_t warps);

/// Builds the backward program of `op` (dma_attention_grad_mma) at `b` on
/// buffers (q, k, v, bias, tau, out, lse, dout, dq, dk, dv, dbias): it
/// stores dq and adds into dk, dv and dbias (f32, zero beforehand)
/// atomically. It reads out only when it is f32.
tile::ProgramOp buildAttentionGradProgram(OpBuilder &b, DmaAttentionGradOp op,
                                          ValueRange buffers,
                                          tile::KernelConfigAttr config);

/// wm.dma_threshold_attention on tensors -> its tile program on buffers.
/// The buffers of a wm.ssd on the GPU; optional operands may be null.
struct SsdBuffers {
  Value x, dt, a, b, c, skip, gate, dtBias, h0, cos, sin, y, finalState;
};

/// Whether the SSD programs take `op`; if not, a diagnostic names the limit.
LogicalResult checkSsdPrograms(SsdOp op);

/// The dynamic shared memory one CTA may opt in to on sm_90 (227 KiB).
constexpr int64_t kMaxSharedBytesSm90 = 232448;
/// Shared memory per sm_90 SM, and what the hardware reserves of it per CTA.
constexpr int64_t kSharedBytesPerSmSm90 = 233472;
constexpr int64_t kReservedSharedBytesPerCta = 1024;

/// The most heads one chunk-scan CTA takes (`ssd-heads`).
constexpr int64_t kMaxSsdHeads = 8;
/// The most CTAs per SM `ssd-scan-ctas` may ask registers for.
constexpr int64_t kMaxSsdScanCtas = 8;
/// The most pieces `ssd-chain-pieces` may split each head's chain into.
constexpr int64_t kMaxSsdChainPieces = 16;

/// The kernel heuristics of the SSD programs; 0 picks the default.
struct SsdKernelOptions {
  /// Outputs per chunk-scan CTA, 64 or 128.
  int64_t rows = 0;
  /// Rows per chunk-scan warp, 16 or 32 (default: 32 with 128 rows, else 16).
  int64_t warpRows = 0;
  /// Heads of one group per chunk-scan CTA, sharing C B^T: the largest
  /// divisor of H / G up to this whose tiles fit in shared memory.
  int64_t heads = 0;
  /// Rows of P per CTA of the state chain (chunk states and state passing
  /// as one program; a divisor of P is taken); -1: the two programs.
  int64_t chainRows = 0;
  /// CTAs per SM the chunk scan's registers leave room for (its config's
  /// min_ctas); -1: no bound.
  int64_t scanCtas = 0;
  /// Pieces of each head's chunks the state chain walks in parallel.
  int64_t chainPieces = 0;
  /// Steps per chunk (64, 128 or 256): every chunk length gives the same
  /// result; 0: the op's chunk_size in [64, 256], at most 128 with the chain.
  int64_t chunk = 0;
  /// With the state chain in one piece, the chunk scan starts while it
  /// runs, each CTA waiting for the progress counts the chain publishes.
  bool overlap = true;
};

/// The programs of spec section 2's chunked form (SSD.cpp), with the
/// scratch of the chunk states allocated at `host`.
void buildSsdPrograms(OpBuilder &host, SsdOp op,
                      const SsdKernelOptions &options,
                      const SsdBuffers &buffers);

void populateWMToTilePatterns(RewritePatternSet &patterns,
                              const AttentionKernelOptions &options);

/// The config of the selection program: 8 warps of 32 rows (256 query rows
/// per instance, one per thread), a sorted multiset of 1024 candidates.
tile::KernelConfigAttr selectConfig(MLIRContext *context);

/// Builds the selection program of `op` (dma_select_blocks) at `b` on
/// buffers (bias, tau).
tile::ProgramOp buildSelectProgram(OpBuilder &b, DmaSelectOp op,
                                   ValueRange buffers);

/// wm.dma_select on tensors -> its tile program on buffers.
void populateSelectToTilePatterns(RewritePatternSet &patterns);

} // namespace wm
} // namespace mlir

#endif // WM_CONVERSION_WMTOTILE_WMTOTILE_H
