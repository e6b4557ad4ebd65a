"""fp32 PyTorch forms of spec section 2 (wm.ssd): the sequential recurrence
(the reference of bench/ssd.py) and an eager chunked form (its baseline, and
the function torch.compile is given). Both rotate B and C eagerly."""

import math

import torch


def prepare(x, dt, a, b, c, D=None, z=None, dt_bias=None, h0=None, cos=None, sin=None,
            softplus=True, dt_limit=(0.0, math.inf)):
    """dt', rotated B and C expanded to the heads, h0: all fp32."""
    x, dt, a, b, c = (t.float() for t in (x, dt, a, b, c))
    H, G = x.shape[2], b.shape[2]
    if dt_bias is not None:
        dt = dt + dt_bias.float()
    if softplus:
        dt = torch.where(dt > 20, dt, torch.log1p(torch.exp(dt)))
    dt = dt.clamp(dt_limit[0], dt_limit[1])
    if cos is not None:
        b, c = rotate(b, cos, sin), rotate(c, cos, sin)
    b = b.repeat_interleave(H // G, dim=2)
    c = c.repeat_interleave(H // G, dim=2)
    state = torch.zeros(x.shape[0], H, x.shape[3], b.shape[3], device=x.device) \
        if h0 is None else h0.float()
    return x, dt, a, b, c, state


def rotate(u, cos, sin):
    """Rotate-half rotary positions on the first R dims of u (B, T, G, N)."""
    R = cos.shape[-1]
    cos, sin = cos.float(), sin.float()
    if cos.dim() == 2:
        cos, sin = cos[None], sin[None]
    cos, sin = cos[:, :, None, :], sin[:, :, None, :]
    head, tail = u[..., :R], u[..., R:]
    half = torch.cat([-head[..., R // 2:], head[..., :R // 2]], dim=-1)
    return torch.cat([head * cos + half * sin, tail], dim=-1)


def finish(y, x, D, z):
    if D is not None:
        D = D.float()
        y = y + (D[:, None] if D.dim() == 1 else D) * x
    if z is not None:
        y = y * torch.nn.functional.silu(z.float())
    return y


def ssd_recurrence(x, dt, a, b, c, D=None, z=None, **kw):
    """S_t = exp(dt'_t a) S_{t-1} + dt'_t x_t B_t^T, y_t = S_t C_t: (y, final state)."""
    x, dt, a, b, c, S = prepare(x, dt, a, b, c, D, z, **kw)
    ys = []
    for t in range(x.shape[1]):
        decay = torch.exp(dt[:, t] * a)[..., None, None]
        S = decay * S + (dt[:, t, :, None, None] * x[:, t, :, :, None]) * b[:, t, :, None, :]
        ys.append(torch.einsum("bhpn,bhn->bhp", S, c[:, t]))
    return finish(torch.stack(ys, 1), x, D, z), S


def inclusive_sums(u):
    """Cumulative sums over the last dim as a product with a triangle of
    ones: torch.compile (2.11) fails to generate code for these cumsums."""
    L = u.shape[-1]
    upper = torch.triu(torch.ones(L, L, device=u.device, dtype=u.dtype))
    return u @ upper


def segsum(u):
    """u (..., L) -> (..., L, L): sum_{r=s+1..t} u[r] for s <= t, -inf above,
    by masked cumulative sums."""
    L = u.shape[-1]
    rep = u[..., None, :].expand(*u.shape[:-1], L, L)  # rep[..., s, r] = u[r]
    lower = torch.triu(torch.ones(L, L, dtype=torch.bool, device=u.device), 1)
    seg = inclusive_sums(rep.masked_fill(~lower, 0.0)).transpose(-1, -2)
    keep = torch.tril(torch.ones(L, L, dtype=torch.bool, device=u.device))
    return seg.masked_fill(~keep, -math.inf)


def ssd_chunked(x, dt, a, b, c, D=None, z=None, chunk=256, **kw):
    """The chunked (dual) form, as mamba_ssm's ssd_minimal writes it: (y, final state)."""
    x, dt, a, b, c, S = prepare(x, dt, a, b, c, D, z, **kw)
    Bsz, T, H, P = x.shape
    pad = (-T) % chunk
    if pad:
        x, b, c = (torch.nn.functional.pad(t, (0, 0, 0, 0, 0, pad)) for t in (x, b, c))
        dt = torch.nn.functional.pad(dt, (0, 0, 0, pad))
    nc = (T + pad) // chunk
    split = lambda t: t.reshape(Bsz, nc, chunk, *t.shape[2:])
    xs, bs, cs = split(x * dt[..., None]), split(b), split(c)
    adt = split(dt * a).permute(0, 3, 1, 2)  # (b, h, c, l)
    cum = inclusive_sums(adt)
    L = torch.exp(segsum(adt))
    scores = torch.einsum("bclhn,bcshn->bhcls", cs, bs) * L
    y_diag = torch.einsum("bhcls,bcshp->bclhp", scores, xs)
    decay_states = torch.exp(cum[..., -1:] - cum)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", bs, decay_states, xs)
    states = torch.cat([S[:, None], states], dim=1)
    decay_chunk = torch.exp(segsum(torch.nn.functional.pad(cum[..., -1], (1, 0))))
    states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
    entering, final = states[:, :-1], states[:, -1]
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", cs, entering, torch.exp(cum))
    y = (y_diag + y_off).reshape(Bsz, nc * chunk, H, P)[:, :T]
    return finish(y, x[:, :T], D, z), final
