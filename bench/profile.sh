#!/usr/bin/env bash
# On the GPU machine, after bench/run_gpu.sh built the runtime: stall reasons,
# issue and tensor-pipe utilisation of one kernel (KERNEL, a regex; default
# the attention kernel) of each artifact
# named on the command line (one launch each, Nsight Compute).
set -uo pipefail
cd "$(dirname "$0")/.."
export WM_BUILD_DIR=$PWD/build-gpu
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
METRICS="regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio"
METRICS+=",smsp__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active"
METRICS+=",sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active"
METRICS+=",sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active"
METRICS+=",sm__warps_active.avg.pct_of_peak_sustained_active,gpu__time_duration.sum"
for artifact in "$@"; do
  echo "== $artifact"
  "$NCU" --kernel-name "regex:${KERNEL:-dma_attention}" --launch-count 1 --metrics "$METRICS" \
    python3 bench/profile_once.py "$artifact" 2>&1 |
    awk '/^    [a-z]/ && $NF+0 > 0.05 {print}' | sort -k3 -n -r | head -24
done
