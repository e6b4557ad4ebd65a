"""wm.rope and wm.rms_norm compiled for the CPU vs the numpy reference."""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import assert_close, storage


@pytest.mark.parametrize("R,batch_tables", [(64, False), (32, False), (16, True)])
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_rope(R, batch_tables, dtype):
    rng = np.random.default_rng(R)
    B, L, H, D = 2, 37, 3, 64
    x = storage(rng.standard_normal((B, L, H, D)), dtype)
    cos, sin = (t.astype(np.float32) for t in ref.rope_tables(np.arange(L) + 5, R))
    if batch_tables:
        cos, sin = np.stack([cos, cos[::-1]]), np.stack([sin, sin[::-1]])
    g = wm.Graph("rope")
    args = [g.input(x.shape, dtype, name="x"), g.input(cos.shape, "f32", name="cos"),
            g.input(sin.shape, "f32", name="sin")]
    g.output(g.rope(*args, rotary_dims=R))
    out = g.compile()(x, cos, sin)
    assert_close(out, ref.rope(x, cos, sin, R), dtype)


@pytest.mark.parametrize("shape", [(64,), (7, 64), (2, 5, 96)])
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_rms_norm(shape, dtype):
    rng = np.random.default_rng(len(shape))
    x = storage(rng.standard_normal(shape), dtype)
    w = storage(rng.standard_normal(shape[-1]), dtype)
    g = wm.Graph("norm")
    g.output(g.rms_norm(g.input(shape, dtype, name="x"), g.input(w.shape, dtype, name="w"),
                        eps=1e-5))
    assert_close(g.compile()(x, w), ref.rms_norm(x, w, eps=1e-5), dtype)
