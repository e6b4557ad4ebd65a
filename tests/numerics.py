"""Shared helpers of the numerics tests: random inputs, storage casts, errors."""

import numpy as np

# Relative error bounds of the issue: fp32 and bf16 storage.
TOLERANCE = {"f32": 1e-5, "bf16": 1e-2, "f16": 2e-3}


def storage(array, dtype):
    """array (float64) rounded to the storage dtype, as numpy sees it."""
    if dtype == "bf16":
        import ml_dtypes
        return np.asarray(array, np.float32).astype(ml_dtypes.bfloat16)
    return np.asarray(array).astype({"f32": np.float32, "f16": np.float16}[dtype])


def rel_error(out, ref):
    """||out - ref|| / ||ref|| over finite reference entries, after checking
    that out is finite exactly where ref is (no NaN ever)."""
    out = np.asarray(out, np.float64)
    ref = np.asarray(ref, np.float64)
    assert not np.isnan(out).any(), "output has NaN"
    finite = np.isfinite(ref)
    assert np.array_equal(np.isfinite(out), finite), "non-finite entries differ"
    assert np.array_equal(out[~finite], ref[~finite]), "infinite entries differ"
    norm = np.linalg.norm(ref[finite])
    return np.linalg.norm(out[finite] - ref[finite]) / (norm if norm > 0 else 1.0)


def assert_close(out, ref, dtype, what=""):
    err = rel_error(out, ref)
    assert err <= TOLERANCE[dtype], f"{what} relative error {err:.3e} > {TOLERANCE[dtype]}"
    return err
