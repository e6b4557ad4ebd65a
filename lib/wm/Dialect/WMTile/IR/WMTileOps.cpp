//===- WMTileOps.cpp - wm_tile op verifiers -------------------------------===//

#include "wm/Dialect/WMTile/IR/WMTile.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#include <map>

using namespace mlir;
using namespace mlir::wm::tile;

#define GET_OP_CLASSES
#include "wm/Dialect/WMTile/IR/WMTileOps.cpp.inc"

namespace {

/// Pre-order positions of the ops of a program, and the last position inside
/// each op.
struct ProgramOrder {
  explicit ProgramOrder(ProgramOp program) : program(program) {
    unsigned next = 0;
    program.getBodyBlock().walk<WalkOrder::PreOrder>(
        [&](Operation *op) { first[op] = last[op] = next++; });
    program.getBodyBlock().walk<WalkOrder::PostOrder>([&](Operation *op) {
      if (Operation *parent = op->getParentOp(); parent != program)
        last[parent] = std::max(last[parent], last[op]);
    });
  }
  /// The positions a use by `op` spans: its outermost enclosing loop, whose
  /// iterations all touch the buffer, or the op itself.
  std::pair<unsigned, unsigned> span(Operation *op) const {
    Operation *outer = op;
    for (Operation *p = op->getParentOp(); p != program; p = p->getParentOp())
      if (isa<LoopLikeOpInterface>(p))
        outer = p;
    return {first.lookup(outer), last.lookup(outer)};
  }
  ProgramOp program;
  DenseMap<Operation *, unsigned> first, last;
};

/// Phased shared buffers (alloc_shared's `phase`) are used in increasing
/// phase order, a barrier between consecutive phases at a level that encloses
/// both: the GPU lowering gives them the same bytes.
LogicalResult verifySharedPhases(ProgramOp program) {
  std::map<int64_t, std::pair<unsigned, unsigned>> spans;
  std::map<int64_t, Operation *> firstUse;
  ProgramOrder order(program);
  for (auto alloc : program.getBodyBlock().getOps<AllocSharedOp>()) {
    int64_t phase = alloc.getPhase();
    if (phase < 0)
      return alloc.emitOpError() << "phase must be non-negative, got " << phase;
    if (phase == 0)
      continue;
    SmallVector<Value> views = {alloc.getResult()};
    while (!views.empty()) {
      Value view = views.pop_back_val();
      for (Operation *user : view.getUsers()) {
        if (auto stage = dyn_cast<StageOp>(user))
          views.push_back(stage.getResult());
        auto [lo, hi] = order.span(user);
        auto [it, fresh] = spans.try_emplace(phase, lo, hi);
        if (fresh || lo < it->second.first)
          firstUse[phase] = user;
        it->second.first = std::min(it->second.first, lo);
        it->second.second = std::max(it->second.second, hi);
      }
    }
  }
  for (auto it = spans.begin(); it != spans.end() && std::next(it) != spans.end();
       ++it) {
    auto [phase, span] = *it;
    auto [later, laterSpan] = *std::next(it);
    Operation *use = firstUse[later];
    if (laterSpan.first <= span.second)
      return use->emitOpError()
             << "uses a phase " << later << " shared buffer while phase "
             << phase << "'s are live (loops count whole)";
    bool separated = false;
    program.getBodyBlock().walk([&](BarrierOp barrier) {
      unsigned at = order.first.lookup(barrier);
      if (at <= span.second || at >= laterSpan.first)
        return;
      // The barrier runs whenever both phases do: its enclosing ops hold the
      // uses on both sides.
      bool enclosing = true;
      for (Operation *p = barrier->getParentOp(); p != program;
           p = p->getParentOp())
        enclosing &= order.first.lookup(p) < span.first &&
                     order.last.lookup(p) >= laterSpan.first;
      separated |= enclosing;
    });
    if (!separated)
      return use->emitOpError()
             << "needs a wm_tile.barrier after the last use of phase " << phase
             << " shared buffers, enclosing both phases";
  }
  return success();
}

/// `shape` as 4x64 for messages.
std::string dims(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, "x");
  return s;
}

