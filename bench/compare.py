"""Times compiled variants of the benchmark shapes side by side, in one
process, on the benchmark's inputs (for A/B checks of a compiler change):
    python3 bench/compare.py SUFFIX...      ('' is the default artifact)
Each row: median ms of every variant present under bench/artifacts, its
ratio to the first suffix named, and the largest relative difference of its
out and lse to the first's. Run where the runtime is
built (bench/run_gpu.sh builds it into build-gpu)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), ROOT]
os.environ.setdefault("WM_BUILD_DIR", os.path.join(ROOT, "build-gpu"))

from bench.configs import BENCHMARK, benchmark_config  # noqa: E402
from bench.dma import ARTIFACTS, artifact, distance, make_inputs, time_ms  # noqa: E402


def main(suffixes):
    print("| config | " + " | ".join(s or "default" for s in suffixes) + " |")
    print("|---|" + "---|" * len(suffixes))
    for name, L, W in BENCHMARK:
        _, B, Lq, Lk, H, Hk, D, *_ = benchmark_config(name, L, W)
        q, k, v, bias = make_inputs(B, Lq, Lk, H, Hk, D, seed=100 + L)
        present = [s for s in suffixes if os.path.isdir(os.path.join(ARTIFACTS, name + s))]
        arts = {s: artifact(name + s) for s in present}
        for art in arts.values():  # warm up every variant before timing any
            art(q, k, v, bias)
        times = {s: time_ms(lambda a=arts[s]: a(q, k, v, bias)) for s in present}
        first = times.get(suffixes[0])
        diffs = {}
        if first:
            out, lse = arts[suffixes[0]](q, k, v, bias)
            diffs = {s: max(distance(arts[s], (q, k, v, bias), out, lse)) for s in present}
        cells = [f"{times[s]:.3f}" + (f" ({times[s] / first:.3f}, {diffs[s]:.0e})" if first else "")
                 if s in times else "n/a" for s in suffixes]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or [""])
