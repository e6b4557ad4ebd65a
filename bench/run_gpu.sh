#!/usr/bin/env bash
# On the GPU machine (no MLIR there): build the runtime and its Python module,
# run the runtime tests, then the DMA correctness suite and benchmark on the
# artifacts compiled beforehand by bench/make_artifacts.py, the randomized
# differential run (bench/differential.py) and compute-sanitizer memcheck and
# racecheck over a subset of it. Logs go to $OUT.
# The DMA backward (bench/dma_grad.py: correctness, sanitizers, one training
# step against SDPA and FlexAttention) runs after the forward suite, then
# wm.ssd (bench/ssd.py: correctness and its differential run, sanitizers, the
# benchmark against eager and torch.compile).
#   bash bench/run_gpu.sh [--skip-flex] [--only correctness|benchmark|differential|grad|ssd]
# SKIP_DIFFERENTIAL=1 runs the sanitizers alone, SANITIZER_TOOLS="" none;
# SSD_EXTRA=_a,_b also times the experiment artifacts <shape>_a, <shape>_b.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/wm-gpu-out}
SANITIZER=${SANITIZER:-/usr/local/cuda/bin/compute-sanitizer}
mkdir -p "$OUT"
ONLY=""
for ((i = 1; i <= $#; i++)); do
  [ "${!i}" = "--only" ] && { j=$((i + 1)); ONLY=${!j}; }
done
cmake -G Ninja -S . -B build-gpu -DWM_ENABLE_MLIR=OFF -DCMAKE_BUILD_TYPE=Release > "$OUT/build.log" 2>&1 \
  && ninja -C build-gpu >> "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
export WM_BUILD_DIR=$PWD/build-gpu PYTHONUNBUFFERED=1
status=0
if [ -z "$ONLY" ] || [ "$ONLY" = correctness ] || [ "$ONLY" = benchmark ]; then
  python3 -m pytest -q tests/test_runtime.py 2>&1 | tee "$OUT/runtime-tests.log" | tail -3
  python3 bench/dma.py --out "$OUT/dma-results.md" "$@" 2>&1 | tee "$OUT/dma.log" || status=1
fi
if [ -z "$ONLY" ] || [ "$ONLY" = differential ]; then
  if [ -f bench/artifacts/differential/configs.json ]; then
    log="$OUT/differential.log"
    { s=0
      echo "== differential run ($(date -u +%F), $(cat bench/artifacts/BUILD_INFO 2>/dev/null || echo unknown), $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1))"
      [ "${SKIP_DIFFERENTIAL:-0}" = 1 ] || python3 bench/differential.py run || s=1
      subset=$(python3 bench/differential.py subset)
      echo "== compute-sanitizer over: $subset"
      # No caching allocator: memcheck sees each tensor's own bounds.
      for tool in ${SANITIZER_TOOLS-memcheck racecheck}; do
        echo "== $tool"
        PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$SANITIZER" --tool "$tool" --print-limit 20 \
          python3 bench/differential.py run --only-names "$subset" 2>&1 \
          | grep -E "SUMMARY|^differential:|^FAIL|Error|Hazard" || s=1
      done
      exit $s
    } 2>&1 | tee "$log" || status=1
  else
    echo "no bench/artifacts/differential (python3 bench/differential.py compile, where MLIR is)"
    status=1
  fi
fi
if [ -z "$ONLY" ] || [ "$ONLY" = grad ]; then
  if [ -d bench/artifacts/grad ]; then
    { s=0
      echo "== DMA backward ($(date -u +%F), $(cat bench/artifacts/BUILD_INFO 2>/dev/null || echo unknown), $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1))"
      python3 bench/dma_grad.py run --out "$OUT/dma-grad-results.md" || s=1
      for tool in ${SANITIZER_TOOLS-memcheck racecheck}; do
        echo "== $tool over g_L1000_W64_gqa4, gb_L1000_W64_exp"
        PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$SANITIZER" --tool "$tool" --print-limit 20 \
          python3 bench/dma_grad.py run --only g_L1000_W64_gqa4,gb_L1000_W64_exp 2>&1 \
          | grep -E "SUMMARY|^dma_grad:|Error|Hazard" || s=1
      done
      echo "== one training step vs SDPA and FlexAttention"
      python3 bench/dma_grad.py bench --out "$OUT/dma-grad-bench.md" \
        $(printf '%s\n' "$@" | grep -x -- --skip-flex) || s=1
      exit $s
    } 2>&1 | tee "$OUT/dma-grad.log" || status=1
  else
    echo "no bench/artifacts/grad (python3 bench/dma_grad.py compile, where MLIR is)"
    status=1
  fi
fi
if [ -z "$ONLY" ] || [ "$ONLY" = ssd ]; then
  if [ -f bench/artifacts/ssd/configs.json ]; then
    { s=0
      echo "== wm.ssd ($(date -u +%F), $(cat bench/artifacts/ssd/BUILD_INFO 2>/dev/null || echo unknown), $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1))"
      python3 bench/ssd.py run --out "$OUT/ssd-results.md" || s=1
      # Both state forms (two programs; the state chain), rope and not.
      subset=s_T1000_G2_P32_N16_c64_rope,s_T777_G8_P128_N128_c128_rope,s_chain16_T777_G8_P128_N128_rope,s_chain32_T2048_GH_P64_N128_rope
      for tool in ${SANITIZER_TOOLS-memcheck racecheck}; do
        echo "== $tool over $subset"
        PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$SANITIZER" --tool "$tool" --print-limit 20 \
          python3 bench/ssd.py run --only "$subset" 2>&1 \
          | grep -E "SUMMARY|^ssd:|Error|Hazard" || s=1
      done
      echo "== benchmark vs eager chunked SSD and torch.compile"
      python3 bench/ssd.py bench --out "$OUT/ssd-bench.md" ${SSD_EXTRA:+--extra "$SSD_EXTRA"} || s=1
      exit $s
    } 2>&1 | tee "$OUT/ssd.log" || status=1
  else
    echo "no bench/artifacts/ssd (python3 bench/ssd.py compile, where MLIR is)"
    status=1
  fi
fi
exit $status
