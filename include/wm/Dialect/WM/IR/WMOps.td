//===- WMOps.td - wm dialect ops ---------------------------*- tablegen -*-===//
//
// One op per operator of shared/spec/ops.md. Every op is pure, infers its
// result types from its operands, and verifies every shape relation, element
// type rule and attribute range of the spec so that lowerings may assume them.
//
//===----------------------------------------------------------------------===//

#ifndef WM_DIALECT_WM_IR_WMOPS_TD
#define WM_DIALECT_WM_IR_WMOPS_TD

include "wm/Dialect/WM/IR/WMDialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class WM_ShapedOp<string mnemonic, list<Trait> traits = []>
    : WM_Op<mnemonic, !listconcat(traits,
          [Pure, InferTypeOpAdaptorWithIsCompatible])> {
  let hasVerifier = 1;
  // A static result extent refines a dynamic inferred one.
  let extraClassDefinition = [{
    bool $cppClass::isCompatibleReturnTypes(::mlir::TypeRange lhs,
                                            ::mlir::TypeRange rhs) {
      return compatibleTensorTypes(lhs, rhs);
    }
  }];
}

//===----------------------------------------------------------------------===//
// Dynamic mask attention
//===----------------------------------------------------------------------===//

def WM_DmaBiasOp : WM_ShapedOp<"dma_bias"> {
  let summary = "per-key attention bias of dynamic mask attention";
  let description = [{
    Computes the bias of spec section 1.1 from the values. With `Vf[b, j]` the
    concatenation of `values[b, j, g, :]` over the kv heads,
    `dt[b, j, g] = Vf[b, j] . w_dt[g] (+ dt_bias[g])` and

    - `exp`:    `bias[b, g, j] = exp(a[g] * softplus(dt[b, j, g]))`
    - `linear`: `bias[b, g, j] = a[g] * softplus(dt[b, j, g])`

    Operands: `values` (B, Lk, Hk, D), `w_dt` (Hk, Hk*D) of the same element
    type, `a` (Hk) and the optional `dt_bias` (Hk). The result (B, Hk, Lk) is
    f32. The bias depends on the key position only, never on the query.

    Example:

    ```mlir
    %bias = wm.dma_bias linear %v, %w_dt, %a dt_bias(%b_dt)
        : (tensor<1x128x4x64xbf16>, tensor<4x256xbf16>, tensor<4xf32>,
           tensor<4xf32>) -> tensor<1x4x128xf32>
    ```
  }];
  let arguments = (ins WM_FloatTensor:$values, WM_FloatTensor:$w_dt,
                       WM_FloatTensor:$a, Optional<WM_FloatTensor>:$dt_bias,
                       WM_BiasFormAttr:$form);
  let results = (outs WM_F32Tensor:$bias);
  let assemblyFormat = [{
    $form $values `,` $w_dt `,` $a (`dt_bias` `(` $dt_bias^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
}

def WM_DmaAttentionOp : WM_ShapedOp<"dma_attention"> {
  let summary = "attention over a per-row top-W key selection with a key bias";
  let description = [{
    Dynamic mask attention, spec sections 1.2 and 1.3. Query row `i` keeps key
    `j` when it is causally allowed (`j <= i + Lk - Lq` with `causal`) and its
    bias is among the `window` largest:

    - `prefix` scope: among the keys row `i` may see, i.e.
      `bias[j] >= tau_i`, the W-th largest allowed bias of the row;
    - `global` scope: among all keys of the (batch, kv head), causality
      applied afterwards (early rows may keep no key).

    Without `window`, or when `Lk <= window`, every allowed key is kept. Then
    `s = scale * q.k + bias[j]` on kept entries, `output = softmax(s) v` and
    `lse = logsumexp(s)`. A row with no kept key yields output 0 and lse -inf.

    Operands: `query` (B, Lq, H, D), `key` and `value` (B, Lk, Hk, D) with
    `H % Hk == 0` (query head h reads kv head h / (H / Hk)), `bias`
    (B, Hk, Lk) f32. Results: `output` (B, Lq, H, D) of the query's element
    type, or f32 with `f32_output` (a training forward keeps the unrounded
    output for the backward's `Dr = dO . O`), and `lse` (B, H, Lq) f32.
    `scale` defaults to D^-1/2 and multiplies q.k only. The selection is
    never materialised as an Lq x Lk mask.

    Example:

    ```mlir
    %out, %lse = wm.dma_attention %q, %k, %v, %bias
        {causal, window = 1024 : i64, scope = #wm.scope<prefix>}
        : (tensor<1x4096x16x128xbf16>, tensor<1x4096x4x128xbf16>,
           tensor<1x4096x4x128xbf16>, tensor<1x4x4096xf32>)
        -> (tensor<1x4096x16x128xbf16>, tensor<1x16x4096xf32>)
    ```
  }];
  let arguments = (ins WM_FloatTensor:$query, WM_FloatTensor:$key,
                       WM_FloatTensor:$value, WM_F32Tensor:$bias,
                       OptionalAttr<F32Attr>:$scale, UnitAttr:$causal,
                       OptionalAttr<I64Attr>:$window,
                       DefaultValuedAttr<WM_SelectionScopeAttr,
                           "::mlir::wm::SelectionScope::prefix">:$scope,
                       UnitAttr:$f32_output);
  let results = (outs WM_FloatTensor:$output, WM_F32Tensor:$lse);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $bias attr-dict
    `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The softmax scale: the `scale` attribute, else D^-1/2.
    double getEffectiveScale();
  }];
}

//===----------------------------------------------------------------------===//
// State space duality
//===----------------------------------------------------------------------===//

def WM_SsdOp : WM_ShapedOp<"ssd", [AttrSizedOperandSegments]> {
  let summary = "Mamba-2 state space duality layer with optional rotary B/C";
  let description = [{
    The selective state space recurrence of spec section 2, per (b, h) with a
    state S of shape (P, N):
    `S_t = exp(dt'_t * a[h]) * S_{t-1} + dt'_t * outer(x_t, b_t)`,
    `y_t = S_t c_t + D[h] * x_t`, gated by `z * sigmoid(z)` when `z` is given,
    where `dt' = clamp(softplus?(dt + dt_bias), dt_limit)`. It is computed in
    chunks of `chunk_size` (a power of two) steps; every chunk size gives the
    same result as the recurrence.

    Operands: `x` (B, T, H, P), `dt` (B, T, H), `a` (H), `b` and `c`
    (B, T, G, N) with `H % G == 0`; optional `D` (H) or (H, P), `z`
    (B, T, H, P), `dt_bias` (H), `initial_state` (B, H, P, N) f32, and
    `rope(cos, sin)` of shape (T, R) or (B, T, R), R even and <= N, which
    rotates b and c by absolute position (rotate-half convention).
    Results: `y` (B, T, H, P) of the element type of x, and the final state
    (B, H, P, N) in f32. `dt_limit` is `array<f64: min, max>`, default [0, inf).

    Example:

    ```mlir
    %y, %state = wm.ssd %x, %dt, %a, %b, %c D(%d) z(%z) dt_bias(%dtb)
        rope(%cos, %sin) {chunk_size = 64 : i64, dt_softplus}
        : (tensor<2x256x8x64xbf16>, tensor<2x256x8xf32>, tensor<8xf32>,
           tensor<2x256x1x128xbf16>, tensor<2x256x1x128xbf16>, tensor<8xf32>,
           tensor<2x256x8x64xbf16>, tensor<8xf32>, tensor<256x64xf32>,
           tensor<256x64xf32>)
        -> (tensor<2x256x8x64xbf16>, tensor<2x8x64x128xf32>)
    ```
  }];
  let arguments = (ins WM_FloatTensor:$x, WM_FloatTensor:$dt,
                       WM_FloatTensor:$a, WM_FloatTensor:$b, WM_FloatTensor:$c,
                       Optional<WM_FloatTensor>:$D, Optional<WM_FloatTensor>:$z,
                       Optional<WM_FloatTensor>:$dt_bias,
                       Optional<WM_F32Tensor>:$initial_state,
                       Optional<WM_FloatTensor>:$cos,
                       Optional<WM_FloatTensor>:$sin,
                       I64Attr:$chunk_size, UnitAttr:$dt_softplus,
                       OptionalAttr<DenseF64ArrayAttr>:$dt_limit);
  let results = (outs WM_FloatTensor:$y, WM_F32Tensor:$final_state);
  let assemblyFormat = [{
    $x `,` $dt `,` $a `,` $b `,` $c
    (`D` `(` $D^ `)`)? (`z` `(` $z^ `)`)? (`dt_bias` `(` $dt_bias^ `)`)?
    (`initial_state` `(` $initial_state^ `)`)?
    (`rope` `(` $cos^ `,` $sin `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Cross-domain mixture of experts
//===----------------------------------------------------------------------===//

def WM_CdmoeOp : WM_ShapedOp<"cdmoe"> {
  let summary = "shared SwiGLU plus single-neuron experts found by product keys";
  let description = [{
    Spec section 3. Per token x (d): router scores `r = w_router x` (2K),
    candidate score `r[i] + r[K + j]` for expert `e = i * K + j` of
    N = K * K, the `top_k` best experts with softmax weights w, and

    `y = w_down(silu(w_gate x) * (w_up x))
         + sum_m silu(<x, down[e_m]>) * w_m * up[e_m]`.

    Operands: `x` (T, d), `w_gate` and `w_up` (I, d), `w_down` (d, I),
    `w_router` (2K, d), `down` and `up` (N, d) with N = K * K. All share the
    element type of x; the result (T, d) has it too. A token's output depends
    on that token alone.

    Example:

    ```mlir
    %y = wm.cdmoe %x, %wg, %wu, %wd, %wr, %down, %up {top_k = 8 : i64}
        : (tensor<64x256xbf16>, tensor<512x256xbf16>, tensor<512x256xbf16>,
           tensor<256x512xbf16>, tensor<64x256xbf16>, tensor<1024x256xbf16>,
           tensor<1024x256xbf16>) -> tensor<64x256xbf16>
    ```
  }];
  let arguments = (ins WM_FloatTensor:$x, WM_FloatTensor:$w_gate,
                       WM_FloatTensor:$w_up, WM_FloatTensor:$w_down,
                       WM_FloatTensor:$w_router, WM_FloatTensor:$down,
                       WM_FloatTensor:$up, I64Attr:$top_k);
  let results = (outs WM_FloatTensor:$y);
  let assemblyFormat = [{
    $x `,` $w_gate `,` $w_up `,` $w_down `,` $w_router `,` $down `,` $up
    attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Rotary embedding and RMS normalisation
//===----------------------------------------------------------------------===//

def WM_RopeOp : WM_ShapedOp<"rope"> {
  let summary = "rotary position embedding, rotate-half convention";
  let description = [{
    Spec section 4: `out = x * cos + rotate_half(x) * sin` over the first
    `rotary_dims` (R) channels, `rotate_half([a, b]) = [-b, a]`; channels past
    R are copied. `x` is (B, L, H, D); `cos` and `sin` are (L, R), shared by
    the batch, or (B, L, R). R is even and at most D. The result has the type
    of x.

    Example:

    ```mlir
    %qr = wm.rope %q, %cos, %sin {rotary_dims = 64 : i64}
        : (tensor<1x128x16x128xbf16>, tensor<128x64xf32>, tensor<128x64xf32>)
        -> tensor<1x128x16x128xbf16>
    ```
  }];
  let arguments = (ins WM_FloatTensor:$x, WM_FloatTensor:$cos,
                       WM_FloatTensor:$sin, I64Attr:$rotary_dims);
  let results = (outs WM_FloatTensor:$output);
  let assemblyFormat = [{
    $x `,` $cos `,` $sin attr-dict `:` functional-type(operands, results)
  }];
}

def WM_RmsNormOp : WM_ShapedOp<"rms_norm"> {
  let summary = "RMS normalisation over the last dimension";
  let description = [{
    `out = x / sqrt(mean(x^2) + eps) * weight` over the last dimension, in f32
    and stored in the element type of x. `weight` has the size of that
    dimension; `eps` is positive (default 1e-6).

    Example:

    ```mlir
    %h = wm.rms_norm %x, %w {eps = 1.0e-06 : f32}
        : (tensor<1x128x1024xbf16>, tensor<1024xbf16>) -> tensor<1x128x1024xbf16>
    ```
  }];
  let arguments = (ins WM_FloatTensor:$x, WM_FloatTensor:$weight,
                       DefaultValuedAttr<F32Attr, "1.0e-6">:$eps);
  let results = (outs WM_FloatTensor:$output);
  let assemblyFormat = [{
    $x `,` $weight attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Key selection (produced by wm-select-keys)
//===----------------------------------------------------------------------===//

def WM_DmaSelectOp : WM_ShapedOp<"dma_select"> {
  let summary = "per-row key-selection thresholds of dynamic mask attention";
  let description = [{
    The threshold form of the top-W selection (spec section 1.2): for every
    query row i of `query_len` rows, `tau[b, g, i]` is the W-th largest bias
    among the keys row i keeps candidates from (its causal prefix in `prefix`
    scope, all keys in `global` scope or without `causal`), or -inf when there
    are fewer than W such keys. A row keeps key j iff j is causally allowed and
    `bias[b, g, j] >= tau[b, g, i]` or the bias is NaN. Biases rank in
    torch.topk's order (the spec's Conventions): NaN above +inf above every
    number, so tau is NaN when W NaN biases come first. The whole selection is
    O(Lq) numbers per (batch, kv head): no Lq x Lk mask exists anywhere.

    Example:

    ```mlir
    %tau = wm.dma_select %bias {causal, window = 64 : i64, query_len = 128 : i64}
        : (tensor<1x4x128xf32>) -> tensor<1x4x128xf32>
    ```
  }];
  let arguments = (ins WM_F32Tensor:$bias, I64Attr:$query_len, I64Attr:$window,
                       UnitAttr:$causal,
                       DefaultValuedAttr<WM_SelectionScopeAttr,
                           "::mlir::wm::SelectionScope::prefix">:$scope);
  let results = (outs WM_F32Tensor:$tau);
  let assemblyFormat = [{
    $bias attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Whether rows have their own thresholds (causal prefix scope); else
    /// every row ranks all keys and shares one threshold per (b, g).
    bool hasRowThresholds() {
      return getCausal() && getScope() == ::mlir::wm::SelectionScope::prefix;
    }
  }];
}

def WM_DmaBlockSummaryOp : WM_ShapedOp<"dma_block_summary"> {
  let summary = "per-key-block maximum and minimum of the DMA bias";
  let description = [{
    Splits the keys into blocks of `block_size` and returns, per (b, g, block),
    the largest and the smallest bias of the block (the last block may be
    partial), in the order of `wm.dma_select`: NaN is the largest, and the
    smallest only when every bias of the block is NaN. A query block whose
    smallest threshold exceeds a key block's maximum keeps no key of it (the
    block is skipped); one whose largest
    threshold is at most the block's minimum keeps all its allowed keys (the
    block is full and needs no per-element predicate).

    Example:

    ```mlir
    %max, %min = wm.dma_block_summary %bias {block_size = 64 : i64}
        : (tensor<1x4x1000xf32>) -> (tensor<1x4x16xf32>, tensor<1x4x16xf32>)
    ```
  }];
  let arguments = (ins WM_F32Tensor:$bias, I64Attr:$block_size);
  let results = (outs WM_F32Tensor:$block_max, WM_F32Tensor:$block_min);
  let assemblyFormat = [{
    $bias attr-dict `:` functional-type(operands, results)
  }];
}

def WM_DmaThresholdAttentionOp : WM_ShapedOp<"dma_threshold_attention",
    [AttrSizedOperandSegments]> {
  let summary = "attention whose key selection is given by per-row thresholds";
  let description = [{
    `wm.dma_attention` after key selection: row i keeps key j iff j is allowed
    (`j <= i + Lk - Lq` with `causal`) and `bias[b, g, j] >= tau[b, g, i]`.
    `scale` is explicit. The optional block summaries (from
    `wm.dma_block_summary` with `block_size` keys per block) let tiled
    lowerings skip key blocks no row keeps and drop the predicate on blocks
    every row keeps. Results as `wm.dma_attention` (`f32_output` too).

    Example:

    ```mlir
    %out, %lse = wm.dma_threshold_attention %q, %k, %v, %bias, %tau
        summary(%max, %min) {causal, scale = 0.125 : f32, block_size = 64 : i64}
        : (tensor<1x128x4x64xf32>, tensor<1x128x2x64xf32>, tensor<1x128x2x64xf32>,
           tensor<1x2x128xf32>, tensor<1x2x128xf32>, tensor<1x2x2xf32>, tensor<1x2x2xf32>)
        -> (tensor<1x128x4x64xf32>, tensor<1x4x128xf32>)
    ```
  }];
  let arguments = (ins WM_FloatTensor:$query, WM_FloatTensor:$key,
                       WM_FloatTensor:$value, WM_F32Tensor:$bias,
                       WM_F32Tensor:$tau, Optional<WM_F32Tensor>:$block_max,
                       Optional<WM_F32Tensor>:$block_min, F32Attr:$scale,
                       UnitAttr:$causal, OptionalAttr<I64Attr>:$block_size,
                       UnitAttr:$f32_output);
  let results = (outs WM_FloatTensor:$output, WM_F32Tensor:$lse);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $bias `,` $tau
    (`summary` `(` $block_max^ `,` $block_min `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Gradients (spec section 1.4)
//===----------------------------------------------------------------------===//

def WM_DmaAttentionGradOp : WM_ShapedOp<"dma_attention_grad"> {
  let summary = "gradients of dynamic mask attention given its thresholds";
  let description = [{
    The backward of `wm.dma_threshold_attention` (spec section 1.4). Row i
    keeps key j as in the forward: j causally allowed and
    `bias[b, g, j] >= tau[b, g, i]` or the bias NaN. With
    `P = exp(S - lse)` over the kept keys (0 elsewhere, and for a kept key
    whose score is -inf):

    - `dV = P^T dO`, `dP = dO V^T`, `Dr_i = sum(dO_i * O_i)`,
      `dS = P * (dP - Dr)`. With an f32 `output` (the forward's
      `f32_output`) the lowerings compute `Dr_i` so. With a 16-bit one
      they compute it as `sum_j P_ij dP_ij`, equal in exact arithmetic,
      from the same f32 P and dP as dS: a rounded output would leave its
      rounding in every dBias of the row, and it costs one more pass over
      the kept keys;
    - `dQ = scale dS K`, `dK = scale dS^T Q` (summed over the query heads
      of a kv group), `dBias[b, g, j]` the sum of dS over the group's heads
      and the rows.

    Keys not kept have dS = 0 exactly. `output` (the query's element type
    or f32) and `lse` are the forward's results, `grad_output` is dO. dQ, dK and dV have the storage type of
    the query; dBias is f32. No gradient flows through the selection.

    Example:

    ```mlir
    %dq, %dk, %dv, %dbias = wm.dma_attention_grad %q, %k, %v, %bias, %tau,
        %out, %lse, %dout {causal, scale = 0.125 : f32}
        : (tensor<1x128x4x64xbf16>, tensor<1x128x2x64xbf16>,
           tensor<1x128x2x64xbf16>, tensor<1x2x128xf32>, tensor<1x2x128xf32>,
           tensor<1x128x4x64xbf16>, tensor<1x4x128xf32>,
           tensor<1x128x4x64xbf16>)
        -> (tensor<1x128x4x64xbf16>, tensor<1x128x2x64xbf16>,
            tensor<1x128x2x64xbf16>, tensor<1x2x128xf32>)
    ```
  }];
  let arguments = (ins WM_FloatTensor:$query, WM_FloatTensor:$key,
                       WM_FloatTensor:$value, WM_F32Tensor:$bias,
                       WM_F32Tensor:$tau, WM_FloatTensor:$output,
                       WM_F32Tensor:$lse, WM_FloatTensor:$grad_output,
                       F32Attr:$scale, UnitAttr:$causal);
  let results = (outs WM_FloatTensor:$grad_query, WM_FloatTensor:$grad_key,
                      WM_FloatTensor:$grad_value, WM_F32Tensor:$grad_bias);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $bias `,` $tau `,` $output `,` $lse `,`
    $grad_output attr-dict `:` functional-type(operands, results)
  }];
}

def WM_DmaBiasGradOp : WM_ShapedOp<"dma_bias_grad"> {
  let summary = "gradients of wm.dma_bias";
  let description = [{
    The chain of spec section 1.4 into section 1.1: given `grad_bias`
    (B, Hk, Lk), with `dt` as in `wm.dma_bias` and `sp = softplus(dt)`,
    `sg` its derivative (`sigmoid(dt)`, 1 above the threshold 20):

    - `linear`: `ddt = grad_bias * a * sg`, `da = sum grad_bias * sp`;
    - `exp`: with `bias = exp(a * sp)`, `ddt = grad_bias * bias * a * sg`,
      `da = sum grad_bias * bias * sp`;

    then `grad_values[b, j, h, d] = sum_g ddt[b, j, g] w_dt[g, h D + d]`,
    `grad_w_dt[g, h D + d] = sum_{b, j} ddt[b, j, g] values[b, j, h, d]`,
    `grad_dt_bias[g] = sum_{b, j} ddt[b, j, g]` (only with `dt_bias`).
    Each gradient has its operand's type.

    Example:

    ```mlir
    %dv, %dw, %da = wm.dma_bias_grad exp %v, %w_dt, %a, %dbias
        : (tensor<1x128x2x64xbf16>, tensor<2x128xbf16>, tensor<2xf32>,
           tensor<1x2x128xf32>)
        -> (tensor<1x128x2x64xbf16>, tensor<2x128xbf16>, tensor<2xf32>)
    ```
  }];
  let arguments = (ins WM_FloatTensor:$values, WM_FloatTensor:$w_dt,
                       WM_FloatTensor:$a, Optional<WM_FloatTensor>:$dt_bias,
                       WM_F32Tensor:$grad_bias, WM_BiasFormAttr:$form);
  let results = (outs WM_FloatTensor:$grad_values, WM_FloatTensor:$grad_w_dt,
                      WM_FloatTensor:$grad_a,
                      Optional<WM_FloatTensor>:$grad_dt_bias);
  let assemblyFormat = [{
    $form $values `,` $w_dt `,` $a (`dt_bias` `(` $dt_bias^ `)`)? `,`
    $grad_bias attr-dict `:` functional-type(operands, results)
  }];
}

#endif // WM_DIALECT_WM_IR_WMOPS_TD
