#!/usr/bin/env bash
# The main job: install and build, then compile a bundled model (a Doge block)
# through the WM pipeline and print what it produced.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
BUILD_DIR=${WM_BUILD_DIR:-build}
EXAMPLE=${1:-examples/doge_block.mlir}

WM_OPT="$BUILD_DIR/bin/wm-opt"

echo "== $EXAMPLE: the model as written (verified)"
"$WM_OPT" "$EXAMPLE"
echo "== after key selection (wm-select-keys): thresholds and block summaries, O(L) each"
"$WM_OPT" "$EXAMPLE" --wm-select-keys | grep -E "wm\.(dma_select|dma_block_summary|dma_threshold_attention)"
echo "== the CPU loop stage (wm-to-loops): $("$WM_OPT" "$EXAMPLE" --wm-to-loops | grep -c 'scf.for') scf.for loops, no wm op left"
echo "== compiled for the host (wm-to-cpu): LLVM dialect"
"$WM_OPT" "$EXAMPLE" --wm-to-cpu | grep -oE "llvm.func @[a-z_]+"
echo "== the DMA layer compiled for the H200 (wm-to-nvvm): kernels in PTX"
"$WM_OPT" examples/dma_layer_entry.mlir --wm-to-nvvm | grep -oE "\.target sm_90a|\.entry [a-z_]+" | sort -u
