//===- TileChunks.h - Which thread copies which 16-byte chunk ---*- C++ -*-===//
//
// The tensor-core attention kernels copy row-major tiles of `rows` rows by
// `chunks` 16-byte chunks (D / 8 per row) with cp.async: at copy step s,
// thread t of the CTA takes chunk item s * threads + t. The same template
// emits the kernel's index arithmetic (on MLIR values) and answers host
// tests (on integers), so the host can check that a tile is covered.
//
// A thread keeps one column only when `chunks` divides `threads` (D = 32,
// 64, 128, 256). For D = 96, 160, 192 or 224 (12, 20, 24, 28 chunks) its
// column moves from step to step: assuming a fixed column there left rows
// of K and V uncopied, which read garbage.
//
//===----------------------------------------------------------------------===//

#ifndef WM_CONVERSION_WMTOGPU_TILECHUNKS_H
#define WM_CONVERSION_WMTOGPU_TILECHUNKS_H

#include <cstdint>
#include <utility>

namespace mlir::wm {

struct TileChunks {
  int64_t rows, chunks, threads;

  /// Every thread copies the same number of chunks.
  bool isEven() const { return rows * chunks % threads == 0; }
  int64_t steps() const { return rows * chunks / threads; }
  /// Each thread copies one column of chunks, `rowStep()` rows apart.
  bool fixedColumn() const { return threads % chunks == 0; }
  int64_t rowStep() const { return threads / chunks; }

  /// (row, column) of the chunk thread `tid` copies at `step`. `Arith`
  /// provides add(V, int64_t), div(V, int64_t) and rem(V, int64_t).
  template <typename Arith, typename V>
  std::pair<V, V> chunkAt(Arith &a, int64_t step, V tid) const {
    if (fixedColumn())
      return {a.add(a.div(tid, chunks), step * rowStep()), a.rem(tid, chunks)};
    V item = a.add(tid, step * threads);
    return {a.div(item, chunks), a.rem(item, chunks)};
  }
};

/// `TileChunks::chunkAt` on plain integers.
struct IntegerArith {
  int64_t add(int64_t a, int64_t b) { return a + b; }
  int64_t div(int64_t a, int64_t b) { return a / b; }
  int64_t rem(int64_t a, int64_t b) { return a % b; }
};

} // namespace mlir::wm

#endif // WM_CONVERSION_WMTOGPU_TILECHUNKS_H
