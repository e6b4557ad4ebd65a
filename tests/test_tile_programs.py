"""The GPU attention kernel's tile program, run on the CPU, vs the numpy reference.

`compile("cpu", tile_programs=True)` lowers bf16/f16 attention through
wm-to-tile and convert-wm-tile-to-loops: the program the tensor-core kernel
is lowered from (per-CTA thresholds, key compaction in segments, tiles of 64
candidates, skip levels, the log2-domain online softmax, staged gathers) runs
as loops. Its lse depends on no 16-bit rounding of P, so it is checked to
f32 precision: a changed bound, constant or skip level shows up there.
"""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import assert_close, rel_error, storage

# lse of the tile program vs the float64 reference on the same 16-bit inputs.
LSE_TOLERANCE = 2e-6


def build(B, Lq, Lk, H, Hk, D, dtype, **attrs):
    g = wm.Graph("dma_tile")
    q = g.input((B, Lq, H, D), dtype, name="q")
    k = g.input((B, Lk, Hk, D), dtype, name="k")
    v = g.input((B, Lk, Hk, D), dtype, name="v")
    bias = g.input((B, Hk, Lk), "f32", name="bias")
    g.output(*g.dma_attention(q, k, v, bias, **attrs))
    return g


def run(B, Lq, Lk, H, Hk, D, dtype="bf16", seed=0, bias_scale=1.0, kernel=None,
        **attrs):
    rng = np.random.default_rng(seed)
    q, k, v = (storage(rng.standard_normal(s), dtype) for s in
               [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D)])
    bias = (bias_scale * rng.standard_normal((B, Hk, Lk))).astype(np.float32)
    g = build(B, Lq, Lk, H, Hk, D, dtype, **attrs)
    fn = g.compile("cpu", tile_programs=True, **(kernel or {}))
    out, lse = fn(q, k, v, bias)
    ref_out, ref_lse = ref.dma_attention(q, k, v, bias, **attrs)
    assert_close(out, ref_out, dtype, "out")
    err = rel_error(lse, ref_lse)
    assert err <= LSE_TOLERANCE, f"lse relative error {err:.3e}"
    return out, lse


# Kernel option sets of the GPU pipeline (bench/configs.py's variants).
KERNELS = {
    "auto": {},
    "w4r16": {"mma_warps": 4, "mma_warp_rows": 16},
    "w8r16": {"mma_warps": 8, "mma_warp_rows": 16},
    "w4r32": {"mma_warps": 4, "mma_warp_rows": 32},
    "w8r32": {"mma_warps": 8, "mma_warp_rows": 32},
    "wgmma": {"wgmma": True},
}


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_kernel_variants(kernel):
    run(1, 300, 300, 4, 2, 64, kernel=KERNELS[kernel], causal=True, window=48)


@pytest.mark.parametrize("D", [32, 96, 128, 160, 256])
def test_head_dims(D):
    run(1, 150, 150, 2, 1, D, causal=True, window=40)


@pytest.mark.parametrize("D,kernel", [(96, "w4r16"), (160, "w4r16"), (96, "w8r32")])
def test_head_dims_other_ctas(D, kernel):
    run(1, 211, 211, 2, 2, D, kernel=KERNELS[kernel], causal=True, window=33)


@pytest.mark.parametrize("scope", ["prefix", "global"])
@pytest.mark.parametrize("causal", [True, False])
def test_scope_and_causality(scope, causal):
    run(1, 257, 257, 4, 2, 64, causal=causal, window=20, scope=scope)


@pytest.mark.parametrize("Lq,Lk", [(1, 513), (7, 300), (200, 77), (129, 129)])
def test_odd_and_decode_lengths(Lq, Lk):
    run(1, Lq, Lk, 4, 2, 64, causal=True, window=16)


@pytest.mark.parametrize("window", [1, 64, 300, 5000])
def test_windows(window):
    run(1, 300, 300, 2, 1, 64, causal=True, window=window)


@pytest.mark.parametrize("H,Hk", [(8, 8), (8, 2), (8, 1)])
def test_gqa_mqa(H, Hk):
    run(2, 100, 100, H, Hk, 32, causal=True, window=24)


