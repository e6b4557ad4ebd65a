"""Randomized differential test of wm.dma_attention on the GPU.

Draws seeded configurations from the space the verifier accepts (batch,
query and key lengths with odd and decode lengths, GQA and MQA heads, every
head dim from 8 to 256 in steps of 8, causal or not, both scopes, windows
from 1 to past Lk, bf16 and f16, bias scales from 1e-3 to 1e2, every kernel
option), compiles each where MLIR is, and runs each on the GPU with poisoned
outputs against the fp32 PyTorch reference of the spec.

    python3 bench/differential.py compile [--count N] [--seed S]   # here (MLIR)
    python3 bench/differential.py run [--only-names a,b]           # GPU machine
    python3 bench/differential.py subset                           # names for the sanitizers

`compile` writes bench/artifacts/differential/<case>/ and configs.json
(with the compile-time refusals); `run` prints one line per failure and the
summary line "differential: tried N, refused N, passed N, failed N".
"""

import argparse
import collections
import json
import math
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), ROOT]
OUT_DIR = os.path.join(ROOT, "bench", "artifacts", "differential")
TOLERANCE = 1e-2
# Kernel options of wm-to-nvvm: each configuration draws one.
KERNEL_OPTIONS = [
    {}, {}, {"mma_warp_rows": 16}, {"mma_warp_rows": 32}, {"mma_warps": 4},
    {"mma_warps": 8}, {"tensor_cores": False},
    {"block_select": False}, {"tensor_cores": False, "block_select": False},
    {"mma_warps": 8, "mma_warp_rows": 32}, {"mma_warps": 8, "mma_warp_rows": 16},
    {"mma_warps": 4, "mma_warp_rows": 16},
]
# Keeps a configuration's reference cheap: query rows x keys x heads x batch.
MAX_WORK = 1 << 23


