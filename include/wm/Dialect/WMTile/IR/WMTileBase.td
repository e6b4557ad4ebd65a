//===- WMTileBase.td - The wm_tile dialect, types, config --*- tablegen -*-===//
//
// Tile programs: one program per kernel, written per thread block (a CTA) over
// small tiles, the way Triton's `tt` dialect writes kernels. The same program
// runs two ways: convert-wm-tile-to-loops makes every tile op a loop nest and
// the grid an outer loop (CI executes the GPU algorithm on the CPU), and
// convert-wm-tile-to-gpu maps tile ops onto warps, shared memory and tensor
// cores.
//
//===----------------------------------------------------------------------===//

#ifndef WM_DIALECT_WMTILE_IR_WMTILEBASE_TD
#define WM_DIALECT_WMTILE_IR_WMTILEBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def WMTile_Dialect : Dialect {
  let name = "wm_tile";
  let cppNamespace = "::mlir::wm::tile";
  let summary = "Per-CTA tile programs of the WM kernels";
  let description = [{
    A `wm_tile.program` is one kernel: a grid of program instances, each
    running the region once, with scf/arith control flow and tile ops that
    are collective over the instance (a CTA on the GPU). Register tiles
    (`!wm_tile.tile`) are values; shared buffers (`!wm_tile.shared`) are
    memory the instance owns. Asynchronous copies into shared buffers are
    ordered by `commit`/`wait` groups and `barrier`, which the CPU lowering
    drops (its copies are synchronous). The kernel heuristics are one
    `#wm_tile.config` attribute on the program.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

class WMTile_Type<string name, string typeMnemonic>
    : TypeDef<WMTile_Dialect, name, [ShapedTypeInterface]> {
  let mnemonic = typeMnemonic;
  let hasCustomAssemblyFormat = 1;
  code shapedMethods = [{
    bool hasRank() const { return true; }
    ShapedType cloneWith(std::optional<ArrayRef<int64_t>> shape,
                         Type elementType) const;
  }];
}

def WMTile_TileType : WMTile_Type<"Tile", "tile"> {
  let summary = "a register tile, distributed over the threads of a CTA";
  let description = [{
    `!wm_tile.tile<128x64xf32>` is a value held by the CTA as a whole. On the
    GPU its elements live in registers, in the fragment layout of the kernel
    config. `partial` marks a row vector of sums that the GPU keeps as
    per-lane partial sums (the running softmax denominator): its value is
    the complete sum; only consumers that know the encoding accept it.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape,
                        "Type":$elementType,
                        DefaultValuedParameter<"bool", "false">:$partial);
  let builders = [
    TypeBuilderWithInferredContext<(ins "ArrayRef<int64_t>":$shape,
                                        "Type":$elementType,
                                        CArg<"bool", "false">:$partial), [{
      return $_get(elementType.getContext(), shape, elementType, partial);
    }]>
  ];
  let extraClassDeclaration = shapedMethods;
}

def WMTile_SharedType : WMTile_Type<"Shared", "shared"> {
  let summary = "a buffer in the CTA's shared memory";
  let description = [{
    `!wm_tile.shared<2x64x128xbf16>`: on the GPU a region of dynamic shared
    memory whose row padding or swizzle the GPU lowering chooses; on the
    CPU a plain buffer. A leading stage dimension is indexed with
    `wm_tile.stage`.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape,
                        "Type":$elementType);
  let builders = [
    TypeBuilderWithInferredContext<(ins "ArrayRef<int64_t>":$shape,
                                        "Type":$elementType), [{
      return $_get(elementType.getContext(), shape, elementType);
    }]>
  ];
  let extraClassDeclaration = shapedMethods;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def WMTile_ScoreTests : I32EnumAttr<"ScoreTests",
    "which keep tests a score tile applies",
    [I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"bias", 1>,
     I32EnumAttrCase<"all", 2>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::wm::tile";
}
def WMTile_ScoreTestsAttr : EnumAttr<WMTile_Dialect, WMTile_ScoreTests, "tests"> {
  let assemblyFormat = "`<` $value `>`";
}

def WMTile_KernelConfigAttr : AttrDef<WMTile_Dialect, "KernelConfig"> {
  let mnemonic = "config";
  let summary = "the heuristics of one kernel, in one place";
  let description = [{
    `warps` per CTA, `warp_rows` query rows per warp (16 or 32), `stages` of
    the K/V copy pipeline (1 or 2), `candidates`: capacity of the compacted
    key list, `tile_keys`: keys per tile, `q_in_registers`: the Q tile is
    kept as mma A fragments, `wgmma`: warpgroup MMA (sm_90a) instead of
    mma.sync, `min_ctas`: CTAs per SM the kernel's registers must leave room
    for (ptxas's `.minnctapersm`; 0, the default, sets no bound). The bench
    sweeps these; lit checks them.
  }];
  let parameters = (ins "int64_t":$warps, "int64_t":$warp_rows,
                        "int64_t":$stages, "int64_t":$candidates,
                        "int64_t":$tile_keys, "bool":$q_in_registers,
                        "bool":$wgmma,
                        DefaultValuedParameter<"int64_t", "0">:$min_ctas);
  let assemblyFormat = "`<` struct(params) `>`";
  let extraClassDeclaration = [{
    int64_t getThreads() const { return 32 * getWarps(); }
    int64_t getBlockRows() const { return getWarps() * getWarpRows(); }
    int64_t getRowTiles() const { return getWarpRows() / 16; }
  }];
  let genVerifyDecl = 1;
}

class WMTile_Op<string mnemonic, list<Trait> traits = []>
    : Op<WMTile_Dialect, mnemonic, traits>;

def WMTile_AnyTile : Type<CPred<"::llvm::isa<::mlir::wm::tile::TileType>($_self)">,
                          "register tile", "::mlir::wm::tile::TileType">;
def WMTile_AnyShared : Type<CPred<"::llvm::isa<::mlir::wm::tile::SharedType>($_self)">,
                            "shared buffer", "::mlir::wm::tile::SharedType">;

#endif // WM_DIALECT_WMTILE_IR_WMTILEBASE_TD
