"""Gradients of DMA (spec 1.4): wm.dma_attention_grad and wm.dma_bias_grad on
the CPU, against a numpy gradient written from the spec and against central
finite differences of the float64 forward on tiny shapes."""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import rel_error, storage

# f32 gradients vs the float64 reference; bf16 ones (inputs, out and dout
# rounded to bf16, gradients stored in bf16) as the GPU suite will take them.
TOLERANCE = {"f32": 1e-5, "bf16": 2e-2, "f16": 5e-3}


def attention_grad_graph(B, Lq, Lk, H, Hk, D, dtype, window, causal, scope,
                         f32_output=False):
    g = wm.Graph("dma_grad")
    q = g.input((B, Lq, H, D), dtype, name="q")
    k = g.input((B, Lk, Hk, D), dtype, name="k")
    v = g.input((B, Lk, Hk, D), dtype, name="v")
    bias = g.input((B, Hk, Lk), "f32", name="bias")
    dout = g.input((B, Lq, H, D), dtype, name="dout")
    tau = g.dma_select(bias, query_len=Lq, window=window, causal=causal, scope=scope)
    out, lse = g.dma_attention(q, k, v, bias, causal=causal, window=window, scope=scope,
                               f32_output=f32_output)
    g.output(*g.dma_attention_grad(q, k, v, bias, tau, out, lse, dout, causal=causal))
    return g


def inputs(B, Lq, Lk, H, Hk, D, dtype, seed):
    rng = np.random.default_rng(seed)
    q, k, v, dout = (storage(rng.standard_normal(s), dtype) for s in
                     [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D), (B, Lq, H, D)])
    bias = rng.standard_normal((B, Hk, Lk)).astype(np.float32)
    return q, k, v, bias, dout


def check_attention_grad(B, Lq, Lk, H, Hk, D, dtype="f32", window=16, causal=True,
                         scope="prefix", seed=0, gpu_kernels=False, f32_output=False,
                         **options):
    q, k, v, bias, dout = inputs(B, Lq, Lk, H, Hk, D, dtype, seed)
    fn = attention_grad_graph(B, Lq, Lk, H, Hk, D, dtype, window, causal, scope,
                              f32_output).compile(
        "cpu", gpu_kernels=gpu_kernels, **options)
    got = fn(q, k, v, bias, dout)
    want = ref.dma_attention_grad(q, k, v, bias, dout, causal=causal, window=window,
                                  scope=scope)
    for name, x, y in zip(("dq", "dk", "dv", "dbias"), got, want):
        x = np.asarray(x, np.float32)
        assert not np.isnan(x).any(), name
        err = rel_error(x, y)
        assert err <= TOLERANCE[dtype], f"{name} relative error {err:.3e}"


# (B, Lq, Lk, H, Hk, D, window, causal, scope)
CASES = {
    "gqa_causal": (1, 40, 40, 4, 2, 16, 8, True, "prefix"),
    "mqa_causal": (2, 33, 33, 4, 1, 8, 5, True, "prefix"),
    "noncausal": (1, 24, 31, 2, 2, 16, 7, False, "prefix"),
    "global": (1, 30, 30, 2, 1, 8, 6, True, "global"),
    "w1": (1, 20, 20, 2, 2, 8, 1, True, "prefix"),
    "w_ge_l": (1, 25, 25, 2, 1, 16, 64, True, "prefix"),
    "chunk": (1, 12, 40, 4, 2, 8, 9, True, "prefix"),
}


# gpu_kernels: the row programs convert-wm-to-gpu launches on the H200, as loops.
# f32_output: the training forward's f32 O, from which Dr = dO . O.
@pytest.mark.parametrize("f32_output", [False, True], ids=["out16", "out32"])
@pytest.mark.parametrize("gpu_kernels", [False, True])
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_attention_grad_vs_numpy(case, dtype, gpu_kernels, f32_output):
    if f32_output and dtype == "f32":
        pytest.skip("an f32 output is the f32 storage itself")
    check_attention_grad(*CASES[case][:6], dtype=dtype, window=CASES[case][6],
                         causal=CASES[case][7], scope=CASES[case][8],
                         gpu_kernels=gpu_kernels, f32_output=f32_output)


