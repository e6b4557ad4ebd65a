//===- Passes.td - wm dialect transformation passes --------*- tablegen -*-===//

#ifndef WM_DIALECT_WM_TRANSFORMS_PASSES_TD
#define WM_DIALECT_WM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def WMSelectKeys : Pass<"wm-select-keys"> {
  let summary = "Turn the top-W key selection of wm.dma_attention into "
                "per-row thresholds and per-key-block summaries";
  let description = [{
    Rewrites every `wm.dma_attention` into `wm.dma_select` (the per-row
    thresholds tau, O(Lq) numbers), `wm.dma_block_summary` (max and min bias
    per block of `block-size` keys) and `wm.dma_threshold_attention`. Without
    a window, or when the window covers every key, no threshold is computed:
    tau is -inf. The selection never becomes an Lq x Lk mask.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"64",
           "Keys per block of the bias summaries (the key tile of the "
           "attention lowering)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def WMTileDmaAttention : Pass<"wm-tile-dma-attention"> {
  let summary = "Tile wm.dma_threshold_attention into a flash-attention "
                "loop nest with mask-driven block skipping";
  let description = [{
    Lowers `wm.dma_threshold_attention` to scf loops over (batch, head,
    query block) and key tiles with an online softmax. With `skip-blocks`, a
    key block whose maximum bias is below every threshold of the query block
    is never touched, and a block every row keeps drops the per-element
    predicate. With `compact-keys`, each query block first gathers the keys
    any of its rows can keep (at most W + block-q of them) and iterates over
    that compacted list. Rows that keep no key give output 0 and lse -inf.
  }];
  let options = [
    Option<"blockQ", "block-q", "int64_t", /*default=*/"64",
           "Query rows per block">,
    Option<"blockK", "block-k", "int64_t", /*default=*/"64",
           "Keys per tile when the op carries no block summaries">,
    Option<"skipBlocks", "skip-blocks", "bool", /*default=*/"true",
           "Skip key blocks no row keeps; no predicate on full blocks">,
    Option<"compactKeys", "compact-keys", "bool", /*default=*/"false",
           "Iterate over the compacted list of candidate keys">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // WM_DIALECT_WM_TRANSFORMS_PASSES_TD
