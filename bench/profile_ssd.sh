#!/usr/bin/env bash
# On the GPU machine: Nsight Compute over one call of each named SSD benchmark
# artifact (bench/artifacts/ssd, compiled beforehand). Per config it writes to
# $OUT the details page and the SASS source page (per-instruction warp stall
# samples, CSV) of every kernel of the call.
#   CFGS="b_2x4096_h80 b_transxssm" OUT=/tmp/prof bash bench/profile_ssd.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/wm-profile}
NCU=${NCU:-/usr/local/cuda/bin/ncu}
mkdir -p "$OUT"
cmake -G Ninja -S . -B build-gpu -DWM_ENABLE_MLIR=OFF -DCMAKE_BUILD_TYPE=Release > "$OUT/build.log" 2>&1 \
  && ninja -C build-gpu >> "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
export WM_BUILD_DIR=$PWD/build-gpu PYTHONUNBUFFERED=1
for cfg in ${CFGS:-b_2x4096_h80}; do
  "$NCU" --set full --import-source no -o "$OUT/$cfg" -f \
    python3 bench/ssd.py profile --only "$cfg" > "$OUT/$cfg.ncu.log" 2>&1 || tail -5 "$OUT/$cfg.ncu.log"
  "$NCU" -i "$OUT/$cfg.ncu-rep" --page details > "$OUT/$cfg.details.txt" 2>&1
  "$NCU" -i "$OUT/$cfg.ncu-rep" --page source --csv --print-source sass > "$OUT/$cfg.sass.csv" 2>&1
  rm -f "$OUT/$cfg.ncu-rep"  # large; the two pages keep what is read from it
done
