"""The block selection algorithm of the GPU kernel dma_select_blocks
(lib/wm/Conversion/WMToGPU/AttentionKernels.cpp), step for step in numpy:
radix select of tau and `upper` over the order-preserving 32-bit keys, the
small multiset between them plus the block's new keys as packed 64-bit
entries, the kernel's bitonic network over them, and each row's walk to its
rank in groups of 4 entries. Checked against the reference thresholds (tests/reference) on
shapes and ties the GPU suite does not reach. The GPU kernel itself is checked
on the H200 (bench/dma.py)."""
import numpy as np
import pytest

from tests.reference import dma_tau

DIGITS = ((21, 11), (10, 11), (0, 10))  # (shift, bits), most significant first


def ordered(values):
    bits = values.astype(np.float32).view(np.uint32)
    return np.where(bits >> 31, ~bits, bits | np.uint32(0x80000000)).astype(np.uint32)


def from_ordered(key):
    key = np.uint32(key)
    bits = key ^ np.uint32(0x80000000) if key >> 31 else ~key
    return np.array([bits], np.uint32).view(np.float32)[0]


def radix_select(keys, rank):
    """The rank-th largest key (1-based) and how many keys equal to it belong
    to the top `rank`, digit by digit from a histogram per pass."""
    prefix, mask, k = 0, 0, rank
    for shift, bits in DIGITS:
        match = keys[(keys & np.uint32(mask)) == np.uint32(prefix)]
        hist = np.bincount((match >> shift) & ((1 << bits) - 1), minlength=1 << bits)
        above = 0
        for digit in range((1 << bits) - 1, -1, -1):  # from the top
            if above + hist[digit] >= k:
                break
            above += hist[digit]
        k -= above
        prefix |= digit << shift
        mask |= ((1 << bits) - 1) << shift
    return prefix, k


NO_ENTRY = (1 << 64) - 1  # padding: sorts last, multiplicity 0
WALK_GROUP = 4


def entry(key, payload):
    """ordered key << 32 | payload: a new key's index, or ~multiplicity (as
    32 bits) for values every row sees."""
    return (int(key) << 32) | (int(payload) & 0xFFFFFFFF)


def every_row(multiplicity):
    return ~int(multiplicity)


def bitonic(entries):
    """The kernel's network: entry i meets i ^ stride and keeps the smaller
    one when it is the lower of an ascending pair (i & size == 0) or the
    upper of a descending one. Threads, warps and shared memory only decide
    where the partner comes from, not the result."""
    a = list(entries)
    n = len(a)
    size = 2
    while size <= n:
        stride = size // 2
        while stride >= 1:
            b = list(a)
            for i in range(n):
                other = a[i ^ stride]
                keep_min = ((i & stride) == 0) == ((i & size) == 0)
                b[i] = min(a[i], other) if keep_min else max(a[i], other)
            a = b
            stride //= 2
        size *= 2
    return a


def weight(packed, size):
    """What an entry adds to the count of a row that sees `size` keys."""
    payload = packed & 0xFFFFFFFF
    if payload >> 31:  # every row sees it
        return (~payload) & 0xFFFFFFFF
    return 1 if payload < size else 0


def walk(entries, rank, size):
    """Groups of WALK_GROUP entries until the count reaches the rank; the key
    of the first entry in the last group that reaches it (else the last)."""
    count, start = 0, 0
    while True:
        group = entries[start:start + WALK_GROUP]
        total = count + sum(weight(e, size) for e in group)
        if total >= rank or start == len(entries) - WALK_GROUP:
            break
        count, start = total, start + WALK_GROUP
    for e in group:
        count += weight(e, size)
        if count >= rank:
            return e >> 32, True
    return group[-1] >> 32, False


