"""wm.ssd's GPU tile programs, run on the CPU, vs the sequential recurrence.

`compile("cpu", gpu_kernels=True)` lowers the graph as wm-to-nvvm does, into
the programs of WMToTile/SSD.cpp (chunk states and state passing, or the
state chain in their place; the chunk scan), and runs them as loops: the algorithm the H200 runs, with its 16-bit
roundings (the scaled x tile, the intra-chunk weights, the entering states).
"""

import numpy as np
import pytest

import wm
from tests import reference as ref
from tests.numerics import rel_error
from tests.test_ssd import build_ssd, make_inputs

# The programs round three intermediates to 16 bits: bf16 stays near 3e-3.
TOLERANCE = {"bf16": 1e-2, "f16": 2e-3}


def build(main, opt, dtype, tables="f32", **attrs):
    return build_ssd(main, opt, dtype, name="ssd_programs", tables=tables, **attrs)


def run(main, opt, dtype="bf16", ssd_rows=0, tables="f32", ssd_heads=0, chain=0,
        scan_ctas=0, pieces=0, gpu_chunk=0, **attrs):
    fn = build(main, opt, dtype, tables=tables, **attrs).compile(
        "cpu", gpu_kernels=True, ssd_rows=ssd_rows, ssd_heads=ssd_heads,
        ssd_chain_rows=chain, ssd_scan_ctas=scan_ctas, ssd_chain_pieces=pieces,
        ssd_chunk=gpu_chunk)
    y, state = fn(*main, *opt.values())
    return np.asarray(y, np.float64), np.asarray(state)


def check(main, opt, dtype="bf16", ssd_rows=0, tables="f32", ssd_heads=0, chain=0,
          scan_ctas=0, pieces=0, gpu_chunk=0, **attrs):
    y, state = run(main, opt, dtype, ssd_rows, tables, ssd_heads, chain, scan_ctas,
                   pieces, gpu_chunk, **attrs)
    ref_attrs = {k: v for k, v in attrs.items() if k != "chunk_size"}
    want_y, want_state = ref.ssd(*main, **opt, **ref_attrs)
    assert not np.isnan(y).any() and not np.isnan(state).any()
    for what, got, want in [("y", y, want_y), ("state", state, want_state)]:
        err = rel_error(got, want)
        assert err <= TOLERANCE[dtype], f"{what} relative error {err:.3e}"
    return y, state


def slow_decay(main):
    """`main` with A scaled down, so that each chunk passes on most of its
    state (exp(-1.4) over 128 steps), not the exp(-70) of make_inputs' A:
    then the states passed between chunks matter."""
    x, dt, a, b, c = main
    return x, dt, (a * 0.01).astype(np.float32), b, c


# (B, T, H, P, G, N, R, chunk): T not a multiple of the chunk, every G form.
CASES = [
    (1, 200, 4, 32, 1, 16, None, 64),
    (2, 150, 4, 32, 2, 32, 16, 64),
    (1, 300, 2, 64, 2, 64, 64, 128),
    (1, 520, 8, 16, 8, 16, 16, 256),
    (1, 70, 2, 128, 1, 128, 32, 64),
    (1, 40, 2, 32, 1, 16, 8, 64),
    (1, 1100, 2, 32, 1, 16, None, 64),  # 18 chunks: the state passing's unrolled loop
    (1, 300, 4, 32, 1, 128, 64, 128),  # N = 128: two heads per scan CTA by default
]


@pytest.mark.parametrize("rows", [0, 128])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "B{}T{}H{}P{}G{}N{}R{}c{}".format(*c))
def test_shapes(case, rows):
    """Both chunk-scan CTA sizes (ssd_rows 128 takes chunks of 128 or more)."""
    B, T, H, P, G, N, R, chunk = case
    main, opt = make_inputs(np.random.default_rng(T), B, T, H, P, G, N, R=R, dtype="bf16")
    check(main, opt, ssd_rows=rows, chunk_size=chunk, dt_softplus=True)


@pytest.mark.parametrize("options", [
    dict(D_shape=(4,)), dict(D_shape=(4, 32)), dict(z=True), dict(dt_bias=True),
    dict(h0=True), dict(D_shape=(4, 32), z=True, dt_bias=True, h0=True, batch_rope=True),
], ids=["D_head", "D_channel", "z", "dt_bias", "h0", "all"])
@pytest.mark.parametrize("rows", [0, 128])
def test_options(options, rows):
    """With 128-row scan blocks, D x comes from two x tiles per block."""
    main, opt = make_inputs(np.random.default_rng(1), 2, 130, 4, 32, 2, 32, R=32,
                            dtype="bf16", **options)
    check(main, opt, ssd_rows=rows, chunk_size=128 if rows else 64, dt_softplus=True)


