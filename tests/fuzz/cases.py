"""The fuzz cases of issue 10: each is a function of (category, seed) alone.

A case builds a random graph through the Python API (valid, or with one hostile
parameter), compiles it with random pipeline options and runs it on random inputs
(sometimes with NaN / +inf injected), or writes random malformed MLIR and runs
build/bin/wm-opt on it with random passes. It returns an outcome:

- "diagnostic": a clean error (wm.GraphError / wm.CompileError / ValueError /
  MemoryError with a message; wm-opt exiting 1 with an `error:` line);
- "matched": compiled, ran, and matched tests/reference (NaN positions and
  infinities exactly, finite parts within tests/numerics.TOLERANCE);
- "accepted": compiled (GPU or wm-opt output, nothing to run here);
- "mismatch" / "crash" / "hang" / "unclean": failures, with a detail line.

`python3 tests/fuzz/worker.py replay CATEGORY SEED` replays one case in-process.
"""

import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import wm
from tests import reference as ref
from tests.numerics import TOLERANCE, storage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WM_OPT = os.path.join(ROOT, "build", "bin", "wm-opt")
CRASH_MARKERS = ("LLVM ERROR", "Assertion", "Stack dump", "PLEASE submit a bug report",
                 "Segmentation fault", "Aborted", "terminate called", "UNREACHABLE")
CLEAN_ERRORS = (wm.GraphError, wm.CompileError, ValueError, MemoryError)
WM_OPT_TIMEOUT = 60
FLOATS = ("f32", "bf16", "f16")
NOTE_MARKER = "@@note@@ "
NOTES_TO_STDERR = os.environ.get("WM_FUZZ_NOTES") == "1"
HUGE = [2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 62, 2 ** 63 - 1]


class Failure(Exception):
    """A case that went wrong: outcome (mismatch/unclean/crash/hang) and detail."""

    def __init__(self, outcome, detail):
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


class Case:
    """One case's random source and the record of what it chose."""

    def __init__(self, category, seed):
        self.category, self.seed = category, seed
        self.rng = np.random.default_rng([seed, sum(map(ord, category))])
        self.py = random.Random(f"{category}:{seed}")
        self.notes = {}

    def note(self, **kw):
        self.notes.update(kw)
        if NOTES_TO_STDERR:  # so that a case that kills its process still says what it was
            sys.stderr.write(NOTE_MARKER + json.dumps(kw, default=repr) + "\n")
            sys.stderr.flush()

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p):
        return bool(self.rng.random() < p)

    def randint(self, lo, hi):  # inclusive
        return int(self.rng.integers(lo, hi + 1))


# ---------------------------------------------------------------- comparison

def compare(what, got, want, dtype):
    """NaN exactly where the reference has NaN, the same infinities, finite parts
    within the relative error bound of the storage dtype."""
    got = np.asarray(np.asarray(got).astype(np.float32), np.float64)
    want = np.asarray(want, np.float64)
    if got.shape != want.shape:
        raise Failure("mismatch", f"{what}: shape {got.shape} != reference {want.shape}")
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    if not np.array_equal(nan_g, nan_w):
        extra = np.argwhere(nan_g & ~nan_w)[:4].tolist()
        missing = np.argwhere(nan_w & ~nan_g)[:4].tolist()
        where = np.argwhere(nan_w & ~nan_g)[:1]
        value = got[tuple(where[0])] if len(where) else None
        raise Failure("mismatch", f"{what}: NaN where the reference has none at {extra} "
                      f"({int((nan_g & ~nan_w).sum())} entries); missing NaN at {missing} "
                      f"({int((nan_w & ~nan_g).sum())} entries, e.g. got {value})")
    inf = (np.isinf(got) | np.isinf(want)) & ~nan_w
    if not np.array_equal(got[inf], want[inf]):
        bad = np.argwhere(inf & (got != want))[:4]
        raise Failure("mismatch", f"{what}: infinities differ at {bad.tolist()}: got "
                      f"{[got[tuple(i)] for i in bad]} want {[want[tuple(i)] for i in bad]}")
    finite = np.isfinite(want)
    norm = np.linalg.norm(want[finite])
    err = np.linalg.norm(got[finite] - want[finite]) / (norm if norm > 0 else 1.0)
    if not err <= TOLERANCE[dtype]:
        raise Failure("mismatch", f"{what}: relative error {err:.3e} > {TOLERANCE[dtype]}")


def side_dtype(dtype):
    """The tolerance of f32 side outputs (lse, state) of a dtype's op, as tests/ use."""
    return "f32" if dtype == "f32" else dtype


# ---------------------------------------------------------------- inputs

def randn(case, shape, dtype="f32", scale=1.0):
    if dtype in ("i32", "i64"):
        return case.rng.integers(-3, 4, shape).astype(np.int32 if dtype == "i32" else np.int64)
    return storage(scale * case.rng.standard_normal(shape), dtype)


def inject(case, arrays, names, values=(np.nan,), p=0.35, most=3):
    """With probability p puts NaN (or another of `values`) into a few entries of
    some of the named float arrays; notes where."""
    if not case.chance(p):
        return
    done = []
    for _ in range(case.randint(1, most)):
        name = case.choice(names)
        a = arrays[name]
        if a.size == 0:
            continue
        idx = tuple(int(case.rng.integers(s)) for s in a.shape)
        value = case.choice(list(values))
        a[idx] = value
        done.append(f"{name}{list(idx)}={value}")
    case.note(injected=done)


# ---------------------------------------------------------------- compile options

CPU_BLOCKS = [1, 2, 3, 4, 7, 8, 16, 32, 64]
HOSTILE_BLOCKS = [0, -1, -64, 4097, 2 ** 20, 2 ** 40, 2 ** 63 - 1, "8", 4.0, True, None]


def cpu_options(case, hostile=False):
    opts = {}
    if case.chance(0.5):
        opts["block_q"] = case.choice(CPU_BLOCKS)
    if case.chance(0.5):
        opts["block_k"] = case.choice(CPU_BLOCKS)
    if case.chance(0.4):
        opts["skip_blocks"] = case.chance(0.5)
    if case.chance(0.4):
        opts["compact_keys"] = case.chance(0.5)
    if hostile:
        kind = case.choice(["block_q", "block_k", "skip_blocks", "compact_keys", "unknown"])
        if kind in ("block_q", "block_k"):
            opts[kind] = case.choice(HOSTILE_BLOCKS)
        elif kind == "unknown":
            opts[case.choice(["blockq", "block_size", "chip", "tile"])] = 4
        else:
            opts[kind] = case.choice(["yes", 1, 0, None])
    return opts


RAW_CPU_OPTIONS = ["block-q=1099511627776", "block-k=1099511627776", "block-q=-1", "block-k=-1",
                   "block-q=0", "block-k=0", "block-q=abc", "block-k=", "skip-blocks=maybe",
                   "compact-keys=2", "block-q=4097", "block-k=9223372036854775807",
                   "block-q=18446744073709551616", "unknown-option=1", "block-q=4 block-q=8",
                   "block-q=3 block-k=5 skip-blocks=false compact-keys=true",
                   "block-q=1 block-k=1", "block-q=4096 block-k=4096"]


def compile_cpu(case, g, options, raw=None):
    """g compiled for the CPU, through g.compile or with raw option text."""
    if raw is None:
        case.note(options=options)
        return g.compile("cpu", **options)
    case.note(raw_options=raw)
    exe = g._ctx().compile_cpu(g._entry_with_buffers(), g.name,
                               len(g.inputs) + len(g.outputs), raw)
    return wm.graph.CpuFunction(g, exe)


