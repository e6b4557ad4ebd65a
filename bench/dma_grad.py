"""The DMA backward on the H200 (issue 12): wm.dma_attention_grad (the
tensor-core program where D % 32 == 0, else the row programs; `_det`: the
deterministic row programs) and wm.dma_bias_grad against torch autograd of
the fp32 reference of the spec (bench/torch_reference.py), and one training
step (forward + backward) against SDPA and FlexAttention.

    python3 bench/dma_grad.py compile     # where MLIR is: bench/artifacts/grad/
    python3 bench/dma_grad.py run [--out results.md] [--only a,b]   # on the GPU
    python3 bench/dma_grad.py bench [--out bench.md] [--skip-flex]  # on the GPU
    python3 bench/dma_grad.py profile --only b_L16384_W2048  # one step, for ncu

Each artifact runs the forward (selection, attention) and the backward of
one layer: inputs q, k, v, bias (or values' w_dt, a) and dout; outputs out,
lse and every gradient.
"""

import argparse
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), ROOT]

ARTIFACTS = os.path.join(ROOT, "bench", "artifacts", "grad")
TOLERANCE = 2e-2  # bf16, per gradient

# (name, B, L, H, Hk, D, causal, window, scope)
CONFIGS = [
    ("g_L1000_W64_gqa4", 1, 1000, 8, 2, 64, True, 64, "prefix"),
    ("g_L1000_Wall_d96", 1, 1000, 4, 4, 96, True, 1024, "prefix"),
    ("g_L777_W100_global_mqa", 1, 777, 4, 1, 128, True, 100, "global"),
    ("g_L1000_W128_noncausal", 2, 1000, 4, 2, 64, False, 128, "prefix"),
    ("g_L4096_W1024_d128", 1, 4096, 4, 2, 128, True, 1024, "prefix"),
    ("g_L16384_W1024_gqa", 1, 16384, 4, 2, 128, True, 1024, "prefix"),
    ("g_L16384_W64_mqa_d64", 1, 16384, 4, 1, 64, True, 64, "prefix"),
    ("g_L16384_Wall_d96", 1, 16384, 2, 2, 96, True, 16384, "prefix"),
    ("g_L4096_W4096_global", 1, 4096, 4, 2, 128, True, 4000, "global"),
    # Candidate lists past one compaction round (4096 slots, rounds of 2048).
    ("g_L8192_W6000_d64", 1, 8192, 2, 1, 64, True, 6000, "prefix"),
]
# Compile-option variants of some configurations, as `<name><suffix>`: the
# deterministic row programs, and the backward CTA size the heuristic does
# not pick there (8 warps from 4096 query rows on, else 4).
# `_out16`: a 16-bit forward output, whose backward computes Dr in a first
# sweep over the keys.
VARIANTS = {"_det": {"deterministic": True}, "_w4": {"grad_warps": 4},
            "_w8": {"grad_warps": 8}, "_out16": {}}
VARIANT_CONFIGS = {"_det": ["g_L1000_W64_gqa4", "g_L777_W100_global_mqa"],
                   "_w4": ["g_L16384_W1024_gqa", "g_L8192_W6000_d64"],
                   "_w8": ["g_L1000_W64_gqa4", "g_L777_W100_global_mqa"],
                   "_out16": ["g_L1000_W64_gqa4", "g_L777_W100_global_mqa",
                              "g_L4096_W1024_d128", "g_L8192_W6000_d64"]}
# One training step, bf16, B = 1, H = Hk = 16, D = 128, causal, prefix: (name, L, W).
BENCH = [("b_L16384_W2048", 16384, 2048), ("b_L65536_W4096", 65536, 4096),
         ("b_L4096_Wall", 4096, 4096), ("b_L16384_Wall", 16384, 16384)]
# (name, B, L, H, Hk, D, window, form): the bias computed from the values.
CHAINED = [
    ("gb_L1000_W64_exp", 1, 1000, 4, 2, 64, 64, "exp"),
    ("gb_L1000_W256_linear", 1, 1000, 4, 2, 64, 256, "linear"),
]