@pytest.mark.parametrize("heads", [2, 4])
@pytest.mark.parametrize("rows", [0, 128])
def test_heads_of_a_group_share_the_logits(heads, rows):
    """Chunk-scan CTAs over several heads of a group (one C B^T for them all,
    each head its own decay, x, D and z) give the numbers of one head per
    CTA, bit for bit. H / G = 6 takes 3 heads where 4 are asked for. (The
    register bound and the entering states after the tile loop come with
    256-step chunks only; test_scan_ctas asks for them.)"""
    main, opt = make_inputs(np.random.default_rng(11), 2, 150, 12, 32, 2, 32, R=16,
                            dtype="bf16", D_shape=(12,), z=True, dt_bias=True, h0=True)
    chunk = 128 if rows else 64
    y, state = check(main, opt, ssd_rows=rows, ssd_heads=heads, chunk_size=chunk,
                     dt_softplus=True)
    y1, state1 = run(main, opt, ssd_rows=rows, ssd_heads=1, chunk_size=chunk,
                     dt_softplus=True)
    np.testing.assert_array_equal(y, y1)
    np.testing.assert_array_equal(state, state1)


@pytest.mark.parametrize("chain", [16, 32, 128])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "B{}T{}H{}P{}G{}N{}R{}c{}".format(*c))
def test_state_chain(case, chain):
    """The state chain (one program per P block of a head, carrying its
    state through the chunks) in place of chunk states and state passing:
    against the reference, and against the two programs (the same sums in
    another order, so close but not bit for bit)."""
    B, T, H, P, G, N, R, chunk = case
    main, opt = make_inputs(np.random.default_rng(T + 1), B, T, H, P, G, N, R=R,
                            dtype="bf16")
    # Both at one chunk length (the chain's, at most 128 steps, without the
    # overlapping scan).
    same = min(max(chunk, 64), 128)
    y, state = check(main, opt, chain=chain, gpu_chunk=same, chunk_size=chunk,
                     dt_softplus=True)
    y2, state2 = run(main, opt, chain=-1, gpu_chunk=same, chunk_size=chunk,
                     dt_softplus=True)
    assert rel_error(y, y2) <= 1e-3 and rel_error(state, state2) <= 1e-5


@pytest.mark.parametrize("options", [
    dict(h0=True, dt_bias=True), dict(D_shape=(4, 64), z=True, h0=True, batch_rope=True),
], ids=["h0_dt_bias", "all"])
def test_state_chain_options(options):
    main, opt = make_inputs(np.random.default_rng(12), 2, 200, 4, 64, 2, 32, R=32,
                            dtype="bf16", **options)
    check(main, opt, chain=32, chunk_size=64, dt_softplus=True, dt_limit=(0.001, 0.5))


@pytest.mark.parametrize("pieces", [2, 3, 16])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "B{}T{}H{}P{}G{}N{}R{}c{}".format(*c))
def test_chain_pieces(case, pieces):
    """The chain in pieces, each after the first from zero, and the fix-up
    program adding the decayed state entering each piece (E_q from the
    pieces' final states): against the reference with h0, and against the
    chain in one piece (other roundings: the pieces' states are rounded to
    16 bits before the fix-up). 16 pieces take one per chunk; a slow decay."""
    B, T, H, P, G, N, R, chunk = case
    main, opt = make_inputs(np.random.default_rng(T + 2), B, T, H, P, G, N, R=R,
                            dtype="bf16", h0=True)
    main = slow_decay(main)
    # One chunk length for both (the one piece's scan would overlap the
    # chain at the op's chunk_size).
    same = min(max(chunk, 64), 128)
    y, state = check(main, opt, chain=16, pieces=pieces, gpu_chunk=same,
                     chunk_size=chunk, dt_softplus=True)
    y1, state1 = run(main, opt, chain=16, pieces=1, gpu_chunk=same, chunk_size=chunk,
                     dt_softplus=True)
    assert rel_error(y, y1) <= 1e-2 and rel_error(state, state1) <= 1e-5


