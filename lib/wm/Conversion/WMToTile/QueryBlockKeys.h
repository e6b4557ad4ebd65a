//===- QueryBlockKeys.h - The keys one block of query rows keeps -*- C++ -*-===//
//
// Shared by the forward and the backward attention programs: the block's
// thresholds and causal key end, the compaction rounds that fill its
// candidate list (at most W + rows keys each, by the prefix argument of
// docs/design.md), and the masked scores of a candidate tile at its skip
// level.
//
//===----------------------------------------------------------------------===//

#ifndef WM_LIB_CONVERSION_WMTOTILE_QUERYBLOCKKEYS_H
#define WM_LIB_CONVERSION_WMTOTILE_QUERYBLOCKKEYS_H

#include "wm/Dialect/WM/Utils/LoopBuilder.h"
#include "wm/Dialect/WMTile/IR/WMTile.h"

namespace mlir::wm::tile {

constexpr double kLog2E = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;

/// The extents of an attention's operands: q (B, Lq, H, D), k and v
/// (B, Lk, Hk, D) in the 16-bit type `half`.
struct AttentionDims {
  AttentionDims(ShapedType query, ShapedType key)
      : queries(query.getDimSize(1)), heads(query.getDimSize(2)),
        headDim(query.getDimSize(3)), kvHeads(key.getDimSize(2)),
        half(query.getElementType()) {}
  int64_t queries, heads, headDim, kvHeads;
  Type half;
};

/// What the keep tests of a block depend on.
struct KeepRule {
  int64_t queries, keys;
  double scale;
  bool causal;
  /// Thresholds apply (else every causally allowed key is kept).
  bool selection;
  /// The exact keep test (NaN thresholds possible), else NaN as +inf.
  bool exact;
};

class QueryBlockKeys {
public:
  QueryBlockKeys(OpBuilder &b, Location loc, KeepRule rule,
                 KernelConfigAttr config)
      : b(b), loc(loc), lb(b, loc), rule(rule), config(config) {}

  /// At the top of the instance for `queryBlock` of (`batch`, kv `group`):
  /// the first row, the causal key end and the thresholds.
  void begin(Value queryBlock, Value batch, Value group, Value bias, Value tau);
  /// The candidate list (config.candidates keys).
  void allocateCandidates();
  /// The scores of the candidate tile at slot `c0` (`count` slots filled),
  /// logits scaled into the log2 domain, keys the rows do not keep -inf.
  Value scores(Value logits, Value biasTile, Value c0, Value count);
  /// Starts the copies of candidate slots [c0, c0 + rows of `dst`) (`count`
  /// filled; the others zeros): their biases into a 1-D `dst`, or their rows
  /// of `src` (K or V, (B, Lk, Hk, D)) into a 2-D one.
  void gatherBiases(Value c0, Value count, Value dst);
  void gatherRows(Value src, Value c0, Value count, Value dst);
  /// Compacts the keys of [0, keyEnd) into the list round after round and
  /// runs `tiles(state, count)` on each list; returns the final state.
  SmallVector<Value>
  forEachList(ValueRange state,
              function_ref<SmallVector<Value>(ValueRange, Value)> tiles);

  Value i0, keyEnd, low, tau, tauMax, candidates;
  Value batch, group, bias;

private:
  OpBuilder &b;
  Location loc;
  LoopBuilder lb;
  KeepRule rule;
  KernelConfigAttr config;
};

} // namespace mlir::wm::tile

#endif // WM_LIB_CONVERSION_WMTOTILE_QUERYBLOCKKEYS_H
