"""Mutation check of the tile-program stage: each mutation changes one piece
of a GPU kernel's algorithm (the attention and selection programs of
wm-to-tile, the backward's program, the scalar kernels of convert-wm-to-gpu,
or their CPU lowering), rebuilds, and runs tests/test_tile_programs.py and
tests/test_gpu_kernels_cpu.py (the backward's: the tensor-core cases of
tests/test_dma_grad.py; wm.ssd's: tests/test_ssd_programs.py). A mutation the suite does not catch is
printed as SURVIVED. Run from the repository root:

    python3 bench/mutation/tile_programs.py [--build DIR] [NAME-SUBSTRING ...]
"""

import pathlib
import subprocess
import sys

DMA = "lib/wm/Conversion/WMToTile/DMA.cpp"
KEYS = "lib/wm/Conversion/WMToTile/QueryBlockKeys.cpp"
KEYS_H = "lib/wm/Conversion/WMToTile/QueryBlockKeys.h"
GRAD = "lib/wm/Conversion/WMToTile/DMAGrad.cpp"
GRAD_LOOPS = "lib/wm/Conversion/TileToLoops/Gradients.cpp"
LOOPS = "lib/wm/Conversion/TileToLoops/Attention.cpp"
MEMORY = "lib/wm/Conversion/TileToLoops/Memory.cpp"
SELECT = "lib/wm/Conversion/WMToTile/Select.cpp"
SELECT_LOOPS = "lib/wm/Conversion/TileToLoops/Select.cpp"
KERNELS = "lib/wm/Conversion/WMToGPU/WMToGPU.cpp"
# The fast file first: with -x a caught mutation stops there.
TESTS = ["tests/test_gpu_kernels_cpu.py", "tests/test_tile_programs.py"]
# The backward's programs run on the CPU in these cases.
GRAD_TESTS = ["tests/test_dma_grad.py", "-k", "tensor_core"]
SSD = "lib/wm/Conversion/WMToTile/SSD.cpp"
SSD_LOOPS = "lib/wm/Conversion/TileToLoops/Scan.cpp"
SSD_TESTS = ["tests/test_ssd_programs.py"]