# ---------------------------------------------------------------- graph cases

def case_dma_attention(case, hostile):
    dtype = case.choice(FLOATS)
    B, Hk = case.randint(1, 2), case.randint(1, 2)
    H = Hk * case.choice([1, 2, 3])
    D = case.choice([1, 2, 4, 8, 16])
    Lk = case.randint(1, 24)
    Lq = Lk if case.chance(0.6) else case.randint(1, 24)
    attrs = {"causal": case.chance(0.6), "scope": case.choice(["prefix", "global"])}
    if case.chance(0.85):
        attrs["window"] = case.randint(1, Lk + 3)
    if case.chance(0.3):
        attrs["scale"] = float(case.rng.uniform(0.05, 2.0))
    shapes = {"q": (B, Lq, H, D), "k": (B, Lk, Hk, D), "v": (B, Lk, Hk, D), "bias": (B, Hk, Lk)}
    dtypes = {"q": dtype, "k": dtype, "v": dtype, "bias": "f32"}
    if hostile:
        kind = case.choice(["heads", "dim", "bias_shape", "window", "scale", "scope", "dtype",
                            "bias_dtype", "batch", "lk", "rank"])
        case.note(hostile=kind)
        if kind == "heads":
            shapes["q"] = (B, Lq, Hk * 2 + 1, D) if Hk > 1 else (B, Lq, H, D)
            shapes["k"] = shapes["v"] = (B, Lk, Hk + 1, D)
        elif kind == "dim":
            shapes["k"] = (B, Lk, Hk, D + 1)
        elif kind == "bias_shape":
            shapes["bias"] = case.choice([(B, Hk, Lk + 1), (B, Hk + 1, Lk), (B + 1, Hk, Lk)])
        elif kind == "window":
            attrs["window"] = case.choice([0, -1, -2 ** 63] + HUGE + [Lk, Lk + 1])
        elif kind == "scale":
            attrs["scale"] = case.choice([0.0, -1.0, float("nan"), float("inf"),
                                          float("-inf"), 1e40, 1e-45])
        elif kind == "scope":
            attrs["scope"] = case.choice(["local", "", "PREFIX"])
        elif kind == "dtype":
            dtypes["k"] = case.choice([d for d in FLOATS + ("i32",) if d != dtype])
        elif kind == "bias_dtype":
            dtypes["bias"] = case.choice(["bf16", "f16", "i32"])
        elif kind == "batch":
            shapes["v"] = (B + 1, Lk, Hk, D)
        elif kind == "lk":
            shapes["v"] = (B, Lk + 1, Hk, D)
        else:
            shapes["bias"] = (B, Lk)
    case.note(op="dma_attention", dtype=dtype, shapes=shapes, dtypes=dtypes, attrs=attrs)
    g = wm.Graph("dma")
    ins = {n: g.input(shapes[n], dtypes[n], name=n) for n in ("q", "k", "v", "bias")}
    g.output(*g.dma_attention(ins["q"], ins["k"], ins["v"], ins["bias"], **attrs))
    fn = compile_cpu(case, g, cpu_options(case))
    arrays = {n: randn(case, shapes[n], dtypes[n]) for n in ("q", "k", "v", "bias")}
    inject(case, arrays, ["q", "k", "v", "bias", "bias"], (np.nan,))
    inject(case, arrays, ["bias"], (np.nan, np.inf), p=0.2, most=2)
    out, lse = fn(*arrays.values())
    case.phase = "reference"
    want_out, want_lse = ref.dma_attention(*arrays.values(), **attrs)
    compare("out", out, want_out, dtype)
    compare("lse", lse, want_lse, side_dtype(dtype))


def case_dma_layer(case, hostile):
    """dma_bias alone, or chained into dma_attention (the attention then checked
    against the reference on the bias the compiled code produced)."""
    dtype = case.choice(FLOATS)
    B, Hk, D, L = case.randint(1, 2), case.randint(1, 2), case.choice([2, 4, 8]), case.randint(1, 20)
    H = Hk * case.choice([1, 2])
    form = case.choice(["exp", "linear"])
    with_dt_bias = case.chance(0.5)
    chained = case.chance(0.6)
    attrs = {"causal": case.chance(0.6), "scope": case.choice(["prefix", "global"]),
             "window": case.randint(1, L + 2)}
    shapes = {"q": (B, L, H, D), "k": (B, L, Hk, D), "v": (B, L, Hk, D),
              "w_dt": (Hk, Hk * D), "a": (Hk,), "dt_bias": (Hk,)}
    dtypes = {"q": dtype, "k": dtype, "v": dtype, "w_dt": dtype, "a": "f32", "dt_bias": "f32"}
    if hostile:
        kind = case.choice(["w_shape", "a_shape", "form", "dt_bias_shape", "a_dtype"])
        case.note(hostile=kind)
        if kind == "w_shape":
            shapes["w_dt"] = case.choice([(Hk, Hk * D + 1), (Hk + 1, Hk * D), (Hk * D,)])
        elif kind == "a_shape":
            shapes["a"] = (Hk + 1,)
        elif kind == "form":
            form = case.choice(["softplus", "EXP", ""])
        elif kind == "dt_bias_shape":
            with_dt_bias, shapes["dt_bias"] = True, (Hk, 1)
        else:
            dtypes["a"] = "i32"
    case.note(op="dma_layer", dtype=dtype, shapes=shapes, form=form, chained=chained,
              dt_bias=with_dt_bias, attrs=attrs)
    g = wm.Graph("dma_layer")
    names = ["q", "k", "v", "w_dt", "a"] + (["dt_bias"] if with_dt_bias else [])
    ins = {n: g.input(shapes[n], dtypes[n], name=n) for n in names}
    bias = g.dma_bias(ins["v"], ins["w_dt"], ins["a"], dt_bias=ins.get("dt_bias"), form=form)
    if chained:
        g.output(bias, *g.dma_attention(ins["q"], ins["k"], ins["v"], bias, **attrs))
    else:
        g.output(bias)
    fn = compile_cpu(case, g, cpu_options(case))
    arrays = {n: randn(case, shapes[n], dtypes[n]) for n in names}
    arrays["w_dt"] = storage(0.3 * arrays["w_dt"].astype(np.float64), dtype)
    arrays["a"] = -np.abs(arrays["a"]).astype(np.float32)
    inject(case, arrays, ["q", "k", "v", "w_dt", "a"] + (["dt_bias"] if with_dt_bias else []))
    got = fn(*arrays.values())
    got = got if isinstance(got, tuple) else (got,)
    case.phase = "reference"
    want_bias = ref.dma_bias(arrays["v"], arrays["w_dt"], arrays["a"], arrays.get("dt_bias"),
                             form=form)
    compare("bias", got[0], want_bias, side_dtype(dtype))
    if chained:
        want_out, want_lse = ref.dma_attention(arrays["q"], arrays["k"], arrays["v"], got[0],
                                               **attrs)
        compare("out", got[1], want_out, dtype)
        compare("lse", got[2], want_lse, side_dtype(dtype))


