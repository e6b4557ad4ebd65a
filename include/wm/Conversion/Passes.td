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

#endif // WM_CONVERSION_PASSES_TD
