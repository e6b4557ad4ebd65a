# One device call: times the SSD variants (bench/tools/time_variants.py) and
# profiles the state chain and the chunk scan with ncu (results v62).
set -u
cmake -G Ninja -S . -B build-gpu -DWM_ENABLE_MLIR=OFF -DCMAKE_BUILD_TYPE=Release > $OUT/build.log 2>&1 && ninja -C build-gpu >> $OUT/build.log 2>&1 || { tail -20 $OUT/build.log; exit 1; }
export WM_BUILD_DIR=$PWD/build-gpu PYTHONUNBUFFERED=1
timeout 150 python3 bench/tools/time_variants.py b_2x4096_h80,b_8x2048_g8 _s2,_nodisc,_nomma,_nochain 2>&1 | grep -v Warn | tee $OUT/times.txt
for K in ssd_state_chain ssd_chunk_scan; do
timeout 120 /usr/local/cuda/bin/ncu --kernel-name "regex:$K" --launch-count 1 --section SpeedOfLight --section WarpStateStats --section Occupancy --section LaunchStats --section MemoryWorkloadAnalysis --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" python3 bench/ssd.py profile --only b_2x4096_h80 2>&1 | grep -v '^==PROF==' | grep -v '^ *$' > $OUT/ncu-$K.txt; echo "ncu $K rc $?"
done
grep -E "Duration|Throughput|Occupancy|Registers|stalled_(long|barrier|short|wait|math|mio|lg|not_sel|dispatch|no_inst|sleep|branch|drain|membar|tex|imc|selected)" $OUT/ncu-*.txt | cut -c1-150 | head -80