def case_ssd(case, hostile):
    dtype = case.choice(FLOATS)
    B, T, G, P, N = case.randint(1, 2), case.randint(1, 40), case.randint(1, 2), case.choice([1, 2, 4]), case.choice([2, 4, 8])
    H = G * case.choice([1, 2])
    chunk = case.choice([1, 2, 4, 8, 16, 32, 64, 128])
    opts = {"D": case.chance(0.4), "z": case.chance(0.4), "dt_bias": case.chance(0.4),
            "initial_state": case.chance(0.3), "rope": case.chance(0.3)}
    R = case.choice([r for r in (2, 4, 8) if r <= N])
    batch_rope = case.chance(0.3)
    dt_softplus = case.chance(0.5)
    dt_limit = None
    if case.chance(0.3):
        lo = float(case.rng.uniform(0, 0.2))
        dt_limit = (lo, lo + float(case.rng.uniform(0.1, 2.0)))
    D_shape = (H,) if case.chance(0.5) else (H, P)
    cos_shape = (B, T, R) if batch_rope else (T, R)
    shapes = {"x": (B, T, H, P), "dt": (B, T, H), "a": (H,), "b": (B, T, G, N), "c": (B, T, G, N),
              "D": D_shape, "z": (B, T, H, P), "dt_bias": (H,), "initial_state": (B, H, P, N),
              "cos": cos_shape, "sin": cos_shape}
    dtypes = {n: (dtype if n in ("x", "b", "c", "z") else "f32") for n in shapes}
    if hostile:
        kind = case.choice(["chunk", "chunk_huge", "groups", "dt_limit", "rope_odd", "rope_big",
                            "D_shape", "h0_shape", "z_dtype"])
        case.note(hostile=kind)
        if kind == "chunk":
            chunk = case.choice([0, -1, 3, 24, -64])
        elif kind == "chunk_huge":
            chunk = case.choice([2 ** 16, 2 ** 17, 2 ** 20, 2 ** 30, 2 ** 40, 2 ** 62, 2 ** 63 - 1])
        elif kind == "groups":
            shapes["b"] = shapes["c"] = (B, T, H + 1, N)
        elif kind == "dt_limit":
            dt_limit = case.choice([(float("nan"), 1.0), (0.0, float("nan")), (1.0, 0.5),
                                    (float("-inf"), float("inf")), (-1.0, 1.0),
                                    (float("inf"), float("inf"))])
        elif kind == "rope_odd":
            opts["rope"], shapes["cos"] = True, (T, 3)
            shapes["sin"] = shapes["cos"]
        elif kind == "rope_big":
            opts["rope"], shapes["cos"] = True, (T, N + 2)
            shapes["sin"] = shapes["cos"]
        elif kind == "D_shape":
            opts["D"], shapes["D"] = True, (H + 1,)
        elif kind == "h0_shape":
            opts["initial_state"], shapes["initial_state"] = True, (B, H, N, P + 1)
        else:
            opts["z"], dtypes["z"] = True, case.choice([d for d in FLOATS if d != dtype])
    used = ["x", "dt", "a", "b", "c"] + [n for n in ("D", "z", "dt_bias", "initial_state")
                                         if opts[n]] + (["cos", "sin"] if opts["rope"] else [])
    case.note(op="ssd", dtype=dtype, shapes={n: shapes[n] for n in used}, chunk_size=chunk,
              dt_softplus=dt_softplus, dt_limit=dt_limit)
    g = wm.Graph("ssd")
    ins = {n: g.input(shapes[n], dtypes[n], name=n) for n in used}
    kw = {n: ins[n] for n in used[5:]}
    y, state = g.ssd(*(ins[n] for n in used[:5]), **kw, chunk_size=chunk,
                     dt_softplus=dt_softplus, dt_limit=dt_limit)
    g.output(y, state)
    fn = compile_cpu(case, g, {})
    arrays = {n: randn(case, shapes[n], dtypes[n]) for n in used}
    arrays["dt"] = (0.5 * arrays["dt"]).astype(np.float32)
    arrays["a"] = (-np.exp(arrays["a"].astype(np.float64))).astype(np.float32)
    if opts["rope"] and shapes["cos"][-1] % 2 == 0:
        cos, sin = ref.rope_tables(np.arange(T), shapes["cos"][-1])
        if batch_rope:
            cos, sin = np.stack([cos] * B), np.stack([sin] * B)
        arrays["cos"], arrays["sin"] = cos.astype(np.float32), sin.astype(np.float32)
    inject(case, arrays, [n for n in used if n not in ("cos", "sin", "a")])
    got_y, got_state = fn(*arrays.values())
    case.phase = "reference"
    kw = {n: arrays[n] for n in used[5:]}
    want_y, want_state = ref.ssd(*(arrays[n] for n in used[:5]), **kw, dt_softplus=dt_softplus,
                                 **({"dt_limit": dt_limit} if dt_limit else {}))
    compare("y", got_y, want_y, dtype)
    compare("state", got_state, want_state, side_dtype(dtype))


def case_cdmoe(case, hostile):
    dtype = case.choice(["f32", "f32", "bf16"])
    T, d, I = case.randint(1, 6), case.choice([2, 4, 8]), case.choice([1, 2, 4])
    K = case.choice([1, 2, 3, 4, 8])
    N = K * K
    top_k = case.randint(1, N)
    shapes = {"x": (T, d), "w_gate": (I, d), "w_up": (I, d), "w_down": (d, I),
              "w_router": (2 * K, d), "down": (N, d), "up": (N, d)}
    if hostile:
        kind = case.choice(["top_k", "top_k_huge", "not_square", "router", "down_shape"])
        case.note(hostile=kind)
        if kind == "top_k":
            top_k = case.choice([0, -1, N + 1])
        elif kind == "top_k_huge":
            top_k = case.choice([2 ** 20, 2 ** 40, 2 ** 63 - 1])
        elif kind == "not_square":
            shapes["down"] = shapes["up"] = (N + 1, d)
        elif kind == "router":
            shapes["w_router"] = (2 * K + 1, d)
        else:
            shapes["down"] = (N, d + 1)
    case.note(op="cdmoe", dtype=dtype, shapes=shapes, top_k=top_k)
    g = wm.Graph("cdmoe")
    ins = {n: g.input(s, dtype, name=n) for n, s in shapes.items()}
    g.output(g.cdmoe(*ins.values(), top_k=top_k))
    fn = compile_cpu(case, g, {})
    arrays = {n: randn(case, s, dtype, 1 / np.sqrt(s[-1])) for n, s in shapes.items()}
    inject(case, arrays, ["x", "down", "up"])
    y = fn(*arrays.values())
    case.phase = "reference"
    compare("y", y, ref.cdmoe(*arrays.values(), top_k), dtype)


def case_rope(case, hostile):
    dtype = case.choice(FLOATS)
    B, L, H = case.randint(1, 2), case.randint(1, 12), case.randint(1, 3)
    D = case.choice([2, 4, 8, 16])
    R = case.choice([r for r in (2, 4, 8, 16) if r <= D])
    rotary = R
    tshape = (B, L, R) if case.chance(0.3) else (L, R)
    if hostile:
        kind = case.choice(["odd", "big", "zero", "table", "huge"])
        case.note(hostile=kind)
        rotary = {"odd": R - 1, "big": D + 2, "zero": 0, "table": R, "huge": 2 ** 63 - 1}[kind]
        if kind == "table":
            tshape = (L + 1, R)
    case.note(op="rope", dtype=dtype, x=(B, L, H, D), table=tshape, rotary_dims=rotary)
    g = wm.Graph("rope")
    x, cos, sin = (g.input((B, L, H, D), dtype, name="x"), g.input(tshape, "f32", name="cos"),
                   g.input(tshape, "f32", name="sin"))
    g.output(g.rope(x, cos, sin, rotary_dims=rotary))
    fn = compile_cpu(case, g, {})
    xs = randn(case, (B, L, H, D), dtype)
    c, s = ref.rope_tables(np.arange(L) + case.randint(0, 100), R)
    if len(tshape) == 3:
        c, s = np.stack([c] * B), np.stack([s] * B)
    arrays = {"x": xs, "cos": c.astype(np.float32), "sin": s.astype(np.float32)}
    inject(case, arrays, ["x", "x", "cos", "sin"])
    out = fn(*arrays.values())
    case.phase = "reference"
    compare("out", out, ref.rope(arrays["x"], arrays["cos"], arrays["sin"], rotary), dtype)


