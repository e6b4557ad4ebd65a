"""Independent float64 numpy reference of /work/shared/spec/ops.md.

Deliberately brute force: it is the oracle the compiler's lowerings are tested against.
"""
from .common import softplus, sigmoid, silu, rope_tables, rope, rms_norm
from .dma import (dma_bias, dma_allowed, dma_keep_mask, dma_tau, dma_attention,
                  dma_attention_grad, dma_bias_grad)
from .ssd import ssd, ssd_chunked
from .cdmoe import cdmoe, cdmoe_full_scoring, cdmoe_route

__all__ = [
    "softplus", "sigmoid", "silu", "rope_tables", "rope", "rms_norm",
    "dma_bias", "dma_allowed", "dma_keep_mask", "dma_tau", "dma_attention",
    "dma_attention_grad", "dma_bias_grad",
    "ssd", "ssd_chunked",
    "cdmoe", "cdmoe_full_scoring", "cdmoe_route",
]
