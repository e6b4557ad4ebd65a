"""WM's DMA kernels as torch autograd functions.

    import torch, wm.torch as wmt
    out = wmt.dma_attention(q, k, v, bias, window=2048, causal=True)
    loss = out.float().square().mean()
    loss.backward()            # q.grad, k.grad, v.grad, bias.grad

q (B, L, H, D), k and v (B, Lk, Hk, D) in bf16/f16 on one CUDA device,
bias (B, Hk, Lk) f32 (from `dma_bias` to train W_dt and A). Each call shape,
dtype and option set compiles once, on first use, into an artifact cached on
disk (``$WM_CACHE_DIR``, default ``~/.cache/wm``). The cache key hashes the
request (op, shapes, dtypes, attributes: what the IR is built from), the
pipeline options and the compiler version (a hash of the compiler
extension). Where the compiler is absent (a runtime-only build), the cache
must be filled beforehand with `prepare_dma_attention` / `prepare_dma_bias`
on a machine that has it; its version is then read from the cache's
COMPILER file. Kernels run on torch's current stream; with no gradient
needed the same call is inference only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from typing import Dict, Optional, Tuple

from . import gpu

try:
    import torch
except ImportError:  # where the compiler is, torch may be absent: prepare_* still run
    torch = None

CHIP = os.environ.get("WM_CHIP", "sm_90a")


def _dtype_name(dtype) -> str:
    """'bf16' for torch.bfloat16 or 'bf16', and so on."""
    if isinstance(dtype, str):
        return dtype
    return {torch.bfloat16: "bf16", torch.float16: "f16", torch.float32: "f32"}[dtype]
_ARTIFACTS: Dict[str, gpu.CompiledArtifact] = {}


def cache_dir() -> str:
    return os.environ.get("WM_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "wm"))


def compiler_version() -> Optional[str]:
    """A hash of the compiler extension, or the cache's record of the one that
    filled it (None if neither exists)."""
    try:
        from . import _wm
        with open(_wm.__file__, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except ImportError:
        path = os.path.join(cache_dir(), "COMPILER")
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
        return None


def _artifact(request: str, build, **options) -> gpu.CompiledArtifact:
    """The cached artifact of `request`, compiling `build()` (a wm.Graph, with
    compile `options`, which the request names) into the cache first if it is
    missing."""
    version = compiler_version()
    if version is None:
        raise RuntimeError("wm.torch: no compiler here and no cache filled by one: run "
                           "wm.torch.prepare_* where WM is built, and copy "
                           f"{cache_dir()} here")
    key = hashlib.sha256(f"{request}\n{CHIP}\n{version}".encode()).hexdigest()[:32]
    if key in _ARTIFACTS:
        return _ARTIFACTS[key]
    path = os.path.join(cache_dir(), key)
    if not os.path.exists(os.path.join(path, gpu.MANIFEST_FILE)):
        try:
            from . import _wm  # noqa: F401
        except ImportError:
            raise RuntimeError(f"wm.torch: {request!r} is not in the cache {cache_dir()} "
                               "and the compiler is absent here") from None
        os.makedirs(cache_dir(), exist_ok=True)
        with open(os.path.join(cache_dir(), "COMPILER"), "w") as f:
            f.write(version + "\n")
        graph = build()
        fresh = tempfile.mkdtemp(prefix="wm-", dir=cache_dir())
        graph.compile(CHIP, path=fresh, **options)
        with open(os.path.join(fresh, "ir.mlir"), "w") as f:
            f.write(graph.to_mlir())
        try:
            os.rename(fresh, path)  # atomic: concurrent fills keep one
        except OSError:
            shutil.rmtree(fresh, ignore_errors=True)
    _ARTIFACTS[key] = gpu.CompiledArtifact(path)
    return _ARTIFACTS[key]


def _attention_graphs(qs, ks, bs, dtype, window, causal, scope, scale):
    """(request, forward graph builder, backward graph builder). forward(True)
    is the training forward: its output is f32, which the backward reads for
    Dr = dO . O instead of a pass over the kept keys."""
    import wm
    Lq, Lk = qs[1], ks[1]
    W = window if window is not None else Lk
    request = (f"dma_attention q={qs} k={ks} bias={bs} dtype={dtype} window={window} "
               f"causal={causal} scope={scope} scale={scale}")

    def inputs(g):
        return (g.input(qs, dtype, name="q"), g.input(ks, dtype, name="k"),
                g.input(ks, dtype, name="v"), g.input(bs, "f32", name="bias"))

    def forward(training=False):
        g = wm.Graph("dma_forward")
        q, k, v, bias = inputs(g)
        tau = g.dma_select(bias, query_len=Lq, window=W, causal=causal, scope=scope)
        out, lse = g.dma_attention(q, k, v, bias, causal=causal, window=window,
                                   scope=scope, scale=scale, f32_output=training)
        g.output(out, lse, tau)
        return g

    def backward():
        g = wm.Graph("dma_backward")
        q, k, v, bias = inputs(g)
        tau = g.input((bs[0], bs[1], Lq), "f32", name="tau")
        out = g.input(qs, "f32", name="out")
        lse = g.input((qs[0], qs[2], Lq), "f32", name="lse")
        dout = g.input(qs, dtype, name="dout")
        g.output(*g.dma_attention_grad(q, k, v, bias, tau, out, lse, dout,
                                       causal=causal, scale=scale))
        return g

    return request, forward, backward


def prepare_dma_attention(q_shape, k_shape, dtype="bf16", *, window=None,
                          causal=False, scope="prefix", scale=None,
                          deterministic=False) -> None:
    """Fills the cache for `dma_attention` on these shapes (needs the compiler)."""
    B, Lk, Hk = k_shape[0], k_shape[1], k_shape[2]
    request, forward, backward = _attention_graphs(
        tuple(q_shape), tuple(k_shape), (B, Hk, Lk), _dtype_name(dtype), window, causal, scope,
        scale)
    _artifact(request + " fwd", forward)
    _artifact(request + " train", lambda: forward(True))
    _artifact(_backward_request(request, deterministic), backward,
              deterministic=deterministic)


def _backward_request(request, deterministic):
    return f"{request} deterministic={deterministic} bwd"


_Function = torch.autograd.Function if torch is not None else object


class _DmaAttention(_Function):
    @staticmethod
    def forward(ctx, q, k, v, bias, window, causal, scope, scale, deterministic):
        if q.dtype not in (torch.bfloat16, torch.float16) or k.dtype != q.dtype or v.dtype != q.dtype:
            raise TypeError(f"wm.torch.dma_attention: q, k, v must share bf16 or f16, got "
                            f"{q.dtype}, {k.dtype}, {v.dtype}")
        request, forward, backward = _attention_graphs(
            tuple(q.shape), tuple(k.shape), tuple(bias.shape), _dtype_name(q.dtype),
            window, causal, scope, scale)
        args = (q.contiguous(), k.contiguous(), v.contiguous(), bias.float().contiguous())
        if not any(ctx.needs_input_grad[:4]):
            out, lse, _ = _artifact(request + " fwd", forward)(*args)
            ctx.mark_non_differentiable(lse)
            return out, lse
        out32, lse, tau = _artifact(request + " train", lambda: forward(True))(*args)
        ctx.save_for_backward(*args, tau, out32, lse)
        ctx.backward_artifact = (_backward_request(request, deterministic), backward)
        ctx.deterministic = deterministic
        ctx.bias_dtype = bias.dtype
        ctx.mark_non_differentiable(lse)
        return out32.to(q.dtype), lse

    @staticmethod
    def backward(ctx, dout, _dlse):
        q, k, v, bias, tau, out, lse = ctx.saved_tensors
        dq, dk, dv, dbias = _artifact(*ctx.backward_artifact,
                                      deterministic=ctx.deterministic)(
            q, k, v, bias, tau, out, lse, dout.contiguous())
        return dq, dk, dv, dbias.to(ctx.bias_dtype), None, None, None, None, None


def dma_attention(q, k, v, bias, *, window: Optional[int] = None, causal: bool = False,
                  scope: str = "prefix", scale: Optional[float] = None,
                  return_lse: bool = False, deterministic: bool = False):
    """Dynamic mask attention (spec 1.2-1.3), differentiable in q, k, v and
    bias; out (B, L, H, D), and lse (B, H, L) with return_lse. The backward
    sums dK, dV and dBias with f32 atomics (bits vary between runs);
    deterministic=True takes the deterministic row programs (slow)."""
    out, lse = _DmaAttention.apply(q, k, v, bias, window, causal, scope, scale,
                                   deterministic)
    return (out, lse) if return_lse else out


def _bias_graphs(vs, dtype, form, with_dt_bias):
    import wm
    B, Lk, Hk, D = vs
    request = f"dma_bias values={vs} dtype={dtype} form={form} dt_bias={with_dt_bias}"

    def inputs(g):
        values = g.input(vs, dtype, name="values")
        w = g.input((Hk, Hk * D), dtype, name="w_dt")
        a = g.input((Hk,), "f32", name="a")
        b = g.input((Hk,), "f32", name="dt_bias") if with_dt_bias else None
        return values, w, a, b

    def forward():
        g = wm.Graph("dma_bias_forward")
        values, w, a, b = inputs(g)
        g.output(g.dma_bias(values, w, a, dt_bias=b, form=form))
        return g

    def backward():
        g = wm.Graph("dma_bias_backward")
        values, w, a, b = inputs(g)
        grad = g.input((B, Hk, Lk), "f32", name="grad_bias")
        g.output(*g.dma_bias_grad(values, w, a, grad, dt_bias=b, form=form))
        return g

    return request, forward, backward


def prepare_dma_bias(values_shape, dtype="bf16", *, form="linear",
                     dt_bias=False) -> None:
    """Fills the cache for `dma_bias` on these shapes (needs the compiler)."""
    request, forward, backward = _bias_graphs(tuple(values_shape), _dtype_name(dtype), form,
                                              dt_bias)
    _artifact(request + " fwd", forward)
    _artifact(request + " bwd", backward)


class _DmaBias(_Function):
    @staticmethod
    def forward(ctx, values, w_dt, a, dt_bias, form):
        request, forward, backward = _bias_graphs(
            tuple(values.shape), _dtype_name(values.dtype), form, dt_bias is not None)
        args = [values.contiguous(), w_dt.contiguous(), a.float().contiguous()]
        if dt_bias is not None:
            args.append(dt_bias.float().contiguous())
        ctx.save_for_backward(*args)
        ctx.backward_artifact = (request + " bwd", backward)
        ctx.dtypes = (a.dtype, None if dt_bias is None else dt_bias.dtype)
        return _artifact(request + " fwd", forward)(*args)

    @staticmethod
    def backward(ctx, grad_bias):
        args = ctx.saved_tensors
        grads = _artifact(*ctx.backward_artifact)(*args, grad_bias.float().contiguous())
        dvalues, dw, da = grads[:3]
        ddt = grads[3].to(ctx.dtypes[1]) if len(grads) > 3 else None
        return dvalues, dw, da.to(ctx.dtypes[0]), ddt, None


def dma_bias(values, w_dt, a, dt_bias=None, *, form: str = "linear"):
    """The DMA bias from the values (spec 1.1), (B, Hk, Lk) f32, differentiable
    in values, w_dt, a and dt_bias."""
    return _DmaBias.apply(values, w_dt, a, dt_bias, form)
