//===- WMTileOps.td - wm_tile ops --------------------------*- tablegen -*-===//

#ifndef WM_DIALECT_WMTILE_IR_WMTILEOPS_TD
#define WM_DIALECT_WMTILE_IR_WMTILEOPS_TD

include "wm/Dialect/WMTile/IR/WMTileBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Programs and memory
//===----------------------------------------------------------------------===//

def WMTile_ProgramOp : WMTile_Op<"program", [
    IsolatedFromAbove, SingleBlockImplicitTerminator<"EndOp">]> {
  let summary = "a kernel: a grid of instances of one per-CTA region";
  let description = [{
    Runs the region once per point of `grid` (row-major, the first dimension
    slowest). The region's arguments are the grid coordinates (index), then
    the buffers. The GPU lowering makes the program a kernel of
    `config.warps` warps per CTA and the grid its linear block index; the
    CPU lowering makes it a loop nest.

    ```mlir
    wm_tile.program "dma_attention_mma" grid [16, 1, 8]
        config <warps = 4, warp_rows = 32, stages = 1, candidates = 8192,
                tile_keys = 64, q_in_registers = false, wgmma = false>
        (%q, %k, %v, %bias, %tau, %out, %lse) : memref<...>, ... {
    ^bb0(%qb: index, %b: index, %h: index, %q: memref<...>, ...):
      ...
    }
    ```
  }];
  let arguments = (ins StrAttr:$kernel_name, DenseI64ArrayAttr:$grid,
                       WMTile_KernelConfigAttr:$config,
                       Variadic<AnyMemRef>:$buffers,
                       UnitAttr:$overlap_previous);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kernel_name `grid` $grid `config` $config `(` $buffers `)` `:`
    type($buffers) $body attr-dict
  }];
  let hasVerifier = 1;
  let builders = [
    // The region's block (grid coordinates, then the buffers), filled by
    // `bodyBuilder` with the builder inside it; the terminator follows.
    OpBuilder<(ins "StringRef":$kernelName, "ArrayRef<int64_t>":$grid,
                   "KernelConfigAttr":$config, "ValueRange":$buffers,
                   "function_ref<void(OpBuilder &, Block &)>":$bodyBuilder)>
  ];
  let extraClassDeclaration = [{
    Block &getBodyBlock() { return getBody().front(); }
    /// The region argument of buffer `i`.
    BlockArgument getBufferArgument(unsigned i) {
      return getBodyBlock().getArgument(getGrid().size() + i);
    }
  }];
}

def WMTile_EndOp : WMTile_Op<"end", [Terminator, HasParent<"ProgramOp">, Pure]> {
  let summary = "ends a program region";
  let assemblyFormat = "attr-dict";
}

def WMTile_AllocSharedOp : WMTile_Op<"alloc_shared", [HasParent<"ProgramOp">]> {
  let summary = "a shared buffer of the program instance";
  let description = [{
    Lives for the whole instance. Only at the top of a program's region, so
    the GPU lowering can lay out shared memory statically.

    A nonzero `phase` lets buffers that are never live together share bytes:
    the GPU lowering lays each phase's buffers out from the same offset, after
    those of phase 0 (the default, never shared). The program uses the phases
    in increasing order, each after the previous one's last use (loops
    counted whole), with a `wm_tile.barrier` between them; the verifier
    checks this. Contents do not carry over from one phase to the next.

    ```mlir
    %tiles = wm_tile.alloc_shared {phase = 1} : !wm_tile.shared<1x64x128xbf16>
    %state = wm_tile.alloc_shared {phase = 2} : !wm_tile.shared<64x128xbf16>
    ```
  }];
  let arguments = (ins DefaultValuedAttr<I64Attr, "0">:$phase);
  let results = (outs WMTile_AnyShared:$buffer);
  let assemblyFormat = "attr-dict `:` type($buffer)";
}

def WMTile_StageOp : WMTile_Op<"stage", [Pure]> {
  let summary = "stage `index` of a staged shared buffer";
  let arguments = (ins WMTile_AnyShared:$buffer, Index:$index);
  let results = (outs WMTile_AnyShared:$result);
  let assemblyFormat = [{
    $buffer `[` $index `]` attr-dict `:` type($buffer) `->` type($result)
  }];
  let builders = [
    // The stage's type: the buffer's without its leading stage dimension.
    OpBuilder<(ins "Value":$buffer, "Value":$index), [{
      auto type = ::llvm::cast<SharedType>(buffer.getType());
      build($_builder, $_state,
            SharedType::get(type.getShape().drop_front(), type.getElementType()),
            buffer, index);
    }]>
  ];
  let hasVerifier = 1;
}

