#!/usr/bin/env bash
# On the GPU machine: Nsight Compute (full set) over one call of each named
# benchmark artifact of a suite (SUITE=ssd: bench/ssd.py, the default;
# SUITE=dma_grad: bench/dma_grad.py, one training step), compiled beforehand.
# Per config it writes to $OUT the details page and the SASS source page
# (per-instruction warp stall samples, CSV) of the kernels matching KERNELS
# (a regex; default all).
#   CFGS="b_2x4096_h80 b_transxssm" OUT=/tmp/prof bash bench/profile_stalls.sh
#   SUITE=dma_grad CFGS=b_L16384_W2048 KERNELS=dma_attention_grad_mma bash bench/profile_stalls.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/wm-profile}
NCU=${NCU:-/usr/local/cuda/bin/ncu}
mkdir -p "$OUT"
cmake -G Ninja -S . -B build-gpu -DWM_ENABLE_MLIR=OFF -DCMAKE_BUILD_TYPE=Release > "$OUT/build.log" 2>&1 \
  && ninja -C build-gpu >> "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
export WM_BUILD_DIR=$PWD/build-gpu PYTHONUNBUFFERED=1
SUITE=${SUITE:-ssd}
for cfg in ${CFGS:-b_2x4096_h80}; do
  "$NCU" --set full --import-source no ${KERNELS:+-k "regex:$KERNELS"} -o "$OUT/$cfg" -f \
    python3 "bench/$SUITE.py" profile --only "$cfg" > "$OUT/$cfg.ncu.log" 2>&1 || tail -5 "$OUT/$cfg.ncu.log"
  "$NCU" -i "$OUT/$cfg.ncu-rep" --page details > "$OUT/$cfg.details.txt" 2>&1
  "$NCU" -i "$OUT/$cfg.ncu-rep" --page source --csv --print-source sass > "$OUT/$cfg.sass.csv" 2>&1
  rm -f "$OUT/$cfg.ncu-rep"  # large; the two pages keep what is read from it
done
