#!/usr/bin/env bash
# Installs and builds, then runs every test (lit, pytest) and prints the totals
# as one line: "N passed, N failed". Exits non-zero if any test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh || exit 1
BUILD_DIR=${WM_BUILD_DIR:-build}
REPORTS="$BUILD_DIR/test-reports"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"

echo "== lit"
/usr/lib/llvm-22/bin/lit -sv "$BUILD_DIR/test" --xunit-xml-output="$REPORTS/lit.xml"
echo "== pytest"
python3 -m pytest -q tests --junitxml="$REPORTS/pytest.xml"

python3 - "$REPORTS" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.xml"):
    for case in ET.parse(path).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
