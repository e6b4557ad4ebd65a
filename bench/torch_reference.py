"""fp32 PyTorch implementation of spec section 1 (DMA), chunked over query
rows so that no Lq x Lk tensor of a whole head is ever held. Non-finite
inputs follow the spec's Conventions: biases rank as torch.topk ranks them
(NaN above +inf above every number), a kept NaN makes the row NaN, a kept
+inf gives out NaN and lse +inf."""

import math

import torch


def thresholds(bias_row, Lq, causal, window, scope, rows):
    """tau for query rows `rows` of one (b, g): the W-th largest allowed bias."""
    Lk = bias_row.shape[0]
    if window is None or Lk <= window:
        return torch.full((len(rows),), -math.inf, device=bias_row.device)
    if scope == "global" or not causal:
        tau = torch.topk(bias_row, window).values[-1]
        return tau.expand(len(rows))
    keys = torch.arange(Lk, device=bias_row.device)
    allowed = keys[None, :] <= (rows[:, None] + (Lk - Lq))
    masked = torch.where(allowed, bias_row[None, :], torch.tensor(-math.inf, device=bias_row.device))
    return torch.topk(masked, window, dim=1).values[:, -1]


def dma_attention(q, k, v, bias, causal, window, scope, scale=None, chunk=1024):
    B, Lq, H, D = q.shape
    Lk, Hk = k.shape[1], k.shape[2]
    group = H // Hk
    scale = D ** -0.5 if scale is None else scale
    out = torch.empty(B, Lq, H, D, dtype=torch.float32, device=q.device)
    lse = torch.empty(B, H, Lq, dtype=torch.float32, device=q.device)
    keys = torch.arange(Lk, device=q.device)
    for b in range(B):
        for g in range(Hk):
            bias_row = bias[b, g].float()
            kf, vf = k[b, :, g].float(), v[b, :, g].float()
            for r0 in range(0, Lq, chunk):
                rows = torch.arange(r0, min(Lq, r0 + chunk), device=q.device)
                tau = thresholds(bias_row, Lq, causal, window, scope, rows)
                # tau is NaN when W NaN biases rank first: it keeps those only.
                keep = (bias_row[None, :] >= tau[:, None]) | torch.isnan(bias_row)[None, :]
                if causal:
                    keep &= keys[None, :] <= rows[:, None] + (Lk - Lq)
                for h in range(g * group, (g + 1) * group):
                    s = scale * (q[b, rows, h].float() @ kf.T) + bias_row[None, :]
                    s = s.masked_fill(~keep, -math.inf)
                    row_lse = torch.logsumexp(s, dim=1)
                    empty = (row_lse == -math.inf)[:, None]  # no kept key: out 0
                    p = torch.where(empty, 0.0, torch.exp(s - row_lse[:, None]))
                    out[b, rows, h] = p @ vf
                    lse[b, h, rows] = row_lse
    return out, lse