def WMTile_ReadOp : WMTile_Op<"read"> {
  let summary = "one element of a 1-D shared buffer";
  let description = [{
    Read by every thread that runs it: the whole instance, or one iteration
    of an `scf.parallel`.
  }];
  let arguments = (ins WMTile_AnyShared:$buffer, Index:$index);
  let results = (outs AnyTypeOf<[I32, I64, F32]>:$value);
  let assemblyFormat = "$buffer `[` $index `]` attr-dict `:` type($buffer) `->` type($value)";
  let hasVerifier = 1;
}

def WMTile_WriteOp : WMTile_Op<"write"> {
  let summary = "one element of a 1-D shared buffer, written by one thread";
  let description = [{
    Meant for the iterations of an `scf.parallel` (each writes its own
    elements) or a branch that one iteration takes; a `barrier` makes the
    write visible to the instance.
  }];
  let arguments = (ins AnyTypeOf<[I32, I64, F32]>:$value,
                       WMTile_AnyShared:$buffer, Index:$index);
  let assemblyFormat = [{
    $value `,` $buffer `[` $index `]` attr-dict `:` type($value) `,`
    type($buffer)
  }];
  let hasVerifier = 1;
}

def WMTile_AtomicAddOp : WMTile_Op<"atomic_add"> {
  let summary = "adds to one i32 of a shared buffer, returns the old value";
  let description = [{
    Atomic over the instance: iterations of an `scf.parallel` that add to
    the same element get distinct old values (slots of an append).
  }];
  let arguments = (ins I32:$value, WMTile_AnyShared:$buffer, Index:$index);
  let results = (outs I32:$old);
  let assemblyFormat = [{
    $value `,` $buffer `[` $index `]` attr-dict `:` type($buffer)
  }];
  let hasVerifier = 1;
}

def WMTile_SplatOp : WMTile_Op<"splat", [Pure]> {
  let summary = "a register tile with every element `value`";
  let arguments = (ins F32Attr:$value);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Copies. A row tile of `src`: rows along `row_dim`, columns along the last
// dimension, the other coordinates fixed by `indices`.
//===----------------------------------------------------------------------===//

def WMTile_LoadOp : WMTile_Op<"load"> {
  let summary = "rows of a buffer into a register tile";
  let description = [{
    Element (r, c) of the result is `src[indices]` with `r` added to the
    coordinate of `row_dim` and `c` to the last; rows past the end of
    `row_dim` read 0. An f32 tile reads any float type, converted.
  }];
  let arguments = (ins AnyMemRef:$src, Variadic<Index>:$indices,
                       I64Attr:$row_dim);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $src `[` $indices `]` attr-dict `:` type($src) `->` type($result)
  }];
  let hasVerifier = 1;
}

def WMTile_CopyAsyncOp : WMTile_Op<"copy_async"> {
  let summary = "rows of a buffer into a shared buffer, asynchronously";
  let description = [{
    Like `load`, into `dst` (rows past the end are zeros): 16-bit rows, or
    single f32 elements into a 1-D buffer. Completes at the `wait` of its
    commit group.
  }];
  let arguments = (ins AnyMemRef:$src, Variadic<Index>:$indices,
                       WMTile_AnyShared:$dst, I64Attr:$row_dim);
  let assemblyFormat = [{
    $src `[` $indices `]` `into` $dst attr-dict `:` type($src) `,` type($dst)
  }];
  let hasVerifier = 1;
}

def WMTile_GatherAsyncOp : WMTile_Op<"gather_async"> {
  let summary = "rows of a buffer chosen by an index list, asynchronously";
  let description = [{
    Row r of `dst` is the row of `src` at coordinate `rows[first + r]` along
    `row_dim` (the other coordinates are `indices`, one per dimension but
    `row_dim`, the last one the first column), or zeros when
    `first + r >= count`. A 1-D `dst` gathers single elements.
  }];
  let arguments = (ins AnyMemRef:$src, Variadic<Index>:$indices,
                       WMTile_AnyShared:$rows, Index:$first, Index:$count,
                       WMTile_AnyShared:$dst, I64Attr:$row_dim);
  let assemblyFormat = [{
    $src `[` $indices `]` `rows` $rows `[` $first `]` `count` $count `into`
    $dst attr-dict `:` type($src) `,` type($rows) `,` type($dst)
  }];
  let hasVerifier = 1;
}

