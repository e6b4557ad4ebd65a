"""Times SSD artifacts side by side: total and per launch (do_bench medians)."""
import os, sys
sys.path[:0] = ["python", "."]
from bench import ssd
from bench.dma import time_ms
from wm import gpu
cs = {c["name"]: c for c in ssd.bench_configs()}
for name in sys.argv[1].split(","):
    inputs, _ = ssd.make_inputs(cs[name], seed=7)
    for suffix in [""] + sys.argv[2].split(","):
        path = os.path.join(ssd.ARTIFACTS, name + suffix)
        if not os.path.isdir(path):
            continue
        art = gpu.CompiledArtifact(path)
        art(*inputs)
        t = time_ms(lambda: art(*inputs))
        k = ssd.per_kernel_ms(art, inputs)
        print(f"{name}{suffix}: {t:.3f} ms ({' + '.join(f'{x:.3f}' for x in k)})", flush=True)
