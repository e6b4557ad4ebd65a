"""Model blocks built with the Python API, compiled for the CPU, compared end
to end with the numpy reference: a Doge block and a hybrid (SSD) block."""

import numpy as np

import wm
from tests import reference as ref
from tests.numerics import assert_close


def doge_block(L=64, d=128, H=4, Hk=2, D=32, W=16, I=256, N=64, top_k=4):
    K = int(np.sqrt(N))
    g = wm.Graph("doge_block")
    shapes = {
        "x": (L, d), "cos": (L, D), "sin": (L, D), "norm1": (d,), "wq": (H * D, d),
        "wk": (Hk * D, d), "wv": (Hk * D, d), "w_dt": (Hk, Hk * D), "a": (Hk,),
        "b_dt": (Hk,), "wo": (d, H * D), "norm2": (d,), "w_gate": (I, d), "w_up": (I, d),
        "w_down": (d, I), "w_router": (2 * K, d), "down": (N, d), "up": (N, d)}
    t = {name: g.input(shape, "f32", name=name) for name, shape in shapes.items()}
    h = g.rms_norm(t["x"], t["norm1"])
    q = g.rope(g.reshape(g.linear(h, t["wq"]), (1, L, H, D)), t["cos"], t["sin"])
    k = g.rope(g.reshape(g.linear(h, t["wk"]), (1, L, Hk, D)), t["cos"], t["sin"])
    v = g.reshape(g.linear(h, t["wv"]), (1, L, Hk, D))
    bias = g.dma_bias(v, t["w_dt"], t["a"], dt_bias=t["b_dt"], form="linear")
    attn, _ = g.dma_attention(q, k, v, bias, causal=True, window=W)
    x1 = g.add(t["x"], g.linear(g.reshape(attn, (L, H * D)), t["wo"]))
    y = g.add(x1, g.cdmoe(g.rms_norm(x1, t["norm2"]), t["w_gate"], t["w_up"], t["w_down"],
                          t["w_router"], t["down"], t["up"], top_k=top_k))
    g.output(y)
    return g, shapes, dict(L=L, H=H, Hk=Hk, D=D, W=W, top_k=top_k)


def doge_reference(a, L, H, Hk, D, W, top_k):
    h = ref.rms_norm(a["x"], a["norm1"])
    q = ref.rope((h @ a["wq"].T).reshape(1, L, H, D), a["cos"], a["sin"], D)
    k = ref.rope((h @ a["wk"].T).reshape(1, L, Hk, D), a["cos"], a["sin"], D)
    v = (h @ a["wv"].T).reshape(1, L, Hk, D)
    bias = ref.dma_bias(v, a["w_dt"], a["a"], a["b_dt"], form="linear")
    attn, _ = ref.dma_attention(q, k, v, bias, causal=True, window=W)
    x1 = a["x"] + attn.reshape(L, H * D) @ a["wo"].T
    return x1 + ref.cdmoe(ref.rms_norm(x1, a["norm2"]), a["w_gate"], a["w_up"], a["w_down"],
                          a["w_router"], a["down"], a["up"], top_k)


def test_doge_block():
    g, shapes, dims = doge_block()
    rng = np.random.default_rng(0)
    arrays = {}
    for name, shape in shapes.items():
        arrays[name] = (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)
    cos, sin = ref.rope_tables(np.arange(dims["L"]), dims["D"])
    arrays["cos"], arrays["sin"] = cos.astype(np.float32), sin.astype(np.float32)
    arrays["a"] = -np.abs(arrays["a"]) - 0.5
    out = g.compile()(*arrays.values())
    assert_close(out, doge_reference(arrays, **dims), "f32", "doge block")


def test_hybrid_block():
    T, d, H, P, N, R = 64, 64, 2, 32, 16, 8
    g = wm.Graph("hybrid_block")
    shapes = {"x": (T, d), "norm": (d,), "wx": (H * P, d), "wz": (H * P, d), "wb": (N, d),
              "wc": (N, d), "wdt": (H, d), "A": (H,), "D": (H,), "dt_bias": (H,),
              "cos": (T, R), "sin": (T, R), "wo": (d, H * P)}
    t = {name: g.input(shape, "f32", name=name) for name, shape in shapes.items()}
    h = g.rms_norm(t["x"], t["norm"])
    xs = g.reshape(g.linear(h, t["wx"]), (1, T, H, P))
    z = g.reshape(g.linear(h, t["wz"]), (1, T, H, P))
    b = g.reshape(g.linear(h, t["wb"]), (1, T, 1, N))
    c = g.reshape(g.linear(h, t["wc"]), (1, T, 1, N))
    dt = g.reshape(g.linear(h, t["wdt"]), (1, T, H))
    y, state = g.ssd(xs, dt, t["A"], b, c, D=t["D"], z=z, dt_bias=t["dt_bias"],
                     cos=t["cos"], sin=t["sin"], chunk_size=16, dt_softplus=True)
    g.output(g.add(t["x"], g.linear(g.reshape(y, (T, H * P)), t["wo"])), state)

    rng = np.random.default_rng(1)
    a = {n: (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32) for n, s in shapes.items()}
    a["A"] = -np.exp(rng.standard_normal(H)).astype(np.float32)
    cos, sin = ref.rope_tables(np.arange(T), R)
    a["cos"], a["sin"] = cos.astype(np.float32), sin.astype(np.float32)
    out, got_state = g.compile()(*a.values())

    hr = ref.rms_norm(a["x"], a["norm"])
    yr, want_state = ref.ssd((hr @ a["wx"].T).reshape(1, T, H, P), (hr @ a["wdt"].T).reshape(1, T, H),
                             a["A"], (hr @ a["wb"].T).reshape(1, T, 1, N),
                             (hr @ a["wc"].T).reshape(1, T, 1, N), D=a["D"],
                             z=(hr @ a["wz"].T).reshape(1, T, H, P), dt_bias=a["dt_bias"],
                             cos=a["cos"], sin=a["sin"], dt_softplus=True)
    assert_close(out, a["x"] + yr.reshape(T, H * P) @ a["wo"].T, "f32", "hybrid block")
    assert_close(got_state, want_state, "f32", "final state")
