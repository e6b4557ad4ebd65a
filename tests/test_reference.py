"""Property tests of the numpy reference itself (tests/reference), fresh random inputs."""
import math

import ml_dtypes
import numpy as np
import pytest

from tests.reference import (
    cdmoe, cdmoe_full_scoring, cdmoe_route, dma_allowed, dma_attention, dma_bias,
    dma_keep_mask, dma_tau, rms_norm, rope, rope_tables, softplus, ssd, ssd_chunked,
)


def rng(seed):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- common

def test_softplus():
    x = np.array([-50.0, -3.0, 0.0, 3.0, 19.9, 20.0, 20.5, 1000.0])
    y = softplus(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[x <= 20], np.log1p(np.exp(x[x <= 20])), rtol=1e-15)
    np.testing.assert_array_equal(y[x > 20], x[x > 20])  # identity above 20


def test_rms_norm_direct():
    r = rng(0)
    x, w = r.standard_normal((3, 5, 64)), r.standard_normal(64)
    want = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        v = x[idx]
        want[idx] = v / math.sqrt(sum(v * v) / len(v) + 1e-6) * w
    np.testing.assert_allclose(rms_norm(x, w), want, rtol=1e-12)


def test_rope_tables_formula():
    cos, sin = rope_tables([0, 1, 7], 8, theta=10000.0)
    assert cos.shape == sin.shape == (3, 8)
    ang = 7 * 10000.0 ** (-2 * np.arange(4) / 8)
    np.testing.assert_allclose(cos[2], np.cos(np.r_[ang, ang]), rtol=1e-14)
    np.testing.assert_allclose(sin[2], np.sin(np.r_[ang, ang]), rtol=1e-14)
    np.testing.assert_array_equal(cos[0], 1.0)


def test_rope_identity_inverse_and_relative():
    r = rng(1)
    B, L, H, D, R = 2, 9, 3, 16, 8
    x = r.standard_normal((B, L, H, D))
    one, zero = np.ones((L, R)), np.zeros((L, R))
    np.testing.assert_array_equal(rope(x, one, zero, R), x)
    cos, sin = rope_tables(np.arange(L), R)
    y = rope(x, cos, sin, R)
    np.testing.assert_array_equal(y[..., R:], x[..., R:])  # dims past R untouched
    np.testing.assert_allclose(rope(y, cos, -sin, R), x, atol=1e-13)  # rotate by -angle
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1))
    # (B,L,R) tables equal per-batch (L,R) tables.
    np.testing.assert_array_equal(rope(x, np.stack([cos, cos]), np.stack([sin, sin]), R), y)
    # <rope(q,t), rope(k,s)> depends on t - s only.
    q, k = r.standard_normal(D), r.standard_normal(D)
    def dot(t, s):
        ct, st = rope_tables([t, s], R)
        qq = rope(q[None, None, None], ct[:1], st[:1], R)
        kk = rope(k[None, None, None], ct[1:], st[1:], R)
        return float((qq * kk).sum())
    assert dot(10, 3) == pytest.approx(dot(107, 100), rel=1e-10)


# ---------------------------------------------------------------- DMA

def test_dma_bias_forms():
    r = rng(2)
    B, Lk, Hk, D = 2, 7, 3, 4
    v = r.standard_normal((B, Lk, Hk, D))
    w, a, db = r.standard_normal((Hk, Hk * D)), -r.random(Hk), r.standard_normal(Hk)
    lin = dma_bias(v, w, a, db, form="linear")
    assert lin.shape == (B, Hk, Lk)
    for b, g, j in np.ndindex(B, Hk, Lk):
        dt = float(v[b, j].reshape(-1) @ w[g]) + db[g]
        assert lin[b, g, j] == pytest.approx(a[g] * math.log1p(math.exp(dt)), rel=1e-12)
    np.testing.assert_allclose(dma_bias(v, w, a, db, form="exp"), np.exp(lin), rtol=1e-14)


MASK_CASES = [  # (Lq, Lk, W, causal)
    (64, 64, 16, True), (40, 100, 16, True), (100, 100, 64, True), (50, 80, 33, False),
    (120, 80, 16, True),  # Lq > Lk: negative offset, first rows see nothing
]


