"""wm.cdmoe compiled for the CPU vs the numpy reference and full N-way scoring."""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import assert_close, storage


def inputs(rng, T, d, I, N, dtype="f32"):
    K = int(round(np.sqrt(N)))
    shapes = [(T, d), (I, d), (I, d), (d, I), (2 * K, d), (N, d), (N, d)]
    return [storage(rng.standard_normal(s) / np.sqrt(s[-1]), dtype) for s in shapes]


def compiled(arrays, top_k, dtype="f32"):
    g = wm.Graph("cdmoe")
    names = ["x", "w_gate", "w_up", "w_down", "w_router", "down", "up"]
    args = [g.input(a.shape, dtype, name=n) for n, a in zip(names, arrays)]
    g.output(g.cdmoe(*args, top_k=top_k))
    return g.compile("cpu")


@pytest.mark.parametrize("N,top_k", [(16, 1), (16, 8), (16, 16), (1024, 1), (1024, 8), (1024, 32)])
def test_against_full_scoring(N, top_k):
    rng = np.random.default_rng(N + top_k)
    arrays = inputs(rng, 12, 32, 48, N)
    y = compiled(arrays, top_k)(*arrays)
    assert_close(y, ref.cdmoe_full_scoring(*arrays, top_k), "f32")
    assert_close(y, ref.cdmoe(*arrays, top_k), "f32")


def test_token_locality():
    rng = np.random.default_rng(1)
    arrays = inputs(rng, 8, 32, 48, 64)
    fn = compiled(arrays, 4)
    y0 = fn(*arrays)
    changed = [a.copy() for a in arrays]
    changed[0][5] = rng.standard_normal(32).astype(np.float32)
    y1 = fn(*changed)
    rows = np.flatnonzero(np.any(y0 != y1, axis=1))
    assert rows.tolist() == [5]


def test_bf16():
    rng = np.random.default_rng(2)
    arrays = inputs(rng, 10, 32, 48, 64, "bf16")
    assert_close(compiled(arrays, 8, "bf16")(*arrays), ref.cdmoe(*arrays, 8), "bf16")
