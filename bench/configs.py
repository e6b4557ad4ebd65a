"""The GPU configurations: the correctness suite of the DMA issue and the
benchmark shapes. Shared by make_artifacts.py (here, with MLIR) and dma.py
(on the GPU machine, without MLIR)."""

# (name, B, Lq, Lk, H, Hk, D, causal, window, scope)
CORRECTNESS = [
    ("c_L1000_W64_gqa4", 1, 1000, 1000, 16, 4, 128, True, 64, "prefix"),
    ("c_L1000_W1024_d64", 1, 1000, 1000, 16, 16, 64, True, 1024, "prefix"),
    ("c_L1000_global", 1, 1000, 1000, 16, 4, 64, True, 64, "global"),
    ("c_L1000_noncausal", 1, 1000, 1000, 16, 16, 128, False, 64, "prefix"),
    ("c_L4096_W1024_mqa", 1, 4096, 4096, 16, 1, 128, True, 1024, "prefix"),
    ("c_L4096_W64_global", 1, 4096, 4096, 16, 16, 128, True, 64, "global"),
    ("c_L4096_Wall", 1, 4096, 4096, 16, 16, 128, True, 4096, "prefix"),
    ("c_decode_L4096_gqa4", 1, 1, 4096, 16, 4, 128, True, 1024, "prefix"),
    ("c_decode_L16384_mqa", 1, 1, 16384, 16, 1, 64, True, 64, "prefix"),
    ("c_L16384_W1024", 1, 16384, 16384, 16, 16, 128, True, 1024, "prefix"),
    # f16 storage (the mma.sync f16 path); names ending in _f16 mean f16.
    ("c_L4096_W1024_gqa4_f16", 2, 4096, 4096, 16, 4, 128, True, 1024, "prefix"),
    ("c_L1000_W64_f16", 1, 1000, 1000, 8, 8, 64, True, 64, "global"),
    # Lengths that are not multiples of 4 (no 16-byte bias loads), W not a
    # power of two, a chunk of queries at the end of a longer key sequence.
    ("c_L999_W64_odd", 1, 999, 999, 16, 4, 128, True, 64, "prefix"),
    ("c_L1001_W256_noncausal", 1, 1001, 1001, 8, 8, 64, False, 256, "prefix"),
    ("c_L777_W100_global", 2, 777, 777, 8, 2, 64, True, 100, "global"),
    ("c_Lq300_Lk1003_chunk", 1, 300, 1003, 16, 4, 128, True, 128, "prefix"),
    # Head dims whose D / 8 chunks do not divide the CTA's threads (issue 9:
    # wrong before the copy plan moved a thread's column), the shape.
    ("c_L2048_W256_d96", 1, 2048, 2048, 8, 2, 96, True, 256, "prefix"),
    ("c_L2048_W256_d160", 1, 2048, 2048, 8, 2, 160, True, 256, "prefix"),
    ("c_L2048_W256_d192", 1, 2048, 2048, 8, 2, 192, True, 256, "prefix"),
    ("c_L2048_W256_d224", 1, 2048, 2048, 8, 2, 224, True, 256, "prefix"),
    ("c_L2048_W256_d256", 1, 2048, 2048, 8, 2, 256, True, 256, "prefix"),
    ("c_L2048_d96_noncausal_f16", 1, 2048, 2048, 8, 2, 96, False, 256, "prefix"),
    ("c_decode_L2048_d96", 1, 1, 2048, 8, 2, 96, True, 256, "prefix"),
    ("c_L2048_Wall_d96", 1, 2048, 2048, 8, 2, 96, True, 4096, "prefix"),
]

# Also compiled with the row kernels (no compaction, no tensor cores,
# per-row thresholds): both must give the same result.
ROWS_BASELINE = ("c_L1000_W64_gqa4", "c_L1000_W1024_d64", "c_L1000_global",
                 "c_L1000_noncausal", "c_L999_W64_odd", "c_L1001_W256_noncausal",
                 "c_L777_W100_global", "c_Lq300_Lk1003_chunk", "c_L2048_W256_d96",
                 "c_L2048_W256_d224")


# The bias computed on the GPU by wm.dma_bias from the values, then attention:
# (name, B, L, H, Hk, D, W, form).
BIAS_CHAINED = [
    ("cb_L4096_linear", 1, 4096, 16, 4, 128, 1024, "linear"),
    ("cb_L1000_exp", 2, 1000, 8, 2, 64, 64, "exp"),
]


def dtype_of(name):
    return "f16" if name.endswith("_f16") else "bf16"

# (name, L, W): B=1, H=Hk=16, D=128, causal, prefix, bf16.
BENCHMARK = [
    ("b_L4096_W1024", 4096, 1024),
    ("b_L16384_W2048", 16384, 2048),
    ("b_L32768_W2048", 32768, 2048),
    ("b_L65536_W4096", 65536, 4096),
    ("b_L4096_Wall", 4096, 4096),
]


def benchmark_config(name, L, W):
    return (name, 1, L, L, 16, 16, 128, True, W, "prefix")


def all_configs():
    return CORRECTNESS + [benchmark_config(*b) for b in BENCHMARK]


# Compiler variants of the benchmark configurations, timed side by side with
# the default (suffix -> wm-to-nvvm options).
VARIANTS = {
    "__w4": {"mma_warps": 4},
    "__w8": {"mma_warps": 8},
    "__r16": {"mma_warp_rows": 16},
}

# Benchmark variants compiled elsewhere and copied in by hand, timed when
# present: "__base" holds an earlier commit's kernels, to compare a change
# with side by side (bench/results name the commit and how they were built).
EXTERNAL_VARIANTS = ("__base",)

# Kernels compiled for every correctness configuration too, whose results
# must agree with the default's.
CORRECTNESS_VARIANTS = {
    "__r16": {"mma_warp_rows": 16},
    "__w8": {"mma_warps": 8},
}