# (name, file, original text, mutated text[, tests])
MUTATIONS = [
    # (+1 would only add a key every row masks: an equivalent mutant.)
    ("causal key end -1", KEYS,
     "Value causalEnd = lb.addi(i1, lb.index(rule.keys - rule.queries));",
     "Value causalEnd = lb.addi(i1, lb.index(rule.keys - rule.queries - 1));"),
    ("non-causal key end -1", KEYS, ": lb.index(rule.keys);", ": lb.index(rule.keys - 1);"),
    ("whole-tile causal limit +1", KEYS,
     "Value firstLimit = lb.addi(i0, lb.index(rule.keys - rule.queries));",
     "Value firstLimit = lb.addi(i0, lb.index(rule.keys - rule.queries + 1));"),
    ("whole-tile presence bound", KEYS,
     "Value tileEnd = lb.addi(c0, lb.index(tileKeys));",
     "Value tileEnd = lb.addi(c0, lb.index(tileKeys - 1));"),
    ("score causal offset", KEYS, "b.getI64IntegerAttr(rule.keys - rule.queries),",
     "b.getI64IntegerAttr(rule.keys - rule.queries + 1),"),
    ("skip level: bias test dropped", KEYS,
     "return score(rule.selection ? ScoreTests::bias : ScoreTests::none);",
     "return score(ScoreTests::none);"),
    ("tau_max from the lowest threshold", KEYS, "tauMax = thresholds.getHigh();",
     "tauMax = thresholds.getLow();"),
    # (ULT -> OLT, a NaN tile minimum skipping the test, is equivalent: a
    # whole tile's NaN key is kept by every row of the block, which is NaN
    # whatever else it keeps.)
    ("tau_max tile minimum without the last key", LOOPS,
     "lb.index(0), lb.index(shape[1]), lb.f32(INFINITY), [&](Value c, Value m) {",
     "lb.index(0), lb.index(shape[1] - 1), lb.f32(INFINITY), [&](Value c, Value m) {"),
    ("log2(e) constant", KEYS_H, "constexpr double kLog2E = 1.4426950408889634;",
     "constexpr double kLog2E = 1.4436950408889634;"),
    ("ln 2 constant", KEYS_H, "constexpr double kLn2 = 0.6931471805599453;",
     "constexpr double kLn2 = 0.6941471805599453;"),
    ("thresholds rows end", KEYS, "lb.index(rule.queries), /*nan_as_inf=*/!rule.exact);",
     "lb.index(rule.queries - 1), /*nan_as_inf=*/!rule.exact);"),
    ("NaN thresholds as +inf swapped", KEYS, "/*nan_as_inf=*/!rule.exact);",
     "/*nan_as_inf=*/rule.exact);"),
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
    # The backward's program (wm.dma_attention_grad on tensor cores) and the
    # CPU lowering of its tile ops. (Equivalent: rows past the end counted
    # live, since their Q and dO rows are zeros, so dP, Dr and dS are 0; a
    # -inf score kept, since 2^(-inf - lse) is 0 anyway; a scatter of the
    # slot past the list, whose row of P and dS is masked to 0.)
    ("grad: dK unscaled", GRAD, "keyRows(dsTile, qTile, dkBuf, op.getScale().convertToDouble());",
     "keyRows(dsTile, qTile, dkBuf, 1.0);", GRAD_TESTS),
    ("grad: dV from dS", GRAD, "keyRows(pTile, doTile, dvBuf, 1.0);",
     "keyRows(dsTile, doTile, dvBuf, 1.0);", GRAD_TESTS),
    ("grad: Dr not accumulated", GRAD,
     "return RowDotOp::create(b, loc, acc.getType(), p, dp, acc);", "return acc;", GRAD_TESTS),
    ("grad: lse in the log2 domain", GRAD, "b.getF32FloatAttr(kLog2E));",
     "b.getF32FloatAttr(1.0));", GRAD_TESTS),
    ("grad: dQ unscaled", GRAD, "b.getF32FloatAttr(op.getScale().convertToDouble()));",
     "b.getF32FloatAttr(1.0));", GRAD_TESTS),
    ("grad: dS sign of Dr", GRAD_LOOPS, "Value dp = lb.sub(lb.load(adaptor.getGradProbs(), rc),",
     "Value dp = lb.add(lb.load(adaptor.getGradProbs(), rc),", GRAD_TESTS),
    ("grad: scatter along the batch", GRAD_LOOPS, "at.insert(at.begin() + rowDim,",
     "at.insert(at.begin(),", GRAD_TESTS),
    ("grad: row_dot without the last column", GRAD_LOOPS,
     "lb.index(0), lb.index(shape[1]), lb.load(adaptor.getAcc(), {r}),",
     "lb.index(0), lb.index(shape[1] - 1), lb.load(adaptor.getAcc(), {r}),", GRAD_TESTS),
    ("grad: column sums without the last row", GRAD_LOOPS,
     "Value sum = lb.reduce(zero, lb.index(shape[0]), lb.f32(0.0),",
     "Value sum = lb.reduce(zero, lb.index(shape[0] - 1), lb.f32(0.0),", GRAD_TESTS),
    ("grad: transposed lhs read straight", "lib/wm/Conversion/TileToLoops/Matmul.cpp",
     "Value a = op.getTransposeLhs() ? lb.load(lhs, {k, ij[0]})",
     "Value a = op.getTransposeLhs() ? lb.load(lhs, {ij[0], k})", GRAD_TESTS),
    ("ssd: entering state without its decay", SSD,
     "return ScaleRowsOp::create(b, loc, accType, fromState, decay);",
     "return fromState;", SSD_TESTS),
    ("ssd: scan tiles stop before the diagonal", SSD,
     "lb.ceilDiv(lb.addi(r0, lb.index(s.rows)), lb.index(kTileSteps)),",
     "lb.ceilDiv(r0, lb.index(kTileSteps)),", SSD_TESTS),
    ("ssd: state passing without exp", SSD,
     "group.push_back(lb.exp(lb.load(arg(Totals), {batch, head, c})));",
     "group.push_back(lb.load(arg(Totals), {batch, head, c}));", SSD_TESTS),
    ("ssd: unrolled state passing chains the wrong chunk", SSD,
     "acc = ScaleAddOp::create(b, loc, type, acc, group[count + u], group[u]);",
     "acc = ScaleAddOp::create(b, loc, type, acc, group[count + u], group[0]);", SSD_TESTS),
    ("ssd: scan skips one row tile too many", SSD,
     "? lb.maxi(lb.subi(s0, r0), zero)",
     "? lb.maxi(lb.addi(lb.subi(s0, r0), lb.index(16)), zero)", SSD_TESTS),
    ("ssd: chunk-state weights of the wrong tile", SSD,
     "/*live_from=*/Value(), weights,\n                            lb.muli(k, lb.index(kTileSteps)),",
     "/*live_from=*/Value(), weights, lb.index(0),", SSD_TESTS),
    ("ssd: state chain without the chunk's decay", SSD,
     "lb.exp(total), lb.f32(1.0));", "lb.f32(1.0), lb.f32(1.0));", SSD_TESTS),
    ("ssd: state chain decays by the chunk's first step", SSD,
     "lb.subi(p.chunkLength(c), one));", "zero);", SSD_TESTS),
    ("ssd: state chain's chunks start at their second tile", SSD,
     "return lb.cmpi(arith::CmpIPredicate::eq, pieceOf(k), zero);",
     "return lb.cmpi(arith::CmpIPredicate::eq, pieceOf(k), one);", SSD_TESTS),
    ("ssd: state chain's P blocks all read x from channel 0", SSD,
     "stepOf(k), {head}, group, p0);", "stepOf(k), {head}, group);", SSD_TESTS),
    ("ssd: a CTA's heads share the first head's x tile", SSD,
     "Value xTile = p.stageOf(h.xTiles, stage);",
     "Value xTile = p.stageOf(heads.front().xTiles, stage);", SSD_TESTS),
    ("ssd: a CTA's heads share the first head's entering state", SSD,
     "MatmulOp::create(b, loc, accType, cTile, h.enter,",
     "MatmulOp::create(b, loc, accType, cTile, heads.front().enter,", SSD_TESTS),
    ("ssd: decay mask keeps s = t out", SSD_LOOPS, "lb.cmpi(CmpIPredicate::ule, s, t),",
     "lb.cmpi(CmpIPredicate::ult, s, t),", SSD_TESTS),
    ("ssd: decay mask segment reversed", SSD_LOOPS,
     "lb.sub(lb.load(logDecay, {t}), lb.load(logDecay, {s})));",
     "lb.sub(lb.load(logDecay, {s}), lb.load(logDecay, {t})));", SSD_TESTS),
    ("ssd: state weights reversed", SSD_LOOPS,
     "Value decay = lb.exp(lb.sub(total, lb.load(logDecay, {s})));",
     "Value decay = lb.exp(lb.sub(lb.load(logDecay, {s}), total));", SSD_TESTS),
    ("ssd: softplus dropped", SSD_LOOPS, "op.getSoftplus(),", "false,", SSD_TESTS),
    ("ssd: rotate_half sign", SSD_LOOPS,
     "lb.store(lb.sub(lb.mul(u, cosJ), lb.mul(w, sinJ)), buffer, {r, j});",
     "lb.store(lb.add(lb.mul(u, cosJ), lb.mul(w, sinJ)), buffer, {r, j});", SSD_TESTS),
    ("ssd: gate by sigmoid", SSD_LOOPS, "lb.silu(lb.load(adaptor.getGate(), rc)));",
     "lb.sigmoid(lb.load(adaptor.getGate(), rc)));", SSD_TESTS),
    ("ssd: scaled matmul lhs from the scale's first element", "lib/wm/Conversion/TileToLoops/Matmul.cpp",
     "lb.load(scale, {lb.addi(adaptor.getScaleFirst(), k)});", "lb.load(scale, {k});",
     SSD_TESTS),
    ("ssd: per-channel D read by head", SSD_LOOPS,
     "if (cast<MemRefType>(skip.getType()).getRank() == 2)\n    at.push_back(column);",
     "if (cast<MemRefType>(skip.getType()).getRank() == 2)\n    at.push_back(lb.index(0));",
     SSD_TESTS),
    ("ssd: D x from the tile's rows the other way", SSD, "lb.subi(r0, s0), arg(Skip),",
     "lb.subi(s0, r0), arg(Skip),", SSD_TESTS),
    ("ssd: skip_shared leaves out x's first row", SSD_LOOPS,
     "lb.cmpi(CmpIPredicate::sge, row, lb.index(0)),",
     "lb.cmpi(CmpIPredicate::sgt, row, lb.index(0)),", SSD_TESTS),
]


def main():
    args = sys.argv[1:]
    build = "build"
    if args[:1] == ["--build"]:
        build, args = args[1], args[2:]
    chosen = [m for m in MUTATIONS if not args or any(a in m[0] for a in args)]
    survived = 0
    for name, path, old, new, *tests in chosen:
        file = pathlib.Path(path)
        text = file.read_text()
        assert text.count(old) == 1, f"{name}: the original text is not unique in {path}"
        file.write_text(text.replace(old, new))
        try:
            subprocess.run(["ninja", "-C", build], check=True, capture_output=True)
            run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q",
                                  *(tests[0] if tests else TESTS)],
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
