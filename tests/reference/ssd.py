"""SSD / Mamba-2 scan (spec 2): sequential recurrence and the chunked form."""
import math

import numpy as np

from .common import f64, rope, sigmoid, softplus


def _prepare(x, dt, a, b, c, dt_bias, initial_state, cos, sin, dt_softplus, dt_limit):
    """Common preprocessing: dt', rotary B/C, group -> head expansion, h0."""
    x, dt, a, b, c = f64(x), f64(dt), f64(a), f64(b), f64(c)
    Bsz, T, H, P = x.shape
    G, N = b.shape[2], b.shape[3]
    if H % G:
        raise ValueError("H must be a multiple of G")
    if dt_bias is not None:
        dt = dt + f64(dt_bias)
    if dt_softplus:
        dt = softplus(dt)
    dt = np.clip(dt, dt_limit[0], dt_limit[1])
    if cos is not None:  # unified RoPE: rotate B and C by absolute position t
        R = f64(cos).shape[-1]
        if R > N:
            raise ValueError("rotary dims must be <= N")
        b, c = rope(b, cos, sin, R), rope(c, cos, sin, R)
    # np.repeat maps head h to group h // (H/G).
    b, c = np.repeat(b, H // G, axis=2), np.repeat(c, H // G, axis=2)
    h0 = np.zeros((Bsz, H, P, N)) if initial_state is None else f64(initial_state).copy()
    return x, dt, a, b, c, h0


def _finish(y, x, D, z):
    if D is not None:
        D = f64(D)
        y = y + (D[:, None] if D.ndim == 1 else D) * x  # D is (H,) or (H,P)
    if z is not None:
        z = f64(z)
        y = y * (z * sigmoid(z))
    return y


def ssd(x, dt, a, b, c, D=None, z=None, dt_bias=None, initial_state=None, cos=None,
        sin=None, dt_softplus=False, dt_limit=(0.0, math.inf)):
    """Sequential recurrence: (y (B,T,H,P), final_state (B,H,P,N))."""
    x, dt, a, b, c, S = _prepare(x, dt, a, b, c, dt_bias, initial_state, cos, sin,
                                 dt_softplus, dt_limit)
    T = x.shape[1]
    y = np.empty_like(x)
    for t in range(T):
        decay = np.exp(dt[:, t] * a)[..., None, None]  # (B,H,1,1)
        S = decay * S + dt[:, t, :, None, None] * x[:, t, :, :, None] * b[:, t, :, None, :]
        y[:, t] = np.einsum("bhpn,bhn->bhp", S, c[:, t])
    return _finish(y, x, D, z), S


def _segsum(a):
    """a (...,L) -> (...,L,L): out[t,s] = sum_{r=s+1..t} a[r] for s <= t, -inf above.

    Masked cumulative sum (not a difference of one long cumsum), as the spec requires.
    """
    L = a.shape[-1]
    rep = np.broadcast_to(a[..., :, None], a.shape + (L,))  # rep[..., r, s] = a[r]
    seg = np.cumsum(np.where(np.tril(np.ones((L, L), bool), -1), rep, 0.0), axis=-2)
    return np.where(np.tril(np.ones((L, L), bool)), seg, -np.inf)


def ssd_chunked(x, dt, a, b, c, D=None, z=None, dt_bias=None, initial_state=None, cos=None,
                sin=None, dt_softplus=False, dt_limit=(0.0, math.inf), chunk_size=64):
    """Chunked SSD (intra-chunk quadratic form + inter-chunk state recurrence)."""
    x, dt, a, b, c, S = _prepare(x, dt, a, b, c, dt_bias, initial_state, cos, sin,
                                 dt_softplus, dt_limit)
    Bsz, T, H, P = x.shape
    N = b.shape[-1]
    Lc = int(chunk_size)
    nc = -(-T // Lc)

    # Pad T to nc*Lc with dt' = 0, x = B = C = 0: decay exp(0) = 1 and no input, so the
    # padded tail changes neither the real outputs nor the final state.
    def chunks(u):
        u = np.pad(u, [(0, 0), (0, nc * Lc - T)] + [(0, 0)] * (u.ndim - 2))
        return u.reshape((Bsz, nc, Lc) + u.shape[2:])

    xdt = chunks(x * dt[..., None])                      # (B,c,l,H,P)
    bb, cc = chunks(b), chunks(c)                        # (B,c,l,H,N)
    adt = chunks(dt * a).transpose(0, 3, 1, 2)           # (B,H,c,l)
    seg = _segsum(adt)                                   # (B,H,c,l,l)

    # Intra-chunk: y = (Lmat o C B^T)(dt' o x).
    y_diag = np.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", cc, bb, np.exp(seg), xdt,
                       optimize=True)
    # State each chunk leaves at its end: decay from s+1 to the chunk's last step.
    states = np.einsum("bclhn,bhcl,bclhp->bchpn", bb, np.exp(seg[..., -1, :]), xdt,
                       optimize=True)
    # Inter-chunk recurrence on the (P,N) states.
    chunk_decay = np.exp(adt.sum(axis=-1))               # (B,H,c)
    prev = np.empty((Bsz, nc, H, P, N))
    for ci in range(nc):
        prev[:, ci] = S
        S = chunk_decay[:, :, ci, None, None] * S + states[:, ci]
    # Contribution of the incoming state: decay from chunk start through step t.
    y_off = np.einsum("bclhn,bchpn,bhcl->bclhp", cc, prev, np.exp(np.cumsum(adt, axis=-1)),
                      optimize=True)
    y = (y_diag + y_off).reshape(Bsz, nc * Lc, H, P)[:, :T]
    return _finish(y, x, D, z), S