@pytest.mark.parametrize("gpu_chunk", [0, 64, 128, 256])
@pytest.mark.parametrize("chain", [-1, 32])
def test_gpu_chunk(chain, gpu_chunk):
    """The programs' chunk (ssd_chunk; by default chunk_size, at most 128
    with the chain) against the reference, with a slow decay, and against
    256-step chunks."""
    main, opt = make_inputs(np.random.default_rng(9), 2, 700, 4, 64, 2, 32, R=32,
                            dtype="bf16", h0=True)
    main = slow_decay(main)
    y, state = check(main, opt, chain=chain, gpu_chunk=gpu_chunk, chunk_size=256,
                     dt_softplus=True)
    y2, state2 = run(main, opt, chain=chain, gpu_chunk=256, chunk_size=256,
                     dt_softplus=True)
    # Other chunks round other intermediates (the scaled x tiles, the
    # entering states) to 16 bits: near 2e-3 apart.
    assert rel_error(y, y2) <= 5e-3 and rel_error(state, state2) <= 5e-3


def test_chain_pieces_fix_groups():
    """9 chunks in 2 pieces of 5 and 4: the fix-up instances take 4 chunks
    each, so the second piece's second instance has none and the first one
    stores the final state."""
    main, opt = make_inputs(np.random.default_rng(5), 1, 570, 2, 32, 1, 16, R=16,
                            dtype="bf16", h0=True)
    main = slow_decay(main)
    check(main, opt, chain=16, pieces=2, chunk_size=64, dt_softplus=True)


@pytest.mark.parametrize("scan_ctas", [-1, 2])
@pytest.mark.parametrize("rows", [0, 128])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "B{}T{}H{}P{}G{}N{}R{}c{}".format(*c))
def test_scan_ctas(case, rows, scan_ctas):
    """With a register bound (scan_ctas 2) the chunk scan adds the entering
    state's part after its tile loop, the state loaded into the tiles' bytes;
    without one (-1) it starts from that part."""
    B, T, H, P, G, N, R, chunk = case
    main, opt = make_inputs(np.random.default_rng(T + 1), B, T, H, P, G, N, R=R,
                            dtype="bf16", h0=True)
    check(main, opt, ssd_rows=rows, scan_ctas=scan_ctas, chunk_size=max(chunk, rows),
          dt_softplus=True)


def test_f16_and_dt_limit():
    main, opt = make_inputs(np.random.default_rng(2), 1, 100, 2, 32, 1, 32, R=16,
                            dtype="f16", z=True)
    check(main, opt, dtype="f16", chunk_size=64, dt_softplus=True, dt_limit=(0.01, 0.3))


@pytest.mark.parametrize("R", [32, 24])
def test_f16_rope_tables(R):
    """Tables in 16 bits, as models pass them: R % 16 == 0 takes the GPU's
    16-byte path, other R the scalar one; the reference reads the same
    rounded tables."""
    main, opt = make_inputs(np.random.default_rng(9), 2, 150, 2, 32, 1, 32, R=R,
                            dtype="bf16", batch_rope=True)
    opt = {k: v.astype(np.float16) for k, v in opt.items()}
    check(main, opt, tables="f16", chunk_size=64, dt_softplus=True)


def test_positive_a_is_exact():
    """A > 0 grows the state; no clamp of the exponent."""
    main, opt = make_inputs(np.random.default_rng(3), 1, 96, 2, 32, 1, 16, dtype="bf16")
    main = (main[0], main[1], np.abs(main[2]) * 0.05, main[3], main[4])
    check(main, opt, chunk_size=64, dt_softplus=True)


def test_every_chunk_size_agrees():
    main, opt = make_inputs(np.random.default_rng(4), 1, 300, 2, 32, 1, 32, R=32,
                            dtype="bf16", D_shape=(2,))
    ys = [run(main, opt, chunk_size=c, dt_softplus=True)[0] for c in (64, 128, 256)]
    for y in ys[1:]:
        assert rel_error(y, ys[0]) <= 1e-2


def test_split_run_equals_whole():
    main, opt = make_inputs(np.random.default_rng(5), 1, 256, 2, 32, 1, 32, R=32,
                            dtype="bf16")
    whole_y, whole_state = run(main, opt, chunk_size=64, dt_softplus=True)
    cut = 160
    pick = lambda sl: tuple(m[:, sl] if m.ndim > 1 else m for m in main)
    rope = lambda sl: {"cos": opt["cos"][sl], "sin": opt["sin"][sl]}
    y1, s1 = run(pick(slice(0, cut)), rope(slice(0, cut)), chunk_size=64, dt_softplus=True)
    second = {"initial_state": s1.astype(np.float32), **rope(slice(cut, None))}
    y2, s2 = run(pick(slice(cut, None)), second, chunk_size=64, dt_softplus=True)
    assert rel_error(np.concatenate([y1, y2], axis=1), whole_y) <= 1e-2
    assert rel_error(s2, whole_state) <= 1e-2