def test_f16_non_causal():
    run(1, 130, 190, 2, 2, 64, dtype="f16", causal=False, window=50)


def test_global_scope_window_1_empty_rows():
    out, lse = run(1, 128, 128, 2, 1, 32, causal=True, window=1, scope="global")
    assert np.isneginf(lse).any()


def test_large_biases():
    run(1, 200, 200, 2, 1, 64, bias_scale=100.0, causal=True, window=30)


def test_candidate_segments():
    """More candidates than one list holds: several compaction segments."""
    run(1, 64, 10000, 1, 1, 32, causal=False, window=6000,
        kernel={"mma_warps": 4, "mma_warp_rows": 16})


def test_candidate_segments_dense():
    """W >= L: the dense list fills 4096 slots (wgmma) per segment."""
    run(1, 64, 9000, 1, 1, 32, causal=True, window=9000, kernel={"wgmma": True})


def test_tile_program_is_in_the_ir():
    g = build(1, 64, 64, 2, 1, 32, "bf16", causal=True, window=8)
    text = g.lower("wm-select-keys,wm-to-tile")
    assert "wm_tile.program" in text and "wm_tile.compact" in text


def test_bad_kernel_option_is_refused():
    g = build(1, 64, 64, 2, 1, 32, "bf16", causal=True, window=8)
    with pytest.raises(Exception, match="mma-warps"):
        g.compile("cpu", tile_programs=True, mma_warps=6)


@pytest.mark.parametrize("Lq,Lk", [(100, 162), (100, 163), (129, 130), (64, 127)])
def test_causal_offsets_keep_all(Lq, Lk):
    """W >= L: contiguous candidates, so tile edges meet the causal limit of a
    block's first row at every offset Lk - Lq."""
    run(1, Lq, Lk, 2, 1, 32, causal=True, window=Lk)


@pytest.mark.parametrize("seed", range(30))
def test_random_configs(seed):
    rng = np.random.default_rng(1000 + seed)
    Lq = int(rng.integers(1, 300))
    Lk = int(rng.choice([Lq, Lq + int(rng.integers(1, 130)), int(rng.integers(1, 400))]))
    H, Hk = [(2, 1), (2, 2), (4, 1), (3, 3)][int(rng.integers(4))]
    D = int(rng.choice([32, 64, 96]))
    window = int(rng.choice([1, int(rng.integers(2, 80)), Lk + 5]))
    kernel = sorted(KERNELS)[int(rng.integers(len(KERNELS)))]
    run(1, Lq, Lk, H, Hk, D, dtype=str(rng.choice(["bf16", "f16"])), seed=seed,
        bias_scale=float(rng.choice([0.1, 1.0, 10.0])), kernel=KERNELS[kernel],
        causal=bool(rng.integers(2)), window=window,
        scope=str(rng.choice(["prefix", "global"])))