def draw(rng, index):
    """One configuration; every draw is valid for the verifier."""
    D = rng.randrange(8, 257, 8)
    Hk = rng.choice([1, 1, 2, 4])
    H = Hk * rng.choice([1, 2, 4])
    shape = rng.choice(["self", "self", "decode", "chunk", "long-query"])
    Lk = rng.choice([rng.randint(1, 64), rng.randint(65, 700), rng.randint(700, 2100)])
    if shape == "self":
        Lq = Lk
    elif shape == "decode":
        Lq = 1
    elif shape == "chunk":
        Lq = rng.randint(1, Lk)
    else:  # more queries than keys: early causal rows see none
        Lq = Lk + rng.randint(1, 64)
    B = rng.choice([1, 1, 2, 3])
    while B * H * Lq * Lk > MAX_WORK:
        Lk, Lq = max(1, Lk // 2), max(1, Lq // 2)
    window = max(1, min(int(round(math.exp(rng.uniform(0, math.log(Lk + 20))))), 1 << 20))
    # Half carry a non-finite input the spec gives an answer for
    # (a NaN in v reaches every row of a tensor-core tile: not drawn).
    hostile = rng.choice([None] * 4 + ["nan_bias", "inf_bias", "nan_q", "nan_k"])
    return {
        "name": f"d{index:04d}", "hostile": hostile, "B": B, "Lq": Lq, "Lk": Lk, "H": H, "Hk": Hk, "D": D,
        "causal": rng.random() < 0.7, "window": window,
        "scope": rng.choice(["prefix", "prefix", "global"]),
        "dtype": rng.choice(["bf16", "bf16", "f16"]),
        "bias_scale": 10 ** rng.uniform(-3, 2),
        "options": rng.choice(KERNEL_OPTIONS),
        "seed": rng.randrange(1 << 30),
    }


def compile_all(count, seed):
    import wm
    rng = random.Random(seed)
    os.makedirs(OUT_DIR, exist_ok=True)
    configs = []
    for i in range(count):
        c = draw(rng, i)
        g = wm.Graph(c["name"])
        q = g.input((c["B"], c["Lq"], c["H"], c["D"]), c["dtype"], name="q")
        k = g.input((c["B"], c["Lk"], c["Hk"], c["D"]), c["dtype"], name="k")
        v = g.input((c["B"], c["Lk"], c["Hk"], c["D"]), c["dtype"], name="v")
        bias = g.input((c["B"], c["Hk"], c["Lk"]), "f32", name="bias")
        g.output(*g.dma_attention(q, k, v, bias, causal=c["causal"], window=c["window"],
                                  scope=c["scope"]))
        try:
            g.compile("sm_90a", path=os.path.join(OUT_DIR, c["name"]), **c["options"])
        except (wm.GraphError, wm.CompileError) as err:
            lines = str(err).splitlines()
            error = next((l for l in lines if "error: " in l), lines[0])
            c["refused"] = error.split("error: ", 1)[-1]
        configs.append(c)
        print(c["name"], "refused: " + c["refused"] if "refused" in c else "compiled", flush=True)
    with open(os.path.join(OUT_DIR, "configs.json"), "w") as f:
        json.dump(configs, f, indent=1)


def poison(hostile, q, k, bias, gen):
    """Puts the configuration's non-finite value at a random place."""
    import torch
    pick = lambda n: int(torch.randint(n, (1,), generator=gen, device="cuda").item())
    if hostile in ("nan_bias", "inf_bias"):
        b, g, j = (pick(n) for n in bias.shape)
        bias[b, g, j] = math.nan if hostile == "nan_bias" else math.inf
    elif hostile == "nan_q":
        b, i, h = (pick(n) for n in q.shape[:3])
        q[b, i, h, pick(q.shape[3])] = math.nan
    elif hostile == "nan_k":
        b, j, g = (pick(n) for n in k.shape[:3])
        k[b, j, g, pick(k.shape[3])] = math.nan


def describe(c):
    opts = ",".join(f"{k}={v}" for k, v in c["options"].items()) or "default"
    return (f"{c['name']}: {c['dtype']} B{c['B']} Lq{c['Lq']} Lk{c['Lk']} H{c['H']}/Hk{c['Hk']} "
            f"D{c['D']} causal={c['causal']} W={c['window']} {c['scope']} "
            f"bias*{c['bias_scale']:.3g} {c.get('hostile') or ''} [{opts}]")


def run_all(only):
    os.environ.setdefault("WM_BUILD_DIR", os.path.join(ROOT, "build-gpu"))
    import torch
    from bench.dma import rel_error
    from bench.torch_reference import dma_attention as reference
    from wm import gpu
    with open(os.path.join(OUT_DIR, "configs.json")) as f:
        configs = json.load(f)
    if only:
        configs = [c for c in configs if c["name"] in only]
    refused = collections.Counter(c["refused"] for c in configs if "refused" in c)
    passed, failed, worst = 0, [], 0.0
    for c in configs:
        if "refused" in c:
            continue
        gen = torch.Generator(device="cuda").manual_seed(c["seed"])
        storage = torch.bfloat16 if c["dtype"] == "bf16" else torch.float16
        B, Lq, Lk, H, Hk, D = (c[k] for k in ("B", "Lq", "Lk", "H", "Hk", "D"))
        q = torch.randn(B, Lq, H, D, generator=gen, device="cuda").to(storage)
        k = torch.randn(B, Lk, Hk, D, generator=gen, device="cuda").to(storage)
        v = torch.randn(B, Lk, Hk, D, generator=gen, device="cuda").to(storage)
        bias = c["bias_scale"] * torch.randn(B, Hk, Lk, generator=gen, device="cuda")
        poison(c.get("hostile"), q, k, bias, gen)
        try:
            art = gpu.CompiledArtifact(os.path.join(OUT_DIR, c["name"]), poison_outputs=True)
            out, lse = art(q, k, v, bias)
            torch.cuda.synchronize()
        except Exception as err:  # a runtime refusal is a failure: the compiler accepted it
            failed.append(f"{describe(c)}: raised {type(err).__name__}: {err}")
            continue
        want_out, want_lse = reference(q, k, v, bias, c["causal"], c["window"], c["scope"])
        e_out, e_lse = rel_error(out, want_out), rel_error(lse, want_lse)
        error = max(e_out, e_lse) if not (math.isnan(e_out) or math.isnan(e_lse)) else math.nan
        if error <= TOLERANCE:
            passed += 1
            worst = max(worst, error)
        else:
            failed.append(f"{describe(c)}: out {e_out:.2e}, lse {e_lse:.2e}")
    for line in failed:
        print("FAIL", line)
    for message, n in refused.items():
        print(f"refused x{n}: {message}")
    print(f"differential: tried {len(configs)}, refused {sum(refused.values())}, "
          f"passed {passed}, failed {len(failed)} (largest passing rel. err {worst:.2e})")
    return 1 if failed else 0


def sanitizer_subset():
    """A few cheap compiled configurations that cover every kernel option,
    every tensor-core head dim, decode, f16 and both scopes: the smallest
    configuration of each such class."""
    with open(os.path.join(OUT_DIR, "configs.json")) as f:
        configs = [c for c in json.load(f) if "refused" not in c]
    work = lambda c: c["B"] * c["H"] * c["Lq"] * c["Lk"] * c["D"]
    classes = [lambda c, o=json.dumps(o): json.dumps(c["options"]) == o for o in
               {json.dumps(o) for o in KERNEL_OPTIONS}]
    classes += [lambda c, d=d: c["D"] == d for d in range(32, 257, 32)]
    classes += [lambda c: c["Lq"] == 1, lambda c: c["dtype"] == "f16",
                lambda c: c["scope"] == "global", lambda c: not c["causal"],
                lambda c: c["D"] % 32 != 0]
    names = []
    for member in classes:
        chosen = sorted(filter(member, configs), key=work)[:1]
        names += [c["name"] for c in chosen if c["name"] not in names]
    return names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["compile", "run", "subset"])
    parser.add_argument("--count", type=int, default=320)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--only-names", default="")
    args = parser.parse_args()
    if args.mode == "compile":
        compile_all(args.count, args.seed)
        return 0
    if args.mode == "subset":
        print(",".join(sanitizer_subset()))
        return 0
    return run_all(set(filter(None, args.only_names.split(","))))


if __name__ == "__main__":
    sys.exit(main())
