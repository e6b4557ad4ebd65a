"""The Python API: bad input raises clear errors naming the op and the user's
line before any compilation; MLIR text, verification and upstream ops."""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import assert_close

THIS = __file__


def attention_graph():
    g = wm.Graph()
    q = g.input((1, 16, 4, 32), "f32", name="q")
    k = g.input((1, 16, 2, 32), "f32", name="k")
    bias = g.input((1, 2, 16), "f32", name="bias")
    return g, q, k, bias


def test_wrong_heads_name_op_and_line():
    g = wm.Graph()
    q = g.input((1, 16, 6, 32), "f32", name="q")
    k = g.input((1, 16, 4, 32), "f32", name="k")
    bias = g.input((1, 4, 16), "f32", name="bias")
    with pytest.raises(wm.GraphError) as info:
        g.dma_attention(q, k, k, bias, causal=True)  # the line named below
    line = info.traceback[0].lineno + 1
    message = str(info.value)
    assert "dma_attention" in message and "H = 6 must be a multiple of Hk = 4" in message
    assert f"{THIS}:{line}" in message


def test_wrong_rank_dtype_and_attribute():
    g, q, k, bias = attention_graph()
    with pytest.raises(wm.GraphError, match="bias must have rank 3"):
        g.dma_attention(q, k, k, q)
    with pytest.raises(wm.GraphError, match="window must be in"):
        g.dma_attention(q, k, k, bias, window=0)
    kb = g.input((1, 16, 2, 32), "bf16", name="kb")
    with pytest.raises(wm.GraphError, match="key must have the element type of query"):
        g.dma_attention(q, kb, kb, bias)
    with pytest.raises(wm.GraphError, match="chunk_size must be a power of two"):
        g.ssd(q, g.input((1, 16, 4), "f32"), g.input((4,), "f32"),
              g.input((1, 16, 1, 8), "f32"), g.input((1, 16, 1, 8), "f32"), chunk_size=24)


def test_missing_operand_and_foreign_tensor():
    g, q, k, bias = attention_graph()
    with pytest.raises(TypeError):
        g.dma_attention(q, k, k)  # no bias
    other = wm.Graph().input((1, 2, 16), "f32")
    with pytest.raises(wm.GraphError, match="belongs to another graph"):
        g.dma_attention(q, k, k, other)
    with pytest.raises(wm.GraphError, match="must be a wm.Tensor"):
        g.rms_norm(np.zeros((4, 4)), q)


def test_upstream_op_checks():
    g = wm.Graph()
    x = g.input((8, 16), "f32", name="x")
    with pytest.raises(wm.GraphError, match="linear"):
        g.linear(x, g.input((4, 8), "f32"))
    with pytest.raises(wm.GraphError, match="cannot reshape"):
        g.reshape(x, (3, 5))
    with pytest.raises(wm.GraphError, match="not a permutation"):
        g.transpose(x, (0, 0))
    with pytest.raises(wm.GraphError, match="cannot broadcast"):
        g.add(x, g.input((3,), "f32"))
    with pytest.raises(wm.GraphError, match="no outputs"):
        g.to_mlir()


def test_call_checks_arrays():
    g = wm.Graph()
    x = g.input((4, 8), "f32", name="x")
    g.output(g.silu(x))
    fn = g.compile()
    with pytest.raises(wm.GraphError, match="input 'x' expects shape"):
        fn(np.zeros((4, 9), np.float32))
    with pytest.raises(wm.GraphError, match="expected 1 inputs"):
        fn()


def test_mlir_text_carries_user_locations():
    g, q, k, bias = attention_graph()
    out, lse = g.dma_attention(q, k, k, bias, causal=True, window=4)
    g.output(out)
    text = g.to_mlir()
    assert "wm.dma_attention" in text and f'loc("{THIS}"' in text
    assert "wm.dma_attention" in g.verify()
    lowered = g.lower("wm-select-keys")
    assert "wm.dma_select" in lowered and "wm.dma_threshold_attention" in lowered


def test_upstream_ops_numerics():
    rng = np.random.default_rng(0)
    g = wm.Graph("mlp")
    ids = g.input((6,), "i32", name="ids")
    table = g.input((10, 8), "f32", name="table")
    w = g.input((8, 12), "f32", name="w")
    e = g.embedding(ids, table)
    m = g.matmul(e, w)
    out = g.softmax(g.mul(g.gelu(m), m))
    g.output(out, g.transpose(m, (1, 0)))
    a_ids = rng.integers(0, 10, 6).astype(np.int32)
    a_table = rng.standard_normal((10, 8)).astype(np.float32)
    a_w = rng.standard_normal((8, 12)).astype(np.float32)
    got, got_t = g.compile()(a_ids, a_table, a_w)
    mm = a_table[a_ids].astype(np.float64) @ a_w
    from math import erf
    gelu = 0.5 * mm * (1 + np.vectorize(erf)(mm / np.sqrt(2)))
    s = gelu * mm
    s = np.exp(s - s.max(-1, keepdims=True))
    assert_close(got, s / s.sum(-1, keepdims=True), "f32")
    assert_close(got_t, mm.T, "f32")


def test_unknown_target():
    g = wm.Graph()
    g.output(g.input((2,), "f32"))
    with pytest.raises(wm.GraphError, match="unknown target"):
        g.compile(target="tpu")
