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


def _rank_order(values):
    """Indices of `values` from the largest down, NaN above +inf above every number
    (the order torch.topk uses; spec 'Conventions'); stable among equal entries."""
    return np.lexsort((np.arange(len(values)), -np.nan_to_num(values, nan=0.0),
                       ~np.isnan(values)))


def _same_rank(values, tau):
    """values tied with tau in that order (every NaN ties with NaN)."""
    return (values == tau) | (np.isnan(values) & np.isnan(tau))


def _top_w(row, idx, W):
    """Mask over row selecting the W largest of row[idx], plus every key tied with the W-th."""
    m = np.zeros(row.shape, dtype=bool)
    if len(idx) <= W:
        m[idx] = True
        return m
    order = idx[_rank_order(row[idx])]
    m[order[:W]] = True
    m[idx[_same_rank(row[idx], row[order[W - 1]])]] = True  # spec: ties with tau are kept
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
    so that the threshold form can be checked against the explicit mask. np.partition
    sorts NaN above +inf, the selection's order, so tau is NaN when W NaNs are allowed.
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
    s = np.where(keep, s, -np.inf)  # a key not kept is not read: its NaN does not leak
    m = s.max(axis=-1, keepdims=True)  # NaN if a kept score is NaN
    shift = np.where(np.isfinite(m), m, 0.0)  # empty rows: avoid -inf - -inf = NaN
    with np.errstate(invalid="ignore", over="ignore"):
        p = np.exp(s - shift)
    l = p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        lse = (np.log(l) + shift)[..., 0]  # log(0) = -inf for empty rows
    with np.errstate(invalid="ignore"):
        p = p / np.where(l > 0, l, 1.0)  # empty rows stay all-zero -> out 0
    # IEEE through the softmax: a kept NaN score makes lse NaN, a kept +inf score
    # (and no NaN) makes lse +inf; either way exp(s - lse) is NaN at every kept key.
    nonfinite_row = np.isnan(m) | np.isposinf(m)
    lse = np.where(np.isnan(m[..., 0]), np.nan, np.where(np.isposinf(m[..., 0]), np.inf, lse))
    p = np.where(keep, np.where(nonfinite_row, np.nan, p), 0.0)
    vg = v[:, :, grp]  # (B,Lk,H,D)
    finite_v = np.isfinite(vg)
    out = np.einsum("bhij,bjhd->bihd", p, np.where(finite_v, vg, 0.0))
    if not finite_v.all():  # a non-finite v entry reaches exactly the rows that keep its key
        vt = vg.transpose(0, 2, 1, 3)[:, :, None]                       # (B,H,1,Lk,D)
        reads = keep[..., None] & ~finite_v.transpose(0, 2, 1, 3)[:, :, None]
        with np.errstate(invalid="ignore"):
            terms = np.where(reads, p[..., None] * vt, 0.0).sum(axis=3)  # (B,H,Lq,D)
        out = out + terms.transpose(0, 2, 1, 3)
    return out, lse


def dma_attention_grad(q, k, v, bias, dout, scale=None, causal=False, window=None,
                       scope="prefix"):
    """(dq, dk, dv, dbias) of dma_attention (spec 1.4) for finite inputs; dbias (B,Hk,Lk).

    Written from the formulas: P = exp(S - lse) on the kept keys, dV = P^T dO,
    dP = dO V^T, Dr = rowsum(dO * O), dS = P (dP - Dr), dQ = scale dS K,
    dK = scale dS^T Q, dBias = sum of dS over a group's heads and the rows.
    """
    q, k, v, bias, dout = f64(q), f64(k), f64(v), f64(bias), f64(dout)
    B, Lq, H, D = q.shape
    Hk = k.shape[2]
    scale = D ** -0.5 if scale is None else float(scale)
    grp = np.arange(H) // (H // Hk)
    out, lse = dma_attention(q, k, v, bias, scale, causal, window, scope)
    keep = dma_keep_mask(bias, Lq, causal, window, scope)[:, grp]        # (B,H,Lq,Lk)
    s = scale * np.einsum("bihd,bjhd->bhij", q, k[:, :, grp]) + bias[:, grp, None, :]
    with np.errstate(invalid="ignore", over="ignore"):
        p = np.where(keep & np.isfinite(lse)[..., None], np.exp(s - lse[..., None]), 0.0)
    vg, kg = v[:, :, grp], k[:, :, grp]
    dp = np.einsum("bihd,bjhd->bhij", dout, vg)
    dr = np.einsum("bihd,bihd->bhi", dout, out)
    ds = p * (dp - dr[..., None])
    dq = scale * np.einsum("bhij,bjhd->bihd", ds, kg)
    dk_h = scale * np.einsum("bhij,bihd->bjhd", ds, q)                  # per query head
    dv_h = np.einsum("bhij,bihd->bjhd", p, dout)
    dk = np.zeros_like(k)
    dv = np.zeros_like(v)
    dbias = np.zeros_like(bias)
    for h in range(H):
        dk[:, :, grp[h]] += dk_h[:, :, h]
        dv[:, :, grp[h]] += dv_h[:, :, h]
        dbias[:, grp[h]] += ds[:, h].sum(axis=1)
    return dq, dk, dv, dbias


def dma_bias_grad(values, w_dt, a, grad_bias, dt_bias=None, form="linear"):
    """(dvalues, dw_dt, da, ddt_bias) of dma_bias given dbias (spec 1.4 through 1.1)."""
    values, w_dt, a, grad_bias = f64(values), f64(w_dt), f64(a), f64(grad_bias)
    B, Lk, Hk, D = values.shape
    vf = values.reshape(B, Lk, Hk * D)
    dt = np.einsum("bjc,gc->bjg", vf, w_dt)
    if dt_bias is not None:
        dt = dt + f64(dt_bias)
    sp = softplus(dt)
    sg = np.where(dt > 20.0, 1.0, 1.0 / (1.0 + np.exp(-dt)))
    grad = grad_bias.transpose(0, 2, 1)                                  # (B,Lk,Hk)
    if form == "exp":
        grad = grad * np.exp(a * sp)
    ddt = grad * a * sg
    da = (grad * sp).sum(axis=(0, 1))
    dvalues = np.einsum("bjg,gc->bjc", ddt, w_dt).reshape(B, Lk, Hk, D)
    dw_dt = np.einsum("bjg,bjc->gc", ddt, vf)
    return dvalues, dw_dt, da, ddt.sum(axis=(0, 1))
