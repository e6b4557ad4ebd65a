"""wm.ssd on the H200 (issue 13): the tile programs of WMToTile/SSD.cpp
against the fp32 sequential recurrence of bench/torch_ssd.py, a randomized
differential run, and the benchmark against an eager chunked SSD and
torch.compile of it.

    python3 bench/ssd.py compile                          # where MLIR is
    python3 bench/ssd.py run [--out r.md] [--only a,b]    # on the GPU
    python3 bench/ssd.py bench [--out b.md]               # on the GPU
    python3 bench/ssd.py profile --only b_2x4096_h80      # one run, for ncu

Artifacts take x, dt, a, b, c, then whichever of D, z, dt_bias, h0, cos,
sin the configuration has, in that order; they return y and the final state.
"""

import argparse
import json
import math
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), ROOT]
ARTIFACTS = os.path.join(ROOT, "bench", "artifacts", "ssd")
TOLERANCE = 1e-2  # bf16 storage
OPTIONAL = ["D", "z", "dt_bias", "h0", "cos", "sin"]


def config(name, B, T, H, P, G, N, R=None, chunk=256, D=None, z=False, dt_bias=False,
           h0=False, positive_a=False, batch_rope=False, softplus=True, dt_limit=None,
           dtype="bf16", tables="f32", options=None):
    """`options`: compile options (e.g. ssd_chain_rows) beyond the defaults."""
    return dict(name=name, B=B, T=T, H=H, P=P, G=G, N=N, R=R, chunk=chunk, D=D, z=z,
                dt_bias=dt_bias, h0=h0, positive_a=positive_a, batch_rope=batch_rope,
                softplus=softplus, dt_limit=dt_limit, dtype=dtype, tables=tables,
                options=options or {})


