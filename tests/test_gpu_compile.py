"""The GPU compile driver, checked where CI runs (no GPU needed): the artifact
g.compile("sm_90a") writes is a valid launch manifest plus PTX with the
tensor-core kernel, the selection metadata is O(L), and graphs the GPU path
does not cover are rejected with a diagnostic."""

import json
import math
import os

import pytest

import wm
from wm import gpu


def dma_layer(B=1, L=512, H=8, Hk=2, D=64, dtype="bf16", window=64, bias_from_values=False):
    g = wm.Graph("dma_layer")
    q = g.input((B, L, H, D), dtype, name="q")
    k = g.input((B, L, Hk, D), dtype, name="k")
    v = g.input((B, L, Hk, D), dtype, name="v")
    if bias_from_values:
        bias = g.dma_bias(v, g.input((Hk, Hk * D), dtype, name="w_dt"),
                          g.input((Hk,), "f32", name="a"), form="exp")
    else:
        bias = g.input((B, Hk, L), "f32", name="bias")
    g.output(*g.dma_attention(q, k, v, bias, causal=True, window=window))
    return g


def test_artifact_manifest_and_ptx(tmp_path):
    art = dma_layer().compile("sm_90a", path=str(tmp_path))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["target"] == "sm_90a" and manifest["binary"] == "kernels.ptx"
    assert [i["name"] for i in manifest["inputs"]] == ["q", "k", "v", "bias"]
    assert [(o["shape"], o["dtype"]) for o in manifest["outputs"]] == [
        ([1, 512, 8, 64], "bf16"), ([1, 8, 512], "f32")]
    # Block summaries serve the row kernels only: no launch for them here.
    kernels = [launch["kernel"] for launch in manifest["launches"]]
    assert kernels == ["dma_select_blocks", "dma_attention_mma"]
    # Every launch argument names a known buffer; outputs are written in place.
    names = {b["name"] for part in ("inputs", "outputs", "buffers") for b in manifest[part]}
    attention = manifest["launches"][-1]
    assert all(arg["buffer"] in names for l in manifest["launches"] for arg in l["args"])
    assert [a["buffer"] for a in attention["args"]][-2:] == ["out0", "out1"]
    # 4 warps of 16 rows; tiles and candidates in dynamic shared memory.
    assert attention["block"] == [128, 1, 1] and attention["shared_bytes"] > 48 * 1024
    # The selection metadata is O(L): thresholds and block summaries only.
    scratch = sum(math.prod(b["shape"]) for b in manifest["buffers"])
    assert scratch < 4 * 512 * 2
    ptx = (tmp_path / "kernels.ptx").read_text()
    assert ".target sm_90a" in ptx
    assert "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" in ptx
    # The runtime side parses it without torch or CUDA.
    assert isinstance(art, gpu.CompiledArtifact)
    assert [s.name for s in art.manifest.inputs] == ["q", "k", "v", "bias"]


def test_f16_and_bias_from_values(tmp_path):
    dma_layer(dtype="f16", bias_from_values=True).compile("sm_90a", path=str(tmp_path))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [l["kernel"] for l in manifest["launches"]][0] == "dma_bias"
    assert "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32" in (
        tmp_path / "kernels.ptx").read_text()


def test_row_kernels_option(tmp_path):
    dma_layer().compile("sm_90a", path=str(tmp_path), tensor_cores=False, block_select=False)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [l["kernel"] for l in manifest["launches"]] == [
        "dma_select", "dma_block_summary", "dma_attention"]
    assert "mma.sync" not in (tmp_path / "kernels.ptx").read_text()


def test_unsupported_graph_is_a_diagnostic(tmp_path):
    g = wm.Graph("norm")
    x = g.input((4, 64), "f32", name="x")
    g.output(g.rms_norm(x, g.input((64,), "f32", name="w")))
    with pytest.raises(wm.CompileError, match="'wm.rms_norm' op is not supported on the GPU yet"):
        g.compile("sm_90a", path=str(tmp_path))
