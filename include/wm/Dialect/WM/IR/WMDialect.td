//===- WMDialect.td - The wm dialect -----------------------*- tablegen -*-===//
//
// The `wm` dialect states the sequence-model operators of the Wonderful
// Matrices family (dynamic mask attention, state space duality, cross-domain
// mixture of experts) as single high-level ops. Their semantics are fixed in
// shared/spec/ops.md; passes lower them progressively to NVVM and PTX.
//
//===----------------------------------------------------------------------===//

#ifndef WM_DIALECT_WM_IR_WMDIALECT_TD
#define WM_DIALECT_WM_IR_WMDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def WM_Dialect : Dialect {
  let name = "wm";
  let cppNamespace = "::mlir::wm";
  let summary = "High-level ops of the Wonderful Matrices sequence models";
  let description = [{
    Ops for dynamic mask attention (`wm.dma_bias`, `wm.dma_attention`), the
    Mamba-2 state space duality layer with rotary positions (`wm.ssd`),
    cross-domain mixture of experts (`wm.cdmoe`), and the rotary embedding and
    RMS normalisation that model graphs need around them (`wm.rope`,
    `wm.rms_norm`). All ops work on ranked tensors of bf16, f16 or f32 and
    accumulate in f32. Plain matmuls and elementwise math come from upstream
    dialects (linalg, arith, math, tensor).
  }];
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

// A plain enum attribute: ops spell it as a bare keyword, `wm.dma_bias exp`.
def WM_BiasFormAttr : I32EnumAttr<"BiasForm", "how the DMA bias is formed from dt",
    [I32EnumAttrCase<"exp", 0>, I32EnumAttrCase<"linear", 1>]> {
  let cppNamespace = "::mlir::wm";
}


def WM_SelectionScope : I32EnumAttr<"SelectionScope",
    "which keys the top-W selection of DMA ranks",
    [I32EnumAttrCase<"prefix", 0>, I32EnumAttrCase<"global", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::wm";
}
def WM_SelectionScopeAttr : EnumAttr<WM_Dialect, WM_SelectionScope, "scope"> {
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Base classes and type constraints
//===----------------------------------------------------------------------===//

// Refuses attributes that are neither the op's own nor carry a dialect
// prefix (a misspelled `casual` would otherwise be kept and ignored).
def WM_OwnAttributesOnly : NativeOpTrait<"OwnAttributesOnly"> {
  let cppNamespace = "::mlir::wm::OpTrait";
}

class WM_Op<string mnemonic, list<Trait> traits = []>
    : Op<WM_Dialect, mnemonic, !listconcat(traits, [WM_OwnAttributesOnly])>;

// Storage types of activations and weights; accumulation is always f32.
def WM_FloatTensor : RankedTensorOf<[BF16, F16, F32]>;
def WM_F32Tensor : RankedTensorOf<[F32]>;

#endif // WM_DIALECT_WM_IR_WMDIALECT_TD
