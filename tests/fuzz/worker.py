"""A long-lived fuzz worker: reads `CATEGORY SEED` lines on stdin, runs each case
(tests/fuzz/cases.py) and answers one `@@fuzz@@ {json}` line on stdout per case.
Whatever else the compiler prints is ignored by the driver.

    python3 tests/fuzz/worker.py                       # serve cases (the driver's use)
    python3 tests/fuzz/worker.py replay CATEGORY SEED  # one case, in this process
"""

import json
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _path in (_ROOT, os.path.join(_ROOT, "python")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

MARKER = "@@fuzz@@ "


def _jsonable(value):
    return json.loads(json.dumps(value, default=repr))


def serve():
    from tests.fuzz.cases import run_case
    out = sys.stdout
    out.write(MARKER + json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2:
            continue
        category, seed = parts[0], int(parts[1])
        outcome, detail, notes = run_case(category, seed)
        out.write(MARKER + json.dumps({"category": category, "seed": seed, "outcome": outcome,
                                       "detail": detail, "notes": _jsonable(notes)}) + "\n")
        out.flush()


def replay(category, seed):
    from tests.fuzz.cases import run_case
    outcome, detail, notes = run_case(category, int(seed))
    print(json.dumps(_jsonable(notes), indent=1))
    print(f"{category} {seed}: {outcome}" + (f": {detail}" if detail else ""))
    return 0 if outcome in ("diagnostic", "matched", "accepted") else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "replay":
        sys.exit(replay(sys.argv[2], sys.argv[3]))
    serve()