/// The checks of a row-tile access of `src` (load, copy_async): `indices`
/// address every dimension, `row_dim` is not the last, and the tile has
/// 1 or 2 dimensions of at most the source's columns.
LogicalResult verifyRowAccess(Operation *op, MemRefType src,
                              unsigned indexCount, int64_t rowDim,
                              ArrayRef<int64_t> tile, Type tileElement) {
  int64_t rank = src.getRank();
  if (static_cast<int64_t>(indexCount) != rank)
    return op->emitOpError() << "needs " << rank << " indices for a rank-"
                             << rank << " source, got " << indexCount;
  if (rowDim < 0 || rowDim >= rank - (tile.size() == 2 ? 1 : 0))
    return op->emitOpError() << "row_dim " << rowDim
                             << " is not a row dimension of the source";
  if (tile.size() != 1 && tile.size() != 2)
    return op->emitOpError() << "moves 1-D or 2-D tiles, got " << tile.size()
                             << "-D";
  if (tile.size() == 2 && !src.isDynamicDim(rank - 1) &&
      tile[1] > src.getDimSize(rank - 1))
    return op->emitOpError() << "tile of " << tile[1]
                             << " columns is wider than the source's "
                             << src.getDimSize(rank - 1);
  if (tileElement != src.getElementType())
    return op->emitOpError() << "tile element type " << tileElement
                             << " differs from the source's "
                             << src.getElementType();
  return success();
}

bool isRowVector(TileType t, int64_t rows) {
  return t.getShape().size() == 1 && t.getShape()[0] == rows &&
         t.getElementType().isF32();
}

} // namespace

void ProgramOp::build(OpBuilder &b, OperationState &state, StringRef kernelName,
                      ArrayRef<int64_t> grid, KernelConfigAttr config,
                      ValueRange buffers,
                      function_ref<void(OpBuilder &, Block &)> bodyBuilder) {
  build(b, state, kernelName, grid, config, buffers);
  SmallVector<Type> types(grid.size(), b.getIndexType());
  llvm::append_range(types, TypeRange(buffers));
  OpBuilder::InsertionGuard guard(b);
  Block *block =
      b.createBlock(state.regions.front().get(), {}, types,
                    SmallVector<Location>(types.size(), state.location));
  bodyBuilder(b, *block);
  EndOp::create(b, state.location);
}

scf::ForOp mlir::wm::tile::serializeParallel(RewriterBase &rewriter,
                                             scf::ParallelOp loop, Value start,
                                             Value step) {
  // An iteration's static scratch is allocated once: a thread runs its
  // iterations in turn.
  loop.walk([&](memref::AllocaOp alloca) {
    if (alloca.getType().hasStaticShape())
      alloca->moveBefore(loop);
  });
  rewriter.setInsertionPoint(loop);
  auto serial = scf::ForOp::create(rewriter, loop.getLoc(), start,
                                   loop.getUpperBound()[0], step);
  Block *body = loop.getBody();
  rewriter.eraseOp(body->getTerminator());
  rewriter.inlineBlockBefore(body, serial.getBody()->getTerminator(),
                             serial.getInductionVar());
  rewriter.eraseOp(loop);
  return serial;
}

LogicalResult ProgramOp::verify() {
  Block &block = getBodyBlock();
  size_t grid = getGrid().size();
  if (grid == 0 || grid > 3)
    return emitOpError() << "needs a grid of 1 to 3 dimensions, got " << grid;
  if (llvm::any_of(getGrid(), [](int64_t d) { return d < 1; }))
    return emitOpError() << "grid dimensions must be positive";
  if (block.getNumArguments() != grid + getBuffers().size())
    return emitOpError() << "region needs " << grid
                         << " grid coordinates and one argument per buffer, "
                            "got "
                         << block.getNumArguments() << " arguments";
  for (unsigned i = 0; i < grid; ++i)
    if (!block.getArgument(i).getType().isIndex())
      return emitOpError() << "grid coordinate " << i << " must be an index";
  for (auto [i, buffer] : llvm::enumerate(getBuffers()))
    if (getBufferArgument(i).getType() != buffer.getType())
      return emitOpError() << "region argument of buffer " << i
                           << " has another type than the buffer";
  for (Operation &op : block)
    for (Region &region : op.getRegions())
      if (region.walk([](AllocSharedOp) { return WalkResult::interrupt(); })
              .wasInterrupted())
        return op.emitOpError()
               << "holds a wm_tile.alloc_shared; shared buffers are "
                  "allocated at the top of the program";
  // The GPU lowering spreads one loop's iterations over the CTA's threads.
  WalkResult parallel = walk([&](scf::ParallelOp loop) {
    if (loop.getNumLoops() != 1 || !loop.getInitVals().empty() ||
        getConstantIntValue(loop.getStep()[0]) != 1 ||
        loop->getParentOfType<scf::ParallelOp>()) {
      loop.emitOpError() << "in a wm_tile.program must be one-dimensional, "
                            "of step 1, without reductions and not nested in "
                            "another scf.parallel";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (parallel.wasInterrupted())
    return failure();
  return verifySharedPhases(*this);
}

LogicalResult StageOp::verify() {
  ArrayRef<int64_t> from = getBuffer().getType().getShape();
  ArrayRef<int64_t> to = getResult().getType().getShape();
  if (from.size() < 2 || from.drop_front() != to ||
      getBuffer().getType().getElementType() !=
          getResult().getType().getElementType())
    return emitOpError() << "result must be one stage of the buffer: "
                         << dims(from.drop_front()) << " of "
                         << getBuffer().getType().getElementType();
  return success();
}

LogicalResult ReadOp::verify() {
  SharedType type = getBuffer().getType();
  if (type.getShape().size() != 1 || type.getElementType() != getType())
    return emitOpError() << "reads one element of a 1-D buffer of "
                         << getType();
  return success();
}

LogicalResult WriteOp::verify() {
  SharedType type = getBuffer().getType();
  if (type.getShape().size() != 1 ||
      type.getElementType() != getValue().getType())
    return emitOpError() << "writes one element of a 1-D buffer of "
                         << getValue().getType();
  return success();
}

LogicalResult AtomicAddOp::verify() {
  SharedType type = getBuffer().getType();
  if (type.getShape().size() != 1 || !type.getElementType().isInteger(32))
    return emitOpError() << "adds to a 1-D buffer of i32";
  return success();
}

LogicalResult RadixSelectOp::verify() {
  if (getBias().getType().getRank() != static_cast<int64_t>(getIndices().size()) + 1)
    return emitOpError() << "needs one index per dimension of the bias but "
                            "the last (the keys)";
  if (getRanks().empty())
    return emitOpError() << "needs at least one rank";
  if (getFound().size() != 2 * getRanks().size())
    return emitOpError() << "returns a key and a tie count per rank: "
                         << 2 * getRanks().size() << " results, got "
                         << getFound().size();
  auto program = (*this)->getParentOfType<ProgramOp>();
  if (!program)
    return emitOpError() << "must be inside a wm_tile.program";
  SharedType scratch = getScratch().getType();
  int64_t ranks = getRanks().size();
  int64_t words =
      ranks * (kHistogramBins + scanWords(program.getConfig().getWarps()));
  if (scratch.getShape().size() != 1 ||
      !scratch.getElementType().isInteger(32) || scratch.getShape()[0] < words)
    return emitOpError() << "needs a 1-D i32 scratch buffer of at least "
                         << words << " words for " << ranks << " ranks and "
                         << program.getConfig().getWarps() << " warps";
  return success();
}

LogicalResult SortOp::verify() {
  SharedType type = getBuffer().getType();
  if (type.getShape().size() != 1 || !type.getElementType().isInteger(64) ||
      !llvm::isPowerOf2_64(type.getShape()[0]))
    return emitOpError() << "sorts a 1-D i64 buffer of a power-of-two length";
  return success();
}

LogicalResult SplatOp::verify() {
  if (!getType().getElementType().isF32())
    return emitOpError() << "splats f32 tiles";
  return success();
}

LogicalResult LoadOp::verify() {
  // An f32 tile takes any float source, converted.
  Type element = getType().getElementType();
  Type source = getSrc().getType().getElementType();
  if (element.isF32() && isa<FloatType>(source))
    element = source;
  return verifyRowAccess(*this, getSrc().getType(), getIndices().size(),
                         getRowDim(), getType().getShape(), element);
}

LogicalResult CopyAsyncOp::verify() {
  return verifyRowAccess(*this, getSrc().getType(), getIndices().size(),
                         getRowDim(), getDst().getType().getShape(),
                         getDst().getType().getElementType());
}

LogicalResult GatherAsyncOp::verify() {
  MemRefType src = getSrc().getType();
  SharedType dst = getDst().getType(), rows = getRows().getType();
  if (rows.getShape().size() != 1 || !rows.getElementType().isInteger(32))
    return emitOpError() << "takes its row indices from a 1-D i32 buffer";
  int64_t rank = src.getRank();
  if (static_cast<int64_t>(getIndices().size()) != rank - 1)
    return emitOpError() << "needs " << rank - 1
                         << " indices (every dimension but row_dim), got "
                         << getIndices().size();
  int64_t rowDim = getRowDim();
  size_t tileRank = dst.getShape().size();
  if (tileRank != 1 && tileRank != 2)
    return emitOpError() << "gathers into 1-D or 2-D tiles";
  if (rowDim < 0 || rowDim >= rank - (tileRank == 2 ? 1 : 0))
    return emitOpError() << "row_dim " << rowDim
                         << " is not a row dimension of the source";
  if (tileRank == 2 && dst.getShape()[1] != src.getDimSize(rank - 1))
    return emitOpError() << "gathers whole rows of "
                         << src.getDimSize(rank - 1) << " elements, not "
                         << dst.getShape()[1];
  if (dst.getElementType() != src.getElementType())
    return emitOpError() << "destination element type differs from the "
                            "source's";
  return success();
}

LogicalResult ThresholdsOp::verify() {
  TileType tau = getTau().getType();
  if (tau.getShape().size() != 1 || !tau.getElementType().isF32() ||
      tau.getPartial())
    return emitOpError() << "gives a 1-D f32 tile of row thresholds";
  if (getIndices().size() !=
      static_cast<size_t>(getThresholds().getType().getRank()))
    return emitOpError() << "needs one index per threshold dimension";
  return success();
}

LogicalResult CompactOp::verify() {
  SharedType list = getCandidates().getType();
  if (list.getShape().size() != 1 || !list.getElementType().isInteger(32))
    return emitOpError() << "compacts into a 1-D i32 buffer";
  int64_t capacity = list.getShape()[0], round = getRound();
  if (round < 1 || capacity % round != 0)
    return emitOpError() << "round " << round
                         << " must divide the list's capacity " << capacity;
  if (getIndices().size() + 1 !=
      static_cast<size_t>(getBias().getType().getRank()))
    return emitOpError() << "needs one index per bias dimension but the last";
  return success();
}

LogicalResult MatmulOp::verify() {
  auto lhsShape = cast<ShapedType>(getLhs().getType());
  if (!isa<TileType, SharedType>(getLhs().getType()) ||
      lhsShape.getShape().size() != 2)
    return emitOpError() << "lhs must be a 2-D register tile or shared buffer";
  if (getTransposeLhs() && !isa<SharedType>(getLhs().getType()))
    return emitOpError() << "reads a transposed lhs from shared memory only";
  ArrayRef<int64_t> a = lhsShape.getShape(), b = getRhs().getType().getShape();
  if (b.size() != 2)
    return emitOpError() << "rhs must be 2-D";
  int64_t m = getTransposeLhs() ? a[1] : a[0];
  int64_t depth = getTransposeLhs() ? a[0] : a[1];
  int64_t k = getTransposeRhs() ? b[1] : b[0];
  int64_t n = getTransposeRhs() ? b[0] : b[1];
  if (depth != k)
    return emitOpError() << "contracts " << depth << " columns of lhs with "
                         << k << " rows of rhs";
  TileType result = getType();
  if (result.getShape() != ArrayRef<int64_t>{m, n} ||
      !result.getElementType().isF32())
    return emitOpError() << "result must be " << m << "x" << n << "xf32";
  if (getAcc() && getAcc().getType() != result)
    return emitOpError() << "acc must have the result's type";
  Type lhsElement = lhsShape.getElementType();
  Type rhsElement = getRhs().getType().getElementType();
  if (lhsElement != rhsElement && !lhsElement.isF32())
    return emitOpError() << "lhs element type " << lhsElement
                         << " differs from rhs's " << rhsElement;
  if (!getScale())
    return success();
  if (!getTransposeLhs() || lhsElement.isF32())
    return emitOpError() << "scales a transposed 16-bit lhs only";
  SharedType scale = getScale().getType();
  if (scale.getShape().size() != 1 || !scale.getElementType().isF32() ||
      scale.getShape()[0] < depth)
    return emitOpError() << "needs an f32 scale vector of at least " << depth
                         << " elements";
  return success();
}

LogicalResult ScoreOp::verify() {
  ArrayRef<int64_t> shape = getLogits().getType().getShape();
  if (shape.size() != 2 || getType() != getLogits().getType())
    return emitOpError() << "maps a 2-D logit tile to one of its type";
  if (getBias().getType().getShape() != ArrayRef<int64_t>{shape[1]} ||
      !getBias().getType().getElementType().isF32())
    return emitOpError() << "needs one f32 bias per key column (" << shape[1]
                         << ")";
  if (getKeys().getType().getShape().size() != 1 ||
      !getKeys().getType().getElementType().isInteger(32))
    return emitOpError() << "reads key indices from a 1-D i32 buffer";
  if (getTau() && !isRowVector(getTau().getType(), shape[0]))
    return emitOpError() << "needs one threshold per row (" << shape[0] << ")";
  if (getTauMax() && !getTau())
    return emitOpError() << "bounds thresholds with tau_max but has no tau";
  return success();
}

LogicalResult SoftmaxUpdateOp::verify() {
  ArrayRef<int64_t> shape = getScores().getType().getShape();
  if (shape.size() != 2)
    return emitOpError() << "updates over a 2-D score tile";
  TileType max = getMax().getType(), sum = getSum().getType();
  if (!isRowVector(max, shape[0]) || max.getPartial() ||
      !isRowVector(sum, shape[0]) || !sum.getPartial())
    return emitOpError() << "needs a row vector max and a partial row vector "
                            "sum of "
                         << shape[0] << " rows";
  if (getProbs().getType() != getScores().getType() ||
      getNewMax().getType() != max || getNewSum().getType() != sum ||
      getAlpha().getType() != max)
    return emitOpError() << "results must have the types of scores, max, sum, "
                            "max";
  return success();
}

LogicalResult ScaleRowsOp::verify() {
  TileType tile = getTile().getType(), factors = getFactors().getType();
  if (tile.getShape().size() != 2 || !isRowVector(factors, tile.getShape()[0]) ||
      factors.getPartial() || getType() != tile)
    return emitOpError() << "scales the rows of a 2-D tile by one factor each";
  return success();
}

LogicalResult TruncFOp::verify() {
  TileType from = getTile().getType(), to = getType();
  if (!from.getElementType().isF32() || to.getPartial() || from.getPartial() ||
      !(to.getElementType().isBF16() || to.getElementType().isF16()) ||
      from.getShape() != to.getShape())
    return emitOpError() << "rounds an f32 tile to a bf16 or f16 tile of its "
                            "shape";
  return success();
}

LogicalResult StoreAttentionOp::verify() {
  ArrayRef<int64_t> shape = getAcc().getType().getShape();
  if (shape.size() != 2)
    return emitOpError() << "stores a 2-D accumulator";
  if (!isRowVector(getMax().getType(), shape[0]) ||
      getMax().getType().getPartial() ||
      !isRowVector(getSum().getType(), shape[0]) ||
      !getSum().getType().getPartial())
    return emitOpError() << "needs a row vector max and a partial row vector "
                            "sum of "
                         << shape[0] << " rows";
  if (getIndices().size() != 4 || getOut().getType().getRank() != 4)
    return emitOpError() << "writes rows along dimension 1 of a 4-D output";
  if (getLseIndices().size() !=
      static_cast<size_t>(getLse().getType().getRank()))
    return emitOpError() << "needs one lse index per dimension";
  return success();
}

//===----------------------------------------------------------------------===//
// The backward of the DMA attention
//===----------------------------------------------------------------------===//

namespace {

bool isF32Matrix(TileType t) {
  return t.getShape().size() == 2 && t.getElementType().isF32() &&
         !t.getPartial();
}

/// `indices` of `dst` with one of its dimensions, `rowDim`, or the last
/// (`rowDim` = -1) left out.
LogicalResult verifyScatterIndices(Operation *op, MemRefType dst,
                                   size_t indexCount, int64_t rowDim,
                                   SharedType rows) {
  if (rows.getShape().size() != 1 || !rows.getElementType().isInteger(32))
    return op->emitOpError() << "takes its indices from a 1-D i32 buffer";
  int64_t rank = dst.getRank();
  if (static_cast<int64_t>(indexCount) != rank - 1)
    return op->emitOpError() << "needs " << rank - 1
                             << " indices (every dimension but the scattered "
                                "one), got "
                             << indexCount;
  if (rowDim >= rank - 1 || rowDim < -1)
    return op->emitOpError() << "row_dim " << rowDim
                             << " is not a row dimension of the destination";
  return success();
}

} // namespace

LogicalResult ProbabilitiesOp::verify() {
  TileType scores = getScores().getType();
  if (!isF32Matrix(scores) || !isRowVector(getLse().getType(),
                                           scores.getShape()[0]) ||
      getLse().getType().getPartial())
    return emitOpError() << "needs a 2-D f32 score tile and one lse per row";
  return success();
}

LogicalResult RowDotOp::verify() {
  TileType lhs = getLhs().getType();
  if (!isF32Matrix(lhs) || getRhs().getType() != lhs)
    return emitOpError() << "multiplies two 2-D f32 tiles of one type";
  TileType acc = getAcc().getType();
  if (!isRowVector(acc, lhs.getShape()[0]) || acc.getPartial() ||
      getType() != acc)
    return emitOpError() << "accumulates into a row vector of "
                         << lhs.getShape()[0] << " rows";
  return success();
}

LogicalResult SoftmaxGradOp::verify() {
  TileType probs = getProbs().getType();
  if (!isF32Matrix(probs) ||
      !isRowVector(getDelta().getType(), probs.getShape()[0]) ||
      getDelta().getType().getPartial())
    return emitOpError() << "needs 2-D f32 tiles and one delta per row";
  return success();
}

LogicalResult StoreSharedOp::verify() {
  TileType tile = getTile().getType();
  SharedType buffer = getBuffer().getType();
  Type element = buffer.getElementType();
  if (!isF32Matrix(tile) || buffer.getShape() != tile.getShape() ||
      !(element.isBF16() || element.isF16()))
    return emitOpError() << "stores a 2-D f32 tile into a bf16 or f16 buffer "
                            "of its shape";
  return success();
}

LogicalResult StoreOp::verify() {
  TileType tile = getTile().getType();
  if (!isF32Matrix(tile))
    return emitOpError() << "stores a 2-D f32 tile";
  MemRefType dst = getDst().getType();
  if (!isa<FloatType>(dst.getElementType()))
    return emitOpError() << "stores into a float buffer";
  return verifyRowAccess(*this, dst, getIndices().size(), getRowDim(),
                         tile.getShape(), dst.getElementType());
}

LogicalResult ScatterAddOp::verify() {
  TileType tile = getTile().getType();
  if (!isF32Matrix(tile))
    return emitOpError() << "adds a 2-D f32 tile";
  MemRefType dst = getDst().getType();
  if (failed(verifyScatterIndices(*this, dst, getIndices().size(), getRowDim(),
                                  getRows().getType())))
    return failure();
  if (!dst.isDynamicDim(dst.getRank() - 1) &&
      tile.getShape()[1] > dst.getDimSize(dst.getRank() - 1))
    return emitOpError() << "tile of " << tile.getShape()[1]
                         << " columns is wider than the destination's "
                         << dst.getDimSize(dst.getRank() - 1);
  return success();
}

LogicalResult ScatterColumnSumsOp::verify() {
  if (!isF32Matrix(getTile().getType()))
    return emitOpError() << "sums the columns of a 2-D f32 tile";
  return verifyScatterIndices(*this, getDst().getType(), getIndices().size(),
                              /*rowDim=*/-1, getKeys().getType());
}

//===----------------------------------------------------------------------===//
// State space duality
//===----------------------------------------------------------------------===//

namespace {

bool isF32Vector(SharedType t) {
  return t.getShape().size() == 1 && t.getElementType().isF32();
}

bool isHalfMatrix(SharedType t) {
  Type element = t.getElementType();
  return t.getShape().size() == 2 && (element.isBF16() || element.isF16());
}

/// `log_decay` and `steps` (or factors): 1-D f32 buffers of one chunk.
LogicalResult verifyChunkVectors(Operation *op, ArrayRef<SharedType> vectors) {
  for (SharedType t : vectors)
    if (!isF32Vector(t) || t.getShape() != vectors.front().getShape())
      return op->emitOpError()
             << "needs 1-D f32 shared buffers of one chunk length";
  return success();
}

} // namespace

LogicalResult DiscretizeOp::verify() {
  MemRefType dt = getDt().getType();
  if (static_cast<int64_t>(getIndices().size()) != dt.getRank())
    return emitOpError() << "needs " << dt.getRank() << " indices for dt, got "
                         << getIndices().size();
  if (getRowDim() < 0 || getRowDim() >= dt.getRank())
    return emitOpError() << "row_dim " << getRowDim()
                         << " is not a dimension of dt";
  SmallVector<SharedType> vectors = {getSteps().getType(),
                                     getLogDecay().getType()};
  if (getWeights())
    vectors.push_back(getWeights().getType());
  if (failed(verifyChunkVectors(*this, vectors)))
    return failure();
  if (vectors.front().getShape()[0] % 32 != 0)
    return emitOpError() << "needs a chunk of a multiple of 32 steps, got "
                         << vectors.front().getShape()[0];
  int64_t totalRank = getTotal() ? getTotal().getType().getRank() : 0;
  if (static_cast<int64_t>(getTotalIndices().size()) != totalRank)
    return emitOpError() << "needs " << totalRank << " indices for total, got "
                         << getTotalIndices().size();
  if (getSave()) {
    MemRefType save = getSave().getType();
    int64_t rank = save.getRank();
    if (rank < 2 || save.getDimSize(rank - 2) != 2 ||
        save.getDimSize(rank - 1) != vectors.front().getShape()[0])
      return emitOpError() << "saves into (..., 2, "
                           << vectors.front().getShape()[0] << ") f32";
    if (static_cast<int64_t>(getSaveIndices().size()) != rank - 2)
      return emitOpError() << "needs " << rank - 2 << " indices for save, got "
                           << getSaveIndices().size();
  } else if (!getSaveIndices().empty()) {
    return emitOpError() << "has save indices without a save buffer";
  }
  if (!(getDtMin().convertToDouble() <= getDtMax().convertToDouble()))
    return emitOpError() << "needs dt_min <= dt_max";
  return success();
}

LogicalResult DecayMaskOp::verify() {
  if (!isF32Matrix(getLogits().getType()))
    return emitOpError() << "weights a 2-D f32 tile";
  return verifyChunkVectors(*this,
                            {getLogDecay().getType(), getSteps().getType()});
}

LogicalResult DecayRowsOp::verify() {
  TileType result = getType();
  if (result.getShape().size() != 1 || !result.getElementType().isF32() ||
      result.getPartial())
    return emitOpError() << "returns a row vector of f32";
  return verifyChunkVectors(*this, {getLogDecay().getType()});
}

/// One index per dimension of a flag buffer.
static LogicalResult verifyFlagIndices(Operation *op, MemRefType flags,
                                       size_t indices) {
  if (static_cast<int64_t>(indices) != flags.getRank())
    return op->emitOpError() << "needs " << flags.getRank()
                             << " indices into the flags, got " << indices;
  return success();
}

LogicalResult SignalOp::verify() {
  return verifyFlagIndices(*this, getFlags().getType(), getIndices().size());
}

LogicalResult WaitSignalOp::verify() {
  return verifyFlagIndices(*this, getFlags().getType(), getIndices().size());
}

LogicalResult RotateSharedOp::verify() {
  if (!isHalfMatrix(getBuffer().getType()))
    return emitOpError() << "rotates a 2-D bf16 or f16 buffer";
  MemRefType table = getCos().getType();
  if (getSin().getType() != table)
    return emitOpError() << "needs cos and sin of one type";
  int64_t rank = table.getRank();
  if (rank != 2 && rank != 3)
    return emitOpError() << "takes tables of rank 2 (T, R) or 3 (B, T, R)";
  if (static_cast<int64_t>(getIndices().size()) != rank - 1)
    return emitOpError() << "needs " << rank - 1
                         << " indices (every dimension but R), got "
                         << getIndices().size();
  if (getRowDim() != rank - 2)
    return emitOpError() << "row_dim must be the position dimension "
                         << rank - 2 << ", got " << getRowDim();
  int64_t rotary = table.getDimSize(rank - 1);
  if (ShapedType::isDynamic(rotary) || rotary % 2 != 0 ||
      rotary > getBuffer().getType().getShape()[1])
    return emitOpError() << "needs an even static R <= "
                         << getBuffer().getType().getShape()[1] << ", got "
                         << rotary;
  return success();
}

LogicalResult ScaleAddOp::verify() {
  if (!getTile().getType().getElementType().isF32() ||
      getTile().getType().getPartial())
    return emitOpError() << "adds f32 tiles";
  return success();
}

/// D as `skip_shared` takes it: (H) or (H, P) with one head index, for a
/// tile of `columns` columns.
static LogicalResult verifySkip(Operation *op, MemRefType skip,
                                size_t indices, int64_t columns) {
  int64_t rank = skip.getRank();
  if ((rank != 1 && rank != 2) || indices != 1)
    return op->emitOpError() << "takes D as (H) or (H, P) with one head index";
  if (rank == 2 && skip.getDimSize(1) != columns)
    return op->emitOpError() << "needs D of " << columns << " columns";
  return success();
}

LogicalResult GateOp::verify() {
  if (!isF32Matrix(getAcc().getType()))
    return emitOpError() << "gates a 2-D f32 tile";
  return success();
}

LogicalResult SkipSharedOp::verify() {
  TileType acc = getAcc().getType();
  if (!isF32Matrix(acc))
    return emitOpError() << "adds to a 2-D f32 tile";
  SharedType x = getX().getType();
  if (!isHalfMatrix(x) || x.getShape()[1] != acc.getShape()[1])
    return emitOpError() << "needs x as a 2-D bf16 or f16 buffer of "
                         << acc.getShape()[1] << " columns";
  return verifySkip(*this, getSkip().getType(), getSkipIndices().size(),
                    acc.getShape()[1]);
}