def WMTile_CommitOp : WMTile_Op<"commit"> {
  let summary = "closes the group of asynchronous copies issued so far";
  let assemblyFormat = "attr-dict";
}

def WMTile_WaitOp : WMTile_Op<"wait"> {
  let summary = "waits until at most `pending` commit groups are in flight";
  let arguments = (ins I64Attr:$pending);
  let assemblyFormat = "$pending attr-dict";
}

def WMTile_BarrierOp : WMTile_Op<"barrier"> {
  let summary = "orders the CTA's shared-memory accesses (a no-op on the CPU)";
  let assemblyFormat = "attr-dict";
}

def WMTile_SignalOp : WMTile_Op<"signal"> {
  let summary = "publishes a progress count to later programs";
  let description = [{
    Collective: after a CTA barrier (so that every thread's global writes
    before it are covered), one thread stores `value` to the i32 element
    `flags[indices]` with release semantics at GPU scope. A program launched with
    `overlap_previous` reads it with `wait_signal`. On the CPU, where the
    programs run one after another, a plain store.
  }];
  let arguments = (ins MemRefRankOf<[I32], [1, 2, 3, 4]>:$flags,
                       Variadic<Index>:$indices, Index:$value);
  let assemblyFormat = [{
    $flags `[` $indices `]` `=` $value attr-dict `:` type($flags)
  }];
  let hasVerifier = 1;
}

def WMTile_WaitSignalOp : WMTile_Op<"wait_signal"> {
  let summary = "waits until an earlier program's progress count is reached";
  let description = [{
    Collective: one thread polls the i32 element `flags[indices]` with
    acquire loads at GPU scope until it is at least `value`, then a CTA
    barrier, so that what the signalling CTA wrote before its `signal` is
    visible to every thread. The signalling program must be resident before this one
    starts: it runs `launch_dependents` first, and this program has
    `overlap_previous`. On the CPU, where the signal came first, nothing.
  }];
  let arguments = (ins MemRefRankOf<[I32], [1, 2, 3, 4]>:$flags,
                       Variadic<Index>:$indices, Index:$value);
  let assemblyFormat = [{
    $flags `[` $indices `]` `at_least` $value attr-dict `:` type($flags)
  }];
  let hasVerifier = 1;
}

def WMTile_LaunchDependentsOp : WMTile_Op<"launch_dependents"> {
  let summary = "lets the next program (one with overlap_previous) start";
  let description = [{
    Programmatic dependent launch (sm_90 `griddepcontrol.launch_dependents`):
    once every CTA of this program has run it (or finished), the next
    program, if launched with `overlap_previous`, may start while this one
    runs; it must synchronize through `wait_signal`. A no-op on the CPU.
  }];
  let assemblyFormat = "attr-dict";
}

//===----------------------------------------------------------------------===//
// DMA tile ops
//===----------------------------------------------------------------------===//

def WMTile_ThresholdsOp : WMTile_Op<"thresholds"> {
  let summary = "the thresholds of a block of query rows and their range";
  let description = [{
    `tau` is `thresholds[indices]` with the row `r` added to the last
    coordinate, for the rows of the result tile; rows at or past `rows_end`
    get +inf (they keep nothing). With `nan_as_inf`, a NaN threshold reads
    as +inf. `low` is the smallest threshold with NaN as +inf (keys below it
    are kept by no row), `high` the largest over rows before `rows_end`
    (-inf: no row has a threshold).
  }];
  let arguments = (ins MemRefOf<[F32]>:$thresholds, Variadic<Index>:$indices,
                       Index:$rows_end, UnitAttr:$nan_as_inf);
  let results = (outs WMTile_AnyTile:$tau, F32:$low, F32:$high);
  let assemblyFormat = [{
    $thresholds `[` $indices `]` `rows_end` $rows_end attr-dict `:`
    type($thresholds) `->` type($tau)
  }];
  let hasVerifier = 1;
}

