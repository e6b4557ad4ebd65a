#!/usr/bin/env bash
# On the GPU machine, after bench/run_gpu.sh built the runtime: Nsight Compute
# sections (speed of light, pipes, shared memory, stall reasons, occupancy)
# of one kernel (KERNEL, a regex; default the attention kernel) for each
# artifact named on the command line (names under bench/artifacts/, one
# launch each).
set -uo pipefail
cd "$(dirname "$0")/.."
export WM_BUILD_DIR=$PWD/build-gpu
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for name in "$@"; do
  echo "== $name"
  "$NCU" --kernel-name "regex:${KERNEL:-dma_attention}" --launch-count 1 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis \
    --section MemoryWorkloadAnalysis_Tables --section MemoryWorkloadAnalysis \
    --section WarpStateStats --section Occupancy --section LaunchStats \
    --section InstructionStats \
    --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
    python3 bench/profile_once.py "$name" 2>&1 | grep -v '^==PROF==' | grep -v '^ *$'
done
