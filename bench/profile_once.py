"""Runs one compiled artifact once on random inputs (for profilers)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), ROOT]
os.environ.setdefault("WM_BUILD_DIR", os.path.join(ROOT, "build-gpu"))

import torch  # noqa: E402

from bench.dma import artifact, make_inputs  # noqa: E402

name = sys.argv[1] if len(sys.argv) > 1 else "b_L16384_W2048"
art = artifact(name)
shapes = {s.name: s.shape for s in art.manifest.inputs}
B, Lq, H, D = shapes["q"]
_, Lk, Hk, _ = shapes["k"]
q, k, v, bias = make_inputs(B, Lq, Lk, H, Hk, D, seed=0)
art(q, k, v, bias)
torch.cuda.synchronize()
