"""The GPU pipeline's kernels, run on the CPU, vs the numpy reference.

`compile("cpu", gpu_kernels=True)` lowers a DMA graph exactly as wm-to-nvvm
does up to its tile programs (convert-wm-to-gpu: the bias kernel, the
selection program dma_select_blocks, the attention program or the row
kernels), then runs every program as loops (convert-wm-tile-to-loops). So CI
executes the algorithm of every kernel the H200 runs: a changed bound of the
selection's prefix, a rank, a radix digit or a sort step shows up here.
"""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import assert_close, rel_error, storage

# lse of the programs vs the float64 reference on the same 16-bit inputs
# (the tensor-core program never rounds P for it), and of the f32 row kernel.
LSE_TOLERANCE = 2e-6


def layer(B, Lq, Lk, H, Hk, D, dtype, bias_form=None, **attrs):
    g = wm.Graph("dma_gpu_kernels")
    q = g.input((B, Lq, H, D), dtype, name="q")
    k = g.input((B, Lk, Hk, D), dtype, name="k")
    v = g.input((B, Lk, Hk, D), dtype, name="v")
    if bias_form:
        bias = g.dma_bias(v, g.input((Hk, Hk * D), dtype, name="w_dt"),
                          g.input((Hk,), "f32", name="a"), form=bias_form)
    else:
        bias = g.input((B, Hk, Lk), "f32", name="bias")
    g.output(*g.dma_attention(q, k, v, bias, **attrs))
    return g


def run(B, Lq, Lk, H, Hk, D, dtype="bf16", seed=0, bias=None, bias_form=None,
        kernel=None, **attrs):
    rng = np.random.default_rng(seed)
    q, k, v = (storage(rng.standard_normal(s), dtype) for s in
               [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D)])
    g = layer(B, Lq, Lk, H, Hk, D, dtype, bias_form, **attrs)
    fn = g.compile("cpu", gpu_kernels=True, **(kernel or {}))
    if bias_form:
        w_dt = storage(0.1 * rng.standard_normal((Hk, Hk * D)), dtype)
        a = rng.uniform(0.5, 1.5, Hk).astype(np.float32)
        out, lse = fn(q, k, v, w_dt, a)
        bias = ref.dma_bias(v, w_dt, a, form=bias_form)
    else:
        if bias is None:
            bias = rng.standard_normal((B, Hk, Lk))
        bias = np.asarray(bias, np.float32)
        out, lse = fn(q, k, v, bias)
    ref_out, ref_lse = ref.dma_attention(q, k, v, bias, **attrs)
    # NaN exactly where the spec has it (rows that keep a NaN bias).
    np.testing.assert_array_equal(np.isnan(np.asarray(out, np.float32)),
                                  np.isnan(ref_out))
    np.testing.assert_array_equal(np.isnan(lse), np.isnan(ref_lse))
    rows = ~np.isnan(ref_lse)
    assert rows.any()
    out = np.where(np.isnan(ref_out), 0, np.asarray(out, np.float32))
    ref_out = np.where(np.isnan(ref_out), 0, ref_out)
    assert_close(out, ref_out, dtype, "out")
    err = rel_error(lse[rows], ref_lse[rows])
    assert err <= LSE_TOLERANCE, f"lse relative error {err:.3e}"