# Randomized configurations (the differential run of the backward).
RANDOM_COUNT = 40


def random_configs(count=RANDOM_COUNT, seed=12):
    """(name, B, Lq, Lk, H, Hk, D, causal, window, scope, dtype) drawn at random:
    odd and decode lengths, query chunks, GQA/MQA, both scopes, W from 1 to
    past Lk, bf16 and f16."""
    import random
    rng = random.Random(seed)
    configs = []
    for i in range(count):
        Lk = rng.choice([1, 2, 17, 64, 100, 255, 256, 257, 511, 777])
        Lq = rng.choice([Lk, Lk, 1, max(1, Lk // 3)])
        H, Hk = rng.choice([(1, 1), (2, 1), (4, 2), (4, 4), (8, 2)])
        D = rng.choice([8, 16, 24, 32, 40, 64, 96, 128])
        causal = rng.random() < 0.7
        scope = "global" if rng.random() < 0.25 else "prefix"
        window = rng.randint(1, Lk + 8)
        dtype = rng.choice(["bf16", "f16"])
        configs.append((f"r{i:03d}", rng.choice([1, 2]), Lq, Lk, H, Hk, D, causal, window,
                        scope, dtype))
    return configs


def graph(name, B, L, H, Hk, D, causal, window, scope, form=None, Lk=None, dtype="bf16",
          f32_output=True):
    """The forward and backward of one layer. f32_output: the training
    forward's f32 O, from which the backward takes Dr = dO . O (else the
    backward's first sweep computes Dr from P and dP)."""
    import wm
    Lk = L if Lk is None else Lk
    g = wm.Graph(name)
    q = g.input((B, L, H, D), dtype, name="q")
    k = g.input((B, Lk, Hk, D), dtype, name="k")
    v = g.input((B, Lk, Hk, D), dtype, name="v")
    if form:
        w = g.input((Hk, Hk * D), "bf16", name="w_dt")
        a = g.input((Hk,), "f32", name="a")
        b_dt = g.input((Hk,), "f32", name="dt_bias")
        bias = g.dma_bias(v, w, a, dt_bias=b_dt, form=form)
    else:
        bias = g.input((B, Hk, Lk), "f32", name="bias")
    dout = g.input((B, L, H, D), dtype, name="dout")
    tau = g.dma_select(bias, query_len=L, window=window, causal=causal, scope=scope)
    out, lse = g.dma_attention(q, k, v, bias, causal=causal, window=window, scope=scope,
                               f32_output=f32_output)
    dq, dk, dv, dbias = g.dma_attention_grad(q, k, v, bias, tau, out, lse, dout, causal=causal)
    if form:
        dv_bias, dw, da, ddt = g.dma_bias_grad(v, w, a, dbias, dt_bias=b_dt, form=form)
        g.output(out, lse, dq, dk, dv, dv_bias, dw, da, ddt)
    else:
        g.output(out, lse, dq, dk, dv, dbias)
    return g


def step_graphs(name, L, W, H=16, D=128, f32_output=True):
    """The forward (tau, out, lse) and the backward of one training step."""
    import wm
    fwd = wm.Graph(name + "_fwd")
    q, k, v = (fwd.input((1, L, H, D), "bf16", name=n) for n in "qkv")
    bias = fwd.input((1, H, L), "f32", name="bias")
    tau = fwd.dma_select(bias, query_len=L, window=W, causal=True, scope="prefix")
    fwd.output(tau, *fwd.dma_attention(q, k, v, bias, causal=True, window=W, scope="prefix",
                                       f32_output=f32_output))
    bwd = wm.Graph(name + "_bwd")
    q, k, v = (bwd.input((1, L, H, D), "bf16", name=n) for n in "qkv")
    bias = bwd.input((1, H, L), "f32", name="bias")
    tau = bwd.input((1, H, L), "f32", name="tau")
    out = bwd.input((1, L, H, D), "f32" if f32_output else "bf16", name="out")
    lse = bwd.input((1, H, L), "f32", name="lse")
    dout = bwd.input((1, L, H, D), "bf16", name="dout")
    bwd.output(*bwd.dma_attention_grad(q, k, v, bias, tau, out, lse, dout, causal=True))
    return fwd, bwd


def compile_all():
    for name, B, L, H, Hk, D, causal, window, scope in CONFIGS:
        graph(name, B, L, H, Hk, D, causal, window, scope).compile(
            "sm_90a", path=os.path.join(ARTIFACTS, name))
        for suffix, options in VARIANTS.items():
            if name in VARIANT_CONFIGS[suffix]:
                graph(name, B, L, H, Hk, D, causal, window, scope,
                      f32_output=suffix != "_out16").compile(
                    "sm_90a", path=os.path.join(ARTIFACTS, name + suffix), **options)
        print("wrote", name, flush=True)
    for name, L, W in BENCH:
        for suffix, f32_output in (("", True), ("16", False)):
            fwd, bwd = step_graphs(name, L, W, f32_output=f32_output)
            fwd.compile("sm_90a", path=os.path.join(ARTIFACTS, name + "_fwd" + suffix))
            bwd.compile("sm_90a", path=os.path.join(ARTIFACTS, name + "_bwd" + suffix))
        print("wrote", name, flush=True)
    for name, B, L, H, Hk, D, window, form in CHAINED:
        graph(name, B, L, H, Hk, D, True, window, "prefix", form).compile(
            "sm_90a", path=os.path.join(ARTIFACTS, name))
        print("wrote", name, flush=True)
    for i, (name, B, Lq, Lk, H, Hk, D, causal, window, scope, dtype) in \
            enumerate(random_configs()):
        # Both forms of Dr: f32 and 16-bit forward outputs in turn.
        graph(name, B, Lq, H, Hk, D, causal, window, scope, Lk=Lk, dtype=dtype,
              f32_output=i % 2 == 0).compile(
            "sm_90a", path=os.path.join(ARTIFACTS, name))
    print("wrote", RANDOM_COUNT, "random configurations")


def run_all(out_path, only=None):
    import torch
    import torch.nn.functional as F
    from bench.dma import publish, rel_error, time_ms
    from bench.torch_reference import dma_attention as reference
    from wm import gpu

    rows, failed = [], 0

    def check(name, shape, art, inputs, leaves, forward, grads_named):
        nonlocal failed
        art.poison_outputs = True
        got = art(*inputs)
        torch.cuda.synchronize()
        out, lse = forward()
        dout = inputs[-1].float()
        torch.autograd.backward(out, dout)
        errors = [f"out {rel_error(got[0], out):.1e}", f"lse {rel_error(got[1], lse):.1e}"]
        ok = rel_error(got[0], out) <= TOLERANCE
        for (gname, ours), leaf in zip(grads_named(got), leaves):
            e = rel_error(ours, leaf.grad)
            nan = bool(torch.isnan(ours.float()).any())
            errors.append(f"{gname} {e:.1e}")
            ok = ok and e <= TOLERANCE and not nan
        art.poison_outputs = False
        ms = time_ms(lambda: art(*inputs))
        rows.append((name, shape, ", ".join(errors), f"{ms:.3f}", "PASS" if ok else "FAIL"))
        failed += not ok
        print(rows[-1], flush=True)

    fixed = [(c, c[0]) for c in CONFIGS] + \
        [(c, c[0] + s) for s in VARIANTS for c in CONFIGS if c[0] in VARIANT_CONFIGS[s]]
    for i, ((name, B, L, H, Hk, D, causal, window, scope), art_name) in enumerate(fixed):
        if only and name not in only:
            continue
        gen = torch.Generator(device="cuda").manual_seed(100 + i)
        q, k, v, dout = (torch.randn(s, generator=gen, device="cuda").to(torch.bfloat16)
                         for s in [(B, L, H, D), (B, L, Hk, D), (B, L, Hk, D), (B, L, H, D)])
        bias = torch.randn(B, Hk, L, generator=gen, device="cuda")
        leaves = [t.float().requires_grad_() for t in (q, k, v)] + [bias.clone().requires_grad_()]
        art = gpu.CompiledArtifact(os.path.join(ARTIFACTS, art_name))
        check(art_name, f"{B}x{L} H{H}/Hk{Hk} D{D} W{window} {'causal' if causal else ''} {scope}",
              art, (q, k, v, bias, dout), leaves,
              lambda: reference(*leaves, causal, window, scope),
              lambda got: zip(("dq", "dk", "dv", "dbias"), got[2:6]))
        del leaves
        torch.cuda.empty_cache()

    for i, (name, B, L, H, Hk, D, window, form) in enumerate(CHAINED):
        if only and name not in only:
            continue
        gen = torch.Generator(device="cuda").manual_seed(200 + i)
        q, k, v, dout = (torch.randn(s, generator=gen, device="cuda").to(torch.bfloat16)
                         for s in [(B, L, H, D), (B, L, Hk, D), (B, L, Hk, D), (B, L, H, D)])
        w_dt = (0.05 * torch.randn(Hk, Hk * D, generator=gen, device="cuda")).to(torch.bfloat16)
        a = -torch.rand(Hk, generator=gen, device="cuda") - 0.5
        dt_bias = torch.randn(Hk, generator=gen, device="cuda")
        leaves = [t.float().requires_grad_() for t in (q, k, v, w_dt)] + \
            [a.clone().requires_grad_(), dt_bias.clone().requires_grad_()]

        def forward(leaves=leaves, B=B, L=L, Hk=Hk, D=D, window=window, form=form):
            qf, kf, vf, wf, af, bf = leaves
            dt = vf.reshape(B, L, Hk * D) @ wf.T + bf
            scaled = af * F.softplus(dt)
            bias = (torch.exp(scaled) if form == "exp" else scaled).transpose(1, 2)
            return reference(qf, kf, vf, bias, True, window, "prefix")

        def named(got):
            # dv from attention and from the bias add up: torch has their sum.
            return zip(("dq", "dk", "dv (both paths)", "dw_dt", "da", "ddt_bias"),
                       (got[2], got[3], got[4].float() + got[5].float(), got[6], got[7], got[8]))
        art = gpu.CompiledArtifact(os.path.join(ARTIFACTS, name))
        check(name, f"{B}x{L} H{H}/Hk{Hk} D{D} W{window} {form} bias", art,
              (q, k, v, w_dt, a, dt_bias, dout), leaves, forward, named)

    random_failed, random_tried = 0, 0
    storage = {"bf16": torch.bfloat16, "f16": torch.float16}
    for i, (name, B, Lq, Lk, H, Hk, D, causal, window, scope, dtype) in enumerate(random_configs()):
        if only and name not in only:
            continue
        gen = torch.Generator(device="cuda").manual_seed(300 + i)
        q, k, v, dout = (torch.randn(s, generator=gen, device="cuda").to(storage[dtype])
                         for s in [(B, Lq, H, D), (B, Lk, Hk, D), (B, Lk, Hk, D), (B, Lq, H, D)])
        bias = torch.randn(B, Hk, Lk, generator=gen, device="cuda")
        leaves = [t.float().requires_grad_() for t in (q, k, v)] + [bias.clone().requires_grad_()]
        art = gpu.CompiledArtifact(os.path.join(ARTIFACTS, name), poison_outputs=True)
        got = art(q, k, v, bias, dout)
        out, _ = reference(*leaves, causal, window, scope)
        torch.autograd.backward(out, dout.float())
        # Relative error, or absolute (per element, rms) where the reference is
        # about 0: one key, or rows that keep one key, give dS = 0 exactly.
        # dBias sums dS = P (dP - Dr), whose terms have the size of dP
        # (|dO| |v| sqrt(D)): with Dr = dO . O its zeros are f32 noise of
        # that size, so its floor scales with it.
        def error(x, want, scale=1.0):
            x, want = x.float(), want.float()
            if torch.isnan(x).any():
                return math.nan
            floor = 1e-4 * scale * want.numel() ** 0.5
            return ((x - want).norm() / max(want.norm().item(), floor)).item()
        rms = lambda t: t.float().square().mean().sqrt().item()  # noqa: E731
        dp_scale = max(1.0, rms(dout) * rms(v) * D ** 0.5)
        errors = [error(x, t.grad, dp_scale if j == 3 else 1.0)
                  for j, (x, t) in enumerate(zip(got[2:6], leaves))]
        ok = error(got[0], out) <= TOLERANCE and all(e <= TOLERANCE for e in errors)
        random_tried += 1
        if not ok:
            random_failed += 1
            print(f"FAIL {name}: B{B} Lq{Lq} Lk{Lk} H{H}/Hk{Hk} D{D} causal={causal} W{window} "
                  f"{scope} {dtype}: dq/dk/dv/dbias {errors}", flush=True)
    if random_tried:
        print(f"dma_grad random: tried {random_tried}, passed {random_tried - random_failed}, "
              f"failed {random_failed}")
    failed += random_failed

    lines = ["| config | shape | rel. err. vs torch autograd (fp32 reference) | ms (fwd + bwd) | result |",
             "|---|---|---|---|---|"] + ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    publish("\n".join(lines), out_path)
    print(f"dma_grad: {len(rows) + random_tried - failed} passed, {failed} failed")
    return 1 if failed else 0


def kept_pairs(tau, bias, L):
    """(row, key) pairs kept over the heads: causal and bias >= tau."""
    import torch
    total = 0
    keys = torch.arange(L, device="cuda")
    for h in range(bias.shape[1]):
        for r0 in range(0, L, 4096):
            rows = torch.arange(r0, min(L, r0 + 4096), device="cuda")
            keep = (keys[None, :] <= rows[:, None]) & \
                (bias[0, h][None, :] >= tau[0, h, rows][:, None])
            total += int(keep.sum())
    return total


def bench_all(out_path, skip_flex):
    """One training step (forward + backward) side by side: ours (the fwd and
    bwd artifacts), SDPA dense causal, FlexAttention with the DMA block mask."""
    import torch
    import torch.nn.functional as F
    from bench.dma import flex_time, publish, table, time_ms
    from wm import gpu

    def peak_extra(fn):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20

    rows = []
    for name, L, W in BENCH:
        gen = torch.Generator(device="cuda").manual_seed(L + W)
        q, k, v, dout = (torch.randn(1, L, 16, 128, generator=gen, device="cuda")
                         .to(torch.bfloat16) for _ in range(4))
        bias = torch.randn(1, 16, L, generator=gen, device="cuda")
        def artifacts(suffix):
            return tuple(gpu.CompiledArtifact(os.path.join(ARTIFACTS, name + part + suffix))
                         for part in ("_fwd", "_bwd"))
        # The training forward (f32 O, rounded for the caller as wm.torch
        # does), and the 16-bit-output form whose backward sweeps twice.
        fwd, bwd = artifacts("")
        fwd16, bwd16 = artifacts("16")
        tau, out, lse = fwd(q, k, v, bias)
        _, out16, _ = fwd16(q, k, v, bias)

        def step():
            t, o, m = fwd(q, k, v, bias)
            o.to(torch.bfloat16)
            return bwd(q, k, v, bias, t, o, m, dout)

        def step16():
            t, o, m = fwd16(q, k, v, bias)
            return bwd16(q, k, v, bias, t, o, m, dout)
        grads = step()
        grads16 = step16()
        nan = any(bool(torch.isnan(g.float()).any()) for g in grads)
        # The two forms agree (both are checked against torch in `run`).
        agree = max(((a.float() - b.float()).norm() / b.float().norm()).item()
                    for a, b in zip(grads, grads16))
        t_fwd = time_ms(lambda: fwd(q, k, v, bias))
        t_fwd16 = time_ms(lambda: fwd16(q, k, v, bias))
        t_bwd = time_ms(lambda: bwd(q, k, v, bias, tau, out, lse, dout))
        t_step = time_ms(step)
        t_bwd16 = time_ms(lambda: bwd16(q, k, v, bias, tau, out16, lse, dout))
        t_step16 = time_ms(step16)
        mem = peak_extra(lambda: bwd(q, k, v, bias, tau, out, lse, dout))
        kept = kept_pairs(tau, bias, L)
        # FlashAttention's count: 4 D flops per kept pair forward, 2.5x that back.
        tflops = 10 * 128 * kept / (t_bwd * 1e-3) / 1e12
        qt, kt, vt = (t.transpose(1, 2).detach().requires_grad_() for t in (q, k, v))
        dt = dout.transpose(1, 2)

        def sdpa_step():
            F.scaled_dot_product_attention(qt, kt, vt, is_causal=True).backward(dt)
        t_sdpa = time_ms(sdpa_step)
        mem_sdpa = peak_extra(sdpa_step)
        flex = "skipped (L*L mask)" if L > 16384 else "skipped"
        if not skip_flex and L <= 16384:
            try:
                flex = f"{flex_time(q, k, v, bias, W, dout=dout):.3f}"
            except Exception as error:  # noqa: BLE001 - report, do not stop the suite
                flex = f"failed: {type(error).__name__}: {error}"[:80]
        rows.append((name, f"{t_fwd:.3f}", f"{t_bwd:.3f}", f"{t_step:.3f}",
                     f"{t_fwd16:.3f}", f"{t_bwd16:.3f}", f"{t_step16:.3f}", f"{agree:.1e}",
                     f"{t_sdpa:.3f}", flex,
                     f"{t_sdpa / t_step:.2f}", f"{tflops:.1f}", f"{mem:.0f}", f"{mem_sdpa:.0f}",
                     "NaN" if nan else "ok"))
        print(rows[-1], flush=True)
        del grads, grads16, qt, kt, vt
        torch.cuda.empty_cache()
    header = ["config", "ours fwd ms", "ours bwd ms", "ours step ms",
              "fwd ms, 16-bit O", "bwd ms, 16-bit O", "step ms, 16-bit O", "grads 16-bit O vs f32 O",
              "SDPA fwd+bwd ms",
              "Flex fwd+bwd ms", "SDPA / ours", "bwd eff. TFLOP/s", "bwd extra MiB",
              "SDPA step extra MiB", "NaN"]
    publish(table(header, rows), out_path)
    return 0


def profile(names):
    import torch
    from wm import gpu
    for name in names:
        L = {n: l for n, l, _ in BENCH}[name]
        gen = torch.Generator(device="cuda").manual_seed(L)
        q, k, v, dout = (torch.randn(1, L, 16, 128, generator=gen, device="cuda")
                         .to(torch.bfloat16) for _ in range(4))
        bias = torch.randn(1, 16, L, generator=gen, device="cuda")
        fwd, bwd = (gpu.CompiledArtifact(os.path.join(ARTIFACTS, name + part))
                    for part in ("_fwd", "_bwd"))
        tau, out, lse = fwd(q, k, v, bias)
        bwd(q, k, v, bias, tau, out, lse, dout)
    torch.cuda.synchronize()
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["compile", "run", "bench", "profile"])
    parser.add_argument("--out")
    parser.add_argument("--only", help="comma-separated config names")
    parser.add_argument("--skip-flex", action="store_true")
    args = parser.parse_args()
    if args.mode == "compile":
        compile_all()
        return 0
    if args.mode == "bench":
        return bench_all(args.out, args.skip_flex)
    if args.mode == "profile":  # one training step of each named BENCH config, for ncu
        return profile(args.only.split(","))
    return run_all(args.out, args.only.split(",") if args.only else None)


if __name__ == "__main__":
    sys.exit(main())
