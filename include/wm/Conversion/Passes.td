//===- Passes.td - wm conversion passes --------------------*- tablegen -*-===//

#ifndef WM_CONVERSION_PASSES_TD
#define WM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertWMToSCF : Pass<"convert-wm-to-scf"> {
  let summary = "Lower every wm op to scalar scf loop nests on buffers";
  let description = [{
    The reference lowering of shared/spec/ops.md, for the CPU: each wm op
    becomes an scf loop nest (memref, arith, math) that computes in f32 and
    stores in the op's element type. Operands are read through
    `bufferization.to_buffer`, results written to fresh buffers returned
    through `bufferization.to_tensor`, so one-shot bufferization finishes
    the job. `wm.dma_attention` goes through key selection and the tiled,
    block-skipped loop nest (the patterns of wm-select-keys and
    wm-tile-dma-attention with their default options); `wm.ssd` is lowered
    in its chunked form; `wm.cdmoe` selects experts per side then among the
    k*k pairs.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ConvertWMToGPU : Pass<"convert-wm-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower the DMA ops of buffer-entry functions to GPU kernels";
  let description = [{
    Expects functions whose arguments are buffers read through
    `bufferization.to_tensor` and written through
    `bufferization.materialize_in_destination` (the entry form wm.Graph
    compiles), holding `wm.dma_bias`, `wm.dma_select`,
    `wm.dma_block_summary`, `wm.dma_threshold_attention` (run
    wm-select-keys first) and the gradients `wm.dma_attention_grad` and
    `wm.dma_bias_grad`. Each op becomes one or more `wm_tile.program`s on
    buffers: results that the function returns are written in place, the
    others get scratch buffers, and the host function is left as allocations
    and programs. convert-wm-tile-to-gpu makes each program a kernel in
    `gpu.module @wm_kernels` and its launch; convert-wm-tile-to-loops runs
    the same programs on the CPU (wm-to-cpu{gpu-kernels=true}).

    Attention on bf16/f16 with a head dim multiple of 32 up to 256 becomes
    its tensor-core program (the one wm-to-tile builds, with the config of
    `mma-warps`, `mma-warp-rows`, `wgmma`), its thresholds the selection
    program of wm-to-tile (a radix select per block of 256 rows). Otherwise
    (and with block-select=false for the thresholds), and for the bias, the
    block summaries and the gradients: row programs, one scf.parallel over
    the CTA's threads, one thread per element or row: tau by a 32-step
    bisection over the order-preserving integer image of the f32 bias
    (exact, no mask); attention by an online softmax over the keys the row
    keeps, key blocks skipped on their maximum bias; the gradients
    deterministic, one writer per element. Offsets are 64-bit.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t",
           /*default=*/"128",
           "Threads per block of the row programs (a multiple of 32)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Tensor-core attention as a tile program (bf16/f16, D % 32 == 0)">,
    Option<"blockSelect", "block-select", "bool", /*default=*/"true",
           "Compute thresholds per block of 256 rows (else one thread per row)">,
    Option<"mmaWarps", "mma-warps", "int64_t", /*default=*/"0",
           "Warps per attention CTA (0: 8 from 32K query rows on with 32-row "
           "warps, from 16K with 16-row warps, else 4)">,
    Option<"mmaWarpRows", "mma-warp-rows", "int64_t", /*default=*/"0",
           "Query rows per mma.sync warp: 16 (Q fragments in registers, "
           "double-buffered K and V), 32 (each K and V fragment used twice, "
           "Q read from shared memory); 0: 32 up to D = 128, else 16. "
           "Rows per SSD chunk-scan warp: 16 or 32 (0: 32 with 128-row "
           "CTAs, else 16)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "The warpgroup wgmma config (sm_90a; convert-wm-tile-to-gpu does "
           "not lower it yet)">,
    Option<"deterministic", "deterministic", "bool", /*default=*/"false",
           "Gradients by the deterministic row programs (one writer per "
           "element, O(Lq Lk D)) instead of the tensor-core program, whose "
           "atomic f32 sums of dK, dV and dBias vary in their last bits">,
    Option<"gradWarps", "grad-warps", "int64_t", /*default=*/"0",
           "Warps of 16 query rows per backward CTA, 4 or 8 (tiles of as "
           "many keys as rows); 0: 8 from 4096 query rows on, else 4">,
    Option<"ssdRows", "ssd-rows", "int64_t", /*default=*/"0",
           "Output rows per wm.ssd chunk-scan CTA, 64 (4 warps) or 128 (8 "
           "warps); 0: the default of WMToTile/SSD.cpp">,
    Option<"ssdHeads", "ssd-heads", "int64_t", /*default=*/"0",
           "Heads of one group per wm.ssd chunk-scan CTA, sharing C B^T, up "
           "to 8: the largest divisor of H / G up to it whose tiles fit in "
           "shared memory; 0: the default of WMToTile/SSD.cpp">,
    Option<"ssdChainRows", "ssd-chain-rows", "int64_t", /*default=*/"0",
           "Rows of P per CTA of the wm.ssd state chain, one program that "
           "carries each head's state through its chunks (16, 32, 64 or "
           "128; the largest common divisor with P is taken); -1: chunk "
           "states and state passing as two programs; 0: the default of "
           "WMToTile/SSD.cpp">,
    Option<"ssdScanCtas", "ssd-scan-ctas", "int64_t", /*default=*/"0",
           "CTAs per SM the registers of a wm.ssd chunk-scan CTA must leave "
           "room for (1 to 8: ptxas's .minnctapersm); -1: no bound; 0: the "
           "default of WMToTile/SSD.cpp">,
    Option<"ssdChainPieces", "ssd-chain-pieces", "int64_t", /*default=*/"0",
           "Pieces of each head's chunks the wm.ssd state chain walks in "
           "parallel, 1 to 16 (each after the first from zero, a fix-up "
           "program adding what enters it); 0: the default of "
           "WMToTile/SSD.cpp">,
    Option<"ssdChunk", "ssd-chunk", "int64_t", /*default=*/"0",
           "Steps per chunk of the wm.ssd programs (64, 128 or 256; every "
           "chunk length gives the same result); 0: the op's chunk_size "
           "brought into [64, 256], at most 128 with the state chain">,
    Option<"ssdOverlap", "ssd-overlap", "bool", /*default=*/"true",
           "With the wm.ssd state chain in one piece: the chunk scan starts "
           "while the chain runs (programmatic dependent launch), each CTA "
           "waiting for the chain CTAs' progress counts to pass its chunk">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::wm::tile::WMTileDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def WMToTile : Pass<"wm-to-tile"> {
  let summary = "Turn wm ops into per-CTA tile programs (wm_tile.program)";
  let description = [{
    The stage both targets share: tiling, mask-driven block skipping and key
    compaction. Each `wm.dma_threshold_attention` on bf16/f16 with a head
    dim multiple of 32 (up to 256) becomes the `wm_tile.program` of its
    tensor-core kernel, on buffers: one instance per (query block, batch,
    head) compacts the keys its rows may keep and runs an online softmax
    over tiles of 64 of them. Each `wm.dma_select` becomes the selection
    program `dma_select_blocks`: per (batch, kv head, block of 256 rows) a
    radix select over the rows' shared prefix, a sort of the block's small
    multiset and each row's walk to its rank. The kernel heuristics are the
    programs' `#wm_tile.config`. Other ops are left alone.
  }];
  let options = [
    Option<"mmaWarps", "mma-warps", "int64_t", /*default=*/"0",
           "Warps per CTA (0: 8 from 32K query rows on with 32-row warps, "
           "from 16K with 16-row warps, else 4)">,
    Option<"mmaWarpRows", "mma-warp-rows", "int64_t", /*default=*/"0",
           "Query rows per warp, 16 or 32 (0: 32 up to D = 128, else 16)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "Warpgroup wgmma (sm_90a) instead of mma.sync">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::wm::tile::WMTileDialect"];
}

def ConvertWMTileToLoops : Pass<"convert-wm-tile-to-loops"> {
  let summary = "Run tile programs on the CPU: the grid and every tile op "
                "as loop nests";
  let description = [{
    Each `wm_tile.program` becomes a loop nest over its grid around its
    region. Register tiles and shared buffers become buffers allocated once
    at the top of the enclosing function; tile ops become scf loops over
    them; asynchronous copies complete at once, and commit, wait and barrier
    vanish. What the GPU lowering maps onto warps is computed here in the
    same order of tiles, so CI checks the GPU kernels' algorithm.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def ConvertWMTileToGPU : Pass<"convert-wm-tile-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Map tile programs onto warps, shared memory and tensor cores";
  let description = [{
    Each `wm_tile.program` becomes a `gpu.func` in `gpu.module @wm_kernels`
    (one CTA of `config.warps` warps per grid point, shared buffers laid out
    in dynamic shared memory) launched where the program was. Tile ops map
    onto the CTA's threads: register tiles in the mma.sync C-fragment layout,
    Q as A fragments, gathers as cp.async, matmuls as ldmatrix + mma.sync,
    thresholds and compaction with warp shuffles and shared scratch. Lowers
    the mma.sync programs (16-row warps with Q in registers and two stages,
    32-row warps with Q in shared memory and one); wgmma programs are
    refused by name.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // WM_CONVERSION_PASSES_TD
