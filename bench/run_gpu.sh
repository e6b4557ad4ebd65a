#!/usr/bin/env bash
# On the GPU machine (no MLIR there): build the runtime and its Python module,
# run the runtime tests, then the DMA correctness suite and benchmark on the
# artifacts compiled beforehand by bench/make_artifacts.py. Logs go to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/wm-gpu-out}
mkdir -p "$OUT"
cmake -G Ninja -S . -B build-gpu -DWM_ENABLE_MLIR=OFF -DCMAKE_BUILD_TYPE=Release > "$OUT/build.log" 2>&1 \
  && ninja -C build-gpu >> "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
export WM_BUILD_DIR=$PWD/build-gpu PYTHONUNBUFFERED=1
python3 -m pytest -q tests/test_runtime.py 2>&1 | tee "$OUT/runtime-tests.log" | tail -3
python3 bench/dma.py --out "$OUT/dma-results.md" "$@" 2>&1 | tee "$OUT/dma.log"