def WMTile_CompactOp : WMTile_Op<"compact"> {
  let summary = "the keys of [from, to) whose bias may reach `low`, in order";
  let description = [{
    Writes into `candidates` the keys j of [from, to), in increasing order,
    with `bias[indices, j]` not below `low` (unordered compare: NaN biases
    are candidates), and returns their count and the first key not
    examined. Keys are examined in rounds of `round` while the list can
    take a whole round; with `low` = -inf every key qualifies and the list
    is filled directly. Callers loop until `next` reaches `to`.
  }];
  let arguments = (ins MemRefOf<[F32]>:$bias, Variadic<Index>:$indices,
                       Index:$from, Index:$to, F32:$low,
                       WMTile_AnyShared:$candidates, I64Attr:$round);
  let results = (outs Index:$count, Index:$next);
  let assemblyFormat = [{
    $bias `[` $indices `]` `from` $from `to` $to `where` $low `into`
    $candidates attr-dict `:` type($bias) `,` type($candidates)
  }];
  let hasVerifier = 1;
}

def WMTile_RadixSelectOp : WMTile_Op<"radix_select", [AttrSizedOperandSegments]> {
  let summary = "the ranks-th largest biases of a key range, collectively";
  let description = [{
    For each rank k of `ranks` (1 <= k <= `end`): the k-th largest of
    `bias[indices, j]` over keys j of [0, `end`), in the selection's order
    (NaN above +inf above every number), as its order-preserving 32-bit key
    (`key`), and how many keys equal to it belong to the top k (`ties`):
    results key_0, ties_0, key_1, ties_1, ... The key of x is the bits of x
    with the sign bit raised when x >= 0 and every bit flipped when x < 0,
    NaN taken as +NaN, compared unsigned. `scratch` holds the GPU's radix
    histograms (2048 i32 per rank, one per 11-bit digit) and its scan
    state (warps + 2 i32 per rank). Every thread gets the results.
  }];
  let arguments = (ins MemRefOf<[F32]>:$bias, Variadic<Index>:$indices,
                       Index:$end, Variadic<I32>:$ranks,
                       WMTile_AnyShared:$scratch);
  let results = (outs Variadic<I32>:$found);
  let assemblyFormat = [{
    $bias `[` $indices `]` `end` $end `ranks` `(` $ranks `)` `scratch`
    $scratch attr-dict `:` type($bias) `,` type($scratch) `->` type($found)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// i32 words of scratch per rank beside the histograms, for `warps`.
    static int64_t scanWords(int64_t warps) { return warps + 2; }
    static constexpr int64_t kHistogramBins = 2048;
  }];
}

def WMTile_SortOp : WMTile_Op<"sort"> {
  let summary = "sorts a 1-D shared buffer of i64 ascending, collectively";
  let description = [{
    Unsigned order. The length is a power of two; on the GPU each thread
    holds length / threads consecutive entries of a bitonic network.
  }];
  let arguments = (ins WMTile_AnyShared:$buffer);
  let assemblyFormat = "$buffer attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

def WMTile_MatmulOp : WMTile_Op<"matmul", [AttrSizedOperandSegments]> {
  let summary = "C = A B (or A B^T) with f32 accumulation";
  let description = [{
    `lhs` (M x K) is a register tile or a shared buffer, or a shared
    buffer of K x M with `transpose_lhs`; `rhs` a shared buffer of K x N,
    or N x K with `transpose_rhs`. With `acc`, the result is acc + A B.
    16-bit operands are multiplied exactly and summed in f32; an f32
    register `lhs` is rounded to the element type of `rhs` first.
    With `live_from`, result rows before it take no product: they are acc
    (or 0). A program states so where it knows those rows are masked, and
    the GPU skips the warps whose rows all lie before it.
    With `scaled` (transposed lhs only), A's element at depth k is
    `lhs[k, m] * scale[scale_first + k]` rounded to lhs's element type; the
    buffer is not written.
  }];
  let arguments = (ins AnyType:$lhs, WMTile_AnyShared:$rhs,
                       Optional<WMTile_AnyTile>:$acc, Optional<Index>:$live_from,
                       Optional<WMTile_AnyShared>:$scale,
                       Optional<Index>:$scale_first,
                       UnitAttr:$transpose_rhs, UnitAttr:$transpose_lhs);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`acc` $acc^)? (`live_from` $live_from^)?
    (`scaled` $scale^ `[` $scale_first `]` `:` type($scale))? attr-dict `:`
    type($lhs) `,` type($rhs) (`,` type($acc)^)? `->` type($result)
  }];
  let builders = [
    OpBuilder<(ins "Type":$result, "Value":$lhs, "Value":$rhs, "Value":$acc,
                   CArg<"bool", "false">:$transposeRhs,
                   CArg<"bool", "false">:$transposeLhs), [{
      build($_builder, $_state, result, lhs, rhs, acc, /*live_from=*/Value(),
            /*scale=*/Value(), /*scale_first=*/Value(), transposeRhs,
            transposeLhs);
    }]>,
    OpBuilder<(ins "Type":$result, "Value":$lhs, "Value":$rhs, "Value":$acc,
                   "Value":$liveFrom, "bool":$transposeRhs,
                   "bool":$transposeLhs), [{
      build($_builder, $_state, result, lhs, rhs, acc, liveFrom,
            /*scale=*/Value(), /*scale_first=*/Value(), transposeRhs,
            transposeLhs);
    }]>
  ];
  let hasVerifier = 1;
}