def block_thresholds(bias_row, Lq, window, rows):
    """tau for every query row, computed per block of `rows` rows as the
    kernel does (causal, prefix scope, Lk > W)."""
    Lk = bias_row.shape[0]
    keys = ordered(bias_row)
    offset = Lk - Lq + 1
    tau = np.full(Lq, -np.inf, np.float32)
    for i0 in range(0, Lq, rows):
        row_end = min(Lq, i0 + rows)
        if row_end - 1 + offset < window:
            continue  # no row of the block reaches W keys
        p_end = max(0, min(Lk, i0 + offset))
        m = min(window, p_end)
        has_tau, has_upper = p_end >= window, m > rows - 1
        prefix = keys[:p_end]
        tau_key, ties = radix_select(prefix, window) if has_tau else (0, 0)
        upper = radix_select(prefix, m - (rows - 1))[0] if has_upper else None
        # tau with its ties (key 0, multiplicity 0 when there is none)
        entries = [entry(tau_key, every_row(ties))]
        above = prefix > tau_key if has_tau else np.ones(p_end, bool)
        below = prefix < upper if has_upper else np.ones(p_end, bool)
        between = prefix[above & below]
        assert len(between) <= 2 * rows, "the kernel's list holds 2 x rows values"
        entries += [entry(x, every_row(1)) for x in between]
        if has_upper:
            entries.append(entry(upper, every_row(np.sum(above & (prefix == upper)))))
        entries += [entry(keys[j], j) for j in range(p_end, min(p_end + rows, Lk))]
        assert len(entries) <= 4 * rows, "the kernel sorts 4 x rows slots"
        entries = bitonic(entries + [NO_ENTRY] * (4 * rows - len(entries)))
        assert entries == sorted(entries)
        for row in range(i0, row_end):
            size = row + offset
            if size < window:
                continue
            rank = size - window + 1 - (p_end - m)
            key, reached = walk(entries, rank, size)
            assert reached, f"row {row}: rank {rank} not reached"
            tau[row] = from_ordered(key)
    return tau


CASES = [
    # (Lq, Lk, W, rows per block)
    (300, 300, 64, 256),
    (300, 300, 64, 16),
    (300, 300, 8, 16),
    (300, 300, 200, 16),
    (100, 300, 64, 16),   # Lq < Lk: rows start with a long prefix
    (300, 100, 32, 16),   # Lq > Lk: early rows see no key
    (1, 500, 64, 256),    # decode
    (1000, 1000, 600, 256),
]


@pytest.mark.parametrize("Lq,Lk,W,rows", CASES)
@pytest.mark.parametrize("bias_kind", ["continuous", "tied", "constant", "signed_zeros"])
def test_block_thresholds_match_reference(Lq, Lk, W, rows, bias_kind):
    rng = np.random.default_rng(Lq * 7 + Lk + W)
    bias = rng.standard_normal(Lk).astype(np.float32)
    if bias_kind == "tied":
        bias = np.round(bias * 2) / 2
    elif bias_kind == "constant":
        bias = np.full(Lk, 0.25, np.float32)
    elif bias_kind == "signed_zeros":
        bias = np.where(rng.random(Lk) < 0.5, np.float32(-0.0), np.float32(0.0))
        bias[rng.random(Lk) < 0.2] = 1.0
    got = block_thresholds(bias, Lq, W, rows)
    want = dma_tau(bias, Lq, causal=True, window=W)
    assert np.array_equal(got.astype(np.float64), want)


def test_ordered_keys_sort_like_floats():
    values = np.array([-np.inf, -2.5, -1e-30, -0.0, 0.0, 1e-30, 3.0, np.inf], np.float32)
    keys = ordered(values)
    assert np.all(np.diff(keys.astype(np.int64)) > 0)
    assert all(from_ordered(k) == v for k, v in zip(keys, values))


@pytest.mark.parametrize("Lq,Lk,W,rows", [(512, 512, 64, 64), (512, 512, 200, 128),
                                          (256, 640, 100, 64), (640, 256, 50, 64)])
def test_block_candidates_cover_kept_keys(Lq, Lk, W, rows):
    """The attention kernel's candidates for a block of rows: keys up to the
    causal limit of its last row with bias >= the block's smallest tau. They
    contain every key a row of the block keeps, and (without ties) number at
    most W + rows: the prefix argument behind O(L (W + rows)) work."""
    rng = np.random.default_rng(Lq + Lk + W)
    bias = rng.standard_normal(Lk).astype(np.float32)
    tau = dma_tau(bias, Lq, causal=True, window=W)
    offset = Lk - Lq
    for i0 in range(0, Lq, rows):
        block = np.arange(i0, min(Lq, i0 + rows))
        key_end = max(0, min(Lk, block[-1] + offset + 1))
        candidates = np.flatnonzero(bias[:key_end] >= tau[block].min())
        assert len(candidates) <= W + rows
        for i in block:
            kept = np.flatnonzero((bias >= tau[i]) & (np.arange(Lk) <= i + offset))
            assert np.isin(kept, candidates).all()
