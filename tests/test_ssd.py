"""wm.ssd (chunked lowering) compiled for the CPU vs the sequential recurrence."""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import assert_close, storage


def make_inputs(rng, B, T, H, P, G, N, R=None, dtype="f32", D_shape=None, z=False,
                dt_bias=False, h0=False, batch_rope=False, positions=None):
    x = storage(rng.standard_normal((B, T, H, P)), dtype)
    dt = (0.5 * rng.standard_normal((B, T, H))).astype(np.float32)
    a = -np.exp(rng.standard_normal(H)).astype(np.float32)
    b = storage(rng.standard_normal((B, T, G, N)), dtype)
    c = storage(rng.standard_normal((B, T, G, N)), dtype)
    opt = {}
    if D_shape is not None:
        opt["D"] = rng.standard_normal(D_shape).astype(np.float32)
    if z:
        opt["z"] = storage(rng.standard_normal((B, T, H, P)), dtype)
    if dt_bias:
        opt["dt_bias"] = rng.standard_normal(H).astype(np.float32)
    if h0:
        opt["initial_state"] = rng.standard_normal((B, H, P, N)).astype(np.float32)
    if R is not None:
        pos = np.arange(T) if positions is None else positions
        cos, sin = ref.rope_tables(pos, R)
        if batch_rope:
            cos, sin = np.stack([cos] * B), np.stack([sin] * B)
        opt["cos"], opt["sin"] = cos.astype(np.float32), sin.astype(np.float32)
    return (x, dt, a, b, c), opt


def build_ssd(main, opt, dtype, name="ssd", tables="f32", **attrs):
    """A graph of one wm.ssd over inputs shaped like `main` and `opt`: x, b, c
    and z in `dtype`, cos and sin in `tables`, the rest f32."""
    g = wm.Graph(name)
    names = ["x", "dt", "a", "b", "c"]
    args = [g.input(arr.shape, dtype if n in ("x", "b", "c") else "f32", name=n)
            for n, arr in zip(names, main)]
    kinds = {"z": dtype, "cos": tables, "sin": tables}
    kw = {k: g.input(v.shape, kinds.get(k, "f32"), name=k) for k, v in opt.items()}
    g.output(*g.ssd(*args, **kw, **attrs))
    return g


def compile_ssd(main, opt, dtype, **attrs):
    fn = build_ssd(main, opt, dtype, **attrs).compile("cpu")
    return lambda: fn(*main, *opt.values())


def check(main, opt, dtype="f32", **attrs):
    y, state = compile_ssd(main, opt, dtype, **attrs)()
    ref_attrs = {k: v for k, v in attrs.items() if k != "chunk_size"}
    want_y, want_state = ref.ssd(*main, **opt, **ref_attrs)
    assert_close(y, want_y, dtype, "y")
    assert_close(state, want_state, "f32" if dtype == "f32" else dtype, "state")
    return y, state


@pytest.mark.parametrize("chunk", [1, 4, 16, 64])
def test_every_chunk_size_matches_recurrence(chunk):
    rng = np.random.default_rng(0)
    main, opt = make_inputs(rng, 2, 50, 4, 8, 2, 16, R=8, D_shape=(4,), z=True, dt_bias=True)
    check(main, opt, chunk_size=chunk, dt_softplus=True)


@pytest.mark.parametrize("G", [1, 2, 4])
def test_groups(G):
    rng = np.random.default_rng(1)
    main, opt = make_inputs(rng, 1, 37, 4, 8, G, 16)
    check(main, opt, chunk_size=16)


def test_per_channel_D_and_batch_rope_tables():
    rng = np.random.default_rng(2)
    main, opt = make_inputs(rng, 2, 33, 2, 8, 1, 16, R=16, D_shape=(2, 8), batch_rope=True)
    check(main, opt, chunk_size=8)


def test_dt_limit_and_positive_A():
    """A > 0 (some models pass +1) is computed exactly, never clamped."""
    rng = np.random.default_rng(3)
    main, opt = make_inputs(rng, 1, 40, 2, 4, 1, 8)
    main = (main[0], main[1], np.abs(main[2]) * 0.1, main[3], main[4])
    check(main, opt, chunk_size=16, dt_softplus=True, dt_limit=(0.01, 0.5))


def test_split_run_from_state_equals_whole():
    rng = np.random.default_rng(4)
    main, opt = make_inputs(rng, 1, 64, 2, 8, 1, 16, D_shape=(2,), z=True)
    whole_y, whole_state = check(main, opt, chunk_size=16)
    half = lambda arr, s: arr[:, s]
    first = tuple(half(m, slice(0, 32)) if m.ndim > 1 else m for m in main)
    second = tuple(half(m, slice(32, 64)) if m.ndim > 1 else m for m in main)
    opt1 = {"D": opt["D"], "z": opt["z"][:, :32]}
    y1, s1 = compile_ssd(first, opt1, "f32", chunk_size=16)()
    opt2 = {"D": opt["D"], "z": opt["z"][:, 32:], "initial_state": s1}
    y2, s2 = compile_ssd(second, opt2, "f32", chunk_size=16)()
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), whole_y, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s2, whole_state, rtol=1e-4, atol=1e-5)


def test_identity_rope_equals_no_rope():
    rng = np.random.default_rng(5)
    main, opt = make_inputs(rng, 1, 30, 2, 4, 1, 8)
    plain, _ = compile_ssd(main, opt, "f32", chunk_size=8)()
    ones = {"cos": np.ones((30, 8), np.float32), "sin": np.zeros((30, 8), np.float32)}
    rotated, _ = compile_ssd(main, ones, "f32", chunk_size=8)()
    np.testing.assert_allclose(rotated, plain, rtol=1e-6, atol=1e-6)


def test_shifting_positions_leaves_y_unchanged():
    rng = np.random.default_rng(6)
    main, opt = make_inputs(rng, 1, 30, 2, 4, 1, 8, R=8)
    y0, _ = compile_ssd(main, opt, "f32", chunk_size=8)()
    _, shifted = make_inputs(np.random.default_rng(6), 1, 30, 2, 4, 1, 8, R=8,
                             positions=np.arange(30) + 1234)
    y1, _ = compile_ssd(main, shifted, "f32", chunk_size=8)()
    np.testing.assert_allclose(y1, y0, rtol=1e-4, atol=1e-4)


def test_bf16_storage():
    rng = np.random.default_rng(7)
    main, opt = make_inputs(rng, 1, 45, 2, 8, 1, 16, R=8, dtype="bf16", D_shape=(2,), z=True)
    check(main, opt, dtype="bf16", chunk_size=16)