@pytest.mark.parametrize("Lq,Lk,W,causal", MASK_CASES)
def test_dma_threshold_form_equals_topw_mask(Lq, Lk, W, causal):
    bias = rng(3).standard_normal((2, 2, Lk))
    keep = dma_keep_mask(bias, Lq, causal, W, "prefix")
    allowed = dma_allowed(Lq, Lk, causal)
    n_allowed = allowed.sum(1)
    for b, g in np.ndindex(2, 2):
        tau = dma_tau(bias[b, g], Lq, causal, W)
        assert np.all(tau[1:] >= tau[:-1])  # tau never decreases with i
        assert np.all(np.isneginf(tau) == (n_allowed < W))
        np.testing.assert_array_equal(keep[b, g], allowed & (bias[b, g][None] >= tau[:, None]))
        np.testing.assert_array_equal(keep[b, g].sum(1), np.minimum(n_allowed, W))


def test_dma_no_selection_when_window_covers_keys():
    bias = rng(4).standard_normal((1, 1, 32))
    assert np.all(np.isneginf(dma_tau(bias[0, 0], 32, True, 32)))
    assert np.all(np.isneginf(dma_tau(bias[0, 0], 32, True, None)))
    np.testing.assert_array_equal(dma_keep_mask(bias, 32, True, 32), dma_keep_mask(bias, 32, True))


def direct_attention(q, k, v, bias, keep, scale):
    """Per-row loop softmax over the kept keys (no GQA)."""
    B, Lq, H, D = q.shape
    out, lse = np.zeros_like(q), np.full((B, H, Lq), -np.inf)
    for b, h, i in np.ndindex(B, H, Lq):
        js = np.flatnonzero(keep[b, h, i])
        if len(js):
            s = scale * (k[b, js, h] @ q[b, i, h]) + bias[b, h, js]
            lse[b, h, i] = np.log(np.sum(np.exp(s - s.max()))) + s.max()
            out[b, i, h] = np.exp(s - lse[b, h, i]) @ v[b, js, h]
    return out, lse


@pytest.mark.parametrize("W", [48, 100, None])
def test_dma_large_window_is_plain_causal_attention(W):
    r = rng(5)
    B, Lq, Lk, H, D = 2, 30, 48, 2, 8
    q, k, v = (r.standard_normal((B, L, H, D)) for L in (Lq, Lk, Lk))
    bias = r.standard_normal((B, H, Lk))
    out, lse = dma_attention(q, k, v, bias, causal=True, window=W)
    keep = np.broadcast_to(dma_allowed(Lq, Lk, True), (B, H, Lq, Lk))
    want_out, want_lse = direct_attention(q, k, v, bias, keep, D ** -0.5)
    np.testing.assert_allclose(out, want_out, atol=1e-12)
    np.testing.assert_allclose(lse, want_lse, atol=1e-12)


@pytest.mark.parametrize("scope", ["prefix", "global"])
def test_dma_selected_attention_matches_direct(scope):
    r = rng(6)
    B, L, H, D, W = 1, 64, 2, 8, 16
    q, k, v = (r.standard_normal((B, L, H, D)) for _ in range(3))
    bias = r.standard_normal((B, H, L))
    out, lse = dma_attention(q, k, v, bias, scale=0.3, causal=True, window=W, scope=scope)
    keep = dma_keep_mask(bias, L, True, W, scope)
    want_out, want_lse = direct_attention(q, k, v, bias, keep, 0.3)
    np.testing.assert_allclose(out, want_out, atol=1e-12)
    np.testing.assert_allclose(lse, want_lse, atol=1e-12)


def test_dma_global_scope_empty_rows():
    r = rng(7)
    B, L, H, D, W = 2, 256, 2, 8, 16
    q, k, v = (r.standard_normal((B, L, H, D)) for _ in range(3))
    bias = r.standard_normal((B, H, L))
    out, lse = dma_attention(q, k, v, bias, causal=True, window=W, scope="global")
    assert not np.isnan(out).any() and not np.isnan(lse).any()
    for b, g in np.ndindex(B, H):
        first = np.sort(np.argsort(-bias[b, g])[:W])[0]  # earliest globally selected key
        assert first > 0  # seed chosen so that some rows are empty
        np.testing.assert_array_equal(out[b, :first, g], 0.0)
        assert np.all(np.isneginf(lse[b, g, :first])) and np.all(np.isfinite(lse[b, g, first:]))
        # Global: every row keeps the causal part of one fixed set.
        kept = dma_keep_mask(bias, L, True, W, "global")[b, g]
        assert kept[-1].sum() == W and np.all(kept[1:] >= kept[:-1])