# (B, Lq, Lk, H, Hk, D, attrs): the selection's block structure (several
# blocks of 256 rows, a prefix shorter and longer than W and 256), odd
# lengths, W = 1, W >= L, global scope, GQA/MQA, decode, D = 96 and 160.
SHAPES = {
    "blocks_w300": (1, 700, 700, 4, 2, 64, dict(causal=True, window=300)),
    "blocks_w40": (2, 613, 613, 2, 1, 32, dict(causal=True, window=40)),
    "w1": (1, 300, 300, 2, 2, 32, dict(causal=True, window=1)),
    "w_ge_l": (1, 257, 257, 2, 1, 64, dict(causal=True, window=512)),
    "global": (1, 333, 333, 4, 2, 64, dict(causal=True, window=100, scope="global")),
    "not_causal": (1, 200, 300, 2, 1, 32, dict(window=77)),
    "mqa_d96": (1, 300, 300, 4, 1, 96, dict(causal=True, window=64)),
    "d160": (1, 130, 130, 2, 2, 160, dict(causal=True, window=50)),
    "decode": (2, 1, 900, 4, 2, 64, dict(causal=True, window=600)),
    "chunk": (1, 300, 1000, 2, 1, 64, dict(causal=True, window=260)),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_programs_of_the_gpu_pipeline(shape):
    B, Lq, Lk, H, Hk, D, attrs = SHAPES[shape]
    run(B, Lq, Lk, H, Hk, D, **attrs)


@pytest.mark.parametrize("kernel", [
    {"tensor_cores": False, "block_select": False},
    {"block_select": False},
    {"tensor_cores": False, "threads_per_block": 256},
    {"mma_warps": 8, "mma_warp_rows": 16},
])
def test_kernel_options(kernel):
    run(1, 600, 600, 4, 2, 64, kernel=kernel, causal=True, window=280)


@pytest.mark.parametrize("form", ["linear", "exp"])
def test_bias_kernel(form):
    run(1, 300, 300, 4, 2, 32, bias_form=form, causal=True, window=90)


def test_f32_row_kernels():
    run(1, 300, 300, 2, 1, 48, dtype="f32", causal=True, window=70)


def test_ties_across_the_radix_digits():
    # Few distinct biases, so thresholds fall on long runs of equal keys,
    # and pairs that differ only in their low bits.
    rng = np.random.default_rng(3)
    base = rng.integers(-3, 4, (1, 2, 800)).astype(np.float32)
    bias = base + np.float32(2.0 ** -20) * rng.integers(0, 3, base.shape)
    run(1, 800, 800, 2, 2, 32, bias=bias, causal=True, window=300)


def test_nan_and_infinite_biases():
    rng = np.random.default_rng(4)
    bias = rng.standard_normal((1, 1, 600)).astype(np.float32)
    bias[0, 0, 450::61] = np.nan  # rows from 450 on keep a NaN
    bias[0, 0, 5::53] = np.inf
    bias[0, 0, 9::41] = -np.inf
    run(1, 600, 600, 2, 1, 32, bias=bias, causal=True, window=290)


@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize("window", [40, 300])
def test_monotone_biases(order, window):
    # Ascending: every new key of a block outranks the shared prefix, so the
    # last row of a full block needs exactly the 256th smallest of the top W
    # (the selection's `upper`); descending: new keys never count.
    L = 800
    ramp = np.linspace(-4.0, 4.0, L, dtype=np.float32)
    bias = np.broadcast_to(ramp if order == "ascending" else ramp[::-1], (1, 2, L))
    run(1, L, L, 2, 2, 32, bias=bias, causal=True, window=window)


def select_thresholds(bias, Lq, window, causal=True, scope="prefix", kernel=None):
    B, Hk, Lk = bias.shape
    g = wm.Graph("dma_tau")
    t = g.input((B, Hk, Lk), "f32", name="bias")
    g.output(g.dma_select(t, query_len=Lq, window=window, causal=causal, scope=scope))
    return np.asarray(g.compile("cpu", gpu_kernels=True, **(kernel or {}))(bias))


def reference_thresholds(bias, Lq, window, causal, scope):
    B, Hk, Lk = bias.shape
    if scope == "global" or not causal:
        top = np.full((B, Hk), -np.inf)
        if Lk >= window:
            top = np.partition(bias.astype(np.float64), Lk - window, axis=-1)[..., Lk - window]
        return np.broadcast_to(top[..., None], (B, Hk, Lq))
    return np.stack([np.stack([ref.dma_tau(bias[b, h], Lq, True, window) for h in range(Hk)])
                     for b in range(B)])


BIASES = {
    "random": lambda rng, L: rng.standard_normal(L),
    "ascending": lambda rng, L: np.linspace(-4.0, 4.0, L),
    "descending": lambda rng, L: np.linspace(4.0, -4.0, L),
    "ties": lambda rng, L: rng.integers(-2, 3, L).astype(np.float64),
}


@pytest.mark.parametrize("kind", sorted(BIASES))
@pytest.mark.parametrize("Lq,Lk,window,scope", [
    (800, 800, 300, "prefix"), (800, 800, 40, "prefix"), (513, 1000, 257, "prefix"),
    (700, 700, 1, "prefix"), (600, 600, 100, "global"),
    # The first block's last row sees exactly W keys: its tau is their minimum.
    (600, 600, 256, "prefix")])
def test_thresholds_exactly(kind, Lq, Lk, window, scope):
    """Every row's threshold equals the reference bit for bit."""
    rng = np.random.default_rng(7)
    bias = np.stack([np.stack([BIASES[kind](rng, Lk) for _ in range(2)])]).astype(np.float32)
    got = select_thresholds(bias, Lq, window, scope=scope)
    want = reference_thresholds(bias, Lq, window, True, scope)
    np.testing.assert_array_equal(got, want.astype(np.float32))


def test_thresholds_of_the_row_kernel():
    rng = np.random.default_rng(8)
    bias = rng.standard_normal((1, 2, 500)).astype(np.float32)
    got = select_thresholds(bias, 500, 60, kernel={"block_select": False})
    np.testing.assert_array_equal(got, reference_thresholds(bias, 500, 60, True, "prefix")
                                  .astype(np.float32))
