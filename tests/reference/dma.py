"""Dynamic mask attention (spec 1.1-1.3), brute force: the keep mask is materialised."""
import numpy as np

from .common import f64, softplus


def dma_bias(values, w_dt, a, dt_bias=None, form="linear"):
    """bias (B,Hk,Lk) from values (B,Lk,Hk,D), w_dt (Hk,Hk*D), a (Hk,), dt_bias (Hk,)."""
    v, w_dt, a = f64(values), f64(w_dt), f64(a)
    B, Lk, Hk, D = v.shape
    dt = v.reshape(B, Lk, Hk * D) @ w_dt.T  # Vf . W_dt[g,:], (B,Lk,Hk)
    if dt_bias is not None:
        dt = dt + f64(dt_bias)
    lin = a * softplus(dt)
    if form == "linear":
        bias = lin
    elif form == "exp":
        bias = np.exp(lin)
    else:
        raise ValueError(f"unknown bias form {form!r}")
    return bias.transpose(0, 2, 1)  # depends on (b, g, j) only


def dma_allowed(Lq, Lk, causal):
    """(Lq,Lk) causal visibility, bottom-right aligned: j <= i + (Lk - Lq)."""
    if not causal:
        return np.ones((Lq, Lk), dtype=bool)
    return np.arange(Lk)[None, :] <= np.arange(Lq)[:, None] + (Lk - Lq)


def _top_w(row, idx, W):
    """Mask over row selecting the W largest of row[idx], plus every key tied with the W-th."""
    m = np.zeros(row.shape, dtype=bool)
    if len(idx) <= W:
        m[idx] = True
        return m
    order = idx[np.argsort(-row[idx], kind="stable")]
    m[order[:W]] = True
    m[idx[row[idx] == row[order[W - 1]]]] = True  # spec: ties with tau are kept
    return m


def dma_keep_mask(bias, Lq, causal=False, window=None, scope="prefix"):
    """Explicit (B,Hk,Lq,Lk) keep mask built by sorting each row (spec 1.2)."""
    bias = f64(bias)
    B, Hk, Lk = bias.shape
    allowed = dma_allowed(Lq, Lk, causal)
    keep = np.broadcast_to(allowed, (B, Hk, Lq, Lk)).copy()
    if window is None or Lk <= window:  # no selection
        return keep
    if scope not in ("prefix", "global"):
        raise ValueError(f"unknown scope {scope!r}")
    all_keys = np.arange(Lk)
    for b in range(B):
        for g in range(Hk):
            row = bias[b, g]
            if scope == "global":  # one set per (b,g), causality on top
                keep[b, g] &= _top_w(row, all_keys, window)[None, :]
            else:  # per query row, among the keys that row may see
                for i in range(Lq):
                    keep[b, g, i] = _top_w(row, np.flatnonzero(allowed[i]), window)
    return keep


def dma_tau(bias_row, Lq, causal, window):
    """Prefix-scope thresholds tau (Lq,) for one (b,g): W-th largest allowed bias, else -inf.

    Computed independently of dma_keep_mask (partition of a prefix instead of argsort),
    so that the threshold form can be checked against the explicit mask.
    """
    row = f64(bias_row).reshape(-1)
    Lk = row.shape[0]
    tau = np.full(Lq, -np.inf)
    if window is None or Lk <= window:
        return tau
    off = Lk - Lq
    for i in range(Lq):
        n = min(max(i + off + 1, 0), Lk) if causal else Lk  # allowed keys form a prefix
        if n >= window:
            tau[i] = np.partition(row[:n], n - window)[n - window]
    return tau


def dma_attention(q, k, v, bias, scale=None, causal=False, window=None, scope="prefix"):
    """(out (B,Lq,H,D), lse (B,H,Lq)); q (B,Lq,H,D), k/v (B,Lk,Hk,D), bias (B,Hk,Lk)."""
    q, k, v, bias = f64(q), f64(k), f64(v), f64(bias)
    B, Lq, H, D = q.shape
    Hk = k.shape[2]
    if H % Hk:
        raise ValueError("H must be a multiple of Hk")
    scale = D ** -0.5 if scale is None else float(scale)
    grp = np.arange(H) // (H // Hk)  # GQA: query head h reads kv head h // (H/Hk)
    keep = dma_keep_mask(bias, Lq, causal, window, scope)[:, grp]  # (B,H,Lq,Lk)
    s = scale * np.einsum("bihd,bjhd->bhij", q, k[:, :, grp]) + bias[:, grp, None, :]
    s = np.where(keep, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # empty rows: avoid -inf - -inf = NaN
    p = np.exp(s - m)
    l = p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        lse = (np.log(l) + m)[..., 0]  # log(0) = -inf for empty rows
    p = p / np.where(l > 0, l, 1.0)  # empty rows stay all-zero -> out 0
    out = np.einsum("bhij,bjhd->bihd", p, v[:, :, grp])
    return out, lse