# The tensor-core backward (16-bit, D a multiple of 32 up to 128): blocks of
# 64 query rows over candidate tiles of 64 keys; several blocks and tiles,
# a partial last block, GQA/MQA sums into dK/dV and dBias, both scopes.
TC_CASES = {
    "gqa_causal": (1, 150, 150, 4, 2, 32, 40, True, "prefix"),
    "mqa_causal": (2, 97, 97, 4, 1, 64, 20, True, "prefix"),
    "noncausal": (1, 70, 131, 2, 2, 32, 33, False, "prefix"),
    "global": (1, 130, 130, 2, 1, 32, 50, True, "global"),
    "w1": (1, 80, 80, 2, 2, 32, 1, True, "prefix"),
    "w_ge_l": (1, 100, 100, 2, 1, 32, 128, True, "prefix"),
    "chunk": (1, 40, 140, 4, 2, 32, 30, True, "prefix"),
    "d96": (1, 90, 90, 2, 2, 96, 24, True, "prefix"),
    "d128": (1, 70, 70, 2, 1, 128, 16, True, "prefix"),
}


# The programs convert-wm-to-gpu launches on the H200 (the tensor-core one,
# and the deterministic row programs), as loops.
# grad_warps=8: blocks and key tiles of 128 (the default from 4096 rows on);
# mma_warps=8: the forward's 8-warp CTAs (its default from 32768 rows on).
@pytest.mark.parametrize("options", [{}, {"grad_warps": 8}, {"deterministic": True},
                                     {"mma_warps": 8}],
                         ids=["auto", "w8", "deterministic", "fwd_w8"])
@pytest.mark.parametrize("f32_output", [False, True], ids=["out16", "out32"])
@pytest.mark.parametrize("dtype", ["bf16", "f16"])
@pytest.mark.parametrize("case", sorted(TC_CASES))
def test_tensor_core_attention_grad_vs_numpy(case, dtype, options, f32_output):
    if options and case not in ("gqa_causal", "noncausal", "global", "chunk"):
        pytest.skip("the other options' shapes are covered by these four")
    c = TC_CASES[case]
    check_attention_grad(*c[:6], dtype=dtype, window=c[6], causal=c[7], scope=c[8],
                         gpu_kernels=True, f32_output=f32_output, **options)


def loss(q, k, v, bias, r, **attrs):
    out, _ = ref.dma_attention(q, k, v, bias, **attrs)
    return float((out * r).sum())


