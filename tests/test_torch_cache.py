"""wm.torch's disk cache, filled where the compiler is (no torch or GPU
needed): one artifact per request, the backward's mode part of the key."""

import json



def launches(path):
    with open(path) as f:
        return {launch["kernel"] for launch in json.load(f)["launches"]}


def test_prepare_keys_the_backward_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("WM_CACHE_DIR", str(tmp_path))
    import wm.torch as wmt
    shapes = ((1, 128, 2, 32), (1, 128, 1, 32))
    wmt.prepare_dma_attention(*shapes, window=32, causal=True)
    wmt.prepare_dma_attention(*shapes, window=32, causal=True, deterministic=True)
    kernels = [launches(p) for p in tmp_path.glob("*/manifest.json")]
    # The inference and training forwards, shared, and a backward per mode.
    assert len(kernels) == 4
    backward = [k for k in kernels if any("grad" in name for name in k)]
    assert len(backward) == 2
    atomic = [k for k in backward if "dma_attention_grad_mma" in k]
    rows = [k for k in backward if "dma_grad_key" in k]
    assert len(atomic) == 1 and len(rows) == 1
    assert not any("dma_grad_key" in k for k in atomic)
    # Filling again finds every artifact in place.
    before = sorted(p.name for p in tmp_path.iterdir())
    wmt.prepare_dma_attention(*shapes, window=32, causal=True, deterministic=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_forward_runs_one_selection(tmp_path, monkeypatch):
    monkeypatch.setenv("WM_CACHE_DIR", str(tmp_path))
    import wm.torch as wmt
    wmt.prepare_dma_attention((1, 256, 2, 32), (1, 256, 1, 32), window=64, causal=True)
    forward = [k for k in (launches(p) for p in tmp_path.glob("*/manifest.json"))
               if "dma_attention_mma" in k]
    assert len(forward) == 2  # inference and training
    for kernels in forward:
        assert sum(name.startswith("dma_select") for name in kernels) == 1, kernels


def test_training_forward_keeps_an_f32_output(tmp_path, monkeypatch):
    monkeypatch.setenv("WM_CACHE_DIR", str(tmp_path))
    import wm.torch as wmt
    # A shape of its own: wm.torch keeps the artifacts it loaded in memory.
    wmt.prepare_dma_attention((1, 96, 2, 32), (1, 96, 1, 32), window=16, causal=True)
    outputs = {}
    for path in tmp_path.glob("*/manifest.json"):
        with open(path) as f:
            manifest = json.load(f)
        names = {launch["kernel"] for launch in manifest["launches"]}
        if "dma_attention_mma" in names:
            outputs[len(outputs)] = manifest["outputs"][0]["dtype"]
    assert sorted(outputs.values()) == ["bf16", "f32"], outputs
