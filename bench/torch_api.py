"""wm.torch on the H200: a training step's gradients against torch autograd
of the fp32 eager reference, and a 200-step training run of a tiny DMA model
against the same model in eager PyTorch (loss curves, PNG).

    python3 bench/torch_api.py prepare     # where MLIR is: fills bench/artifacts/torch-cache
    python3 bench/torch_api.py run [--out DIR]   # on the GPU
"""

import argparse
import math
import os
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), ROOT]
os.environ.setdefault("WM_CACHE_DIR", os.path.join(ROOT, "bench", "artifacts", "torch-cache"))

import wm.torch as wmt  # noqa: E402

# The gradient check: (B, L, H, Hk, D, W).
STEP = (1, 1024, 8, 2, 64, 128)
# The tiny model: sequence L, width C, heads H / Hk of size D, window W.
MODEL = dict(B=2, L=256, C=32, H=4, Hk=2, D=32, W=32)
STEPS = 200


def prepare():
    B, L, H, Hk, D, W = STEP
    wmt.prepare_dma_attention((B, L, H, D), (B, L, Hk, D), window=W, causal=True)
    wmt.prepare_dma_bias((B, L, Hk, D), form="exp", dt_bias=True)
    m = MODEL
    wmt.prepare_dma_attention((m["B"], m["L"], m["H"], m["D"]), (m["B"], m["L"], m["Hk"], m["D"]),
                              window=m["W"], causal=True)
    wmt.prepare_dma_bias((m["B"], m["L"], m["Hk"], m["D"]), form="exp", dt_bias=True)
    print("cache filled:", os.environ["WM_CACHE_DIR"])


def eager_bias(v, w_dt, a, dt_bias):
    """The exp form of spec 1.1 in eager PyTorch (softplus is x above 20)."""
    import torch
    import torch.nn.functional as F
    B, L, Hk, D = v.shape
    dt = v.float().reshape(B, L, Hk * D) @ w_dt.float().T + dt_bias
    return torch.exp(a * F.softplus(dt)).transpose(1, 2)


def layer(q, k, v, w_dt, a, dt_bias, W, use_wm, round_out=False):
    """One DMA layer: bias from the values, attention. round_out: the eager
    output stored in q's dtype, as wm.torch stores it (its gradient then
    passes through that rounding too)."""
    from bench.torch_reference import dma_attention as reference
    if use_wm:
        bias = wmt.dma_bias(v, w_dt.to(v.dtype), a, dt_bias, form="exp")
        return wmt.dma_attention(q, k, v, bias, window=W, causal=True)
    bias = eager_bias(v, w_dt.to(v.dtype), a, dt_bias)
    out, _ = reference(q.float(), k.float(), v.float(), bias, True, W, "prefix")
    return out.to(q.dtype) if round_out else out


def gradient_check():
    import torch
    from bench.dma import rel_error
    B, L, H, Hk, D, W = STEP
    gen = torch.Generator(device="cuda").manual_seed(0)
    base = [torch.randn(s, generator=gen, device="cuda") for s in
            [(B, L, H, D), (B, L, Hk, D), (B, L, Hk, D)]]
    w0 = 0.05 * torch.randn(Hk, Hk * D, generator=gen, device="cuda")
    a0 = -torch.rand(Hk, generator=gen, device="cuda") - 0.5
    b0 = torch.randn(Hk, generator=gen, device="cuda")
    r = torch.randn(B, L, H, D, generator=gen, device="cuda")
    grads = {}
    for use_wm in (True, False):
        q, k, v = (t.to(torch.bfloat16).requires_grad_() for t in base)
        w, a, b = (t.clone().requires_grad_() for t in (w0, a0, b0))
        # The training step of the README.
        out = layer(q, k, v, w, a, b, W, use_wm)
        loss = (out.float() * r).sum()
        loss.backward()
        grads[use_wm] = [t.grad.float() for t in (q, k, v, w, a, b)]
    rows = []
    for name, ours, want in zip(("q", "k", "v", "w_dt", "a", "dt_bias"), grads[True], grads[False]):
        e = rel_error(ours, want)
        rows.append((name, e, e <= 2e-2 and not torch.isnan(ours).any().item()))
    return rows