# The matrix: T not a multiple of the chunk, G in {1, 2, 8, H},
# P in {32, 64, 128}, N in {16, 64, 128}, chunk in {64, 128, 256}, rope on and
# off, A > 0, D / z / dt_bias each on and off.
# The overlap check's configuration (see overlap_check).
OVERLAP = "s_overlap_T8192_H128_G8_P64_N64_c64"
CONFIGS = [
    config("s_T1000_G1_P64_N64_c256", 1, 1000, 8, 64, 1, 64),
    config("s_T1000_G2_P32_N16_c64_rope", 2, 1000, 8, 32, 2, 16, R=16, chunk=64,
           D="head", dt_bias=True),
    config("s_T777_G8_P128_N128_c128_rope", 1, 777, 8, 128, 8, 128, R=128, chunk=128,
           D="channel", z=True),
    config("s_T2048_GH_P64_N128_c256_rope", 1, 2048, 4, 64, 4, 128, R=64, z=True,
           dt_bias=True, h0=True, batch_rope=True),
    config("s_T513_G1_P32_N64_c64_posA", 2, 513, 4, 32, 1, 64, chunk=64, positive_a=True),
    config("s_T300_G2_P64_N16_c128_f16", 1, 300, 4, 64, 2, 16, R=16, chunk=128,
           dtype="f16", D="head", dt_limit=(0.01, 0.4)),
    config("s_T4096_G1_P64_N128_c256", 1, 4096, 8, 64, 1, 128, D="head", dt_bias=True),
    config("s_T16384_G1_P64_N64_c256", 1, 16384, 4, 64, 1, 64, D="head", dt_bias=True),
    # 16-bit rope tables, as models pass them (in the activations' dtype).
    config("s_T777_G8_P128_N128_c128_rope_bf16tables", 1, 777, 8, 128, 8, 128, R=128,
           chunk=128, D="channel", tables="bf16"),
    config("s_T500_G2_P32_N64_c64_rope_f16tables", 2, 500, 4, 32, 2, 64, R=32, chunk=64,
           dtype="f16", batch_rope=True, tables="f16"),
    # Identity rope: must equal the rope-free artifact bit for bit.
    config("s_T1000_identity_rope", 1, 1000, 4, 64, 2, 64, R=64, chunk=128),
    config("s_T1000_no_rope", 1, 1000, 4, 64, 2, 64, chunk=128),
    # A split run: the first 600 steps, then the rest from the final state.
    config("s_split_whole", 1, 1000, 4, 64, 1, 64, R=32, chunk=128, D="head"),
    config("s_split_first", 1, 600, 4, 64, 1, 64, R=32, chunk=128, D="head"),
    config("s_split_second", 1, 400, 4, 64, 1, 64, R=32, chunk=128, D="head", h0=True),
    # The state chain in place of chunk states and state passing: by default
    # from B H = 128 on, and asked for at every row count.
    config("s_chain_T1000_H128_G8_P64_N128", 1, 1000, 128, 64, 8, 128, D="head",
           dt_bias=True, h0=True),
    config("s_chain16_T777_G8_P128_N128_rope", 1, 777, 8, 128, 8, 128, R=128, chunk=128,
           D="channel", z=True, options={"ssd_chain_rows": 16}),
    config("s_chain32_T2048_GH_P64_N128_rope", 1, 2048, 4, 64, 4, 128, R=64, z=True,
           dt_bias=True, h0=True, batch_rope=True, options={"ssd_chain_rows": 32}),
    config("s_chain128_T513_G1_P32_N64_posA", 2, 513, 4, 32, 1, 64, chunk=64,
           positive_a=True, options={"ssd_chain_rows": 128}),
    # The chain in pieces (each after the first from zero, then the fix-up
    # program), with A > 0 so that every chunk passes on its whole state.
    config("s_pieces3_T1500_G2_P64_N128_posA_rope", 1, 1500, 4, 64, 2, 128, R=64,
           chunk=128, h0=True, positive_a=True,
           options={"ssd_chain_rows": 64, "ssd_chain_pieces": 3}),
    # The chunk scan overlapping the chain (the default with the chain in one
    # piece): 128 chunks per head, so that the scan's CTAs wait for most of
    # theirs; the same programs in stream order must give the same bits.
    config(OVERLAP, 1, 8192, 128, 64, 8, 64, chunk=64, dt_bias=True, h0=True),
    config(OVERLAP + "_off", 1, 8192, 128, 64, 8, 64, chunk=64, dt_bias=True, h0=True,
           options={"ssd_overlap": False}),
]
# (name, B, T, H, P, N, G, rope, chunk, mamba_ssm Triton fastest seen ms, target ms)
BENCH = [
    ("b_2x4096_h80", 2, 4096, 80, 64, 128, 1, False, 256, 0.380, 0.30),
    ("b_1x16384_h32", 1, 16384, 32, 64, 64, 1, False, 256, 0.426, 0.34),
    ("b_8x2048_g8", 8, 2048, 64, 64, 128, 8, False, 256, 0.632, 0.50),
    ("b_transxssm", 1, 16384, 16, 128, 128, 16, True, 256, 1.67, 0.45),
    ("b_small", 2, 1000, 8, 32, 16, 2, True, 64, 0.80, 0.05),
]
RANDOM_COUNT = 40
# Calls, each on fresh inputs, of the overlap check.
OVERLAP_CALLS = 8