def central_difference(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        up = f()
        x[index] = old - eps
        down = f()
        x[index] = old
        grad[index] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("causal,scope", [(True, "prefix"), (False, "prefix"), (True, "global")])
def test_attention_grad_vs_finite_differences(causal, scope):
    B, L, H, Hk, D, W = 1, 7, 2, 1, 4, 3
    q, k, v, bias, r = (np.asarray(x, np.float64) for x in inputs(B, L, L, H, Hk, D, "f32", 1))
    attrs = dict(causal=causal, window=W, scope=scope)
    fn = attention_grad_graph(B, L, L, H, Hk, D, "f32", W, causal, scope).compile("cpu")
    got = fn(*(x.astype(np.float32) for x in (q, k, v, bias, r)))
    for name, x, ours in zip(("dq", "dk", "dv", "dbias"), (q, k, v, bias), got):
        numeric = central_difference(lambda: loss(q, k, v, bias, r, **attrs), x)
        err = rel_error(np.asarray(ours, np.float64), numeric)
        assert err <= 1e-4, f"{name} vs finite differences: {err:.3e}"


def bias_grad_graph(B, Lk, Hk, D, dtype, form, with_dt_bias):
    g = wm.Graph("dma_bias_grad")
    v = g.input((B, Lk, Hk, D), dtype, name="v")
    w = g.input((Hk, Hk * D), dtype, name="w_dt")
    a = g.input((Hk,), "f32", name="a")
    dt_bias = g.input((Hk,), "f32", name="dt_bias") if with_dt_bias else None
    dbias = g.input((B, Hk, Lk), "f32", name="dbias")
    g.output(*g.dma_bias_grad(v, w, a, dbias, dt_bias=dt_bias, form=form))
    return g


def bias_inputs(B, Lk, Hk, D, dtype, seed):
    rng = np.random.default_rng(seed)
    v = storage(rng.standard_normal((B, Lk, Hk, D)), dtype)
    w = storage(0.3 * rng.standard_normal((Hk, Hk * D)), dtype)
    a = rng.uniform(-1.5, -0.5, Hk).astype(np.float32)
    dt_bias = rng.standard_normal(Hk).astype(np.float32)
    dbias = rng.standard_normal((B, Hk, Lk)).astype(np.float32)
    return v, w, a, dt_bias, dbias


@pytest.mark.parametrize("gpu_kernels", [False, True])
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
@pytest.mark.parametrize("form", ["linear", "exp"])
@pytest.mark.parametrize("with_dt_bias", [False, True])
def test_bias_grad_vs_numpy(form, with_dt_bias, dtype, gpu_kernels):
    B, Lk, Hk, D = 2, 30, 2, 8
    v, w, a, dt_bias, dbias = bias_inputs(B, Lk, Hk, D, dtype, 2)
    fn = bias_grad_graph(B, Lk, Hk, D, dtype, form, with_dt_bias).compile(
        "cpu", gpu_kernels=gpu_kernels)
    args = (v, w, a) + ((dt_bias,) if with_dt_bias else ()) + (dbias,)
    got = fn(*args)
    want = ref.dma_bias_grad(v, w, a, dbias, dt_bias if with_dt_bias else None, form)
    names = ("dvalues", "dw_dt", "da", "ddt_bias")[:len(got)]
    assert len(got) == (4 if with_dt_bias else 3)
    for name, x, y in zip(names, got, want):
        err = rel_error(np.asarray(x, np.float32), y)
        assert err <= TOLERANCE[dtype], f"{name} relative error {err:.3e}"


@pytest.mark.parametrize("form", ["linear", "exp"])
def test_bias_grad_vs_finite_differences(form):
    B, Lk, Hk, D = 1, 5, 2, 3
    v, w, a, dt_bias, r = (np.asarray(x, np.float64) for x in bias_inputs(B, Lk, Hk, D, "f32", 3))
    fn = bias_grad_graph(B, Lk, Hk, D, "f32", form, True).compile("cpu")
    got = fn(*(x.astype(np.float32) for x in (v, w, a, dt_bias, r)))
    f = lambda: float((ref.dma_bias(v, w, a, dt_bias, form=form) * r).sum())
    for name, x, ours in zip(("dvalues", "dw_dt", "da", "ddt_bias"), (v, w, a, dt_bias), got):
        err = rel_error(np.asarray(ours, np.float64), central_difference(f, x))
        assert err <= 1e-4, f"{name} vs finite differences: {err:.3e}"


def test_chain_into_the_bias():
    """dBias of the attention fed to dma_bias_grad equals the gradient of the
    whole layer (bias computed from the values) by finite differences in a, w_dt."""
    B, L, H, Hk, D, W = 1, 9, 2, 1, 4, 4
    rng = np.random.default_rng(5)
    q, k, v, r = (rng.standard_normal(s) for s in [(B, L, H, D), (B, L, Hk, D),
                                                    (B, L, Hk, D), (B, L, H, D)])
    w = 0.3 * rng.standard_normal((Hk, Hk * D))
    a = np.array([-1.0])
    g = wm.Graph("dma_chain")
    tq, tk, tv = (g.input(x.shape, "f32", name=n) for x, n in ((q, "q"), (k, "k"), (v, "v")))
    tw, ta, tr = g.input(w.shape, "f32", name="w"), g.input((Hk,), "f32", name="a"), \
        g.input(r.shape, "f32", name="r")
    bias = g.dma_bias(tv, tw, ta, form="exp")
    tau = g.dma_select(bias, query_len=L, window=W, causal=True)
    out, lse = g.dma_attention(tq, tk, tv, bias, causal=True, window=W)
    _, _, _, dbias = g.dma_attention_grad(tq, tk, tv, bias, tau, out, lse, tr, causal=True)
    _, dw, da = g.dma_bias_grad(tv, tw, ta, dbias, form="exp")
    g.output(dw, da)
    got_dw, got_da = g.compile("cpu")(*(x.astype(np.float32) for x in (q, k, v, w, a, r)))
    f = lambda: loss(q, k, v, ref.dma_bias(v, w, a, form="exp"), r, causal=True, window=W)
    assert rel_error(np.asarray(got_da, np.float64), central_difference(f, a)) <= 1e-4
    assert rel_error(np.asarray(got_dw, np.float64), central_difference(f, w)) <= 1e-4


# dBias sums dS over rows, whose terms cancel: it is where Dr's precision
# shows. With a 16-bit output Dr comes from P and dP themselves. With an f32
# one it is dO . O, and O must carry P unrounded: the training forward adds
# P's rounding residual as a second P V product (without it, 3.6e-4 here).
@pytest.mark.parametrize("f32_output", [False, True], ids=["out16", "out32"])
@pytest.mark.parametrize("dtype", ["bf16", "f16"])
def test_tensor_core_dbias_keeps_its_precision(dtype, f32_output):
    B, Lq, Lk, H, Hk, D, W = 1, 150, 150, 4, 2, 64, 40
    q, k, v, bias, dout = inputs(B, Lq, Lk, H, Hk, D, dtype, 0)
    fn = attention_grad_graph(B, Lq, Lk, H, Hk, D, dtype, W, True, "prefix",
                              f32_output).compile("cpu", gpu_kernels=True)
    dbias = np.asarray(fn(q, k, v, bias, dout)[3], np.float32)
    want = ref.dma_attention_grad(q, k, v, bias, dout, causal=True, window=W,
                                  scope="prefix")[3]
    assert rel_error(dbias, want) <= 1e-5