def test_identity_rope_equals_no_rope_bitwise():
    main, opt = make_inputs(np.random.default_rng(6), 1, 100, 2, 32, 1, 32, dtype="bf16")
    plain = run(main, opt, chunk_size=64)
    ones = {"cos": np.ones((100, 32), np.float32), "sin": np.zeros((100, 32), np.float32)}
    rotated = run(main, ones, chunk_size=64)
    np.testing.assert_array_equal(rotated[0], plain[0])
    np.testing.assert_array_equal(rotated[1], plain[1])


def test_bad_ssd_rows_is_refused():
    main, opt = make_inputs(np.random.default_rng(8), 1, 64, 2, 32, 1, 16, dtype="bf16")
    with pytest.raises(wm.CompileError, match="ssd-rows must be 0"):
        build(main, opt, "bf16", chunk_size=64).compile("sm_90a", ssd_rows=96)
    with pytest.raises(wm.CompileError, match=r"ssd-heads must be in \[0, 8\]"):
        build(main, opt, "bf16", chunk_size=64).compile("sm_90a", ssd_heads=9)
    with pytest.raises(wm.CompileError, match="ssd-chain-rows must be -1"):
        build(main, opt, "bf16", chunk_size=64).compile("sm_90a", ssd_chain_rows=48)
    with pytest.raises(wm.CompileError, match="ssd-scan-ctas must be -1"):
        build(main, opt, "bf16", chunk_size=64).compile("sm_90a", ssd_scan_ctas=9)
    with pytest.raises(wm.CompileError, match=r"ssd-chain-pieces must be in \[0, 16\]"):
        build(main, opt, "bf16", chunk_size=64).compile("sm_90a", ssd_chain_pieces=17)
    with pytest.raises(wm.CompileError, match="ssd-chunk must be 0"):
        build(main, opt, "bf16", chunk_size=64).compile("sm_90a", ssd_chunk=96)


@pytest.mark.parametrize("shape, limit", [
    ((1, 64, 2, 24, 1, 16), "P a multiple of 16"),
    ((1, 64, 2, 32, 1, 24), "N a multiple of 16"),
])
def test_gpu_refuses_shapes_it_cannot_tile(shape, limit):
    B, T, H, P, G, N = shape
    main, opt = make_inputs(np.random.default_rng(7), B, T, H, P, G, N, dtype="bf16")
    g = build(main, opt, "bf16", chunk_size=64)
    with pytest.raises(wm.CompileError, match=limit):
        g.compile("sm_90a")


@pytest.mark.parametrize("H,P,overlap", [(64, 64, True), (320, 16, True), (64, 64, False)])
def test_overlap_launches(tmp_path, H, P, overlap):
    """The chunk scan's launch overlaps the state chain's (programmatic
    dependent launch) where allowed and the chain has at most 264 CTAs: 64
    heads of one P block do, 320 do not."""
    main, opt = make_inputs(np.random.default_rng(4), 2, 100, H, P, 1, 32, dtype="bf16")
    art = build(main, opt, "bf16", chunk_size=64).compile(
        "sm_90a", path=str(tmp_path), ssd_overlap=overlap)
    kernels = [l.kernel for l in art.manifest.launches]
    assert kernels == ["ssd_state_chain", "ssd_chunk_scan"]
    expect = overlap and 2 * H <= 264
    assert [l.overlap_previous for l in art.manifest.launches] == [False, expect]
    ptx = open(tmp_path / "kernels.ptx").read()
    assert ("griddepcontrol.launch_dependents" in ptx) == expect
    assert ("ld.acquire.gpu" in ptx) == expect


def test_overlap_same_bits():
    """On the CPU the programs run in order: the overlapping scan (chunks
    outermost, waits) gives the bits of the one in stream order."""
    main, opt = make_inputs(np.random.default_rng(6), 2, 300, 64, 32, 8, 32, R=32,
                            dtype="bf16", h0=True)
    fn = {ov: build(main, opt, "bf16", chunk_size=128).compile(
        "cpu", gpu_kernels=True, ssd_overlap=ov) for ov in (True, False)}
    (y, s), (y2, s2) = [fn[ov](*main, *opt.values()) for ov in (True, False)]
    np.testing.assert_array_equal(np.asarray(y, np.float64), np.asarray(y2, np.float64))
    np.testing.assert_array_equal(np.asarray(s), np.asarray(s2))