def random_configs(count=RANDOM_COUNT, seed=13):
    """Drawn from what the GPU programs accept: odd lengths, every chunk size
    (the GPU brings it into [64, 256]), groups, P and N multiples of 16, rope
    of any even R <= N, both tables, every option, A of both signs."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        H = rng.choice([1, 2, 4, 8])
        G = rng.choice([g for g in (1, 2, 4, 8) if H % g == 0])
        N = rng.choice([16, 32, 48, 64, 128])
        R = rng.choice([None, None, 2 * rng.randint(1, N // 2)])
        out.append(config(
            f"r{i:03d}", rng.choice([1, 2, 3]), rng.choice([1, 17, 63, 64, 65, 200, 511, 1000,
                                                            1500]),
            H, rng.choice([16, 32, 48, 64, 96, 128]), G, N, R=R,
            chunk=rng.choice([16, 64, 128, 256, 1024]),
            D=rng.choice([None, "head", "channel"]), z=rng.random() < 0.4,
            dt_bias=rng.random() < 0.5, h0=rng.random() < 0.3,
            positive_a=rng.random() < 0.15, batch_rope=R is not None and rng.random() < 0.3,
            softplus=rng.random() < 0.8,
            dt_limit=rng.choice([None, None, (0.001, 0.5)]), dtype=rng.choice(["bf16", "f16"]),
            options={"ssd_chain_rows": rng.choice([0, 0, 16, 32, 64, 128])}))
    return out


# Compile-option variants of every benchmark shape, as `<name><suffix>`.
BENCH_VARIANTS = {"_r128": {"ssd_rows": 128},
                  # Heads of a group per chunk-scan CTA, sharing C B^T (G < H).
                  "_h1": {"ssd_heads": 1}, "_h2": {"ssd_heads": 2, "ssd_rows": 64},
                  # The state chain's rows of P per CTA, or chunk states and
                  # state passing as two programs.
                  "_nochain": {"ssd_chain_rows": -1}, "_c32": {"ssd_chain_rows": 32},
                  "_c64": {"ssd_chain_rows": 64},
                  # No register bound on the chunk scan (the default bounds
                  # several 64-row heads to three CTAs per SM), or five.
                  "_k0": {"ssd_scan_ctas": -1}, "_k5": {"ssd_scan_ctas": 5},
                  # The programs' chunk (by default chunk_size, at most 128
                  # with the state chain), and the chain in two pieces.
                  "_ch256": {"ssd_chunk": 256}, "_ch64": {"ssd_chunk": 64},
                  "_p2": {"ssd_chain_pieces": 2},
                  "_ch256p2": {"ssd_chunk": 256, "ssd_chain_pieces": 2},
                  # The chunk scan after the state chain, not overlapping it.
                  "_ov0": {"ssd_overlap": False},
                  "_r128ov0": {"ssd_rows": 128, "ssd_overlap": False},
                  "_ch256ov0": {"ssd_chunk": 256, "ssd_overlap": False}}


def bench_configs():
    """The benchmark shapes (dt_bias and softplus, D per head), and each
    rope one without rope (for the rope overhead) and with bf16 tables."""
    out = []
    for name, B, T, H, P, N, G, rope, chunk, _, _ in BENCH:
        forms = [("", N if rope else None, "f32")]
        if rope:
            forms += [("_norope", None, "f32"), ("_bf16tables", N, "bf16")]
        for suffix, R, tables in forms:
            out.append(config(name + suffix, B, T, H, P, G, N, R=R, chunk=chunk, D="head",
                              dt_bias=True, tables=tables))
    return out


def compile_bench_variants():
    for c in bench_configs():
        for suffix, options in BENCH_VARIANTS.items():
            graph(c).compile("sm_90a", path=os.path.join(ARTIFACTS, c["name"] + suffix),
                             **options)


def graph(c):
    import wm
    g = wm.Graph(c["name"])
    B, T, H, P, G, N, R, dt = (c[k] for k in ("B", "T", "H", "P", "G", "N", "R", "dtype"))
    x = g.input((B, T, H, P), dt, name="x")
    step = g.input((B, T, H), "f32", name="dt")
    a = g.input((H,), "f32", name="a")
    b = g.input((B, T, G, N), dt, name="b")
    cm = g.input((B, T, G, N), dt, name="c")
    kw = {}
    if c["D"]:
        kw["D"] = g.input((H,) if c["D"] == "head" else (H, P), "f32", name="D")
    if c["z"]:
        kw["z"] = g.input((B, T, H, P), dt, name="z")
    if c["dt_bias"]:
        kw["dt_bias"] = g.input((H,), "f32", name="dt_bias")
    if c["h0"]:
        kw["initial_state"] = g.input((B, H, P, N), "f32", name="h0")
    if R:
        table = (B, T, R) if c["batch_rope"] else (T, R)
        kw["cos"] = g.input(table, c.get("tables", "f32"), name="cos")
        kw["sin"] = g.input(table, c.get("tables", "f32"), name="sin")
    attrs = {"chunk_size": c["chunk"], "dt_softplus": c["softplus"]}
    if c["dt_limit"]:
        attrs["dt_limit"] = c["dt_limit"]
    g.output(*g.ssd(x, step, a, b, cm, **kw, **attrs))
    return g


def compile_all():
    import wm
    from bench.make_artifacts import write_build_info
    write_build_info(ARTIFACTS)
    everything = CONFIGS + random_configs() + bench_configs()
    refused = {}
    for c in everything:
        try:
            graph(c).compile("sm_90a", path=os.path.join(ARTIFACTS, c["name"]), **c["options"])
        except wm.CompileError as error:
            refused[c["name"]] = str(error).splitlines()[-1][:200]
    compile_bench_variants()
    with open(os.path.join(ARTIFACTS, "configs.json"), "w") as f:
        json.dump({"configs": everything, "refused": refused}, f, indent=1)
    print(f"wrote {len(everything) - len(refused)} ssd artifacts, refused {len(refused)}")


def rope_tables(T, R, device, batch=None, offset=0):
    import torch
    inv = 10000.0 ** (-torch.arange(0, R, 2, device=device, dtype=torch.float64) / R)
    angle = (torch.arange(T, device=device, dtype=torch.float64) + offset)[:, None] * inv
    angle = torch.cat([angle, angle], dim=-1)
    cos, sin = torch.cos(angle).float(), torch.sin(angle).float()
    if batch:
        cos, sin = cos.expand(batch, T, R).contiguous(), sin.expand(batch, T, R).contiguous()
    return cos, sin


def make_inputs(c, seed, device="cuda"):
    """Fresh random inputs of a configuration: (positional list, kwargs of
    the torch reference)."""
    import torch
    gen = torch.Generator(device=device).manual_seed(seed)
    dtype = {"bf16": torch.bfloat16, "f16": torch.float16}[c["dtype"]]
    B, T, H, P, G, N, R = (c[k] for k in ("B", "T", "H", "P", "G", "N", "R"))
    rnd = lambda *s: torch.randn(*s, generator=gen, device=device)
    x, b, cm = rnd(B, T, H, P).to(dtype), rnd(B, T, G, N).to(dtype), rnd(B, T, G, N).to(dtype)
    dt = 0.5 * rnd(B, T, H) - 1.0
    a = -torch.exp(rnd(H))
    if c["positive_a"]:
        # Growing states, kept inside f16's range: exp(a dt' T) stays near e^2.
        a = torch.rand(H, generator=gen, device=device) * (2.0 / T)
    kw = {}
    if c["D"]:
        kw["D"] = rnd(H) if c["D"] == "head" else rnd(H, P)
    if c["z"]:
        kw["z"] = rnd(B, T, H, P).to(dtype)
    if c["dt_bias"]:
        kw["dt_bias"] = 0.5 * rnd(H)
    if c["h0"]:
        kw["h0"] = rnd(B, H, P, N)
    if R:
        kw["cos"], kw["sin"] = rope_tables(T, R, device, B if c["batch_rope"] else None)
        if c.get("tables", "f32") != "f32":
            tables = {"bf16": torch.bfloat16, "f16": torch.float16}[c["tables"]]
            kw["cos"], kw["sin"] = kw["cos"].to(tables), kw["sin"].to(tables)
    return [x, dt, a, b, cm] + [kw[k] for k in OPTIONAL if k in kw], kw


def reference_kwargs(c, kw):
    out = dict(kw, softplus=c["softplus"])
    if c["dt_limit"]:
        out["dt_limit"] = c["dt_limit"]
    return out


def overlap_check(by_name):
    """Whether the overlapping programs equal those in stream order bit for
    bit, over OVERLAP_CALLS calls on fresh inputs (a scan CTA reading an
    entering state before the chain wrote it would differ)."""
    import torch
    from wm import gpu
    arts = [gpu.CompiledArtifact(os.path.join(ARTIFACTS, n)) for n in (OVERLAP, OVERLAP + "_off")]
    for seed in range(OVERLAP_CALLS):
        inputs, _ = make_inputs(by_name[OVERLAP], 5000 + seed)
        (y, s), (y_off, s_off) = [art(*inputs) for art in arts]
        if not (torch.equal(y, y_off) and torch.equal(s, s_off)):
            return False
    return True


def run_one(c, inputs, kw):
    """(y, state) of the artifact with poisoned outputs."""
    from wm import gpu
    art = gpu.CompiledArtifact(os.path.join(ARTIFACTS, c["name"]))
    art.poison_outputs = True
    return art(*inputs)


def run_all(out_path, only=None):
    import torch
    from bench.dma import publish, rel_error, table
    from bench.torch_ssd import ssd_recurrence
    with open(os.path.join(ARTIFACTS, "configs.json")) as f:
        saved = json.load(f)
    by_name = {c["name"]: c for c in saved["configs"]}
    names = [c["name"] for c in CONFIGS + random_configs()]
    if only:
        names = [n for n in names if n in only]
    rows, failed, refused, results = [], 0, 0, {}
    for name in names:
        c = by_name[name]
        if name in saved["refused"]:
            refused += 1
            rows.append((name, "refused: " + saved["refused"][name], "", "", "refused"))
            continue
        seed = 1000 + names.index(name)
        if name.startswith("s_split_"):
            seed = 77  # one draw of the whole run, cut below
        if name == "s_T1000_no_rope":
            seed = names.index("s_T1000_identity_rope") + 1000
        inputs, kw = make_inputs(c, seed)
        if name == "s_T1000_identity_rope":
            inputs[-2].fill_(1.0)
            inputs[-1].fill_(0.0)
            kw["cos"], kw["sin"] = inputs[-2], inputs[-1]
        if name in ("s_split_first", "s_split_second"):
            whole, _ = make_inputs(by_name["s_split_whole"], 77)
            cut = slice(0, 600) if name == "s_split_first" else slice(600, 1000)
            inputs = [t[:, cut] if t.dim() > 1 and t.shape[1] == 1000 else t for t in whole]
            inputs[-2:] = [t[cut] for t in whole[-2:]]
            kw = {"D": inputs[5], "cos": inputs[-2], "sin": inputs[-1]}
            if name == "s_split_second":
                inputs.insert(6, results["s_split_first"][1])
                kw["h0"] = inputs[6]
        y, state = run_one(c, inputs, kw)
        torch.cuda.synchronize()
        results[name] = (y.clone(), state.clone())
        ref_y, ref_state = ssd_recurrence(*inputs[:5], **reference_kwargs(c, kw))
        ey, es = rel_error(y, ref_y), rel_error(state, ref_state)
        nan = bool(torch.isnan(y.float()).any() or torch.isnan(state).any())
        ok = ey <= TOLERANCE and es <= TOLERANCE and not nan
        rows.append((name, f"{ey:.2e}", f"{es:.2e}", "NaN" if nan else "ok",
                     "PASS" if ok else "FAIL"))
        failed += not ok
        print(" | ".join(rows[-1]), flush=True)
    extra = []
    if "s_T1000_identity_rope" in results and "s_T1000_no_rope" in results:
        same = torch.equal(results["s_T1000_identity_rope"][0], results["s_T1000_no_rope"][0])
        extra.append(("identity rope == no rope, bitwise", "", "", "", "PASS" if same else "FAIL"))
    if all(n in results for n in ("s_split_whole", "s_split_first", "s_split_second")):
        whole_y, whole_s = results["s_split_whole"]
        joined = torch.cat([results["s_split_first"][0], results["s_split_second"][0]], dim=1)
        ey, es = rel_error(joined, whole_y), rel_error(results["s_split_second"][1], whole_s)
        ok = ey <= TOLERANCE and es <= TOLERANCE
        extra.append(("split run (600 + 400 from h0) vs whole", f"{ey:.2e}", f"{es:.2e}", "",
                      "PASS" if ok else "FAIL"))
    if OVERLAP in results and OVERLAP + "_off" in results:
        extra.append((f"overlapping scan == stream order, bitwise, {OVERLAP_CALLS} calls",
                      "", "", "", "PASS" if overlap_check(by_name) else "FAIL"))
    tried, failed_configs = len(names), failed
    rows += extra
    for r in extra:
        failed += r[-1] == "FAIL"
        print(" | ".join(r), flush=True)
    summary = (f"ssd: tried {tried}, refused {refused}, passed "
               f"{tried - refused - failed_configs}, failed {failed_configs}; "
               f"{sum(r[-1] == 'PASS' for r in extra)} of {len(extra)} cross checks pass")
    text = table(["config", "y rel. err", "state rel. err", "NaN", "result"], rows)
    text += "\n\n" + summary
    print(summary)
    publish(text, out_path, echo=False)
    return 1 if failed else 0


def ssd_flops(c):
    """Tensor-core flops of the chunked form: chunk states and state to
    output (2 T P N each), the causal half of C B^T and of the weights times
    x (T Lc (N + P))."""
    B, T, H, P, N = (c[k] for k in ("B", "T", "H", "P", "N"))
    chunk = min(max(c["chunk"], 64), 256)
    return B * H * (4 * T * P * N + T * chunk * (N + P))


def ssd_bytes(c):
    """The bytes the layer must move: x, y, B, C, dt, D, the rope tables."""
    B, T, H, P, G, N, R = (c[k] for k in ("B", "T", "H", "P", "G", "N", "R"))
    return 2 * (2 * B * T * H * P + 2 * B * T * G * N) + 4 * B * T * H + (8 * T * R if R else 0)


def per_kernel_ms(art, inputs):
    """Each launch of the artifact timed alone (on whatever its scratch
    holds: the times, not the values, matter here). A chunk scan that
    overlaps the chain runs alone in stream order, after one whole call has
    left the chain's progress counts complete in the scratch arena (which
    the caching allocator hands back): its times include no wait."""
    import dataclasses
    from bench.dma import time_ms
    from wm import gpu
    times = []
    for launch in art.manifest.launches:
        one = gpu.CompiledArtifact(art.path)
        alone = dataclasses.replace(launch, overlap_previous=False)
        one.manifest = dataclasses.replace(one.manifest, launches=(alone,))
        if launch.overlap_previous:
            art(*inputs)
        times.append(time_ms(lambda: one(*inputs)))
    return times


def count_launches(fn):
    import torch
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return sum(1 for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)


def bench_all(out_path, extra=()):
    """`extra`: suffixes of more artifacts of each shape (experiments
    compiled outside `compile`), timed like the variants where present."""
    import torch
    from bench.dma import publish, rel_error, table, time_ms
    from bench.torch_ssd import ssd_chunked
    from wm import gpu

    def peak_extra(fn):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20

    configs = {c["name"]: c for c in bench_configs()}
    rows = []
    for name, B, T, H, P, N, G, rope, chunk, mamba, target in BENCH:
        c = configs[name]
        inputs, kw = make_inputs(c, seed=T + H)
        art = gpu.CompiledArtifact(os.path.join(ARTIFACTS, name))
        ours = lambda: art(*inputs)
        y, _ = ours()
        kwargs = reference_kwargs(c, kw)
        eager = lambda: ssd_chunked(*inputs[:5], chunk=chunk, **kwargs)
        err = rel_error(y, eager()[0])
        t_ours = time_ms(ours)
        kernels = per_kernel_ms(art, inputs)
        variants = {}
        for suffix in list(BENCH_VARIANTS) + list(extra):  # each timed, and checked
            if not os.path.isdir(os.path.join(ARTIFACTS, name + suffix)):
                continue
            variant = gpu.CompiledArtifact(os.path.join(ARTIFACTS, name + suffix),
                                           poison_outputs=True)
            v_err = rel_error(variant(*inputs)[0], y)
            variant.poison_outputs = False
            variants[suffix] = (time_ms(lambda a=variant: a(*inputs)), v_err)
        t_norope = t_tables16 = ""
        if rope:
            plain = gpu.CompiledArtifact(os.path.join(ARTIFACTS, name + "_norope"))
            plain_inputs = inputs[:-2]
            t_norope = f"{time_ms(lambda: plain(*plain_inputs)):.3f} (" + " + ".join(
                f"{t:.3f}" for t in per_kernel_ms(plain, plain_inputs)) + ")"
            half = gpu.CompiledArtifact(os.path.join(ARTIFACTS, name + "_bf16tables"))
            half_inputs = inputs[:-2] + [t.bfloat16() for t in inputs[-2:]]
            t_tables16 = f"{time_ms(lambda: half(*half_inputs)):.3f}"
            for suffix in extra:  # the experiments with bf16 tables too
                where = os.path.join(ARTIFACTS, name + "_bf16tables" + suffix)
                if os.path.isdir(where):
                    t = time_ms(lambda a=gpu.CompiledArtifact(where): a(*half_inputs))
                    t_tables16 += f", {suffix} {t:.3f}"
        t_eager = time_ms(eager)
        try:
            compiled = torch.compile(ssd_chunked, dynamic=False)
            run = lambda: compiled(*inputs[:5], chunk=chunk, **kwargs)
            run()
            t_compiled = f"{time_ms(run):.3f}"
            launches_compiled = count_launches(run)
        except Exception as error:  # noqa: BLE001 - report, do not stop the suite
            t_compiled, launches_compiled = f"failed: {type(error).__name__}"[:60], ""
        mem, mem_eager = peak_extra(ours), peak_extra(eager)
        tflops = ssd_flops(c) / (t_ours * 1e-3) / 1e12
        gbs = ssd_bytes(c) / (t_ours * 1e-3) / 1e9
        rows.append((name, f"({B}, {T}, {H}, {P}, {N}, {G})" + (" rope" if rope else ""),
                     f"{t_ours:.3f}", t_norope, t_tables16, f"{t_eager:.3f}", t_compiled,
                     f"{mamba:.3f}", f"{target:.2f}", f"{tflops:.1f}", f"{gbs:.0f}",
                     f"{len(art.manifest.launches)} / {count_launches(eager)} / "
                     f"{launches_compiled}", f"{mem:.0f} / {mem_eager:.0f}", f"{err:.1e}",
                     " + ".join(f"{t:.3f}" for t in kernels),
                     ", ".join(f"{k} {t:.3f} (vs ours {e:.0e})"
                               for k, (t, e) in variants.items())))
        print(rows[-1], flush=True)
        torch.cuda.empty_cache()
    header = ["config", "(B, T, H, P, N, G)", "ours ms", "ours, rope off ms (per kernel)",
              "ours, bf16 tables ms", "eager ms",
              "torch.compile ms", "mamba_ssm Triton ms (issue)", "target ms",
              "ours TFLOP/s", "ours GB/s", "launches ours / eager / compiled",
              "extra MiB ours / eager", "ours vs eager rel. err",
              "ours per kernel ms (in launch order)", "variants ms"]
    publish(table(header, rows), out_path)
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["compile", "run", "bench", "profile"])
    parser.add_argument("--out")
    parser.add_argument("--only", help="comma-separated config names")
    parser.add_argument("--extra", default="",
                        help="bench: comma-separated suffixes of more artifacts to time")
    args = parser.parse_args()
    if args.mode == "compile":
        compile_all()
        return 0
    if args.mode == "bench":
        return bench_all(args.out, [e for e in args.extra.split(",") if e])
    if args.mode == "profile":  # one run of each named benchmark artifact, for ncu
        import torch
        from wm import gpu
        configs = {c["name"]: c for c in bench_configs()}
        for name in args.only.split(","):
            inputs, _ = make_inputs(configs[name], seed=0)
            gpu.CompiledArtifact(os.path.join(ARTIFACTS, name))(*inputs)
        torch.cuda.synchronize()
        return 0
    return run_all(args.out, args.only.split(",") if args.only else None)


if __name__ == "__main__":
    sys.exit(main())
