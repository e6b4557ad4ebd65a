#!/usr/bin/env bash
# The main job: install and build, then compile a bundled model (a Doge block)
# through the WM pipeline and print what it produced.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
BUILD_DIR=${WM_BUILD_DIR:-build}
EXAMPLE=${1:-examples/doge_block.mlir}

echo "== $EXAMPLE: parsed and verified"
"$BUILD_DIR/bin/wm-opt" "$EXAMPLE" --canonicalize
