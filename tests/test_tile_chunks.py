"""The tensor-core attention kernels' tile copy plan (TileChunks), run on the
host: every 16-byte chunk of a K/V tile is copied exactly once, for every
head dim the kernels take and both CTA sizes. With a thread's column fixed
whatever D, D = 96, 160, 192 and 224 left rows uncopied (issue 9)."""

import pytest

from wm import _wm

TILE_KEYS = 64  # kTileKeys of AttentionKernels.cpp
HEAD_DIMS = range(32, 257, 32)  # supportsTensorCoreAttention: D % 32 == 0, D <= 256


@pytest.mark.parametrize("threads", [128, 256])
@pytest.mark.parametrize("head_dim", HEAD_DIMS)
def test_every_chunk_copied_once(head_dim, threads):
    copies = _wm.tile_chunk_copies(TILE_KEYS, head_dim // 8, threads)
    assert len(copies) == TILE_KEYS
    assert all(row == [1] * (head_dim // 8) for row in copies), copies


def fixed_column_copies(rows, chunks, threads):
    """The plan before the fix: thread t copies column t % chunks of rows
    t / chunks + s * (threads / chunks), whatever `chunks`."""
    copies = [[0] * chunks for _ in range(rows)]
    for step in range(rows * chunks // threads):
        for tid in range(threads):
            row = tid // chunks + step * (threads // chunks)
            if row < rows:
                copies[row][tid % chunks] += 1
    return copies


@pytest.mark.parametrize("head_dim", [96, 160, 192, 224])
def test_fixed_column_misses_rows(head_dim):
    """The cause, shown on the host: 128 threads over 12, 20, 24 or 28
    chunks a row leave some chunks uncopied (garbage K and V in shared
    memory) and copy others twice."""
    copies = fixed_column_copies(TILE_KEYS, head_dim // 8, 128)
    assert any(0 in row for row in copies)
