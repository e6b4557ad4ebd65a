#!/usr/bin/env bash
# Installs what WM needs (Debian packages, Python packages) and builds it.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
              cmake ninja-build g++ pybind11-dev)
PIP_PACKAGES=(numpy pytest ml_dtypes pybind11)
LLVM_PREFIX=/usr/lib/llvm-22
BUILD_DIR=${WM_BUILD_DIR:-build}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "== installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import numpy, pytest, ml_dtypes, pybind11" 2>/dev/null; then
  echo "== installing Python packages: ${PIP_PACKAGES[*]}"
  python3 -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  echo "== configuring ($BUILD_DIR)"
  cmake -G Ninja -S . -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    -DPython3_EXECUTABLE="$(command -v python3)" >/dev/null
fi
echo "== building"
cmake --build "$BUILD_DIR"

# The Python package, editable: `import wm` finds the extensions in the build.
if ! python3 -c "import wm, sys; sys.exit(0 if wm.__file__.startswith('$PWD/python') else 1)" 2>/dev/null; then
  echo "== installing the Python package (editable)"
  python3 -m pip install -q --disable-pip-version-check -e python
fi
