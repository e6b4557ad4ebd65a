"""The Python graph builder: typed inputs, wm ops and the common upstream ops.

Every op is checked when it is built: wm ops by the MLIR verifier of the
dialect itself (through the _wm extension, which also infers their result
types), upstream ops by the shape rules below. Errors name the op and the
user's file:line, which also travels into the MLIR as each op's location.
"""

from __future__ import annotations

import inspect
import operator
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

try:
    from ._wm import CompileError
except ImportError:  # A runtime-only build (no MLIR): graphs cannot compile.
    class CompileError(ValueError):
        """An MLIR error (the compiler extension _wm is not built here)."""

DTYPES = ("bf16", "f16", "f32", "i32", "i64")
FLOAT_DTYPES = ("bf16", "f16", "f32")
# GPU architectures the wm-to-nvvm pipeline generates code for (cp.async and
# mma.sync need sm_80 or newer): kChips in lib/wm/Pipelines/Pipelines.cpp.
GPU_CHIPS = ("sm_80", "sm_86", "sm_87", "sm_89", "sm_90", "sm_90a")
# Kernel binary formats of wm-to-nvvm: PTX text, or a cubin (needs ptxas).
GPU_FORMATS = ("isa", "bin")
# The largest attention tile (block_q, block_k) a pipeline accepts: far above
# any useful tile, small enough that no tile arithmetic leaves 64 bits.
MAX_BLOCK_SIZE = 4096
# The options of each pipeline, by Python name, and the kind of value each takes.
CPU_OPTIONS = {"block_q": "block", "block_k": "block", "skip_blocks": "bool",
               "compact_keys": "bool", "tile_programs": "bool", "mma_warps": "count",
               "mma_warp_rows": "count", "wgmma": "bool", "gpu_kernels": "bool",
               "tensor_cores": "bool", "block_select": "bool", "deterministic": "bool", "grad_warps": "count",
               "ssd_rows": "count", "ssd_heads": "count", "ssd_chain_rows": "count_or_off", "ssd_scan_ctas": "count_or_off", "ssd_chain_pieces": "count", "ssd_chunk": "count", "ssd_overlap": "bool",
               "threads_per_block": "threads"}
GPU_OPTIONS = {"chip": "chip", "features": "text", "format": "format", "block_k": "block",
               "tensor_cores": "bool", "block_select": "bool", "deterministic": "bool", "grad_warps": "count", "ssd_rows": "count", "ssd_heads": "count", "ssd_chain_rows": "count_or_off", "ssd_scan_ctas": "count_or_off", "ssd_chain_pieces": "count", "ssd_chunk": "count", "ssd_overlap": "bool", "wgmma": "bool",
               "mma_warps": "count", "mma_warp_rows": "count", "threads_per_block": "threads"}
# CUDA's limit on the threads of one block.
MAX_THREADS_PER_BLOCK = 1024
_INT64 = (-2 ** 63, 2 ** 63 - 1)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class GraphError(ValueError):
    """A graph built wrongly: the message names the op and the user's line."""


def _numpy_dtype(dtype: str):
    if dtype == "bf16":
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype({"f16": np.float16, "f32": np.float32, "i32": np.int32,
                     "i64": np.int64}[dtype])


