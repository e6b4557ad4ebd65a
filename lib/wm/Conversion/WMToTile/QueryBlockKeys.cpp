//===- QueryBlockKeys.cpp - The keys one block of query rows keeps --------===//
//
// Skip levels of a tile's scores: a tile every row may see causally and
// whose keys are all present only tests bias >= tau, and not even that when
// its smallest bias reaches the block's largest threshold (or without
// thresholds).
//
//===----------------------------------------------------------------------===//

#include "QueryBlockKeys.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::wm;
using namespace mlir::wm::tile;

using arith::CmpIPredicate;

void QueryBlockKeys::begin(Value queryBlock, Value batchIndex, Value kvGroup,
                           Value biasBuf, Value tauBuf) {
  batch = batchIndex, group = kvGroup, bias = biasBuf;
  Value zero = lb.index(0);
  i0 = lb.muli(queryBlock, lb.index(config.getBlockRows()));
  Value end = lb.addi(i0, lb.index(config.getBlockRows()));
  Value i1 = lb.mini(lb.index(rule.queries), end);
  Value causalEnd = lb.addi(i1, lb.index(rule.keys - rule.queries));
  keyEnd = rule.causal
               ? lb.maxi(zero, lb.mini(lb.index(rule.keys), causalEnd))
               : lb.index(rule.keys);
  if (!rule.selection) {
    low = lb.negInf();
    return;
  }
  auto thresholds = ThresholdsOp::create(
      b, loc, TileType::get({config.getBlockRows()}, b.getF32Type()),
      b.getF32Type(), b.getF32Type(), tauBuf, ValueRange{batch, group, i0},
      lb.index(rule.queries), /*nan_as_inf=*/!rule.exact);
  tau = thresholds.getTau();
  low = thresholds.getLow();
  tauMax = thresholds.getHigh();
}

void QueryBlockKeys::allocateCandidates() {
  candidates = AllocSharedOp::create(
      b, loc, SharedType::get({config.getCandidates()}, b.getI32Type()));
}

Value QueryBlockKeys::scores(Value logits, Value biasTile, Value c0,
                             Value count) {
  auto score = [&](ScoreTests tests) -> Value {
    return ScoreOp::create(
        b, loc, logits.getType(), logits, biasTile, candidates, c0, count,
        rule.selection ? tau : Value(),
        rule.selection && tests == ScoreTests::bias ? tauMax : Value(), i0,
        b.getF32FloatAttr(rule.scale * kLog2E), b.getF32FloatAttr(kLog2E),
        ScoreTestsAttr::get(b.getContext(), tests),
        rule.causal ? b.getUnitAttr() : UnitAttr(),
        b.getI64IntegerAttr(rule.keys - rule.queries),
        rule.exact ? b.getUnitAttr() : UnitAttr());
  };
  auto ifScores = [&](Value condition, function_ref<Value()> then,
                      function_ref<Value()> otherwise) {
    auto ifOp = scf::IfOp::create(b, loc, logits.getType(), condition,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, then());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, otherwise());
    return ifOp.getResult(0);
  };
  // Whole: every key of the tile present and, causally, visible to the
  // block's first row.
  int64_t tileKeys = config.getTileKeys();
  Value one = lb.index(1);
  Value tileEnd = lb.addi(c0, lb.index(tileKeys));
  Value whole = lb.cmpi(CmpIPredicate::sle, tileEnd, count);
  if (rule.causal) {
    Value lastSlot = lb.mini(lb.addi(c0, lb.index(tileKeys - 1)),
                             lb.subi(count, one));
    Value last = ReadOp::create(b, loc, b.getI32Type(), candidates, lastSlot);
    Value lastKey = arith::IndexCastOp::create(b, loc, b.getIndexType(), last);
    Value firstLimit = lb.addi(i0, lb.index(rule.keys - rule.queries));
    whole = lb.andi(whole, lb.cmpi(CmpIPredicate::sle, lastKey, firstLimit));
  }
  return ifScores(
      whole,
      [&] {
        return score(rule.selection ? ScoreTests::bias : ScoreTests::none);
      },
      [&] { return score(ScoreTests::all); });
}

void QueryBlockKeys::gatherBiases(Value c0, Value count, Value dst) {
  GatherAsyncOp::create(b, loc, bias, ValueRange{batch, group}, candidates, c0,
                        count, dst, /*row_dim=*/2);
}

void QueryBlockKeys::gatherRows(Value src, Value c0, Value count, Value dst) {
  GatherAsyncOp::create(b, loc, src, ValueRange{batch, group, lb.index(0)},
                        candidates, c0, count, dst, /*row_dim=*/1);
}

SmallVector<Value> QueryBlockKeys::forEachList(
    ValueRange state,
    function_ref<SmallVector<Value>(ValueRange, Value)> tiles) {
  SmallVector<Value> init = {lb.index(0)};
  llvm::append_range(init, state);
  auto loop = scf::WhileOp::create(b, loc, TypeRange(ValueRange(init)), init,
                                   nullptr, nullptr);
  OpBuilder::InsertionGuard guard(b);
  Block *before = loop.getBeforeBody();
  b.setInsertionPointToEnd(before);
  Value more = lb.cmpi(CmpIPredicate::slt, before->getArgument(0), keyEnd);
  scf::ConditionOp::create(b, loc, more, before->getArguments());
  Block *after = loop.getAfterBody();
  b.setInsertionPointToEnd(after);
  // As many keys from s0 on as the candidate list can take, then their
  // tiles; a compaction round is half the list.
  auto compact = CompactOp::create(
      b, loc, b.getIndexType(), b.getIndexType(), bias, ValueRange{batch, group},
      after->getArgument(0), keyEnd, low, candidates,
      config.getCandidates() / 2);
  BarrierOp::create(b, loc);
  SmallVector<Value> next = {compact.getNext()};
  llvm::append_range(next, tiles(after->getArguments().drop_front(),
                                 compact.getCount()));
  scf::YieldOp::create(b, loc, next);
  return SmallVector<Value>(loop.getResults().drop_front());
}