def test_dma_rows_without_keys_when_lq_exceeds_lk():
    r = rng(8)
    q = r.standard_normal((1, 20, 1, 4))
    k, v = r.standard_normal((2, 1, 12, 1, 4))
    out, lse = dma_attention(q, k, v, r.standard_normal((1, 1, 12)), causal=True, window=4)
    np.testing.assert_array_equal(out[0, :8], 0.0)  # off = -8: rows 0..7 see nothing
    assert np.all(np.isneginf(lse[0, 0, :8])) and np.all(np.isfinite(lse[0, 0, 8:]))


@pytest.mark.parametrize("scope", ["prefix", "global"])
def test_dma_gqa_equals_repeated_kv(scope):
    r = rng(9)
    B, L, H, Hk, D, W = 2, 70, 6, 2, 8, 16
    q = r.standard_normal((B, L, H, D))
    k, v = (r.standard_normal((B, L, Hk, D)) for _ in range(2))
    bias = r.standard_normal((B, Hk, L))
    got = dma_attention(q, k, v, bias, causal=True, window=W, scope=scope)
    rep = lambda u, ax: np.repeat(u, H // Hk, axis=ax)  # head h -> kv head h // (H/Hk)
    want = dma_attention(q, rep(k, 2), rep(v, 2), rep(bias, 1), causal=True, window=W,
                         scope=scope)
    for a_, b_ in zip(got, want):
        np.testing.assert_allclose(a_, b_, atol=1e-13)


@pytest.mark.parametrize("scope", ["prefix", "global"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_dma_nonfinite_bias_ranks_first(scope, bad):
    """Spec 'Conventions': a NaN or +inf bias ranks above every number; rows that may
    see that key keep it and are NaN (lse NaN or +inf); rows that cannot see it keep
    their answer in prefix scope (global scope: the key still takes a place in the set)."""
    r = rng(11)
    B, L, H, D, W, j = 1, 24, 2, 4, 5, 9
    q, k, v = (r.standard_normal((B, L, H, D)) for _ in range(3))
    bias = r.standard_normal((B, H, L))
    base_out, base_lse = dma_attention(q, k, v, bias, causal=True, window=W, scope=scope)
    bias[0, 1, j] = bad
    out, lse = dma_attention(q, k, v, bias, causal=True, window=W, scope=scope)
    keep = dma_keep_mask(bias, L, True, W, scope)[0, 1]
    assert np.array_equal(keep[:, j], np.arange(L) >= j)  # every row that sees j keeps it
    assert keep[j:].sum(axis=1).max() <= W
    assert np.isnan(out[0, j:, 1]).all() and not np.isnan(out[0, :j, 1]).any()
    want = np.isnan if np.isnan(bad) else np.isposinf
    assert want(lse[0, 1, j:]).all() and not np.isnan(lse[0, 1, :j]).any()
    np.testing.assert_array_equal(out[0, :, 0], base_out[0, :, 0])  # other kv head untouched
    if scope == "prefix":
        np.testing.assert_array_equal(out[0, :j, 1], base_out[0, :j, 1])
        np.testing.assert_array_equal(lse[0, 1, :j], base_lse[0, 1, :j])


def test_dma_nan_in_qkv_reaches_exactly_the_rows_that_read_it():
    r = rng(12)
    B, L, H, Hk, D, W = 1, 16, 4, 2, 4, 3
    q, k, v = r.standard_normal((B, L, H, D)), *(r.standard_normal((B, L, Hk, D)) for _ in range(2))
    bias = r.standard_normal((B, Hk, L))
    keep = dma_keep_mask(bias, L, True, W)[0]          # (Hk, Lq, Lk)
    grp = np.arange(H) // (H // Hk)
    q2 = q.copy(); q2[0, 6, 3, 1] = np.nan             # row 6 of head 3
    out, lse = dma_attention(q2, k, v, bias, causal=True, window=W)
    assert np.argwhere(np.isnan(lse)).tolist() == [[0, 3, 6]]
    assert np.isnan(out[0, 6, 3]).all() and np.isnan(out).sum() == D
    k2 = k.copy(); k2[0, 7, 1, 0] = np.nan             # key 7 of kv head 1
    out, lse = dma_attention(q, k2, v, bias, causal=True, window=W)
    rows = keep[1][:, 7]
    for h in range(H):
        assert np.array_equal(np.isnan(lse[0, h]), rows & (grp[h] == 1))
    v2 = v.copy(); v2[0, 7, 1, 2] = np.nan             # one value entry: that column only
    out, lse = dma_attention(q, k, v2, bias, causal=True, window=W)
    assert not np.isnan(lse).any()
    for h in range(H):
        want = np.zeros((L, D), bool)
        want[:, 2] = rows & (grp[h] == 1)
        assert np.array_equal(np.isnan(out[0, :, h]), want)


def test_dma_scale_does_not_touch_bias_and_bf16_inputs():
    r = rng(10)
    q, k, v = (r.standard_normal((1, 16, 1, 4)).astype(ml_dtypes.bfloat16) for _ in range(3))
    bias = r.standard_normal((1, 1, 16)).astype(ml_dtypes.bfloat16)
    out, lse = dma_attention(q, k, v, bias, scale=0.0, causal=False)
    assert out.dtype == np.float64
    b = bias.astype(np.float64)[0, 0]
    np.testing.assert_allclose(lse[0, 0], np.log(np.exp(b).sum()), rtol=1e-12)


# ---------------------------------------------------------------- SSD

def ssd_inputs(seed, Bsz=2, T=50, H=4, P=8, G=2, N=16, R=8, full=True, a_sign=-1.0):
    r = rng(seed)
    kw = dict(
        x=r.standard_normal((Bsz, T, H, P)),
        dt=r.standard_normal((Bsz, T, H)) - 1.0,
        a=a_sign * (0.5 + r.random(H)),
        b=r.standard_normal((Bsz, T, G, N)),
        c=r.standard_normal((Bsz, T, G, N)),
        dt_softplus=True,
    )
    if full:
        cos, sin = rope_tables(np.arange(T), R)
        kw.update(
            D=r.standard_normal((H, P)), z=r.standard_normal((Bsz, T, H, P)),
            dt_bias=0.1 * r.standard_normal(H), initial_state=r.standard_normal((Bsz, H, P, N)),
            cos=np.stack([cos] * Bsz), sin=np.stack([sin] * Bsz), dt_limit=(0.01, 2.0),
        )
    return kw


def test_ssd_sequential_matches_scalar_loop():
    kw = ssd_inputs(11, Bsz=1, T=6, H=2, P=3, G=1, N=4, R=4)
    y, S = ssd(**kw)
    b = rope(kw["b"], kw["cos"], kw["sin"], 4)[0, :, 0]
    c = rope(kw["c"], kw["cos"], kw["sin"], 4)[0, :, 0]
    dt = np.clip(softplus(kw["dt"][0] + kw["dt_bias"]), 0.01, 2.0)
    for h in range(2):
        St = kw["initial_state"][0, h].copy()
        for t in range(6):
            x = kw["x"][0, t, h]
            St = math.exp(dt[t, h] * kw["a"][h]) * St + dt[t, h] * np.outer(x, b[t])
            z = kw["z"][0, t, h]
            want = (St @ c[t] + kw["D"][h] * x) * z / (1 + np.exp(-z))
            np.testing.assert_allclose(y[0, t, h], want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(S[0, h], St, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 4, 16, 64])
@pytest.mark.parametrize("full", [True, False])
def test_ssd_chunked_equals_sequential(chunk, full):
    kw = ssd_inputs(12, full=full)
    y0, s0 = ssd(**kw)
    y1, s1 = ssd_chunked(**kw, chunk_size=chunk)
    np.testing.assert_allclose(y1, y0, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(s1, s0, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("chunk", [4, 16])
def test_ssd_chunked_positive_a_and_head_d(chunk):
    kw = ssd_inputs(13, full=False, a_sign=+1.0)  # A > 0: spec trap, must stay exact
    kw.update(dt_limit=(0.0, 0.1), D=np.ones(4))  # keep growth bounded; D of shape (H,)
    y0, s0 = ssd(**kw)
    y1, s1 = ssd_chunked(**kw, chunk_size=chunk)
    np.testing.assert_allclose(y1, y0, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(s1, s0, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("fn", [ssd, lambda **kw: ssd_chunked(**kw, chunk_size=8)])
def test_ssd_split_run_equals_whole(fn):
    kw = ssd_inputs(14)
    y, S = fn(**kw)
    t1 = 23
    per_t = ("x", "dt", "b", "c", "z")
    first = {k: (v[:, :t1] if k in per_t + ("cos", "sin") else v) for k, v in kw.items()}
    y1, S1 = fn(**first)
    second = {k: (v[:, t1:] if k in per_t + ("cos", "sin") else v) for k, v in kw.items()}
    second["initial_state"] = S1  # rope keeps absolute positions via the sliced tables
    y2, S2 = fn(**second)
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), y, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(S2, S, rtol=1e-11, atol=1e-11)


def test_ssd_trivial_rope_equals_no_rope():
    kw = ssd_inputs(15)
    T = kw["x"].shape[1]
    y0, s0 = ssd(**{**kw, "cos": None, "sin": None})
    y1, s1 = ssd(**{**kw, "cos": np.ones((T, 8)), "sin": np.zeros((T, 8))})
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(s1, s0)


def test_ssd_rope_shift_invariance():
    kw = ssd_inputs(16)
    kw["initial_state"] = None  # only relative positions matter when starting from 0
    T = kw["x"].shape[1]
    y0, _ = ssd(**kw)
    cos, sin = rope_tables(np.arange(T) + 1234, 8)  # (T,R) shared by the batch
    y1, _ = ssd_chunked(**{**kw, "cos": cos, "sin": sin}, chunk_size=16)
    np.testing.assert_allclose(y1, y0, rtol=1e-9, atol=1e-9)
    y2, _ = ssd(**{**kw, "cos": None, "sin": None})
    assert not np.allclose(y2, y0)  # the rotation does matter


def test_ssd_bf16_inputs():
    kw = ssd_inputs(17, full=False)
    kb = {k: (v.astype(ml_dtypes.bfloat16) if isinstance(v, np.ndarray) else v)
          for k, v in kw.items()}
    y, s = ssd_chunked(**kb, chunk_size=16)
    y0, s0 = ssd(**{k: (v.astype(np.float64) if isinstance(v, np.ndarray) else v)
                    for k, v in kb.items()})
    assert y.dtype == s.dtype == np.float64
    np.testing.assert_allclose(y, y0, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- CDMoE

def moe_inputs(seed, T=24, d=16, F=32, K=8):
    r = rng(seed)
    N = K * K
    return dict(
        x=r.standard_normal((T, d)), w_gate=r.standard_normal((F, d)) / 4,
        w_up=r.standard_normal((F, d)) / 4, w_down=r.standard_normal((d, F)) / 4,
        w_router=r.standard_normal((2 * K, d)), down=r.standard_normal((N, d)) / 4,
        up=r.standard_normal((N, d)),
    )


@pytest.mark.parametrize("K,top_k", [(8, 1), (8, 4), (8, 8), (4, 9), (4, 16)])
def test_cdmoe_per_side_equals_full_scoring(K, top_k):
    kw = moe_inputs(18, K=K)
    e0, s0 = cdmoe_route(kw["x"], kw["w_router"], K * K, top_k, full=False)
    e1, s1 = cdmoe_route(kw["x"], kw["w_router"], K * K, top_k, full=True)
    np.testing.assert_array_equal(np.sort(e0, 1), np.sort(e1, 1))
    np.testing.assert_allclose(np.sort(s0, 1), np.sort(s1, 1), rtol=1e-14)
    np.testing.assert_allclose(cdmoe(**kw, top_k=top_k), cdmoe_full_scoring(**kw, top_k=top_k),
                               rtol=1e-12, atol=1e-12)


def test_cdmoe_direct_single_token():
    kw = moe_inputs(19, T=1, K=4)
    x = kw["x"][0]
    sig = lambda u: 1 / (1 + np.exp(-u))
    r = kw["w_router"] @ x
    sc = {i * 4 + j: r[i] + r[4 + j] for i in range(4) for j in range(4)}
    chosen = sorted(sc, key=sc.get, reverse=True)[:3]
    w = np.exp([sc[e] for e in chosen]); w /= w.sum()
    g, u = kw["w_gate"] @ x, kw["w_up"] @ x
    want = kw["w_down"] @ (g * sig(g) * u)
    for e, we in zip(chosen, w):
        s = kw["down"][e] @ x
        want = want + s * sig(s) * we * kw["up"][e]
    np.testing.assert_allclose(cdmoe(**kw, top_k=3)[0], want, rtol=1e-12)


def test_cdmoe_token_locality():
    kw = moe_inputs(20)
    y = cdmoe(**kw, top_k=4)
    perm = rng(21).permutation(kw["x"].shape[0])
    np.testing.assert_allclose(cdmoe(**{**kw, "x": kw["x"][perm]}, top_k=4), y[perm],
                               rtol=1e-13, atol=1e-13)
    for t in (0, 5, 23):  # each token alone gives the same row
        np.testing.assert_allclose(cdmoe(**{**kw, "x": kw["x"][t:t + 1]}, top_k=4)[0], y[t],
                                   rtol=1e-13, atol=1e-13)