def model(use_wm, seed=0, round_out=False):
    """Loss per step of the tiny model trained with Adam."""
    import torch
    m = MODEL
    B, L, C, H, Hk, D, W = (m[k] for k in ("B", "L", "C", "H", "Hk", "D", "W"))
    gen = torch.Generator(device="cuda").manual_seed(seed)
    x = torch.randn(B, L, C, generator=gen, device="cuda")
    target = torch.roll(x, 3, dims=1)  # copy the token 3 back: needs attention
    params = [(torch.randn(s, generator=gen, device="cuda") * scale).requires_grad_()
              for s, scale in [((C, H * D), C ** -0.5), ((C, Hk * D), C ** -0.5),
                               ((C, Hk * D), C ** -0.5), ((H * D, C), (H * D) ** -0.5),
                               ((Hk, Hk * D), 0.05), ((Hk,), 0.0), ((Hk,), 0.0)]]
    with torch.no_grad():
        params[5] -= 1.0  # A = -1
    opt = torch.optim.Adam(params, lr=3e-3)
    losses = []
    for _ in range(STEPS):
        wq, wk, wv, wo, w_dt, a, dt_bias = params
        q = (x @ wq).reshape(B, L, H, D).to(torch.bfloat16)
        k = (x @ wk).reshape(B, L, Hk, D).to(torch.bfloat16)
        v = (x @ wv).reshape(B, L, Hk, D).to(torch.bfloat16)
        out = layer(q, k, v, w_dt, a, dt_bias, W, use_wm, round_out)
        loss = ((out.float().reshape(B, L, H * D) @ wo - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def write_png(path, curves, width=640, height=400):
    """Loss curves (log scale) as a PNG, without plotting libraries: one
    colour per curve on white, a grey frame."""
    pixels = [[(255, 255, 255)] * width for _ in range(height)]
    values = [math.log10(v) for c, _ in curves for v in c]
    lo, hi = min(values), max(values)
    for x in range(width):
        pixels[0][x] = pixels[height - 1][x] = (160, 160, 160)
    for y in range(height):
        pixels[y][0] = pixels[y][width - 1] = (160, 160, 160)
    for curve, colour in curves:
        n = len(curve)
        for i in range(n - 1):
            for t in range(8):
                f = i + t / 8
                v = math.log10(curve[i]) * (1 - t / 8) + math.log10(curve[i + 1]) * t / 8
                px = int(f / (n - 1) * (width - 11)) + 5
                py = height - 6 - int((v - lo) / max(hi - lo, 1e-12) * (height - 11))
                for dy in (0, 1):
                    pixels[min(py + dy, height - 1)][px] = colour
    raw = b"".join(b"\0" + bytes(c for p in row for c in p) for row in pixels)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def run(out_dir):
    rows = gradient_check()
    print("| gradient | rel. err. vs torch autograd (fp32 eager) | result |\n|---|---|---|")
    for name, e, ok in rows:
        print(f"| {name} | {e:.2e} | {'PASS' if ok else 'FAIL'} |")
    ours, eager, eager16 = model(True), model(False), model(False, round_out=True)
    gap = lambda x, y: max(abs(a - b) / b for a, b in zip(x, y))
    # The bf16 noise floor: eager fp32 against eager with its output rounded
    # to bf16 (what wm.torch stores), same inputs, same steps.
    floor, worst = gap(eager, eager16), gap(ours, eager16)
    print(f"\ntiny model, {STEPS} Adam steps: loss {ours[0]:.4f} -> {ours[-1]:.4f} (wm.torch), "
          f"{eager16[0]:.4f} -> {eager16[-1]:.4f} (eager, bf16 output), "
          f"{eager[0]:.4f} -> {eager[-1]:.4f} (eager fp32)")
    print(f"largest relative gap: wm.torch vs eager bf16-output {worst:.2e}; "
          f"bf16 noise floor (eager fp32 vs eager bf16-output) {floor:.2e}")
    for i in (0, 49, 99, 149, 199):
        print(f"step {i + 1}: wm.torch {ours[i]:.5f}, eager bf16-output {eager16[i]:.5f}, "
              f"eager fp32 {eager[i]:.5f}")
    png = os.path.join(out_dir, "dma-training-loss.png")
    write_png(png, [(eager, (220, 60, 40)), (eager16, (40, 160, 60)), (ours, (30, 90, 200))])
    print("wrote", png, "(log loss; blue: wm.torch, green: eager bf16-output, red: eager fp32)")
    ok = all(r[2] for r in rows) and worst <= max(2 * floor, 1e-2)
    print(f"torch_api: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["prepare", "run"])
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    if args.mode == "prepare":
        prepare()
        return 0
    return run(args.out)


if __name__ == "__main__":
    sys.exit(main())