def case_rms_norm(case, hostile):
    dtype = case.choice(FLOATS)
    shape = tuple(case.randint(1, 5) for _ in range(case.randint(0, 2))) + (case.choice([1, 4, 16, 64]),)
    eps = float(10 ** case.rng.uniform(-8, -2))
    wshape = (shape[-1],)
    if hostile:
        kind = case.choice(["eps", "weight"])
        case.note(hostile=kind)
        if kind == "eps":
            eps = case.choice([0.0, -1e-6, float("nan"), float("inf"), 1e40, 1e-46])
        else:
            wshape = (shape[-1] + 1,)
    case.note(op="rms_norm", dtype=dtype, shape=shape, eps=eps)
    g = wm.Graph("norm")
    g.output(g.rms_norm(g.input(shape, dtype, name="x"), g.input(wshape, dtype, name="w"), eps=eps))
    fn = compile_cpu(case, g, {})
    arrays = {"x": randn(case, shape, dtype), "w": randn(case, wshape, dtype)}
    inject(case, arrays, ["x", "w"])
    out = fn(*arrays.values())
    case.phase = "reference"
    compare("out", out, ref.rms_norm(arrays["x"], arrays["w"], float(np.float32(eps))), dtype)


def case_upstream(case, hostile):
    """linear, matmul, add, mul, silu, gelu, softmax, reshape, transpose, embedding,
    and short chains of them."""
    dtype = case.choice(FLOATS)
    op = case.choice(["linear", "matmul", "add", "mul", "silu", "gelu", "softmax", "reshape",
                      "transpose", "embedding", "chain"])
    g = wm.Graph("up")
    arrays, tol = {}, dtype
    inf_ok = op in ("linear", "matmul", "add", "mul", "reshape", "transpose", "embedding")
    values = (np.nan, np.inf, -np.inf) if inf_ok else (np.nan,)

    def inp(name, shape, dt=dtype):
        arrays[name] = randn(case, shape, dt) if dt in FLOATS else None
        return g.input(shape, dt, name=name)

    M, K, Nn = case.randint(1, 6), case.randint(1, 8), case.randint(1, 6)
    case.note(op=op, dtype=dtype)
    if op in ("linear", "matmul"):
        wshape = (Nn, K) if op == "linear" else (K, Nn)
        if hostile:
            wshape = case.choice([(Nn, K + 1), (K + 1, Nn), (K,)])
            case.note(hostile="shape", w=wshape)
        x, w = inp("x", (M, K)), inp("w", wshape)
        g.output(g.linear(x, w) if op == "linear" else g.matmul(x, w))
        f = lambda a: a["x"].astype(np.float64) @ (a["w"].astype(np.float64).T if op == "linear"
                                                  else a["w"].astype(np.float64))
    elif op in ("add", "mul"):
        shape = tuple(case.randint(1, 4) for _ in range(case.randint(1, 3)))
        r = case.randint(1, len(shape))
        bshape = tuple(d if case.chance(0.7) else 1 for d in shape[len(shape) - r:])
        if hostile:
            bshape = bshape[:-1] + (bshape[-1] + 1,)
            case.note(hostile="broadcast")
        case.note(a=shape, b=bshape)
        a, b = inp("a", shape), inp("b", bshape)
        g.output(g.add(a, b) if op == "add" else g.mul(a, b))
        f = lambda a: (a["a"].astype(np.float64) + a["b"].astype(np.float64)) if op == "add" else (
            a["a"].astype(np.float64) * a["b"].astype(np.float64))
    elif op in ("silu", "gelu", "softmax"):
        shape = tuple(case.randint(1, 5) for _ in range(case.randint(1, 3)))
        x = inp("x", shape)
        if hostile:
            x = g.input(shape, "i32", name="xi")
            arrays["xi"] = None
            case.note(hostile="int operand")
        g.output(getattr(g, op)(x))

        def f(a):
            v = a["x"].astype(np.float64)
            if op == "silu":
                return ref.silu(v)
            if op == "gelu":
                return 0.5 * v * (1 + np.vectorize(math.erf)(v / np.sqrt(2)))
            e = np.exp(v - v.max(-1, keepdims=True))
            return e / e.sum(-1, keepdims=True)
    elif op == "reshape":
        shape = (case.randint(1, 4), case.randint(1, 4), case.randint(1, 3))
        n = int(np.prod(shape))
        new = case.choice([(n,), (1, n), (n, 1), (shape[1], shape[0] * shape[2])])
        if hostile:
            new = case.choice([(n + 1,), (0, n), (-1, n)])
            case.note(hostile="shape")
        x = inp("x", shape)
        g.output(g.reshape(x, new))
        f = lambda a: a["x"].astype(np.float64).reshape(new)
    elif op == "transpose":
        shape = tuple(case.randint(1, 4) for _ in range(case.randint(1, 4)))
        perm = tuple(int(p) for p in case.rng.permutation(len(shape)))
        if hostile:
            perm = case.choice([perm + (len(shape),), tuple([0] * len(shape)), perm[:-1]])
            case.note(hostile="perm")
        x = inp("x", shape)
        g.output(g.transpose(x, perm))
        f = lambda a: a["x"].astype(np.float64).transpose(perm)
    elif op == "embedding":
        V, dim, T = case.randint(1, 8), case.randint(1, 6), case.randint(1, 6)
        idt = case.choice(["i32", "i64"])
        kind = case.choice(["float ids", "out of range"]) if hostile else None
        ids = g.input((T,), "f32" if kind == "float ids" else idt, name="ids")
        case.note(hostile=kind)
        table = inp("table", (V, dim))
        g.output(g.embedding(ids, table))
        values = case.rng.integers(0, V, T)
        if kind == "out of range":
            values[case.randint(0, T - 1)] = case.choice([-1, V, V + 1000, -2 ** 31, 2 ** 31 - 1])
        arrays = {"ids": values.astype(np.int32 if idt == "i32" else np.int64),
                  "table": arrays["table"]}
        f = lambda a: a["table"].astype(np.float64)[a["ids"]]
    else:  # rms_norm -> linear -> silu/gelu -> add (a small MLP block with a residual)
        x, w, nw = inp("x", (M, K)), inp("w", (K, K)), inp("nw", (K,))
        act = case.choice(["silu", "gelu"])
        h = getattr(g, act)(g.linear(g.rms_norm(x, nw, eps=1e-5), w))
        g.output(g.add(h, x))
        case.note(chain=act)

        def f(a):
            hh = ref.rms_norm(a["x"], a["nw"], float(np.float32(1e-5)))
            if dtype != "f32":
                hh = storage(hh, dtype).astype(np.float64)
            hh = hh @ a["w"].astype(np.float64).T
            if dtype != "f32":  # the graph rounds each op's result to the storage type
                hh = storage(hh, dtype).astype(np.float64)
            hh = ref.silu(hh) if act == "silu" else 0.5 * hh * (1 + np.vectorize(math.erf)(hh / np.sqrt(2)))
            if dtype != "f32":
                hh = storage(hh, dtype).astype(np.float64)
            return hh + a["x"].astype(np.float64)
        if dtype != "f32":
            tol = "bf16"  # three roundings: compare at the loosest storage bound
            case.note(tolerance="bf16")
    fn = compile_cpu(case, g, {})
    floats = [n for n, a in arrays.items() if a is not None and n != "ids"]
    inject(case, arrays, floats, values)
    got = fn(*arrays.values())
    case.phase = "reference"
    with np.errstate(all="ignore"):
        try:
            want = f(arrays)
        except IndexError as e:  # ids outside the table, yet the call returned
            raise Failure("mismatch", f"the compiled call accepted ids the reference rejects: {e}")
    compare("out", got, want, tol)


