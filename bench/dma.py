"""The DMA GPU suite, on the H200: correctness of every compiled artifact
against the fp32 PyTorch reference of the spec, then the benchmark side by
side with torch SDPA (dense causal) and FlexAttention. Prints one table.

    python3 bench/dma.py [--out results.md] [--skip-flex]

Artifacts come from bench/make_artifacts.py (run where MLIR is).
"""

import argparse
import dataclasses
import datetime
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), ROOT]
os.environ.setdefault("WM_BUILD_DIR", os.path.join(ROOT, "build-gpu"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from bench.configs import (BENCHMARK, BIAS_CHAINED, CORRECTNESS, CORRECTNESS_VARIANTS,  # noqa: E402
                           EXTERNAL_VARIANTS, VARIANTS, benchmark_config, dtype_of)
from bench.torch_reference import dma_attention as reference, thresholds  # noqa: E402
from wm import gpu  # noqa: E402

ARTIFACTS = os.path.join(ROOT, "bench", "artifacts")
TOLERANCE = 1e-2


def make_inputs(B, Lq, Lk, H, Hk, D, seed, dtype="bf16", tied=False):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    storage = torch.bfloat16 if dtype == "bf16" else torch.float16
    q = torch.randn(B, Lq, H, D, generator=gen, device="cuda").to(storage)
    k = torch.randn(B, Lk, Hk, D, generator=gen, device="cuda").to(storage)
    v = torch.randn(B, Lk, Hk, D, generator=gen, device="cuda").to(storage)
    bias = torch.randn(B, Hk, Lk, generator=gen, device="cuda")
    if tied:  # a few distinct values: thresholds fall on long runs of ties
        bias = torch.round(bias * 2) / 2
    return q, k, v, bias


def rel_error(out, ref):
    """||out - ref|| / ||ref|| over the finite entries; NaN if `out` has NaN
    where `ref` has none (or lacks one it has), inf if the infinite entries
    differ."""
    out, ref = out.float(), ref.float()
    if not torch.equal(torch.isnan(out), torch.isnan(ref)):
        return math.nan
    finite = torch.isfinite(ref)
    infinite = torch.isinf(ref)
    if not torch.equal(torch.isfinite(out), finite) or not torch.equal(out[infinite], ref[infinite]):
        return math.inf
    return ((out[finite] - ref[finite]).norm() / ref[finite].norm().clamp_min(1e-30)).item()


def time_ms(fn):
    """Median time of `fn` by triton.testing.do_bench: warm-up, L2 flushed
    before each repetition, CUDA events, launches queued back to back (so
    host-side launch overhead overlaps earlier GPU work, as in a model)."""
    from triton.testing import do_bench
    return do_bench(fn, warmup=25, rep=200, return_mode="median")


def artifact(name, keep=None):
    """The compiled artifact; `keep(kernel)` selects a subset of its launches."""
    art = gpu.CompiledArtifact(os.path.join(ARTIFACTS, name))
    if keep is not None:
        art.manifest = dataclasses.replace(
            art.manifest, launches=tuple(l for l in art.manifest.launches if keep(l.kernel)))
    return art


# Configurations run a second time on a bias with massive ties.
TIED = ("c_L1000_W64_gqa4", "c_L4096_W1024_mqa", "c_L4096_W64_global", "c_L16384_W1024",
        "c_L999_W64_odd", "c_Lq300_Lk1003_chunk")


def variants(name, suffixes):
    """The compiled variants name + suffix present among the artifacts."""
    return [s for s in suffixes if os.path.isdir(os.path.join(ARTIFACTS, name + s))]


def distance(art, inputs, out, lse):
    """Runs `art` with poisoned outputs; the relative errors of `out` and
    `lse` measured against its outputs."""
    art.poison_outputs = True
    other_out, other_lse = art(*inputs)
    art.poison_outputs = False
    return rel_error(out, other_out), rel_error(lse, other_lse)


def correctness():
    rows = []
    cases = [(cfg, False) for cfg in CORRECTNESS] + [(cfg, True) for cfg in CORRECTNESS if cfg[0] in TIED]
    for cfg, tied in cases:
        name, B, Lq, Lk, H, Hk, D, causal, window, scope = cfg
        q, k, v, bias = make_inputs(B, Lq, Lk, H, Hk, D, seed=len(rows), dtype=dtype_of(name), tied=tied)
        art = artifact(name)
        art.poison_outputs = True
        out, lse = art(q, k, v, bias)
        torch.cuda.synchronize()
        want_out, want_lse = reference(q, k, v, bias, causal, window, scope)
        e_out, e_lse = rel_error(out, want_out), rel_error(lse, want_lse)
        ok = e_out <= TOLERANCE and e_lse <= TOLERANCE
        # The same op through the row kernels (no compaction, no skipping of
        # work by tensor-core tiles, per-row thresholds) and through the
        # other tensor-core kernels must agree.
        agree = []
        for suffix in variants(name, ("__rows", *CORRECTNESS_VARIANTS)):
            d_out, d_lse = distance(artifact(name + suffix), (q, k, v, bias), out, lse)
            agree.append(f"{suffix[2:]} {max(d_out, d_lse):.1e}")
            ok = ok and d_out <= TOLERANCE and d_lse <= TOLERANCE
        agree = ", ".join(agree) or "-"
        rows.append((name + (" (tied bias)" if tied else ""),
                     f"{dtype_of(name)} {B}x{Lq}x{Lk} H{H}/Hk{Hk} D{D}", causal, window, scope,
                     e_out, e_lse, agree, "PASS" if ok else "FAIL"))
        print(rows[-1], flush=True)
    return rows


def bias_chained():
    """wm.dma_bias on the GPU feeding the attention, vs the fp32 reference."""
    rows = []
    for name, B, L, H, Hk, D, W, form in BIAS_CHAINED:
        q, k, v, _ = make_inputs(B, L, L, H, Hk, D, seed=7 + len(rows))
        gen = torch.Generator(device="cuda").manual_seed(11)
        w_dt = (0.05 * torch.randn(Hk, Hk * D, generator=gen, device="cuda")).to(torch.bfloat16)
        a = -torch.rand(Hk, generator=gen, device="cuda") - 0.5
        dt_bias = torch.randn(Hk, generator=gen, device="cuda")
        art = artifact(name)
        art.poison_outputs = True
        out, lse = art(q, k, v, w_dt, a, dt_bias)
        torch.cuda.synchronize()
        dt = v.float().reshape(B, L, Hk * D) @ w_dt.float().T + dt_bias
        scaled = a * F.softplus(dt)  # softplus is x itself above 20, as the spec says
        bias = (torch.exp(scaled) if form == "exp" else scaled).transpose(1, 2).contiguous()
        want_out, want_lse = reference(q, k, v, bias, True, W, "prefix")
        e_out, e_lse = rel_error(out, want_out), rel_error(lse, want_lse)
        ok = e_out <= TOLERANCE and e_lse <= TOLERANCE
        rows.append((name, f"bf16 {B}x{L} H{H}/Hk{Hk} D{D} {form}", True, W, "prefix",
                     e_out, e_lse, "-", "PASS" if ok else "FAIL"))
        print(rows[-1], flush=True)
    return rows


def kept_and_skipped(bias, tau_rows, L, block, cta_rows):
    """Kept (row, key) pairs, the fraction of causal (row, key block) pairs
    whose block maximum is below the row threshold (skipped), and the
    fraction of causal (row, key) pairs the attention kernel never computes:
    a CTA of `cta_rows` rows computes 64-key tiles of its candidates only
    (keys it can see whose bias reaches its smallest threshold)."""
    kept = skipped = visited = computed = 0
    keys = torch.arange(L, device="cuda")
    blocks = bias.shape[-1] // block + (bias.shape[-1] % block > 0)
    bmax = torch.nn.functional.pad(bias, (0, blocks * block - L), value=-math.inf)
    bmax = bmax.view(*bias.shape[:-1], blocks, block).amax(-1)
    for g in range(bias.shape[1]):
        for r0 in range(0, L, 2048):
            rows = torch.arange(r0, min(L, r0 + 2048), device="cuda")
            tau = tau_rows(g, rows)
            allowed = keys[None, :] <= rows[:, None]
            kept += (allowed & (bias[0, g][None, :] >= tau[:, None])).sum().item()
            nblk = rows // block + 1
            live = (bmax[0, g][None, :] >= tau[:, None])
            causal_blocks = torch.arange(blocks, device="cuda")[None, :] < nblk[:, None]
            skipped += (causal_blocks & ~live).sum().item()
            visited += causal_blocks.sum().item()
            for c0 in range(0, len(rows), cta_rows):
                i1 = r0 + min(len(rows), c0 + cta_rows)
                candidates = (bias[0, g, :i1] >= tau[c0:c0 + cta_rows].min()).sum().item()
                computed += (i1 - r0 - c0) * 64 * math.ceil(candidates / 64)
    causal_pairs = bias.shape[1] * L * (L + 1) // 2
    return kept, skipped / max(visited, 1), 1 - computed / causal_pairs


def benchmark(skip_flex):
    rows = []
    for name, L, W in BENCHMARK:
        _, B, Lq, Lk, H, Hk, D, causal, window, scope = benchmark_config(name, L, W)
        q, k, v, bias = make_inputs(B, Lq, Lk, H, Hk, D, seed=100 + L)
        art = artifact(name)
        selection = artifact(name, keep=lambda kernel: not kernel.startswith("dma_attention"))
        scratch = sum(math.prod(s.shape) * 4 for s in art.manifest.buffers)
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        art(q, k, v, bias)
        torch.cuda.synchronize()
        peak_extra = torch.cuda.max_memory_allocated() - base
        ours = time_ms(lambda: art(q, k, v, bias))
        # Variants: their time, and their distance to the default's result.
        timed = []
        out, lse = art(q, k, v, bias)
        for suffix in variants(name, (*VARIANTS, *EXTERNAL_VARIANTS)):
            other = artifact(name + suffix)
            diff = max(distance(other, (q, k, v, bias), out, lse))
            timed.append(f"{suffix[2:]}: {time_ms(lambda: other(q, k, v, bias)):.3f} ({diff:.1e})")
        sel = time_ms(lambda: selection(q, k, v, bias))
        qt, kt, vt = (t.transpose(1, 2) for t in (q, k, v))
        sdpa = time_ms(lambda: F.scaled_dot_product_attention(qt, kt, vt, is_causal=True))
        tau_rows = lambda g, rows: thresholds(bias[0, g], L, True, W, "prefix", rows)
        attention = next(l for l in art.manifest.launches if l.kernel.startswith("dma_attention"))
        cta_rows = math.ceil(L / (attention.grid[0] // (B * H)))
        kept, skipped, uncomputed = kept_and_skipped(bias, tau_rows, L, 64, cta_rows)
        kept *= H // Hk
        flex = "n/a"
        if not skip_flex and L <= 16384:
            try:
                flex = f"{flex_time(q, k, v, bias, W):.3f}"
            except Exception as error:  # noqa: BLE001 - report, do not stop the suite
                flex = f"failed: {type(error).__name__}"
        elif L > 16384:
            flex = "skipped (L*L mask)"
        tflops = 4 * B * D * kept / (ours * 1e-3) / 1e12
        rows.append((name, f"{ours:.3f}", f"{sel:.3f}", f"{sdpa:.3f}", flex, f"{tflops:.1f}",
                     f"{skipped:.3f}", f"{uncomputed:.3f}", f"{scratch / 2**20:.2f}", f"{peak_extra / 2**20:.1f}",
                     f"{sdpa / ours:.3f}", "; ".join(timed) or "-"))
        print(rows[-1], flush=True)
    return rows


def flex_time(q, k, v, bias, W, dout=None):
    """FlexAttention's time with the DMA block mask; with `dout`, forward and
    backward."""
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    B, L, H, D = q.shape
    Hk = bias.shape[1]
    group = H // Hk
    tau = torch.stack([torch.cat([thresholds(bias[0, g], L, True, W, "prefix",
                                             torch.arange(r, min(L, r + 2048), device="cuda"))
                                  for r in range(0, L, 2048)]) for g in range(Hk)])[None]

    def mask_mod(b, h, q_idx, kv_idx):
        g = h // group
        return (kv_idx <= q_idx) & (bias[b, g, kv_idx] >= tau[b, g, q_idx])

    def score_mod(score, b, h, q_idx, kv_idx):
        return score + bias[b, h // group, kv_idx]

    block_mask = create_block_mask(mask_mod, B, H, L, L, device="cuda")
    compiled = torch.compile(flex_attention)
    qt, kt, vt = (t.transpose(1, 2) for t in (q, k, v))
    if dout is None:
        return time_ms(lambda: compiled(qt, kt, vt, score_mod=score_mod, block_mask=block_mask))
    qt, kt, vt = (t.detach().requires_grad_() for t in (qt, kt, vt))
    dt = dout.transpose(1, 2)
    return time_ms(lambda: compiled(qt, kt, vt, score_mod=score_mod,
                                    block_mask=block_mask).backward(dt))


def publish(text, out_path, echo=True):
    """Prints a report (unless `echo` is false) and writes it to `out_path`
    when one is given."""
    if echo:
        print(text)
    if out_path:
        with open(out_path, "w") as f:
            f.write(text + "\n")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{c:.2e}" if isinstance(c, float) else str(c) for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--skip-flex", action="store_true")
    parser.add_argument("--only", choices=["correctness", "benchmark"], default=None)
    args = parser.parse_args()
    info = os.path.join(ARTIFACTS, "BUILD_INFO")
    if os.path.exists(info):
        with open(info) as f:
            commit = "artifacts from " + f.read().strip()
    else:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or "unknown"
    report = [f"# DMA on the GPU: {datetime.date.today()} · commit {commit} · "
              f"{torch.cuda.get_device_name()} · torch {torch.__version__}", ""]
    if args.only in (None, "correctness"):
        rows = correctness() + bias_chained()
        report += ["## Correctness (vs fp32 PyTorch reference of the spec; outputs "
                   "poisoned with NaN first)", "",
                   table(["config", "dtype, shape", "causal", "W", "scope", "rel err out",
                          "rel err lse", "vs other kernels", "result"], rows), ""]
    if args.only in (None, "benchmark"):
        rows = benchmark(args.skip_flex)
        report += ["## Benchmark (bf16, B=1, H=Hk=16, D=128, causal, prefix, random bias; "
                   "median ms, CUDA events)", "",
                   table(["config", "ours ms (selection incl.)", "selection ms", "SDPA dense causal ms",
                          "FlexAttention ms", "ours eff. TFLOP/s", "key blocks skipped",
                          "causal work not computed", "metadata MiB", "peak extra MiB", "speed vs SDPA",
                          "variants ms (rel. diff to default)"], rows), ""]
    publish("\n".join(report), args.out)


if __name__ == "__main__":
    main()