def WMTile_ScoreOp : WMTile_Op<"score", [AllTypesMatch<["logits", "result"]>,
    AttrSizedOperandSegments]> {
  let summary = "attention logits to masked log2-domain scores";
  let description = [{
    For query row `first_row + r` and key column c (key `keys[first + c]`):
    score = fma(logits, logit_scale, bias * bias_scale) where the row keeps
    the key, else -inf. `tests` says what is checked: `none` nothing; `bias`
    the keep test against the row's threshold `tau` (exact: bias >= tau or
    bias is NaN; otherwise bias UGE tau); `all` also that `first + c <
    count` and, with `causal`, that the key is at most `first_row + r +
    key_offset`. Without `tau` every present key passes the bias test.
    `tau_max`, at least every row's threshold, skips the `bias` test of a
    tile whose biases all reach it (every row keeps all of it). The slots
    `[first, first + columns)` must lie in `keys`; those at or past `count`
    may be read but are not used.
  }];
  let arguments = (ins WMTile_AnyTile:$logits, WMTile_AnyShared:$bias,
                       WMTile_AnyShared:$keys, Index:$first, Index:$count,
                       Optional<WMTile_AnyTile>:$tau, Optional<F32>:$tau_max,
                       Index:$first_row,
                       F32Attr:$logit_scale, F32Attr:$bias_scale,
                       WMTile_ScoreTestsAttr:$tests, UnitAttr:$causal,
                       I64Attr:$key_offset, UnitAttr:$exact);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $logits `,` $bias `,` $keys `[` $first `]` `count` $count
    (`tau` $tau^)? (`tau_max` $tau_max^)? `rows` $first_row $tests attr-dict
    `:` type($logits) `,`
    type($bias) `,` type($keys) (`,` type($tau)^)?
  }];
  let hasVerifier = 1;
}

def WMTile_SoftmaxUpdateOp : WMTile_Op<"softmax_update", [Pure,
    AllTypesMatch<["scores", "probs"]>, AllTypesMatch<["max", "new_max", "alpha"]>,
    AllTypesMatch<["sum", "new_sum"]>]> {
  let summary = "one step of the online softmax, in the log2 domain";
  let description = [{
    max' = max(max, rowmax(scores)); with ref = max' (0 where max' is -inf),
    probs = 2^(scores - ref), alpha = 2^(max - ref) and
    sum' = sum * alpha + rowsum(probs). `sum` is a `partial` row vector.
  }];
  let arguments = (ins WMTile_AnyTile:$scores, WMTile_AnyTile:$max,
                       WMTile_AnyTile:$sum);
  let results = (outs WMTile_AnyTile:$probs, WMTile_AnyTile:$new_max,
                      WMTile_AnyTile:$new_sum, WMTile_AnyTile:$alpha);
  let assemblyFormat = [{
    $scores `,` $max `,` $sum attr-dict `:` type($scores) `,` type($max) `,`
    type($sum)
  }];
  let hasVerifier = 1;
}

def WMTile_ScaleRowsOp : WMTile_Op<"scale_rows", [Pure,
    AllTypesMatch<["tile", "result"]>]> {
  let summary = "multiplies row r of a tile by factors[r]";
  let arguments = (ins WMTile_AnyTile:$tile, WMTile_AnyTile:$factors);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $tile `,` $factors attr-dict `:` type($tile) `,` type($factors)
  }];
  let hasVerifier = 1;
}

def WMTile_TruncFOp : WMTile_Op<"truncf", [Pure]> {
  let summary = "rounds an f32 register tile to a 16-bit float type";
  let description = [{
    Each element rounded to nearest even, as an mma operand. On the GPU a
    16-bit 2-D tile is held as mma A fragments: half the registers of the
    f32 tile it comes from. With `residual`, each element is what that
    rounding left, `x - round(x)`, rounded in turn: a product with both
    tiles carries about twice the bits of x.
  }];
  let arguments = (ins WMTile_AnyTile:$tile, UnitAttr:$residual);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = "$tile attr-dict `:` type($tile) `->` type($result)";
  let hasVerifier = 1;
}