def _tensor_type(shape: Sequence[int], dtype: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + dtype + ">"


def _memref_type(shape: Sequence[int], dtype: str) -> str:
    return "memref<" + "".join(f"{d}x" for d in shape) + dtype + ">"


def _parse_tensor_type(text: str) -> Tuple[Tuple[int, ...], str]:
    body = text[len("tensor<"):-1].split("x")
    return tuple(int(d) for d in body[:-1]), body[-1]


def _user_location() -> Tuple[str, int, int]:
    """The innermost caller outside this package."""
    for frame in inspect.stack()[1:]:
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return frame.filename, frame.lineno, 1
    return "<unknown>", 0, 0


@dataclass(eq=False)
class Tensor:
    """A value of a Graph: static shape and element type."""

    graph: "Graph"
    name: str
    shape: Tuple[int, ...]
    dtype: str
    # The SSA name: inputs get a prefix that no region-local name uses.
    ssa: str = ""

    def __post_init__(self) -> None:
        self.ssa = self.ssa or self.name

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def type(self) -> str:
        return _tensor_type(self.shape, self.dtype)

    def __repr__(self) -> str:
        return f"wm.Tensor(%{self.ssa}: {self.type})"


@dataclass
class _Op:
    lines: List[str]
    where: Tuple[str, int, int]


@dataclass
class Graph:
    """A function under construction; ops append to it in program order."""

    name: str = "main"
    _inputs: List[Tensor] = field(default_factory=list)
    _outputs: List[Tensor] = field(default_factory=list)
    _ops: List[_Op] = field(default_factory=list)
    _counter: int = 0
    _context: Optional[object] = None
    # Inputs used as embedding ids: name -> rows of the smallest table they index.
    _index_bounds: Dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ basics

    def input(self, shape: Sequence[int], dtype: str = "f32",
              name: Optional[str] = None) -> Tensor:
        where = _user_location()
        shape = tuple(shape)
        if dtype not in DTYPES:
            self._fail("input", where, f"dtype must be one of {DTYPES}, got {dtype!r}")
        if any(not isinstance(d, (int, np.integer)) or d <= 0 for d in shape):
            self._fail("input", where, f"shape must be positive integers, got {shape}")
        name = name or f"arg{len(self._inputs)}"
        if not name.isidentifier() or any(t.name == name for t in self._inputs):
            self._fail("input", where, f"input name {name!r} is not a fresh identifier")
        tensor = Tensor(self, name, tuple(int(d) for d in shape), dtype, f"in_{name}")
        self._inputs.append(tensor)
        return tensor

    def output(self, *tensors: Tensor) -> None:
        where = _user_location()
        for t in tensors:
            self._check_operand("output", where, t)
        self._outputs.extend(tensors)

    @property
    def inputs(self) -> Tuple[Tensor, ...]:
        return tuple(self._inputs)

    @property
    def outputs(self) -> Tuple[Tensor, ...]:
        return tuple(self._outputs)

    # ----------------------------------------------------------------- wm ops

    def dma_bias(self, values: Tensor, w_dt: Tensor, a: Tensor,
                 dt_bias: Optional[Tensor] = None, form: str = "linear") -> Tensor:
        if form not in ("exp", "linear"):
            self._fail("dma_bias", _user_location(), f"form must be 'exp' or 'linear', got {form!r}")
        operands = [values, w_dt, a] + ([dt_bias] if dt_bias is not None else [])
        suffix = f" dt_bias(%{dt_bias.ssa})" if dt_bias is not None else ""
        return self._wm_op("dma_bias", operands, {"form": f"{form}"},
                           custom=f"{form} " + ", ".join(f"%{t.ssa}" for t in operands[:3]) + suffix)[0]

    def dma_attention(self, query: Tensor, key: Tensor, value: Tensor, bias: Tensor, *,
                      causal: bool = False, window: Optional[int] = None,
                      scope: str = "prefix", scale: Optional[float] = None,
                      f32_output: bool = False) -> Tuple[Tensor, Tensor]:
        """out (B, Lq, H, D) in the query's dtype, or in f32 with f32_output
        (what a training forward keeps for dma_attention_grad: its Dr then
        needs no pass over the keys), and lse (B, H, Lq) f32."""
        attrs = {}
        if causal:
            attrs["causal"] = None
        if window is not None:
            attrs["window"] = self._int_attr("dma_attention", "window", window)
        if scope not in ("prefix", "global"):
            self._fail("dma_attention", _user_location(), f"scope must be 'prefix' or 'global', got {scope!r}")
        attrs["scope"] = f"#wm.scope<{scope}>"
        if scale is not None:
            attrs["scale"] = self._f32_attr("dma_attention", "scale", scale)
        if f32_output:
            attrs["f32_output"] = None
        out, lse = self._wm_op("dma_attention", [query, key, value, bias], attrs)
        return out, lse

    def dma_select(self, bias: Tensor, *, query_len: int, window: int,
                   causal: bool = False, scope: str = "prefix") -> Tensor:
        """The thresholds of the top-W key selection (spec 1.2): tau of shape
        (B, Hk, query_len); row i keeps key j where bias >= tau (or NaN)."""
        if scope not in ("prefix", "global"):
            self._fail("dma_select", _user_location(), f"scope must be 'prefix' or 'global', got {scope!r}")
        attrs = {"query_len": self._int_attr("dma_select", "query_len", query_len),
                 "window": self._int_attr("dma_select", "window", window)}
        if causal:
            attrs["causal"] = None
        attrs["scope"] = f"#wm.scope<{scope}>"
        return self._wm_op("dma_select", [bias], attrs)[0]

    def dma_attention_grad(self, query: Tensor, key: Tensor, value: Tensor, bias: Tensor,
                           tau: Tensor, output: Tensor, lse: Tensor, grad_output: Tensor, *,
                           causal: bool = False, scale: Optional[float] = None
                           ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """dq, dk, dv (the query's dtype) and dbias (f32) of the attention
        that kept, per row, the keys with bias >= tau (spec 1.4)."""
        self._check_operand("dma_attention_grad", _user_location(), query)
        if scale is None:
            scale = query.shape[-1] ** -0.5
        attrs = {"scale": self._f32_attr("dma_attention_grad", "scale", scale)}
        if causal:
            attrs["causal"] = None
        dq, dk, dv, dbias = self._wm_op(
            "dma_attention_grad", [query, key, value, bias, tau, output, lse, grad_output], attrs)
        return dq, dk, dv, dbias

    def dma_bias_grad(self, values: Tensor, w_dt: Tensor, a: Tensor, grad_bias: Tensor,
                      dt_bias: Optional[Tensor] = None, form: str = "linear") -> Tuple[Tensor, ...]:
        """Gradients of dma_bias given dbias: (dvalues, dw_dt, da) and ddt_bias
        when dt_bias is given, each in its operand's dtype."""
        if form not in ("exp", "linear"):
            self._fail("dma_bias_grad", _user_location(), f"form must be 'exp' or 'linear', got {form!r}")
        operands = [values, w_dt, a] + ([dt_bias] if dt_bias is not None else []) + [grad_bias]
        self._check_operand("dma_bias_grad", _user_location(), *operands)
        suffix = f" dt_bias(%{dt_bias.ssa})" if dt_bias is not None else ""
        custom = (f"{form} " + ", ".join(f"%{t.ssa}" for t in operands[:3]) + suffix
                  + f", %{grad_bias.ssa}")
        return tuple(self._wm_op("dma_bias_grad", operands, {"form": f"{form}"}, custom=custom))

    def ssd(self, x: Tensor, dt: Tensor, a: Tensor, b: Tensor, c: Tensor, *,
            D: Optional[Tensor] = None, z: Optional[Tensor] = None,
            dt_bias: Optional[Tensor] = None, initial_state: Optional[Tensor] = None,
            cos: Optional[Tensor] = None, sin: Optional[Tensor] = None,
            chunk_size: int = 64, dt_softplus: bool = False,
            dt_limit: Optional[Tuple[float, float]] = None) -> Tuple[Tensor, Tensor]:
        optional = [D, z, dt_bias, initial_state, cos, sin]
        operands = [x, dt, a, b, c] + [t for t in optional if t is not None]
        attrs = {"chunk_size": self._int_attr("ssd", "chunk_size", chunk_size),
                 "operandSegmentSizes": "array<i32: 1, 1, 1, 1, 1, "
                 + ", ".join("1" if t is not None else "0" for t in optional) + ">"}
        if dt_softplus:
            attrs["dt_softplus"] = None
        if dt_limit is not None:
            try:
                lo, hi = (float(v) for v in dt_limit)
            except (TypeError, ValueError):
                self._fail("ssd", _user_location(),
                           f"dt_limit must be a pair of numbers (min, max), got {dt_limit!r}")
            attrs["dt_limit"] = f"array<f64: {_f64(lo)}, {_f64(hi)}>"
        y, state = self._wm_op("ssd", operands, attrs)
        return y, state

    def cdmoe(self, x: Tensor, w_gate: Tensor, w_up: Tensor, w_down: Tensor,
              w_router: Tensor, down: Tensor, up: Tensor, *, top_k: int) -> Tensor:
        return self._wm_op("cdmoe", [x, w_gate, w_up, w_down, w_router, down, up],
                           {"top_k": self._int_attr("cdmoe", "top_k", top_k)})[0]

    def rope(self, x: Tensor, cos: Tensor, sin: Tensor, *,
             rotary_dims: Optional[int] = None) -> Tensor:
        self._check_operand("rope", _user_location(), x, cos, sin)
        rotary = cos.shape[-1] if rotary_dims is None else rotary_dims
        return self._wm_op("rope", [x, cos, sin],
                           {"rotary_dims": self._int_attr("rope", "rotary_dims", rotary)})[0]

    def rms_norm(self, x: Tensor, weight: Tensor, eps: float = 1e-6) -> Tensor:
        return self._wm_op("rms_norm", [x, weight],
                           {"eps": self._f32_attr("rms_norm", "eps", eps)})[0]

    # ------------------------------------------------------------ upstream ops

    def linear(self, x: Tensor, weight: Tensor) -> Tensor:
        """x @ weight^T with weight stored (out, in), as models store it."""
        where = _user_location()
        self._check_float("linear", where, x, weight)
        if x.rank != 2 or weight.rank != 2 or x.shape[1] != weight.shape[1]:
            self._fail("linear", where, f"expects x (M, K) and weight (N, K), got {x.shape} and {weight.shape}")
        return self._contraction("linear", where, x, weight, "(d1, d2)")

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        where = _user_location()
        self._check_float("matmul", where, a, b)
        if a.rank != 2 or b.rank != 2 or a.shape[1] != b.shape[0]:
            self._fail("matmul", where, f"expects (M, K) @ (K, N), got {a.shape} @ {b.shape}")
        return self._contraction("matmul", where, a, b, "(d2, d1)")

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return self._binary("add", "arith.addf", a, b)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return self._binary("mul", "arith.mulf", a, b)

    def silu(self, x: Tensor) -> Tensor:
        return self._unary("silu", x, [
            "%n = arith.negf %v : f32", "%e = math.exp %n : f32",
            "%one = arith.constant 1.0 : f32", "%d = arith.addf %one, %e : f32",
            "%r = arith.divf %v, %d : f32"])

    def gelu(self, x: Tensor) -> Tensor:
        """The exact (erf) GELU, as torch.nn.functional.gelu computes it."""
        return self._unary("gelu", x, [
            "%s = arith.constant 0.70710678118654752 : f32", "%h = arith.constant 0.5 : f32",
            "%one = arith.constant 1.0 : f32", "%u = arith.mulf %v, %s : f32",
            "%e = math.erf %u : f32", "%p = arith.addf %one, %e : f32",
            "%q = arith.mulf %v, %p : f32", "%r = arith.mulf %q, %h : f32"])

    def softmax(self, x: Tensor, axis: int = -1) -> Tensor:
        where = _user_location()
        self._check_float("softmax", where, x)
        if axis not in (-1, x.rank - 1):
            self._fail("softmax", where, "only the last axis is supported; transpose first")
        r = x.rank
        dims = ", ".join(f"d{i}" for i in range(r))
        full = f"affine_map<({dims}) -> ({dims})>"
        red = f"affine_map<({dims}) -> ({', '.join(f'd{i}' for i in range(r - 1))})>"
        iters = ", ".join(['"parallel"'] * (r - 1) + ['"reduction"'])
        rshape = x.shape[:-1]
        rt = _tensor_type(rshape, "f32")
        n = self._fresh()
        ext = self._ext("%v", x.dtype)
        lines = [
            f"%{n}_ninf = arith.constant 0xFF800000 : f32",
            f"%{n}_zero = arith.constant 0.0 : f32",
            f"%{n}_e0 = tensor.empty() : {rt}",
            f"%{n}_m0 = linalg.fill ins(%{n}_ninf : f32) outs(%{n}_e0 : {rt}) -> {rt}",
            f"%{n}_m = linalg.generic {{indexing_maps = [{full}, {red}], iterator_types = [{iters}]}} "
            f"ins(%{x.ssa} : {x.type}) outs(%{n}_m0 : {rt}) {{\n^bb0(%v: {x.dtype}, %a: f32):\n"
            f"{ext[0]}  %r = arith.maximumf %a, {ext[1]} : f32\n  linalg.yield %r : f32\n}} -> {rt}",
            f"%{n}_s0 = linalg.fill ins(%{n}_zero : f32) outs(%{n}_e0 : {rt}) -> {rt}",
            f"%{n}_s = linalg.generic {{indexing_maps = [{full}, {red}, {red}], iterator_types = [{iters}]}} "
            f"ins(%{x.ssa}, %{n}_m : {x.type}, {rt}) outs(%{n}_s0 : {rt}) {{\n^bb0(%v: {x.dtype}, %mx: f32, %a: f32):\n"
            f"{ext[0]}  %d = arith.subf {ext[1]}, %mx : f32\n  %e = math.exp %d : f32\n"
            f"  %r = arith.addf %a, %e : f32\n  linalg.yield %r : f32\n}} -> {rt}",
            f"%{n}_o0 = tensor.empty() : {x.type}",
            f"%{n} = linalg.generic {{indexing_maps = [{full}, {red}, {red}, {full}], "
            f"iterator_types = [{_parallel(r)}]}} "
            f"ins(%{x.ssa}, %{n}_m, %{n}_s : {x.type}, {rt}, {rt}) outs(%{n}_o0 : {x.type}) {{\n"
            f"^bb0(%v: {x.dtype}, %mx: f32, %sm: f32, %o: {x.dtype}):\n"
            f"{ext[0]}  %d = arith.subf {ext[1]}, %mx : f32\n  %e = math.exp %d : f32\n"
            f"  %r = arith.divf %e, %sm : f32\n{self._trunc('%r', x.dtype)}}} -> {x.type}",
        ]
        return self._append(where, lines, n, x.shape, x.dtype)

    def reshape(self, x: Tensor, shape: Sequence[int]) -> Tensor:
        where = _user_location()
        self._check_operand("reshape", where, x)
        shape = tuple(int(d) for d in shape)
        if int(np.prod(shape)) != int(np.prod(x.shape)) or any(d <= 0 for d in shape):
            self._fail("reshape", where, f"cannot reshape {x.shape} into {shape}")
        n = self._fresh()
        size = int(np.prod(x.shape))
        flat = _tensor_type((size,), x.dtype)
        lines = []
        src = f"%{x.ssa}"
        if x.rank != 1:
            groups = "[" + ", ".join(str(i) for i in range(x.rank)) + "]"
            lines.append(f"%{n}_flat = tensor.collapse_shape {src} [{groups}] : {x.type} into {flat}")
            src = f"%{n}_flat"
        out_type = _tensor_type(shape, x.dtype)
        if len(shape) == 1:
            lines.append(f"%{n} = tensor.cast {src} : {flat} to {out_type}")
        else:
            groups = "[" + ", ".join(str(i) for i in range(len(shape))) + "]"
            lines.append(f"%{n} = tensor.expand_shape {src} [{groups}] output_shape "
                         f"[{', '.join(map(str, shape))}] : {flat} into {out_type}")
        return self._append(where, lines, n, shape, x.dtype)

    def transpose(self, x: Tensor, perm: Sequence[int]) -> Tensor:
        where = _user_location()
        self._check_operand("transpose", where, x)
        perm = tuple(int(p) for p in perm)
        if sorted(perm) != list(range(x.rank)):
            self._fail("transpose", where, f"{perm} is not a permutation of {x.rank} dims")
        shape = tuple(x.shape[p] for p in perm)
        n = self._fresh()
        out_type = _tensor_type(shape, x.dtype)
        lines = [f"%{n}_init = tensor.empty() : {out_type}",
                 f"%{n} = linalg.transpose ins(%{x.ssa} : {x.type}) outs(%{n}_init : {out_type}) "
                 f"permutation = [{', '.join(map(str, perm))}]"]
        return self._append(where, lines, n, shape, x.dtype)

    def embedding(self, ids: Tensor, table: Tensor) -> Tensor:
        """Rows of table (V, d) picked by integer ids (T,): (T, d)."""
        where = _user_location()
        self._check_operand("embedding", where, ids, table)
        if ids.dtype not in ("i32", "i64") or ids.rank != 1 or table.rank != 2:
            self._fail("embedding", where, f"expects ids (T,) of i32/i64 and table (V, d), got "
                       f"{ids.shape} {ids.dtype} and {table.shape} {table.dtype}")
        shape = (ids.shape[0], table.shape[1])
        if any(ids is t for t in self._inputs):  # checked when called: no read out of bounds
            self._index_bounds[ids.name] = min(table.shape[0],
                                               self._index_bounds.get(ids.name, table.shape[0]))
        out_type = _tensor_type(shape, table.dtype)
        n = self._fresh()
        lines = [f"%{n}_init = tensor.empty() : {out_type}",
                 f"%{n} = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0)>, "
                 f"affine_map<(d0, d1) -> (d0, d1)>], iterator_types = [\"parallel\", \"parallel\"]}} "
                 f"ins(%{ids.ssa} : {ids.type}) outs(%{n}_init : {out_type}) {{\n"
                 f"^bb0(%id: {ids.dtype}, %o: {table.dtype}):\n"
                 f"  %row = arith.index_cast %id : {ids.dtype} to index\n"
                 f"  %col = linalg.index 1 : index\n"
                 f"  %v = tensor.extract %{table.ssa}[%row, %col] : {table.type}\n"
                 f"  linalg.yield %v : {table.dtype}\n}} -> {out_type}"]
        return self._append(where, lines, n, shape, table.dtype)

    # ------------------------------------------------------- MLIR and compile

    def to_mlir(self) -> str:
        """The graph as a tensor-level MLIR function."""
        self._check_complete()
        args = ", ".join(f"%{t.ssa}: {t.type}" for t in self._inputs)
        results = ", ".join(t.type for t in self._outputs)
        body = [line for op in self._ops for line in self._located(op)]
        body.append(f"return {', '.join('%' + t.ssa for t in self._outputs)} : {results}")
        return (f"func.func @{self.name}({args}) -> ({results}) {{\n  "
                + "\n  ".join(body) + "\n}\n")

    def verify(self) -> str:
        """Verifies the whole graph; returns it as printed by MLIR."""
        return self._ctx().verify(self.to_mlir())

    def lower(self, pipeline: str = "wm-to-loops") -> str:
        """The graph after a pass pipeline (e.g. 'wm-to-loops', 'wm-to-cpu')."""
        return self._ctx().lower(self.to_mlir(), pipeline)

    def compile(self, target: str = "cpu", **options):
        """A callable running the graph. target='cpu' takes and returns numpy
        arrays; options are those of the wm-to-cpu pipeline (block_q, block_k,
        skip_blocks, compact_keys for the f32 tiling; bf16/f16 attention runs
        the GPU kernel's tile program, with its mma_warps, mma_warp_rows,
        wgmma, unless tile_programs=False). gpu_kernels=True runs exactly the
        programs the GPU pipeline launches (with its tensor_cores,
        block_select, deterministic, grad_warps, ssd_rows, ssd_heads,
        ssd_chain_rows, ssd_scan_ctas, ssd_chain_pieces, ssd_chunk,
        ssd_overlap, threads_per_block),
        for DMA and SSD graphs."""
        self._check_complete()
        if target == "cpu":
            opts = _pipeline_options("cpu", CPU_OPTIONS, options)
            text = self._entry_with_buffers()
            exe = self._ctx().compile_cpu(text, self.name, len(self._inputs) + len(self._outputs), opts)
            return CpuFunction(self, exe)
        if isinstance(target, str) and target.startswith("sm_"):
            return self._compile_gpu(target, **options)
        raise GraphError(f"compile: unknown target {target!r} (expected 'cpu' or one of "
                         f"{', '.join(GPU_CHIPS)})")

    def _compile_gpu(self, target: str, path: Optional[str] = None, **options):
        """Writes an artifact (manifest.json + kernels) to `path` (a fresh
        temporary directory by default) and returns it as a
        wm.gpu.CompiledArtifact, callable on torch CUDA tensors. Options are
        those of the wm-to-nvvm pipeline (format='bin' needs ptxas)."""
        import tempfile
        from . import gpu
        options.setdefault("chip", target)
        if options["chip"] != target:
            raise GraphError(f"compile: chip={options['chip']!r} contradicts target {target!r}")
        opts = _pipeline_options(target, GPU_OPTIONS, options)
        outputs = [f"out{i}" for i in range(len(self._outputs))]
        manifest, image = self._ctx().compile_gpu(
            self._entry_with_buffers(), self.name, [t.name for t in self._inputs], outputs, opts)
        path = path or tempfile.mkdtemp(prefix=f"wm-{self.name}-")
        os.makedirs(path, exist_ok=True)
        binary = "kernels.ptx" if '"kernels.ptx"' in manifest else "kernels.cubin"
        with open(os.path.join(path, binary), "wb") as f:
            f.write(image)
        with open(os.path.join(path, gpu.MANIFEST_FILE), "w") as f:
            f.write(manifest)
        return gpu.CompiledArtifact(path)

    # -------------------------------------------------------------- internals

    def _ctx(self):
        if self._context is None:
            self._context = _shared_context()
        return self._context

    def _fresh(self) -> str:
        self._counter += 1
        return f"v{self._counter}"

    def _fail(self, op: str, where, message: str):
        raise GraphError(f"{op} (at {where[0]}:{where[1]}): {message}")

    def _int_attr(self, op: str, name: str, value) -> str:
        """An i64 attribute; refuses what is not an integer or leaves 64 bits
        (MLIR would wrap it), so the verifier sees the user's value."""
        if isinstance(value, bool):
            self._fail(op, _user_location(), f"{name} must be an integer, got {value!r}")
        try:
            value = operator.index(value)
        except TypeError:
            self._fail(op, _user_location(), f"{name} must be an integer, got {value!r}")
        if not _INT64[0] <= value <= _INT64[1]:
            self._fail(op, _user_location(), f"{name} = {value} does not fit in a 64-bit integer")
        return f"{value} : i64"

    def _f32_attr(self, op: str, name: str, value) -> str:
        """An f32 attribute; NaN and infinities (also of values that overflow
        f32) print as bit patterns, so the verifier, not the parser, judges them."""
        if isinstance(value, bool):
            self._fail(op, _user_location(), f"{name} must be a number, got {value!r}")
        try:
            value = float(value)
        except (TypeError, ValueError):
            self._fail(op, _user_location(), f"{name} must be a number, got {value!r}")
        return f"{_f32(value)} : f32"

    def _check_operand(self, op: str, where, *tensors) -> None:
        for t in tensors:
            if not isinstance(t, Tensor):
                self._fail(op, where, f"operand must be a wm.Tensor, got {type(t).__name__}")
            if t.graph is not self:
                self._fail(op, where, f"operand %{t.ssa} belongs to another graph")

    def _check_float(self, op: str, where, *tensors) -> None:
        self._check_operand(op, where, *tensors)
        dtypes = {t.dtype for t in tensors}
        if len(dtypes) != 1 or not dtypes <= set(FLOAT_DTYPES):
            self._fail(op, where, f"operands must share one float dtype, got {sorted(dtypes)}")

    @staticmethod
    def _located(op: _Op) -> List[str]:
        """Each line is one op; its location follows it (after the region of
        multi-line ops)."""
        loc = f' loc("{op.where[0]}":{op.where[1]}:{op.where[2]})'
        return [line + loc for line in op.lines]

    def _append(self, where, lines, name, shape, dtype) -> Tensor:
        self._ops.append(_Op(lines, where))
        return Tensor(self, name, tuple(shape), dtype)

    def _wm_op(self, op: str, operands: List[Tensor], attrs: Dict[str, Optional[str]],
               custom: Optional[str] = None) -> List[Tensor]:
        where = _user_location()
        self._check_operand(op, where, *operands)
        attr_text = "{" + ", ".join(k if v is None else f"{k} = {v}" for k, v in attrs.items()) + "}"
        infer_attrs = attr_text
        if op in ("dma_bias", "dma_bias_grad"):
            infer_attrs = "{form = " + ("0" if attrs["form"] == "exp" else "1") + " : i32}"
        try:
            result_types = self._ctx().infer_op(
                f"wm.{op}", [t.type for t in operands], infer_attrs,
                f'"{where[0]}":{where[1]}:{where[2]}')
        except CompileError as error:
            raise GraphError(f"{op} (at {where[0]}:{where[1]}): {error}") from None
        results = [self._fresh() for _ in result_types]
        names = ", ".join(f"%{r}" for r in results)
        operand_text = custom or ", ".join(f"%{t.ssa}" for t in operands)
        printed_attrs = "" if op in ("dma_bias", "dma_bias_grad") else " " + "{" + ", ".join(
            k if v is None else f"{k} = {v}" for k, v in attrs.items()
            if k != "operandSegmentSizes") + "}"
        if op == "ssd":
            operand_text = self._ssd_operands(operands, attrs["operandSegmentSizes"])
        line = (f"{names} = wm.{op} {operand_text}{printed_attrs} : "
                f"({', '.join(t.type for t in operands)}) -> ({', '.join(result_types)})")
        self._ops.append(_Op([line], where))
        out = []
        for r, t in zip(results, result_types):
            shape, dtype = _parse_tensor_type(t)
            out.append(Tensor(self, r, shape, dtype))
        return out

    @staticmethod
    def _ssd_operands(operands, segments: str) -> str:
        present = [s.strip() == "1" for s in segments[len("array<i32:"):-1].split(",")][5:]
        text = ", ".join(f"%{t.ssa}" for t in operands[:5])
        rest = iter(operands[5:])
        for keyword, here in zip(("D", "z", "dt_bias", "initial_state"), present[:4]):
            if here:
                text += f" {keyword}(%{next(rest).ssa})"
        if present[4]:
            text += f" rope(%{next(rest).ssa}, %{next(rest).ssa})"
        return text

    @staticmethod
    def _ext(value: str, dtype: str) -> Tuple[str, str]:
        if dtype == "f32":
            return "", value
        return f"  {value}_f = arith.extf {value} : {dtype} to f32\n", f"{value}_f"

    @staticmethod
    def _trunc(value: str, dtype: str) -> str:
        if dtype == "f32":
            return f"  linalg.yield {value} : f32\n"
        return f"  %t = arith.truncf {value} : f32 to {dtype}\n  linalg.yield %t : {dtype}\n"

    def _contraction(self, op: str, where, a: Tensor, b: Tensor, b_map: str) -> Tensor:
        m = a.shape[0]
        nn = b.shape[0] if op == "linear" else b.shape[1]
        n = self._fresh()
        acc = _tensor_type((m, nn), "f32")
        ea, eb = self._ext("%a", a.dtype), self._ext("%b", b.dtype)
        lines = [
            f"%{n}_zero = arith.constant 0.0 : f32",
            f"%{n}_e = tensor.empty() : {acc}",
            f"%{n}_f = linalg.fill ins(%{n}_zero : f32) outs(%{n}_e : {acc}) -> {acc}",
            f"%{n}_acc = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, "
            f"affine_map<(d0, d1, d2) -> {b_map}>, affine_map<(d0, d1, d2) -> (d0, d1)>], "
            f"iterator_types = [\"parallel\", \"parallel\", \"reduction\"]}} "
            f"ins(%{a.ssa}, %{b.ssa} : {a.type}, {b.type}) outs(%{n}_f : {acc}) {{\n"
            f"^bb0(%a: {a.dtype}, %b: {b.dtype}, %c: f32):\n{ea[0]}{eb[0]}"
            f"  %p = arith.mulf {ea[1]}, {eb[1]} : f32\n  %s = arith.addf %c, %p : f32\n"
            f"  linalg.yield %s : f32\n}} -> {acc}",
        ]
        return self._finish_f32(where, lines, n, (m, nn), a.dtype)

    def _finish_f32(self, where, lines, n, shape, dtype) -> Tensor:
        """Names the f32 value %{n}_acc as %{n}, narrowed to dtype if needed."""
        if dtype == "f32":
            lines[-1] = lines[-1].replace(f"%{n}_acc =", f"%{n} =", 1)
            return self._append(where, lines, n, shape, dtype)
        out_type = _tensor_type(shape, dtype)
        r = len(shape)
        dims = ", ".join(f"d{i}" for i in range(r))
        ident = f"affine_map<({dims}) -> ({dims})>"
        lines += [f"%{n}_o = tensor.empty() : {out_type}",
                  f"%{n} = linalg.generic {{indexing_maps = [{ident}, {ident}], iterator_types = "
                  f"[{_parallel(r)}]}} ins(%{n}_acc : {_tensor_type(shape, 'f32')}) "
                  f"outs(%{n}_o : {out_type}) {{\n^bb0(%v: f32, %o: {dtype}):\n{self._trunc('%v', dtype)}}} -> {out_type}"]
        return self._append(where, lines, n, shape, dtype)

    def _unary(self, op: str, x: Tensor, body: List[str]) -> Tensor:
        where = _user_location()
        self._check_float(op, where, x)
        n = self._fresh()
        r = x.rank
        dims = ", ".join(f"d{i}" for i in range(r))
        ident = f"affine_map<({dims}) -> ({dims})>"
        ext = self._ext("%x", x.dtype)
        code = ext[0] + "".join(f"  {l}\n" for l in body).replace("%v", ext[1])
        lines = [f"%{n}_o = tensor.empty() : {x.type}",
                 f"%{n} = linalg.generic {{indexing_maps = [{ident}, {ident}], iterator_types = "
                 f"[{_parallel(r)}]}} ins(%{x.ssa} : {x.type}) outs(%{n}_o : {x.type}) "
                 f"{{\n^bb0(%x: {x.dtype}, %o: {x.dtype}):\n{code}{self._trunc('%r', x.dtype)}}} -> {x.type}"]
        return self._append(where, lines, n, x.shape, x.dtype)

    def _binary(self, op: str, arith_op: str, a: Tensor, b: Tensor) -> Tensor:
        """Elementwise with numpy broadcasting of b's trailing dims onto a."""
        where = _user_location()
        self._check_float(op, where, a, b)
        if b.rank > a.rank or any(
                bd not in (1, ad) for ad, bd in zip(a.shape[a.rank - b.rank:], b.shape)):
            self._fail(op, where, f"cannot broadcast {b.shape} onto {a.shape}")
        n = self._fresh()
        r = a.rank
        dims = [f"d{i}" for i in range(r)]
        ident = f"affine_map<({', '.join(dims)}) -> ({', '.join(dims)})>"
        b_dims = ["0" if bd == 1 and a.shape[r - b.rank + i] != 1 else dims[r - b.rank + i]
                  for i, bd in enumerate(b.shape)]
        b_map = f"affine_map<({', '.join(dims)}) -> ({', '.join(b_dims)})>"
        ea, eb = self._ext("%a", a.dtype), self._ext("%b", b.dtype)
        lines = [f"%{n}_o = tensor.empty() : {a.type}",
                 f"%{n} = linalg.generic {{indexing_maps = [{ident}, {b_map}, {ident}], iterator_types = "
                 f"[{_parallel(r)}]}} ins(%{a.ssa}, %{b.ssa} : {a.type}, {b.type}) "
                 f"outs(%{n}_o : {a.type}) {{\n^bb0(%a: {a.dtype}, %b: {b.dtype}, %o: {a.dtype}):\n"
                 f"{ea[0]}{eb[0]}  %r = {arith_op} {ea[1]}, {eb[1]} : f32\n{self._trunc('%r', a.dtype)}}} -> {a.type}"]
        return self._append(where, lines, n, a.shape, a.dtype)

    def _check_complete(self) -> None:
        if not self._outputs:
            raise GraphError(f"graph {self.name!r} has no outputs: call g.output(...)")

    def _entry_with_buffers(self) -> str:
        """The entry point compiled code exposes: every input and output as a
        memref argument (outputs written in place), with a C interface."""
        args = [f"%{t.ssa}_buffer: {_memref_type(t.shape, t.dtype)}" for t in self._inputs]
        args += [f"%out{i}: {_memref_type(t.shape, t.dtype)}" for i, t in enumerate(self._outputs)]
        body = [f"%{t.ssa} = bufferization.to_tensor %{t.ssa}_buffer restrict : "
                f"{_memref_type(t.shape, t.dtype)} to {t.type}" for t in self._inputs]
        body += [line for op in self._ops for line in self._located(op)]
        body += [f"bufferization.materialize_in_destination %{t.ssa} in restrict writable %out{i} : "
                 f"({t.type}, {_memref_type(t.shape, t.dtype)}) -> ()"
                 for i, t in enumerate(self._outputs)]
        body.append("return")
        return (f"func.func @{self.name}({', '.join(args)}) attributes {{llvm.emit_c_interface}} {{\n  "
                + "\n  ".join(body) + "\n}\n")


class CpuFunction:
    """A graph compiled for the host CPU, called on numpy arrays."""

    def __init__(self, graph: Graph, executable) -> None:
        self._inputs = graph.inputs
        self._outputs = graph.outputs
        self._name = graph.name
        self._executable = executable
        self._index_bounds = dict(graph._index_bounds)

    def __call__(self, *arrays):
        if len(arrays) != len(self._inputs):
            raise GraphError(f"{self._name}: expected {len(self._inputs)} inputs "
                             f"({', '.join(t.name for t in self._inputs)}), got {len(arrays)}")
        buffers = []
        for spec, array in zip(self._inputs, arrays):
            array = np.asarray(array)
            expected = _numpy_dtype(spec.dtype)
            if array.shape != spec.shape or array.dtype != expected:
                raise GraphError(f"{self._name}: input '{spec.name}' expects shape {spec.shape} "
                                 f"{spec.dtype}, got {array.shape} {array.dtype}")
            bound = self._index_bounds.get(spec.name)
            if bound is not None and array.size and not (0 <= array.min() and array.max() < bound):
                bad = array[(array < 0) | (array >= bound)].flat[0]
                raise GraphError(f"{self._name}: input '{spec.name}' holds the index {bad}, "
                                 f"outside the {bound} rows of its embedding table")
            # Inputs are only read, but the extension takes writeable C-contiguous
            # buffers: a read-only (or strided) array is passed as a copy.
            if not (array.flags.c_contiguous and array.flags.writeable):
                array = np.array(array, order="C", copy=True)
            buffers.append(array)
        outputs = [np.empty(t.shape, _numpy_dtype(t.dtype)) for t in self._outputs]
        self._executable.invoke(buffers + outputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _parallel(rank: int) -> str:
    return ", ".join(['"parallel"'] * rank)


def _f32(value: float) -> str:
    """An f32 literal MLIR parses: decimal (with the mantissa's decimal point)
    when finite in f32, else the IEEE bit pattern (0x7FC00000 is NaN)."""
    with np.errstate(over="ignore"):
        single = np.float32(value)
    if np.isfinite(single):
        return f"{float(value):.9e}"
    return f"0x{int(single.view(np.uint32)):08X}"


def _f64(value: float) -> str:
    """An f64 literal MLIR parses; NaN and infinities as 16-digit bit patterns."""
    if np.isfinite(value):
        return f"{float(value):.17e}"
    return f"0x{int(np.float64(value).view(np.uint64)):016X}"


def _pipeline_options(target: str, known: Dict[str, str], options: Dict[str, object]) -> str:
    """Checks compile options in the user's terms; returns the pipeline's option text."""
    parts = []
    for key, value in options.items():
        kind = known.get(key)
        if kind is None:
            raise GraphError(f"compile: unknown option {key!r} for target {target!r} "
                             f"(valid: {', '.join(known)})")
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        if kind == "bool" and not isinstance(value, (bool, np.bool_)):
            raise GraphError(f"compile: {key} must be True or False, got {value!r}")
        if kind == "block" and not (is_int and 1 <= value <= MAX_BLOCK_SIZE):
            raise GraphError(f"compile: {key} must be an integer in [1, {MAX_BLOCK_SIZE}] "
                             f"(MAX_BLOCK_SIZE), got {value!r}")
        if kind == "count" and not (is_int and 0 <= value <= MAX_BLOCK_SIZE):
            raise GraphError(f"compile: {key} must be an integer in [0, {MAX_BLOCK_SIZE}] "
                             f"(0: automatic), got {value!r}")
        if kind == "count_or_off" and not (is_int and -1 <= value <= MAX_BLOCK_SIZE):
            raise GraphError(f"compile: {key} must be an integer in [-1, {MAX_BLOCK_SIZE}] "
                             f"(-1: off, 0: automatic), got {value!r}")
        if kind == "threads" and not (is_int and 32 <= value <= MAX_THREADS_PER_BLOCK
                                      and value % 32 == 0):
            raise GraphError(f"compile: {key} must be a multiple of 32 in "
                             f"[32, {MAX_THREADS_PER_BLOCK}] (whole warps), got {value!r}")
        if kind == "chip" and value not in GPU_CHIPS:
            raise GraphError(f"compile: unknown GPU chip {value!r} (valid: {', '.join(GPU_CHIPS)})")
        if kind == "format" and value not in GPU_FORMATS:
            raise GraphError(f"compile: unknown format {value!r} (valid: {', '.join(GPU_FORMATS)})")
        if kind == "text" and not (isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_+.,-]*", value)):
            raise GraphError(f"compile: {key} must be a plain string like '+ptx81', got {value!r}")
        parts.append(f"{key.replace('_', '-')}={_option(value)}")
    return " ".join(parts)


def _option(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value)


_CONTEXT = None


def _shared_context():
    """One MLIRContext for the process, created on first use."""
    global _CONTEXT
    if _CONTEXT is None:
        from . import _wm
        _CONTEXT = _wm.Context()
    return _CONTEXT
