"""Compiles every GPU configuration into bench/artifacts/<name>/ (PTX and a
launch manifest) on a machine with MLIR, to be carried to the GPU machine."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), ROOT]

import wm  # noqa: E402
from bench.configs import (BENCHMARK, BIAS_CHAINED, CORRECTNESS, CORRECTNESS_VARIANTS,  # noqa: E402
                           ROWS_BASELINE, VARIANTS, all_configs, benchmark_config, dtype_of)


def build(name, B, Lq, Lk, H, Hk, D, causal, window, scope):
    g = wm.Graph(name)
    dtype = dtype_of(name)
    q = g.input((B, Lq, H, D), dtype, name="q")
    k = g.input((B, Lk, Hk, D), dtype, name="k")
    v = g.input((B, Lk, Hk, D), dtype, name="v")
    bias = g.input((B, Hk, Lk), "f32", name="bias")
    g.output(*g.dma_attention(q, k, v, bias, causal=causal, window=window, scope=scope))
    return g


def build_chained(name, B, L, H, Hk, D, W, form):
    g = wm.Graph(name)
    q = g.input((B, L, H, D), "bf16", name="q")
    k = g.input((B, L, Hk, D), "bf16", name="k")
    v = g.input((B, L, Hk, D), "bf16", name="v")
    w_dt = g.input((Hk, Hk * D), "bf16", name="w_dt")
    a = g.input((Hk,), "f32", name="a")
    dt_bias = g.input((Hk,), "f32", name="dt_bias")
    bias = g.dma_bias(v, w_dt, a, dt_bias=dt_bias, form=form)
    out, lse = g.dma_attention(q, k, v, bias, causal=True, window=W)
    g.output(out, lse)
    return g


BASELINE_SUFFIX = "__rows"


def write_build_info(out_dir):
    """The commit the artifacts come from (the GPU machine's copy of the
    tree may not carry the repository's history)."""
    import subprocess
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "BUILD_INFO"), "w") as f:
        f.write(commit + "\n")


def main(out_dir=os.path.join(ROOT, "bench", "artifacts")):
    write_build_info(out_dir)
    for config in all_configs():
        path = os.path.join(out_dir, config[0])
        build(*config).compile("sm_90a", path=path)
        print("wrote", path)
    for config in BIAS_CHAINED:
        path = os.path.join(out_dir, config[0])
        build_chained(*config).compile("sm_90a", path=path)
        print("wrote", path)
    for suffix, options in VARIANTS.items():
        for bench in BENCHMARK:
            config = benchmark_config(*bench)
            path = os.path.join(out_dir, config[0] + suffix)
            build(*config).compile("sm_90a", path=path, **options)
            print("wrote", path)
    for config in (c for c in CORRECTNESS if c[0] in ROWS_BASELINE):
        path = os.path.join(out_dir, config[0] + BASELINE_SUFFIX)
        build(*config).compile("sm_90a", path=path, tensor_cores=False, block_select=False)
        print("wrote", path)
    # Other kernels on every configuration, compared with the default.
    for suffix, options in CORRECTNESS_VARIANTS.items():
        for config in CORRECTNESS:
            path = os.path.join(out_dir, config[0] + suffix)
            build(*config).compile("sm_90a", path=path, **options)
            print("wrote", path)


if __name__ == "__main__":
    main(*sys.argv[1:])