GRAPH_CASES = [case_dma_attention, case_dma_attention, case_dma_attention, case_dma_layer,
               case_dma_layer, case_ssd, case_ssd, case_cdmoe, case_rope, case_rms_norm,
               case_upstream, case_upstream]


def run_graph(case, hostile=False):
    make = GRAPH_CASES[int(case.rng.integers(len(GRAPH_CASES)))]
    case.phase = "compiler"
    make(case, hostile)
    return "matched"


# ---------------------------------------------------------------- options cases

GPU_FORMAT_CHOICES = ["isa", "isa", "bin", "xyz", "fatbin", "", "ISA", "assembly"]
GPU_CHIP_CHOICES = ["sm_90a", "sm_90a", "sm_90", "sm_80", "sm_86", "sm_89", "sm_75", "sm_70",
                    "sm_50", "sm_999", "banana", "sm_90a "]


def run_options(case):
    """A DMA graph (the op the pipeline options tile) compiled with random CPU
    options (checked by g.compile, or raw text straight to the C++ pipeline) or
    for the GPU with random chips, formats and kernel options."""
    case.phase = "compiler"
    mode = case.choice(["py"] * 5 + ["raw"] * 4 + ["gpu"])
    case.note(mode=mode)
    B, Hk = 1, case.randint(1, 2)
    H, D = Hk * case.choice([1, 2]), case.choice([4, 8, 16]) if mode != "gpu" else 64
    L = case.randint(1, 40) if mode != "gpu" else case.choice([64, 128])
    dtype = case.choice(FLOATS) if mode != "gpu" else case.choice(["bf16", "f16"])
    attrs = {"causal": case.chance(0.7), "window": case.randint(1, L + 2),
             "scope": case.choice(["prefix", "global"])}
    case.note(dtype=dtype, shape=(B, L, H, Hk, D), attrs=attrs)
    g = wm.Graph("dma")
    q, k, v = (g.input((B, L, H if n == "q" else Hk, D), dtype, name=n) for n in "qkv")
    bias = g.input((B, Hk, L), "f32", name="bias")
    g.output(*g.dma_attention(q, k, v, bias, **attrs))
    if mode == "gpu":
        opts = {}
        if case.chance(0.8):
            opts["chip"] = case.choice(GPU_CHIP_CHOICES)
        if case.chance(0.5):
            opts["format"] = case.choice(GPU_FORMAT_CHOICES)
        for key, values in (("mma_warps", [0, 4, 8, 3, -1, 2 ** 40]),
                            ("mma_warp_rows", [0, 16, 32, 8, -1]),
                            ("tensor_cores", [True, False]), ("block_select", [True, False]),
                            ("wgmma", [True, False]), ("block_k", [64, 32, 0, -1, 2 ** 40]),
                            ("threads_per_block", [128, 256, 0, -1, 2048])):
            if case.chance(0.2):
                opts[key] = case.choice(values)
        if opts.get("format") == "bin" and not shutil.which("ptxas"):
            opts["format"] = "isa"
        target = opts.pop("chip", "sm_90a")
        case.note(target=target, gpu_options=opts)
        directory = tempfile.mkdtemp(prefix="wm-fuzz-")
        try:
            g.compile(target, path=directory, **opts)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return "accepted"
    if mode == "raw":
        fn = compile_cpu(case, g, None, raw=case.choice(RAW_CPU_OPTIONS))
    else:
        fn = compile_cpu(case, g, cpu_options(case, hostile=case.chance(0.4)))
    arrays = [randn(case, (B, L, H if n == "q" else Hk, D), dtype) for n in "qkv"]
    arrays.append(randn(case, (B, Hk, L)))
    out, lse = fn(*arrays)
    case.phase = "reference"
    want_out, want_lse = ref.dma_attention(*arrays, **attrs)
    compare("out", out, want_out, dtype)
    compare("lse", lse, want_lse, side_dtype(dtype))
    return "matched"


# ---------------------------------------------------------------- malformed MLIR

MISSPELLINGS = {"causal": ["casual", "causal_", "Causal"], "window": ["windw", "win"],
                "scope": ["scop"], "scale": ["scael"], "chunk_size": ["chunksize", "chunk"],
                "dt_softplus": ["dt_sofplus"], "top_k": ["topk", "top_K"],
                "rotary_dims": ["rotary_dim"], "eps": ["epsilon"]}
CPU_PASSES = ["", "--verify-roundtrip", "--wm-select-keys", "--wm-to-loops", "--wm-to-cpu",
              "--canonicalize", "--wm-select-keys --wm-tile-dma-attention"]


def _source_graph(case):
    """A random valid graph in tensor form (or entry form for the GPU) as MLIR text."""
    r = case.choice(["dma", "dma", "ssd", "cdmoe", "rope", "norm", "example"])
    if r == "example":
        name = case.choice(["doge_block.mlir", "hybrid_block.mlir", "dma_layer_entry.mlir"])
        with open(os.path.join(ROOT, "examples", name)) as f:
            return f.read(), name == "dma_layer_entry.mlir", name
    g = wm.Graph("f")
    if r == "dma":
        B, L, Hk, D = 1, case.randint(2, 16), case.randint(1, 2), case.choice([4, 8, 64])
        dt = case.choice(FLOATS)
        q, k, v = (g.input((B, L, Hk * (2 if n == "q" else 1), D), dt, name=n) for n in "qkv")
        bias = (g.dma_bias(v, g.input((Hk, Hk * D), dt, name="w"), g.input((Hk,), "f32", name="a"),
                           form=case.choice(["exp", "linear"]))
                if case.chance(0.4) else g.input((B, Hk, L), "f32", name="bias"))
        g.output(*g.dma_attention(q, k, v, bias, causal=case.chance(0.7),
                                  window=case.randint(1, L + 1),
                                  scope=case.choice(["prefix", "global"]),
                                  **({"scale": 0.5} if case.chance(0.3) else {})))
    elif r == "ssd":
        T = case.randint(1, 12)
        ins = [g.input(s, "f32") for s in [(1, T, 2, 2), (1, T, 2), (2,), (1, T, 1, 4), (1, T, 1, 4)]]
        g.output(*g.ssd(*ins, D=g.input((2,), "f32"), chunk_size=case.choice([1, 4, 8]),
                        dt_softplus=case.chance(0.5),
                        dt_limit=(0.0, 1.0) if case.chance(0.3) else None))
    elif r == "cdmoe":
        ins = [g.input(s, "f32") for s in [(2, 4), (2, 4), (2, 4), (4, 2), (4, 4), (4, 4), (4, 4)]]
        g.output(g.cdmoe(*ins, top_k=case.randint(1, 4)))
    elif r == "rope":
        g.output(g.rope(g.input((1, 4, 2, 8), "f32"), g.input((4, 4), "f32"), g.input((4, 4), "f32")))
    else:
        x = g.input((3, 8), case.choice(FLOATS))
        g.output(g.silu(g.rms_norm(x, g.input((8,), x.dtype), eps=1e-5)))
    entry = r == "dma" and case.chance(0.5)
    return (g._entry_with_buffers() if entry else g.to_mlir()), entry, r