def WMTile_StoreAttentionOp : WMTile_Op<"store_attention",
    [AttrSizedOperandSegments]> {
  let summary = "out = acc / sum and the log-sum-exp, for rows that exist";
  let description = [{
    Row r (query `first_row + r`, skipped at or past the end of the output's
    row dimension 1): out[indices with r added at dim 1] = acc / sum, and
    lse[lse_indices with r added last] = (max + log2 sum) * lse_scale; +inf
    where max is +inf. A row whose max is -inf kept nothing: out 0,
    lse -inf.
  }];
  let arguments = (ins WMTile_AnyTile:$acc, WMTile_AnyTile:$max,
                       WMTile_AnyTile:$sum, AnyMemRef:$out,
                       Variadic<Index>:$indices, MemRefOf<[F32]>:$lse,
                       Variadic<Index>:$lse_indices, F32Attr:$lse_scale);
  let assemblyFormat = [{
    $acc `,` $max `,` $sum `into` $out `[` $indices `]` `,` $lse `[`
    $lse_indices `]` attr-dict `:` type($acc) `,` type($max) `,` type($sum)
    `,` type($out) `,` type($lse)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// The backward of the DMA attention (spec section 1.4)
//===----------------------------------------------------------------------===//

def WMTile_ProbabilitiesOp : WMTile_Op<"probabilities", [Pure,
    AllTypesMatch<["scores", "result"]>]> {
  let summary = "softmax probabilities from log2-domain scores and the lse";
  let description = [{
    P[r, c] = 2^(scores[r, c] - lse[r] * lse_scale), and 0 where the score
    is -inf (a key the row does not keep) or the row `first_row + r` is at
    or past `rows_end`. `lse` is the forward's log-sum-exp of the rows.
  }];
  let arguments = (ins WMTile_AnyTile:$scores, WMTile_AnyTile:$lse,
                       Index:$first_row, Index:$rows_end, F32Attr:$lse_scale);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $scores `,` $lse `rows` $first_row `end` $rows_end attr-dict `:`
    type($scores) `,` type($lse)
  }];
  let hasVerifier = 1;
}

def WMTile_RowDotOp : WMTile_Op<"row_dot", [Pure,
    AllTypesMatch<["lhs", "rhs"]>, AllTypesMatch<["acc", "result"]>]> {
  let summary = "acc[r] + sum_c a[r, c] b[r, c]";
  let arguments = (ins WMTile_AnyTile:$lhs, WMTile_AnyTile:$rhs,
                       WMTile_AnyTile:$acc);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs `acc` $acc attr-dict `:` type($lhs) `,` type($acc)
  }];
  let hasVerifier = 1;
}

def WMTile_SoftmaxGradOp : WMTile_Op<"softmax_grad", [Pure,
    AllTypesMatch<["probs", "grad_probs", "result"]>]> {
  let summary = "dS = P * (dP - Dr), Dr one value per row";
  let arguments = (ins WMTile_AnyTile:$probs, WMTile_AnyTile:$grad_probs,
                       WMTile_AnyTile:$delta);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $probs `,` $grad_probs `,` $delta attr-dict `:` type($probs) `,`
    type($delta)
  }];
  let hasVerifier = 1;
}

def WMTile_StoreSharedOp : WMTile_Op<"store_shared"> {
  let summary = "an f32 register tile into a 16-bit shared buffer";
  let description = [{
    Each element rounded to nearest even, so that a `matmul` can read the
    tile transposed (`transpose_lhs`); a `barrier` makes it visible.
  }];
  let arguments = (ins WMTile_AnyTile:$tile, WMTile_AnyShared:$buffer);
  let assemblyFormat = [{
    $tile `into` $buffer attr-dict `:` type($tile) `,` type($buffer)
  }];
  let hasVerifier = 1;
}

def WMTile_StoreOp : WMTile_Op<"store"> {
  let summary = "an f32 register tile into rows of a buffer, scaled";
  let description = [{
    `dst[indices]`, with `r` added to the coordinate of `row_dim` and `c`
    to the last, becomes `scale * tile[r, c]` in the buffer's element type
    (rounded to nearest even), for the rows before the end of `row_dim`.
  }];
  let arguments = (ins WMTile_AnyTile:$tile, AnyMemRef:$dst,
                       Variadic<Index>:$indices, I64Attr:$row_dim,
                       F32Attr:$scale);
  let assemblyFormat = [{
    $tile `into` $dst `[` $indices `]` attr-dict `:` type($tile) `,`
    type($dst)
  }];
  let hasVerifier = 1;
}

