"""Shared elementwise helpers, RoPE (spec 4) and RMSNorm."""
import numpy as np


def f64(a):
    """Any float array (incl. ml_dtypes.bfloat16) -> float64; None passes through."""
    return None if a is None else np.asarray(a).astype(np.float64)


def softplus(x):
    """log1p(exp(x)), identity above 20 (PyTorch convention, spec 'Conventions')."""
    x = f64(x)
    # Evaluate exp only on the branch that is used, so large x does not overflow.
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def sigmoid(x):
    x = f64(x)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free form of 1/(1+exp(-x))


def silu(x):
    x = f64(x)
    return x * sigmoid(x)


def rope_tables(positions, rotary_dims, theta=10000.0):
    """(cos, sin), each (len(positions), R): inv_freq[i] = theta^(-2i/R), concat(angles, angles)."""
    R = int(rotary_dims)
    if R % 2:
        raise ValueError("rotary_dims must be even")
    pos = f64(positions).reshape(-1)
    inv_freq = float(theta) ** (-np.arange(0, R, 2, dtype=np.float64) / R)
    ang = pos[:, None] * inv_freq[None, :]
    ang = np.concatenate([ang, ang], axis=-1)
    return np.cos(ang), np.sin(ang)


def _rotate_half(u):
    h = u.shape[-1] // 2
    return np.concatenate([-u[..., h:], u[..., :h]], axis=-1)


def rope(x, cos, sin, rotary_dims):
    """Rotate-half RoPE of x (B,L,H,D) over its first R dims; cos/sin (L,R) or (B,L,R)."""
    x, cos, sin = f64(x), f64(cos), f64(sin)
    R = int(rotary_dims)
    if R % 2 or R > x.shape[-1]:
        raise ValueError("rotary_dims must be even and <= head dim")
    # Insert the head axis so (L,R) and (B,L,R) both broadcast against (B,L,H,R).
    cos, sin = cos[..., :R][..., None, :], sin[..., :R][..., None, :]
    u = x[..., :R]
    out = x.copy()
    out[..., :R] = u * cos + _rotate_half(u) * sin
    return out


def rms_norm(x, weight, eps=1e-6):
    """x / sqrt(mean(x^2) + eps) * weight over the last dim."""
    x, weight = f64(x), f64(weight)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight
