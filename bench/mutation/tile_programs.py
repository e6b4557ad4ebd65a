"""Mutation check of the tile-program stage: each mutation changes one piece
of the attention kernel's algorithm (in wm-to-tile, or in its CPU lowering),
rebuilds, and runs tests/test_tile_programs.py. A mutation the suite does not
catch is printed as SURVIVED. Run from the repository root:

    python3 bench/mutation/tile_programs.py [--build DIR] [NAME-SUBSTRING ...]
"""

import pathlib
import subprocess
import sys

DMA = "lib/wm/Conversion/WMToTile/DMA.cpp"
LOOPS = "lib/wm/Conversion/TileToLoops/Attention.cpp"
MEMORY = "lib/wm/Conversion/TileToLoops/Memory.cpp"

# (name, file, original text, mutated text)
MUTATIONS = [
    # (+1 would only add a key every row masks: an equivalent mutant.)
    ("causal key end -1", DMA,
     "Value causalEnd = lb.addi(i1, lb.index(keys - queries));",
     "Value causalEnd = lb.addi(i1, lb.index(keys - queries - 1));"),
    ("non-causal key end -1", DMA, ": lb.index(keys);", ": lb.index(keys - 1);"),
    ("whole-tile causal limit +1", DMA,
     "Value firstLimit = lb.addi(i0, lb.index(keys - queries));",
     "Value firstLimit = lb.addi(i0, lb.index(keys - queries + 1));"),
    ("whole-tile presence bound", DMA,
     "Value tileEnd = lb.addi(c0, lb.index(tileKeys));",
     "Value tileEnd = lb.addi(c0, lb.index(tileKeys - 1));"),
    ("score causal offset", DMA, "b.getI64IntegerAttr(keys - queries),",
     "b.getI64IntegerAttr(keys - queries + 1),"),
    ("skip level: bias test dropped", DMA,
     "[&] { return score(selection ? ScoreTests::bias : ScoreTests::none); },",
     "[&] { return score(ScoreTests::none); },"),
    ("tau_max from the lowest threshold", DMA, "tauMax = thresholds.getHigh();",
     "tauMax = thresholds.getLow();"),
    # (ULT -> OLT, a NaN tile minimum skipping the test, is equivalent: a
    # whole tile's NaN key is kept by every row of the block, which is NaN
    # whatever else it keeps.)
    ("tau_max tile minimum without the last key", LOOPS,
     "lb.index(0), lb.index(shape[1]), lb.f32(INFINITY), [&](Value c, Value m) {",
     "lb.index(0), lb.index(shape[1] - 1), lb.f32(INFINITY), [&](Value c, Value m) {"),
    ("log2(e) constant", DMA, "constexpr double kLog2E = 1.4426950408889634;",
     "constexpr double kLog2E = 1.4436950408889634;"),
    ("ln 2 constant", DMA, "constexpr double kLn2 = 0.6931471805599453;",
     "constexpr double kLn2 = 0.6941471805599453;"),
    ("thresholds rows end", DMA, "ValueRange{batchIndex, group, i0}, lb.index(queries),",
     "ValueRange{batchIndex, group, i0}, lb.index(queries - 1),"),
    ("NaN thresholds as +inf swapped", DMA, "/*nan_as_inf=*/!exact);",
     "/*nan_as_inf=*/exact);"),
    ("two-stage prefetch into the current stage", DMA,
     "lb.ifThen(hasNext, [&] { issueTile(next, other, count, true, true); });",
     "lb.ifThen(hasNext, [&] { issueTile(next, stage, count, true, true); });"),
    ("one-stage next K skipped", DMA,
     "lb.ifThen(hasNext, [&] { issueTile(next, zero, count, true, false); });",
     "lb.ifThen(hasNext, [&] { issueTile(t, zero, count, true, false); });"),
    ("compaction keep test", LOOPS,
     "Value keep = lb.cmp(CmpFPredicate::UGE, bias, adaptor.getLow());",
     "Value keep = lb.cmp(CmpFPredicate::UGT, bias, adaptor.getLow());"),
    ("compaction room test", LOOPS,
     "Value room = lb.cmpi(CmpIPredicate::sle, lb.addi(count, lb.index(round)),",
     "Value room = lb.cmpi(CmpIPredicate::sle, lb.addi(count, lb.index(round / 2)),"),
    ("softmax reference of empty rows", LOOPS,
     "Value ref = lb.select(unset, lb.f32(0.0), next);", "Value ref = next;"),
    ("score keep test", LOOPS,
     ": lb.cmp(CmpFPredicate::UGE, bias, t);", ": lb.cmp(CmpFPredicate::UGT, bias, t);"),
    ("gather zero fill", MEMORY, "[&] { return past; }, b.getIndexType());",
     "[&] { return lb.index(0); }, b.getIndexType());"),
]


def main():
    args = sys.argv[1:]
    build = "build"
    if args[:1] == ["--build"]:
        build, args = args[1], args[2:]
    chosen = [m for m in MUTATIONS if not args or any(a in m[0] for a in args)]
    survived = 0
    for name, path, old, new in chosen:
        file = pathlib.Path(path)
        text = file.read_text()
        assert text.count(old) == 1, f"{name}: the original text is not unique in {path}"
        file.write_text(text.replace(old, new))
        try:
            subprocess.run(["ninja", "-C", build], check=True, capture_output=True)
            run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q",
                                  "tests/test_tile_programs.py"], capture_output=True)
            caught = run.returncode != 0
        finally:
            file.write_text(text)
        survived += not caught
        print(f"{'caught  ' if caught else 'SURVIVED'} {name}", flush=True)
    subprocess.run(["ninja", "-C", build], check=True, capture_output=True)
    print(f"{len(chosen) - survived} of {len(chosen)} mutations caught")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
