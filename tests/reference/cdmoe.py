"""Cross-domain mixture of experts (spec 3). Routing is strictly per token."""
import math

import numpy as np

from .common import f64, silu


def _router_scores(x2, w_router, N):
    K = math.isqrt(N)
    if K * K != N:
        raise ValueError("number of experts must be a perfect square")
    if w_router.shape[0] != 2 * K:
        raise ValueError("w_router must have 2*sqrt(N) rows")
    r = x2 @ w_router.T  # (T, 2K): each token's own vector, split in halves
    return r[:, :K], r[:, K:], K


def cdmoe_route(x, w_router, num_experts, top_k, full=False):
    """(experts (T,k), scores (T,k)) for x (T,d); per-side product-key search or full scoring."""
    x2, w_router = f64(x).reshape(-1, np.shape(x)[-1]), f64(w_router)
    sx, sy, K = _router_scores(x2, w_router, num_experts)
    T = x2.shape[0]
    if not 1 <= top_k <= num_experts:
        raise ValueError("top_k must be in [1, N]")
    if full:  # score every expert e = i*K + j directly
        allsc = (sx[:, :, None] + sy[:, None, :]).reshape(T, K * K)
        experts = np.argsort(-allsc, axis=1, kind="stable")[:, :top_k]
        return experts, np.take_along_axis(allsc, experts, 1)
    kk = min(top_k, K)  # more than K per side is never needed
    ix = np.argsort(-sx, axis=1, kind="stable")[:, :kk]
    iy = np.argsort(-sy, axis=1, kind="stable")[:, :kk]
    cand = (np.take_along_axis(sx, ix, 1)[:, :, None]
            + np.take_along_axis(sy, iy, 1)[:, None, :]).reshape(T, kk * kk)
    best = np.argsort(-cand, axis=1, kind="stable")[:, :top_k]
    experts = (np.take_along_axis(ix, best // kk, 1) * K
               + np.take_along_axis(iy, best % kk, 1))
    return experts, np.take_along_axis(cand, best, 1)


def _combine(x, w_gate, w_up, w_down, down, up, experts, scores):
    w = np.exp(scores - scores.max(axis=1, keepdims=True))
    w = w / w.sum(axis=1, keepdims=True)  # softmax over the k chosen scores
    shared = (silu(x @ w_gate.T) * (x @ w_up.T)) @ w_down.T  # SwiGLU MLP
    act = silu(np.einsum("td,tkd->tk", x, down[experts]))   # single-neuron experts
    return shared + np.einsum("tk,tkd->td", act * w, up[experts])


def _cdmoe(x, w_gate, w_up, w_down, w_router, down, up, top_k, full):
    x = f64(x)
    d = x.shape[-1]
    x2 = x.reshape(-1, d)  # any leading dims are just tokens
    down, up = f64(down), f64(up)
    experts, scores = cdmoe_route(x2, w_router, down.shape[0], top_k, full)
    y = _combine(x2, f64(w_gate), f64(w_up), f64(w_down), down, up, experts, scores)
    return y.reshape(x.shape)


def cdmoe(x, w_gate, w_up, w_down, w_router, down, up, top_k):
    """y (T,d): top-k per side, best k of the k*k sums, softmax, silu experts + SwiGLU."""
    return _cdmoe(x, w_gate, w_up, w_down, w_router, down, up, top_k, full=False)


def cdmoe_full_scoring(x, w_gate, w_up, w_down, w_router, down, up, top_k):
    """Same as cdmoe but scores all N = K*K experts (the definition, for equivalence tests)."""
    return _cdmoe(x, w_gate, w_up, w_down, w_router, down, up, top_k, full=True)