def WMTile_ScatterAddOp : WMTile_Op<"scatter_add"> {
  let summary = "adds the rows of a tile to rows of an f32 buffer, atomically";
  let description = [{
    For each row r with `first + r < count`: the row of `dst` at coordinate
    `rows[first + r]` along `row_dim` (the other coordinates `indices`, one
    per dimension but `row_dim`, the last one the first column) gets
    `scale * tile[r, c]` added at column c. Atomic: program instances may
    add to the same rows.
  }];
  let arguments = (ins WMTile_AnyTile:$tile, MemRefOf<[F32]>:$dst,
                       Variadic<Index>:$indices, WMTile_AnyShared:$rows,
                       Index:$first, Index:$count, I64Attr:$row_dim,
                       F32Attr:$scale);
  let assemblyFormat = [{
    $tile `,` $dst `[` $indices `]` `rows` $rows `[` $first `]` `count`
    $count attr-dict `:` type($tile) `,` type($dst) `,` type($rows)
  }];
  let hasVerifier = 1;
}

def WMTile_ScatterColumnSumsOp : WMTile_Op<"scatter_column_sums"> {
  let summary = "adds the column sums of a tile to an f32 buffer, atomically";
  let description = [{
    For each column c with `first + c < count`:
    `dst[indices, keys[first + c]] += sum_r tile[r, c]`, the key along the
    last dimension. Atomic: program instances may add to the same keys.
  }];
  let arguments = (ins WMTile_AnyTile:$tile, MemRefOf<[F32]>:$dst,
                       Variadic<Index>:$indices, WMTile_AnyShared:$keys,
                       Index:$first, Index:$count);
  let assemblyFormat = [{
    $tile `,` $dst `[` $indices `]` `keys` $keys `[` $first `]` `count`
    $count attr-dict `:` type($tile) `,` type($dst) `,` type($keys)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// State space duality (spec section 2): the chunked scan
//===----------------------------------------------------------------------===//

def WMTile_DiscretizeOp : WMTile_Op<"discretize", [AttrSizedOperandSegments,
    AllTypesMatch<["steps", "log_decay"]>]> {
  let summary = "a chunk's dt', the cumulative sums of dt' a, and step weights";
  let description = [{
    For the steps s < `count` of a chunk (`dt[indices]` with s added at
    `row_dim`): `steps[s] = clamp(softplus?(dt + bias), dt_min, dt_max)`,
    0 for s >= count. `log_decay[s] = sum_{r <= s} steps[r] a`, an inclusive
    sum within the chunk, so that `log_decay[t] - log_decay[s]` is the
    segment sum of (s, t]. With `weights`, `weights[s] = exp(log_decay[last]
    - log_decay[s]) steps[s]`, the weight of step s in the chunk's state;
    with `total`, `total[total_indices] = log_decay[last]`; with `save`,
    `save[save_indices, 0, s] = steps[s]` and `save[save_indices, 1, s] =
    log_decay[s]` for every slot s, for the later programs of the chunk.
    Collective: the buffers are complete when the op returns.
  }];
  let arguments = (ins AnyMemRef:$dt, Variadic<Index>:$indices, F32:$a,
                       Optional<F32>:$bias, Index:$count,
                       WMTile_AnyShared:$steps, WMTile_AnyShared:$log_decay,
                       Optional<WMTile_AnyShared>:$weights,
                       Optional<MemRefOf<[F32]>>:$total,
                       Variadic<Index>:$total_indices,
                       Optional<MemRefOf<[F32]>>:$save,
                       Variadic<Index>:$save_indices, I64Attr:$row_dim,
                       UnitAttr:$softplus, F32Attr:$dt_min, F32Attr:$dt_max);
  let assemblyFormat = [{
    $dt `[` $indices `]` `a` $a (`bias` $bias^)? `count` $count `into` $steps
    `,` $log_decay (`weights` $weights^ `:` type($weights))?
    (`total` $total^ `[` $total_indices `]` `:` type($total))?
    (`save` $save^ `[` $save_indices `]` `:` type($save))? attr-dict `:`
    type($dt) `,` type($steps)
  }];
  let hasVerifier = 1;
}

def WMTile_DecayMaskOp : WMTile_Op<"decay_mask", [Pure,
    AllTypesMatch<["logits", "result"]>, AllTypesMatch<["log_decay", "steps"]>]> {
  let summary = "(C B^T) o L of spec section 2: the intra-chunk weights";
  let description = [{
    For row t = `first_row` + r and column s = `first_col` + c of a chunk:
    `logits[r, c] exp(log_decay[t] - log_decay[s]) steps[s]` where s <= t,
    else 0. Both `log_decay` and `steps` come from `discretize`.
  }];
  let arguments = (ins WMTile_AnyTile:$logits, WMTile_AnyShared:$log_decay,
                       WMTile_AnyShared:$steps, Index:$first_row,
                       Index:$first_col);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $logits `,` $log_decay `,` $steps `rows` $first_row `cols` $first_col
    attr-dict `:` type($logits) `,` type($log_decay)
  }];
  let hasVerifier = 1;
}

def WMTile_DecayRowsOp : WMTile_Op<"decay_rows", [Pure]> {
  let summary = "exp(log_decay[first_row + r]): the entering state's decay";
  let arguments = (ins WMTile_AnyShared:$log_decay, Index:$first_row);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $log_decay `rows` $first_row attr-dict `:` type($log_decay) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def WMTile_RotateSharedOp : WMTile_Op<"rotate_shared",
    [AllTypesMatch<["cos", "sin"]>]> {
  let summary = "rotary positions on the rows of a 16-bit shared buffer";
  let description = [{
    In place, row r (position `indices[row_dim] + r` of the tables `cos` and
    `sin`, of R columns): `u[:R] = u[:R] cos + rotate_half(u[:R]) sin`, with
    `rotate_half([a, b]) = [-b, a]`, rounded to nearest even; rows past the
    end of the tables are left as they are. Collective: a `barrier` must
    order it after the writes of `buffer` and before its reads.
  }];
  let arguments = (ins WMTile_AnyShared:$buffer, AnyMemRef:$cos,
                       AnyMemRef:$sin, Variadic<Index>:$indices,
                       I64Attr:$row_dim);
  let assemblyFormat = [{
    $buffer `by` $cos `,` $sin `[` $indices `]` attr-dict `:` type($buffer)
    `,` type($cos)
  }];
  let hasVerifier = 1;
}

def WMTile_ScaleAddOp : WMTile_Op<"scale_add", [Pure,
    AllTypesMatch<["tile", "addend", "result"]>]> {
  let summary = "tile * factor + addend, element-wise";
  let arguments = (ins WMTile_AnyTile:$tile, F32:$factor,
                       WMTile_AnyTile:$addend);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $tile `,` $factor `,` $addend attr-dict `:` type($tile)
  }];
  let hasVerifier = 1;
}

def WMTile_GateOp : WMTile_Op<"gate", [Pure,
    AllTypesMatch<["acc", "gate", "result"]>]> {
  let summary = "y = acc z sigmoid(z): the SSD output's gate";
  let arguments = (ins WMTile_AnyTile:$acc, WMTile_AnyTile:$gate);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = "$acc `,` $gate attr-dict `:` type($acc)";
  let hasVerifier = 1;
}

def WMTile_SkipSharedOp : WMTile_Op<"skip_shared",
    [AllTypesMatch<["acc", "result"]>]> {
  let summary = "acc + D x over the rows of x that a shared tile holds";
  let description = [{
    Row r of `acc` is row r + `offset` (signed) of the 16-bit shared tile
    `x`. Where that row lies in the tile: `acc[r, c] + D x[r + offset, c]`,
    D (H) or (H, P) read at the head index `skip_indices` (and column c for
    a 2-D D); the other rows keep `acc`. The chunk scan adds
    D x while the tiles of x holding its rows are in shared memory, instead
    of loading x again for the epilogue.
  }];
  let arguments = (ins WMTile_AnyTile:$acc, WMTile_AnyShared:$x,
                       Index:$offset, AnyMemRef:$skip,
                       Variadic<Index>:$skip_indices);
  let results = (outs WMTile_AnyTile:$result);
  let assemblyFormat = [{
    $acc `,` $x `rows` $offset `skip` $skip `[` $skip_indices `]` attr-dict
    `:` type($acc) `,` type($x) `,` type($skip)
  }];
  let hasVerifier = 1;
}

#endif // WM_DIALECT_WMTILE_IR_WMTILEOPS_TD