@pytest.mark.parametrize("scope", ["prefix", "global"])
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("window", [1, 7])
def test_non_finite_biases(scope, causal, window):
    """NaN and +inf biases (the spec's order: NaN > +inf > numbers): the tile
    program agrees NaN for NaN with the CPU lowering, which follows the spec."""
    B, Lq, Lk, H, Hk, D = 1, 140, 140, 2, 1, 32
    rng = np.random.default_rng(window + 10 * causal)
    q, k, v = (storage(rng.standard_normal(s), "bf16") for s in
               [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D)])
    bias = rng.standard_normal((B, Hk, Lk)).astype(np.float32)
    bias[0, 0, rng.choice(Lk, 3, replace=False)] = np.nan
    bias[0, 0, rng.choice(Lk, 3, replace=False)] = np.inf
    g = build(B, Lq, Lk, H, Hk, D, "bf16", causal=causal, window=window, scope=scope)
    out, lse = g.compile("cpu", tile_programs=True)(q, k, v, bias)
    want_out, want_lse = g.compile("cpu")(q, k, v, bias)
    for got, want in [(np.asarray(out, np.float32), np.asarray(want_out, np.float32)),
                      (lse, want_lse)]:
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert np.array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        assert np.allclose(got[finite], want[finite], rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("Lk", [63, 127, 191, 65])
def test_partial_last_tile_keep_all(Lk):
    """Non-causal W >= L: the candidates are every key, so the last tile holds
    Lk % 64 of them and must not count as whole."""
    run(1, 70, Lk, 2, 1, 32, causal=False, window=Lk)


def test_candidate_list_fills_up():
    """Three quarters of the keys are candidates: the second round leaves the
    list too full for a third, which must start a new segment."""
    run(1, 16, 7000, 1, 1, 32, causal=False, window=5250, kernel={"wgmma": True})


def test_global_nan_threshold_rows_before_the_nan():
    """W = 1 global, NaN at key 100 and +inf at key 5: every threshold is NaN,
    so rows before key 100 keep nothing, though they see the +inf key."""
    B, Lq, Lk, H, Hk, D = 1, 160, 160, 2, 1, 32
    rng = np.random.default_rng(5)
    q, k, v = (storage(rng.standard_normal(s), "bf16") for s in
               [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D)])
    bias = rng.standard_normal((B, Hk, Lk)).astype(np.float32)
    bias[0, 0, 5], bias[0, 0, 100] = np.inf, np.nan
    g = build(B, Lq, Lk, H, Hk, D, "bf16", causal=True, window=1, scope="global")
    out, lse = g.compile("cpu", tile_programs=True)(q, k, v, bias)
    assert np.isneginf(lse[0, :, :100]).all() and np.isnan(lse[0, :, 100:]).all()
    assert (np.asarray(out[0, :100], np.float32) == 0).all()


def test_infinite_value_of_a_key_no_row_keeps():
    """v = inf at a key far below every threshold: no candidate, so no row
    reads it; absent slots of a tile are zeros, never another key's row."""
    B, Lq, Lk, H, Hk, D = 1, 64, 300, 2, 1, 32
    rng = np.random.default_rng(9)
    q, k, v = (storage(rng.standard_normal(s), "bf16") for s in
               [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D)])
    bias = rng.standard_normal((B, Hk, Lk)).astype(np.float32)
    bias[0, 0, 0] = -1e4
    v[0, 0] = np.inf
    g = build(B, Lq, Lk, H, Hk, D, "bf16", causal=True, window=8)
    out, lse = g.compile("cpu", tile_programs=True)(q, k, v, bias)
    ref_out, ref_lse = ref.dma_attention(q, k, v, bias, causal=True, window=8)
    assert_close(out, ref_out, "bf16", "out")
    assert rel_error(lse, ref_lse) <= LSE_TOLERANCE


@pytest.mark.parametrize("kernel", ["w4r32", "w8r16"])
def test_tau_max_skip_counts_every_key_of_the_tile(kernel):
    """A whole tile skips its bias test only if every one of its 64 biases
    reaches tau_max. Keys 0..62 have bias 5, key 63 bias 0, keys 64..127 -5,
    the rest 5; W = 65: row 128 keeps key 63 (its tau is 0), the rows after
    it (tau 5) must not, though the tile's other 63 biases reach tau_max."""
    B, Lq, Lk, H, Hk, D = 1, 256, 256, 1, 1, 64
    rng = np.random.default_rng(3)
    q, k, v = (storage(rng.standard_normal(s), "bf16") for s in
               [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D)])
    bias = np.full((B, Hk, Lk), 5.0, np.float32)
    bias[0, 0, 63] = 0.0
    bias[0, 0, 64:128] = -5.0
    attrs = dict(causal=True, window=65)
    out, lse = build(B, Lq, Lk, H, Hk, D, "bf16", **attrs).compile(
        "cpu", tile_programs=True, **KERNELS[kernel])(q, k, v, bias)
    ref_out, ref_lse = ref.dma_attention(q, k, v, bias, **attrs)
    assert_close(out, ref_out, "bf16", "out")
    assert rel_error(lse, ref_lse) <= LSE_TOLERANCE
