# One device call for wm.ssd: build, benchmark (with SSD_EXTRA), the
# correctness suite, memcheck over the state-chain configs, racecheck over one.
# SKIP_BENCH=1 leaves the benchmark out.
set -u
cmake -G Ninja -S . -B build-gpu -DWM_ENABLE_MLIR=OFF -DCMAKE_BUILD_TYPE=Release > $OUT/build.log 2>&1 && ninja -C build-gpu >> $OUT/build.log 2>&1 || { tail -20 $OUT/build.log; exit 1; }
export WM_BUILD_DIR=$PWD/build-gpu PYTHONUNBUFFERED=1
SAN=/usr/local/cuda/bin/compute-sanitizer
[ "${SKIP_BENCH:-0}" = 1 ] || timeout 270 python3 bench/ssd.py bench --out $OUT/ssd-bench.md ${SSD_EXTRA:+--extra "$SSD_EXTRA"} > $OUT/bench.log 2>&1; echo "bench rc $?"
timeout 130 python3 bench/ssd.py run --out $OUT/ssd-results.md > $OUT/run.log 2>&1; echo "run rc $?"; tail -1 $OUT/run.log
S=s_chain16_T777_G8_P128_N128_rope,s_chain32_T2048_GH_P64_N128_rope,s_chain_T1000_H128_G8_P64_N128
PYTORCH_NO_CUDA_MEMORY_CACHING=1 timeout 60 $SAN --tool memcheck --print-limit 20 python3 bench/ssd.py run --only $S 2>&1 | grep -E "SUMMARY|^ssd:|Error" > $OUT/memcheck.log; cat $OUT/memcheck.log
PYTORCH_NO_CUDA_MEMORY_CACHING=1 timeout 110 $SAN --tool racecheck --print-limit 20 python3 bench/ssd.py run --only s_chain32_T2048_GH_P64_N128_rope 2>&1 | grep -E "SUMMARY|^ssd:|Error|Hazard" > $OUT/racecheck.log; echo "racecheck rc $?"; cat $OUT/racecheck.log
[ -f $OUT/ssd-bench.md ] && cut -c1-700 $OUT/ssd-bench.md | tail -5
