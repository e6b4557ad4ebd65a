"""Mutation check of the tile-program stage: each mutation changes one piece
of a GPU kernel's algorithm (the attention and selection programs of
wm-to-tile, the scalar kernels of convert-wm-to-gpu, or their CPU lowering),
rebuilds, and runs tests/test_tile_programs.py and
tests/test_gpu_kernels_cpu.py. A mutation the suite does not catch is
printed as SURVIVED. Run from the repository root:

    python3 bench/mutation/tile_programs.py [--build DIR] [NAME-SUBSTRING ...]
"""

import pathlib
import subprocess
import sys

DMA = "lib/wm/Conversion/WMToTile/DMA.cpp"
LOOPS = "lib/wm/Conversion/TileToLoops/Attention.cpp"
MEMORY = "lib/wm/Conversion/TileToLoops/Memory.cpp"
SELECT = "lib/wm/Conversion/WMToTile/Select.cpp"
SELECT_LOOPS = "lib/wm/Conversion/TileToLoops/Select.cpp"
KERNELS = "lib/wm/Conversion/WMToGPU/WMToGPU.cpp"
# The fast file first: with -x a caught mutation stops there.
TESTS = ["tests/test_gpu_kernels_cpu.py", "tests/test_tile_programs.py"]

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
    # The selection program. (Equivalent mutants: a shared prefix one key
    # shorter, whose key joins the block's new keys, which still fit their
    # 256 slots; one new key fewer, since the block's rows add at most 255.)
    ("selection prefix end +1", SELECT,
     "lb.mini(lb.index(keys), lb.addi(i0, offset))",
     "lb.mini(lb.index(keys), lb.addi(i0, lb.addi(offset, lb.index(1))))"),
    ("selection new keys -2", SELECT,
     "lb.addi(pEnd, lb.index(kSelectRows)));",
     "lb.addi(pEnd, lb.index(kSelectRows - 2)));"),
    ("selection upper rank", SELECT, "lb.subi(m, lb.index(kSelectRows - 1))",
     "lb.subi(m, lb.index(kSelectRows - 2))"),
    ("selection row rank", SELECT,
     "lb.addi(lb.subi(size, lb.index(window)), one), lb.subi(pEnd, m)));",
     "lb.subi(size, lb.index(window)), lb.subi(pEnd, m)));"),
    ("selection values above tau", SELECT,
     "lb.cmpi(CmpIPredicate::ugt, key, tauKey));",
     "lb.cmpi(CmpIPredicate::uge, key, tauKey));"),
    ("selection empty-block bound", SELECT,
     "lb.cmpi(CmpIPredicate::slt, lastSize, lb.index(window)),",
     "lb.cmpi(CmpIPredicate::sle, lastSize, lb.index(window)),"),
    ("global selection rank", SELECT, "{lb.i32(window)})[0]);",
     "{lb.i32(window - 1)})[0]);"),
    ("radix digit reach", SELECT_LOOPS,
     "lb.cmpi(CmpIPredicate::sge, through, rank));",
     "lb.cmpi(CmpIPredicate::sgt, through, rank));"),
    ("bitonic direction", SELECT_LOOPS, "Value ascending = bitClear(i, size);",
     "Value ascending = bitClear(i, stride);"),
    # The scalar kernels of convert-wm-to-gpu.
    ("bias softplus dropped", KERNELS,
     "Value scaled = lb.mul(lb.load(args[2], {g}), lb.softplus(dt));",
     "Value scaled = lb.mul(lb.load(args[2], {g}), dt);"),
    ("row kernel causal limit", KERNELS,
     "Value limit = lb.addi(i, lb.index(keys - queries));",
     "Value limit = lb.addi(i, lb.index(keys - queries - 1));"),
    ("row selection prefix", KERNELS,
     "Value end = perRow ? lb.addi(i, lb.index(keys - queries + 1))",
     "Value end = perRow ? lb.addi(i, lb.index(keys - queries + 2))"),
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
            run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", *TESTS],
                                 capture_output=True)
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