def _attr_pattern(name):
    """`name` as an attribute key of an attribute dictionary."""
    return rf"([{{,]\s*){name}(?=\s*(=|,|}}))"


def _on_wm_lines(text, fn):
    """Applies fn to the first line holding a wm op that fn changes."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "wm." in line and not line.lstrip().startswith("//"):
            new = fn(line)
            if new != line:
                lines[i] = new
                return "\n".join(lines)
    return text


def _mutate_known_invalid(case, text):
    """A mutation that makes valid IR invalid: wm-opt must refuse it."""
    wm_lines = "\n".join(l for l in text.split("\n") if "wm." in l and not l.lstrip().startswith("//"))
    kinds = []
    attrs = [a for a in MISSPELLINGS if re.search(_attr_pattern(a), wm_lines)]
    if attrs:
        kinds.append("misspell")
    if re.search(r"window = \d+ : i64", wm_lines):
        kinds.append("window")
    if re.search(r"chunk_size = \d+ : i64", wm_lines):
        kinds.append("chunk")
    types = sorted(set(re.findall(r"tensor<(\d+(?:x\d+)+)x(\w+)>", wm_lines)))
    if types:
        kinds.append("dynamic")
    if not kinds:
        return text, None
    kind = case.choice(kinds)
    if kind == "misspell":
        a = case.choice(attrs)
        wrong = case.choice(MISSPELLINGS[a])
        return _on_wm_lines(text, lambda l: re.sub(_attr_pattern(a), lambda m: m.group(1) + wrong,
                                                   l, count=1)), f"misspelled {a} as {wrong}"
    if kind == "window":
        value = case.choice(["0", "-1", "9223372036854775808", "-9223372036854775808"])
        return _on_wm_lines(text, lambda l: re.sub(r"window = \d+ : i64", f"window = {value} : i64",
                                                   l, count=1)), f"window {value}"
    if kind == "chunk":
        value = case.choice(["0", "3", "-4", "9223372036854775807"])
        return _on_wm_lines(text, lambda l: re.sub(r"chunk_size = \d+ : i64",
                                                   f"chunk_size = {value} : i64", l, count=1)), \
            f"chunk_size {value}"
    # One static extent of a type a wm op uses made dynamic, everywhere it appears.
    dims, elem = case.choice(types)
    parts = dims.split("x")
    parts[case.randint(0, len(parts) - 1)] = "?"
    old, new = f"tensor<{dims}x{elem}>", f"tensor<{'x'.join(parts)}x{elem}>"
    return text.replace(old, new).replace(f"memref<{dims}x{elem}>",
                                          f"memref<{'x'.join(parts)}x{elem}>"), f"dynamic {new}"


def _mutate_random(case, text):
    """Random damage: any answer but a crash or a hang is fine."""
    lines = text.split("\n")
    kind = case.choice(["delete_line", "dup_line", "number", "type", "truncate", "token",
                        "swap_ssa", "garbage", "attr_value"])
    py = case.py
    if kind == "delete_line" and len(lines) > 2:
        del lines[py.randrange(1, len(lines) - 1)]
        text = "\n".join(lines)
    elif kind == "dup_line" and len(lines) > 2:
        i = py.randrange(1, len(lines) - 1)
        lines.insert(i, lines[i])
        text = "\n".join(lines)
    elif kind == "number":
        nums = list(re.finditer(r"(?<![%\w#])\d+", text))
        if nums:
            m = py.choice(nums)
            new = str(py.choice([0, 1, -1, 3, 63, 65, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 63 - 1,
                                 2 ** 63, 2 ** 64, 10 ** 30]))
            text = text[:m.start()] + new + text[m.end():]
    elif kind == "type":
        hits = list(re.finditer(r"\b(f32|bf16|f16|i64|i32|index)\b", text))
        if hits:
            m = py.choice(hits)
            text = text[:m.start()] + py.choice(["f32", "bf16", "f16", "i32", "i64", "f64", "i1",
                                                 "index", "f8E4M3FN"]) + text[m.end():]
    elif kind == "truncate":
        text = text[:py.randrange(len(text))]
    elif kind == "token":
        toks = list(re.finditer(r"[%\w.#<>:,()\[\]{}=-]+", text))
        if toks:
            m = py.choice(toks)
            text = text[:m.start()] + text[m.end():] if py.random() < 0.5 else (
                text[:m.start()] + m.group() + " " + m.group() + text[m.end():])
    elif kind == "swap_ssa":
        names = sorted(set(re.findall(r"%[\w]+", text)))
        if len(names) > 1:
            a, b = py.sample(names, 2)
            text = text.replace(a, "%__tmp__").replace(b, a).replace("%__tmp__", b)
    elif kind == "garbage":
        i = py.randrange(len(text))
        junk = "".join(py.choice("{}()<>[]%@#^:=,x?0123456789 \"\\\n\x00\xff") for _ in range(py.randint(1, 6)))
        text = text[:i] + junk + text[i:]
    else:
        ints = ["0x7FC00000 : f32", "1.5 : f32", '"8"', "unit", "-1 : i32", "4 : i8", "[4]"]
        floats = ["0x7FC00000", "0xFF800000", "0x7F800000", "-1.0", "0.0"]
        text = re.sub(r"(window|chunk_size|top_k|rotary_dims) = -?\d+ : i64",
                      lambda m: m.group(1) + " = " + py.choice(ints), text, count=1)
        text = re.sub(r"(scale|eps) = [^,}]+ : f32",
                      lambda m: m.group(1) + " = " + py.choice(floats) + " : f32", text, count=1)
    return text, kind


def _nvvm_pass(case):
    parts = [f"chip={case.choice(GPU_CHIP_CHOICES).strip()}"]
    if case.chance(0.7):
        parts.append(f"format={case.choice(['isa', 'isa', 'xyz', 'fatbin', 'bogus', 'offloading'])}")
    for key, values in (("block-k", ["64", "32", "0", "-1", "1099511627776"]),
                        ("mma-warps", ["0", "4", "8", "3", "-1"]),
                        ("mma-warp-rows", ["0", "16", "32", "7"]),
                        ("threads-per-block", ["128", "0", "-1", "4096"]),
                        ("tensor-cores", ["true", "false"]), ("wgmma", ["true", "false"])):
        if case.chance(0.15):
            parts.append(f"{key}={case.choice(values)}")
    return f"--wm-to-nvvm={' '.join(parts)}"


def _cpu_pass_with_options(case):
    name = case.choice(["--wm-to-loops", "--wm-to-cpu"])
    parts = []
    for key in ("block-q", "block-k"):
        if case.chance(0.6):
            parts.append(f"{key}={case.choice(['1', '4', '7', '64', '0', '-1', '4097', '1099511627776', 'x'])}")
    for key in ("skip-blocks", "compact-keys"):
        if case.chance(0.4):
            parts.append(f"{key}={case.choice(['true', 'false', 'maybe'])}")
    return f"{name}={' '.join(parts)}" if parts else name


def _invalid_option(passes):
    """The first option of the issue's kinds that must be refused (block sizes
    outside [1, MAX_BLOCK_SIZE], unknown chips and formats, unparsable values)."""
    for p in passes:
        if "=" not in p:
            continue
        name, text = p.split("=", 1)
        for kv in text.split():
            key, _, value = kv.partition("=")
            if key in ("block-q", "block-k"):
                if not re.fullmatch(r"\d+", value) or not 1 <= int(value) <= wm.graph.MAX_BLOCK_SIZE:
                    return kv
            elif key in ("skip-blocks", "compact-keys", "tensor-cores", "wgmma"):
                if value not in ("true", "false", "1", "0"):
                    return kv
            elif key == "chip" and value not in wm.graph.GPU_CHIPS:
                return kv
            elif key == "format" and value not in wm.graph.GPU_FORMATS + ("fatbin", "offloading"):
                return kv
    return None


# How LLVM's option parser refuses a value (a clean diagnostic without "error:").
OPTION_ERROR = re.compile(r"for the -+[\w-]+ option: |<Pass-Options-Parser>: ")


def notes_in(err):
    """The notes a case wrote to stderr (see Case.note), merged."""
    notes = {}
    for line in err.splitlines():
        if line.startswith(NOTE_MARKER):
            try:
                notes.update(json.loads(line[len(NOTE_MARKER):]))
            except ValueError:
                pass
    return notes


def summary(err, limit=600):
    """The lines of a diagnostic output that say what happened (errors, LLVM
    ERROR, assertions), not the stack dump or the IR that follows them."""
    keys = ("error:", "LLVM ERROR", "Assertion", "terminate called", "UNREACHABLE", "free():",
            "corrupted", " option: ", "Options-Parser")
    plain = [l for l in err.splitlines() if not l.startswith(NOTE_MARKER)]
    lines = [l.strip() for l in plain if any(k in l for k in keys)]
    return (" | ".join(lines[:3]) or "\n".join(plain).strip()[:limit])[:limit]


def run_wm_opt(case, text, passes):
    args = [WM_OPT, "-"] + [p for p in passes if p]
    try:
        proc = subprocess.run(args, input=text.encode("utf-8", "surrogateescape"),
                              capture_output=True, timeout=WM_OPT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("hang", f"wm-opt {' '.join(passes)} ran past {WM_OPT_TIMEOUT} s")
    return proc.returncode, proc.stderr.decode("utf-8", "replace")


def run_mlir(case):
    case.phase = "compiler"
    text, entry, source = _source_graph(case)
    if entry and case.chance(0.25):
        passes = [_nvvm_pass(case)]
    elif case.chance(0.3):
        passes = [_cpu_pass_with_options(case)]
    else:
        passes = case.choice(CPU_PASSES).split(" ")
    mode = case.choice(["invalid", "random", "random", "none"])
    expect = None
    if mode == "invalid":
        text, expect = _mutate_known_invalid(case, text)
    elif mode == "random":
        for _ in range(case.randint(1, 2)):
            text, kind = _mutate_random(case, text)
        case.note(mutation=kind)
    bad_option = _invalid_option(passes)
    if bad_option and mode != "random":
        expect = expect or f"invalid option {bad_option}"
    case.note(source=source, passes=passes, mode=mode, expect=expect)
    case.text = text
    rc, err = run_wm_opt(case, text, passes)
    tail = summary(err)
    if rc < 0:
        raise Failure("crash", f"wm-opt killed by signal {-rc}: {tail}")
    if any(m in err for m in CRASH_MARKERS):
        raise Failure("crash", f"wm-opt exit {rc} with a crash report: {tail}")
    # The dialect takes dynamic extents and most lowerings do too: such IR
    # may pass, and where a lowering needs static shapes it must say so.
    may_pass = bool(expect) and expect.startswith("dynamic") and not bad_option
    if rc == 0:
        if "error:" in err:
            raise Failure("unclean", f"wm-opt printed an error but exited 0: {tail}")
        if expect and not may_pass:
            raise Failure("mismatch", f"wm-opt accepted invalid input ({expect})")
        return "accepted"
    if "error:" not in err and not OPTION_ERROR.search(err):
        raise Failure("unclean", f"wm-opt exit {rc} without an error: diagnostic: {tail}")
    if expect and expect.startswith("dynamic") and "failed to legalize" in err:
        raise Failure("unclean", f"dynamic shapes fail in lowering without saying why: {tail}")
    return "diagnostic"


# ---------------------------------------------------------------- the issue's own cases

def _compile_small_dma_for_gpu(target, **options):
    """Compiles a small bf16 DMA layer for `target` into a scratch directory."""
    g = wm.Graph("dma")
    q = g.input((1, 64, 2, 64), "bf16")
    k = g.input((1, 64, 1, 64), "bf16")
    g.output(*g.dma_attention(q, k, k, g.input((1, 1, 64), "f32"), causal=True, window=16))
    directory = tempfile.mkdtemp(prefix="wm-fuzz-")
    try:
        g.compile(target, path=directory, **options)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _issue_graph_case(case, name):
    """The numbered cases of issue 10 that go through the Python API."""
    rng = np.random.default_rng(10)
    if name.startswith("1-ssd-chunk-"):
        chunk = int(name.rsplit("-", 1)[1])
        B, T, H, P, G, N = 1, 32, 2, 4, 1, 4
        arrays = [rng.standard_normal(s).astype(np.float32) for s in
                  [(B, T, H, P), (B, T, H), (H,), (B, T, G, N), (B, T, G, N)]]
        arrays[2] = -np.abs(arrays[2])
        g = wm.Graph("ssd")
        g.output(*g.ssd(*(g.input(a.shape, "f32") for a in arrays), chunk_size=chunk))
        y, state = g.compile("cpu")(*arrays)
        case.phase = "reference"
        want_y, want_state = ref.ssd(*arrays)
        compare("y", y, want_y, "f32")
        compare("state", state, want_state, "f32")
        return "matched"
    if name.startswith("2-block-"):
        opt = {"2-block-q": "block_q", "2-block-k": "block_k"}[name[:9]]
        value = -1 if name.endswith("neg") else 2 ** 40
        g = wm.Graph("dma")
        q = g.input((1, 8, 1, 4), "f32")
        g.output(*g.dma_attention(q, q, q, g.input((1, 1, 8), "f32"), causal=True, window=2))
        fn = g.compile("cpu", **{opt: value})
        fn(*[np.ones(s, np.float32) for s in [(1, 8, 1, 4)] * 3 + [(1, 1, 8)]])
        raise Failure("mismatch", f"{opt}={value} compiled and ran")
    if name.startswith("4-chip-"):
        chip = name[len("4-chip-"):]
        _compile_small_dma_for_gpu(chip if chip.startswith("sm_") else "sm_90a", chip=chip)
        raise Failure("mismatch", f"chip {chip} compiled")
    if name in ("5-nan-bias", "5-nan-bias-noskip", "5-nan-bias-block4", "6-nan-q", "6-nan-k",
                "6-inf-bias"):
        B, L, H, Hk, D, W = 1, 64, 4, 2, 16, 8
        arrays = [rng.standard_normal(s).astype(np.float32) for s in
                  [(B, L, H, D), (B, L, Hk, D), (B, L, Hk, D), (B, Hk, L)]]
        where = {"6-nan-q": (0, (0, 30, 1, 3)), "6-nan-k": (1, (0, 30, 1, 3)),
                 "6-inf-bias": (3, (0, 1, 30))}.get(name, (3, (0, 1, 30)))
        arrays[where[0]][where[1]] = np.inf if name == "6-inf-bias" else np.nan
        options = {"5-nan-bias-noskip": {"skip_blocks": False},
                   "5-nan-bias-block4": {"block_q": 4, "block_k": 4}}.get(name, {})
        g = wm.Graph("dma")
        ins = [g.input(a.shape, "f32") for a in arrays]
        g.output(*g.dma_attention(*ins, causal=True, window=W))
        out, lse = g.compile("cpu", **options)(*arrays)
        case.phase = "reference"
        want_out, want_lse = ref.dma_attention(*arrays, causal=True, window=W)
        compare("out", out, want_out, "f32")
        compare("lse", lse, want_lse, "f32")
        return "matched"
    if name == "8-format-xyz":
        _compile_small_dma_for_gpu("sm_90a", format="xyz")
        raise Failure("mismatch", "format=xyz compiled")
    if name in ("9-window-2**63", "9-scale-nan", "9-scale-inf", "9-dt-limit-nan"):
        g = wm.Graph()
        q = g.input((1, 8, 1, 4), "f32")
        try:
            if name == "9-window-2**63":
                g.dma_attention(q, q, q, g.input((1, 1, 8), "f32"), window=2 ** 63)
            elif name.startswith("9-scale"):
                g.dma_attention(q, q, q, g.input((1, 1, 8), "f32"),
                                scale=float(name.rsplit("-", 1)[1]))
            else:
                x = g.input((1, 8, 2, 4), "f32")
                g.ssd(x, g.input((1, 8, 2), "f32"), g.input((2,), "f32"),
                      g.input((1, 8, 1, 4), "f32"), g.input((1, 8, 1, 4), "f32"),
                      dt_limit=(float("nan"), 1.0))
        except wm.GraphError as e:
            message = str(e)
            if "parse" in message or "-9223372036854775808" in message:
                raise Failure("unclean", f"misleading message: {message}")
            raise
        raise Failure("mismatch", f"{name} accepted")
    if name == "9-read-only-input":
        g = wm.Graph()
        g.output(g.silu(g.input((4, 8), "f32", name="x")))
        a = np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8)
        a.flags.writeable = False
        got = g.compile()(a)
        case.phase = "reference"
        compare("out", got, ref.silu(a), "f32")
        return "matched"
    if name == "cdmoe-top-k-2**16":
        N, K = 2 ** 16, 2 ** 8
        shapes = [(1, 1), (1, 1), (1, 1), (1, 1), (2 * K, 1), (N, 1), (N, 1)]
        g = wm.Graph("moe")
        g.output(g.cdmoe(*(g.input(s, "f32") for s in shapes), top_k=N))
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        got = g.compile("cpu")(*arrays)
        case.phase = "reference"
        compare("y", got, ref.cdmoe(*arrays, N), "f32")
        return "matched"
    raise KeyError(name)


ISSUE_WM_OPT = {
    "2-wm-opt-block-q": ("graph", ["--wm-to-cpu=block-q=1099511627776"]),
    "2-wm-opt-block-k-neg": ("graph", ["--wm-to-cpu=block-k=-1"]),
    "4-wm-opt-sm_75": ("entry", ["--wm-to-nvvm=chip=sm_75"]),
    "4-wm-opt-sm_50": ("entry", ["--wm-to-nvvm=chip=sm_50"]),
    "4-wm-opt-sm_999": ("entry", ["--wm-to-nvvm=chip=sm_999"]),
    "4-wm-opt-banana": ("entry", ["--wm-to-nvvm=chip=banana"]),
    "7-casual": ("casual", ["--verify-roundtrip"]),
    "7-casual-cpu": ("casual", ["--wm-to-cpu"]),
    "8-wm-opt-format-xyz": ("entry", ["--wm-to-nvvm=chip=sm_90a format=xyz"]),
    "9-window-2**63-mlir": ("window", []),
    "9-dynamic-shapes": ("dynamic", ["--wm-to-cpu"]),
}

ISSUE_CASES = ([f"1-ssd-chunk-{2 ** e}" for e in (16, 17, 20, 30, 62)]
               + ["2-block-q", "2-block-k", "2-block-q-neg", "2-block-k-neg"]
               + [f"4-chip-{c}" for c in ("sm_75", "sm_50", "sm_60", "sm_70", "sm_999", "banana")]
               + ["5-nan-bias", "5-nan-bias-noskip", "5-nan-bias-block4", "6-nan-q", "6-nan-k",
                  "6-inf-bias", "8-format-xyz", "9-window-2**63", "9-scale-nan", "9-scale-inf",
                  "9-dt-limit-nan", "9-read-only-input", "cdmoe-top-k-2**16"]
               + sorted(ISSUE_WM_OPT))


def run_issue(case):
    """seed indexes ISSUE_CASES."""
    name = ISSUE_CASES[case.seed % len(ISSUE_CASES)]
    case.note(issue_case=name)
    case.phase = "compiler"
    if name not in ISSUE_WM_OPT:
        return _issue_graph_case(case, name)
    kind, passes = ISSUE_WM_OPT[name]
    g = wm.Graph("dma")
    q = g.input((1, 8, 1, 4), "f32", name="q")
    g.output(*g.dma_attention(q, q, q, g.input((1, 1, 8), "f32", name="bias"), causal=True,
                              window=4))
    text = g.to_mlir()
    if kind == "entry":
        with open(os.path.join(ROOT, "examples", "dma_layer_entry.mlir")) as f:
            text = f.read()
    elif kind == "casual":
        text = text.replace("{causal, window", "{casual, window")
    elif kind == "window":
        text = text.replace("window = 4 : i64", "window = 9223372036854775808 : i64")
    elif kind == "dynamic":
        text = text.replace("tensor<1x8x1x4xf32>", "tensor<1x?x1x4xf32>")
    case.note(passes=passes)
    rc, err = run_wm_opt(case, text, passes)
    tail = summary(err)
    if rc < 0 or any(m in err for m in CRASH_MARKERS):
        raise Failure("crash", f"wm-opt exit {rc}: {tail}")
    if rc == 0:
        raise Failure("mismatch" if "error:" not in err else "unclean",
                      f"wm-opt exited 0 on {name}: {tail}")
    if "error:" not in err:
        raise Failure("unclean", f"wm-opt exit {rc} without an error: line: {tail}")
    if kind == "dynamic" and "failed to legalize" in err:
        raise Failure("unclean", f"dynamic shapes fail in lowering: {tail}")
    if kind == "window" and "-9223372036854775808" in err and "2^63" not in err:
        raise Failure("unclean", f"window 2**63 reported as negative: {tail}")
    if kind == "casual" and "causal" not in err:
        raise Failure("unclean", f"no 'did you mean causal' hint: {tail}")
    return "diagnostic"


# ---------------------------------------------------------------- dispatch

CATEGORIES = {
    "graphs": lambda case: run_graph(case, hostile=False),
    "hostile_graphs": lambda case: run_graph(case, hostile=True),
    "options": run_options,
    "mlir": run_mlir,
    "issue": run_issue,
}


def run_case(category, seed):
    """(outcome, detail, notes) of one case; never raises."""
    case = Case(category, seed)
    case.phase = "setup"
    try:
        with np.errstate(all="ignore"):
            outcome = CATEGORIES[category](case)
        return outcome, "", case.notes
    except Failure as f:
        return f.outcome, f.detail, case.notes
    except CLEAN_ERRORS as e:
        if case.phase == "reference":
            return ("mismatch", f"the compiler accepted what the reference rejects: "
                    f"{type(e).__name__}: {e}", case.notes)
        message = str(e).strip()
        if not message and not isinstance(e, MemoryError):
            return "unclean", f"{type(e).__name__} without a message", case.notes
        return "diagnostic", f"{type(e).__name__}: {message[:300]}", case.notes
    except Exception as e:  # noqa: BLE001 - everything else is unclean
        import traceback
        return ("unclean", f"{case.phase}: {type(e).__name__}: {e}\n"
                f"{traceback.format_exc()[-1500:]}", case.notes)
