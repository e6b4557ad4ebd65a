"""DMA (dma_bias + dma_attention) compiled for the CPU vs the numpy reference."""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import assert_close, storage


def build(B, Lq, Lk, H, Hk, D, dtype, **attrs):
    g = wm.Graph("dma")
    q = g.input((B, Lq, H, D), dtype, name="q")
    k = g.input((B, Lk, Hk, D), dtype, name="k")
    v = g.input((B, Lk, Hk, D), dtype, name="v")
    bias = g.input((B, Hk, Lk), "f32", name="bias")
    g.output(*g.dma_attention(q, k, v, bias, **attrs))
    return g


def run_case(B, Lq, Lk, H, Hk, D, dtype="f32", seed=0, options=None, **attrs):
    rng = np.random.default_rng(seed)
    q, k, v = (storage(rng.standard_normal(s), dtype) for s in
               [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D)])
    bias = rng.standard_normal((B, Hk, Lk)).astype(np.float32)
    fn = build(B, Lq, Lk, H, Hk, D, dtype, **attrs).compile("cpu", **(options or {}))
    out, lse = fn(q, k, v, bias)
    ref_out, ref_lse = ref.dma_attention(q, k, v, bias, **attrs)
    assert_close(out, ref_out, dtype, "out")
    assert_close(lse, ref_lse, "f32" if dtype == "f32" else dtype, "lse")
    return out, lse


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("scope", ["prefix", "global"])
def test_causal_and_scope(causal, scope):
    run_case(1, 113, 113, 4, 2, 64, causal=causal, window=16, scope=scope)


@pytest.mark.parametrize("Lq,Lk", [(113, 113), (50, 113), (1, 113), (1, 1000)])
def test_query_key_lengths(Lq, Lk):
    run_case(1, Lq, Lk, 4, 4, 64, causal=True, window=64)


@pytest.mark.parametrize("H,Hk", [(4, 4), (16, 4), (16, 1)])
def test_gqa(H, Hk):
    run_case(2, 70, 70, H, Hk, 64, causal=True, window=16)


def test_decode_gqa_head_dim_128():
    run_case(1, 1, 300, 16, 4, 128, causal=True, window=64)


@pytest.mark.parametrize("window", [1, 64, 113, 500])
def test_windows(window):
    run_case(1, 113, 113, 2, 1, 64, causal=True, window=window)


def test_long_sequence_1000():
    run_case(1, 1000, 1000, 2, 1, 64, causal=True, window=64)


def test_no_window_is_plain_attention_with_bias():
    run_case(1, 40, 90, 2, 2, 64, causal=False)


def test_global_scope_rows_without_keys():
    out, lse = run_case(1, 64, 64, 2, 1, 64, causal=True, window=4, scope="global")
    # Early rows see no globally selected key: output 0 and lse -inf, no NaN.
    assert np.isneginf(lse).any()
    assert np.all(out[0, np.isneginf(lse[0, 0])] == 0)


def test_more_queries_than_keys():
    run_case(1, 40, 30, 2, 2, 64, causal=True, window=8)


def test_bf16():
    run_case(1, 113, 113, 4, 2, 64, dtype="bf16", causal=True, window=16)


@pytest.mark.parametrize("options", [
    {"skip_blocks": False},
    {"compact_keys": True},
    {"block_q": 16, "block_k": 32},
    {"block_q": 1, "block_k": 7, "compact_keys": True},
])
def test_tiling_options_agree(options):
    """Skipping and compaction on or off, any tile size: the same result."""
    base = run_case(1, 150, 150, 2, 1, 64, seed=3, causal=True, window=16)
    other = run_case(1, 150, 150, 2, 1, 64, seed=3, options=options, causal=True, window=16)
    np.testing.assert_allclose(other[0], base[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(other[1], base[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("form", ["exp", "linear"])
def test_dma_bias_chained_into_attention(form):
    B, L, H, Hk, D = 1, 96, 4, 2, 64
    rng = np.random.default_rng(7)
    g = wm.Graph("dma_layer")
    q = g.input((B, L, H, D), "f32", name="q")
    k = g.input((B, L, Hk, D), "f32", name="k")
    v = g.input((B, L, Hk, D), "f32", name="v")
    w = g.input((Hk, Hk * D), "f32", name="w_dt")
    a = g.input((Hk,), "f32", name="a")
    b = g.input((Hk,), "f32", name="b_dt")
    bias = g.dma_bias(v, w, a, dt_bias=b, form=form)
    out, lse = g.dma_attention(q, k, v, bias, causal=True, window=16)
    g.output(bias, out, lse)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in
              [(B, L, H, D), (B, L, Hk, D), (B, L, Hk, D)]]
    arrays += [(0.05 * rng.standard_normal((Hk, Hk * D))).astype(np.float32),
               -np.abs(rng.standard_normal(Hk)).astype(np.float32),
               rng.standard_normal(Hk).astype(np.float32)]
    got_bias, got_out, got_lse = g.compile()(*arrays)
    want_bias = ref.dma_bias(arrays[2], arrays[3], arrays[4], arrays[5], form=form)
    assert_close(got_bias, want_bias, "f32", "bias")
    want_out, want_lse = ref.dma_attention(*arrays[:3], want_bias, causal=True, window=16)
    assert_close(got_out, want_out, "f32", "out")
    assert_close(got_lse, want_lse, "f32", "lse")
