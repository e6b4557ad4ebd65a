//===- WMOps.cpp - wm dialect ops -----------------------------------------===//
//
// Verifiers and result type inference. Both share one routine per op that
// binds the named dimensions of the spec (ShapeBinder), so a builder that
// infers types reports the same diagnostics as the verifier.
//
//===----------------------------------------------------------------------===//

#include "wm/Dialect/WM/IR/WMOps.h"

#include "ShapeBinder.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::wm;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// Reports errors at `location` when inference has one; stays silent
/// otherwise (an inactive diagnostic converts to failure).
auto inferenceErrors(const std::optional<Location> &location) {
  return [&location]() -> InFlightDiagnostic {
    if (location)
      return emitError(*location);
    return InFlightDiagnostic();
  };
}

Type elementTypeOf(Value value) {
  return cast<ShapedType>(value.getType()).getElementType();
}

/// A tensor of the extents bound to `layout`, dynamic where none is known.
RankedTensorType tensorOf(const ShapeBinder &shapes,
                          ArrayRef<StringRef> layout, Type elementType) {
  SmallVector<int64_t> extents;
  for (StringRef name : layout)
    extents.push_back(shapes.get(name).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(extents, elementType);
}

/// Checks that every value of `values` has the element type of `reference`.
LogicalResult sameElementType(ShapeBinder::EmitErrorFn emitError,
                              StringRef referenceName, Value reference,
                              ArrayRef<std::pair<StringRef, Value>> values) {
  Type expected = elementTypeOf(reference);
  for (auto [name, value] : values) {
    if (!value || elementTypeOf(value) == expected)
      continue;
    return emitError() << name << " must have the element type of "
                       << referenceName << ", " << expected << ", got "
                       << elementTypeOf(value);
  }
  return success();
}

/// Result types are compatible when shapes are compatible (a static extent
/// refines a dynamic one) and element types are equal.
bool compatibleTensorTypes(TypeRange lhs, TypeRange rhs) {
  if (lhs.size() != rhs.size())
    return false;
  for (auto [l, r] : llvm::zip_equal(lhs, rhs)) {
    if (getElementTypeOrSelf(l) != getElementTypeOrSelf(r) ||
        failed(verifyCompatibleShape(l, r)))
      return false;
  }
  return true;
}

} // namespace

LogicalResult mlir::wm::OpTrait::verifyOwnAttributes(Operation *op) {
  for (NamedAttribute attr : op->getDiscardableAttrs()) {
    StringRef name = attr.getName().strref();
    if (name.contains('.'))
      continue; // another dialect's, e.g. a pass's annotation
    InFlightDiagnostic diag = op->emitOpError()
                              << "has no attribute '" << name << "'";
    // Suggest an own name a couple of edits away.
    StringRef best;
    unsigned bestDistance = std::max<size_t>(2, name.size() / 3) + 1;
    for (StringAttr own : op->getName().getAttributeNames()) {
      unsigned distance = name.edit_distance(own.strref());
      if (distance < bestDistance && own.strref() != "operandSegmentSizes")
        best = own.strref(), bestDistance = distance;
    }
    if (!best.empty())
      diag << "; did you mean '" << best << "'?";
    else
      diag << " (attributes of other dialects need their prefix)";
    return diag;
  }
  return success();
}

namespace {

constexpr StringRef kQueryLayout[] = {"B", "Lq", "H", "D"};
constexpr StringRef kKeyLayout[] = {"B", "Lk", "Hk", "D"};
constexpr StringRef kBiasLayout[] = {"B", "Hk", "Lk"};
constexpr StringRef kLseLayout[] = {"B", "H", "Lq"};

} // namespace

//===----------------------------------------------------------------------===//
// DmaBiasOp
//===----------------------------------------------------------------------===//

template <typename OpOrAdaptor>
static LogicalResult bindDmaBias(ShapeBinder &shapes, OpOrAdaptor op) {
  if (failed(shapes.bind("values", op.getValues().getType(), kKeyLayout)) ||
      failed(shapes.bind("w_dt", op.getWDt().getType(), {"Hk", "HkD"})) ||
      failed(shapes.bind("a", op.getA().getType(), {"Hk"})))
    return failure();
  if (Value dtBias = op.getDtBias())
    if (failed(shapes.bind("dt_bias", dtBias.getType(), {"Hk"})))
      return failure();
  return success();
}

LogicalResult DmaBiasOp::inferReturnTypes(MLIRContext *context,
                                          std::optional<Location> location,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindDmaBias(shapes, adaptor)))
    return failure();
  types.push_back(tensorOf(shapes, kBiasLayout, Float32Type::get(context)));
  return success();
}

/// What dma_bias and its gradient check of their operands once bound: w_dt
/// is (Hk, Hk*D) in the element type of the values.
template <typename Op>
static LogicalResult verifyBiasWeights(const ShapeBinder &shapes, Op op) {
  std::optional<int64_t> hk = shapes.get("Hk"), d = shapes.get("D"),
                         hkd = shapes.get("HkD");
  if (hk && d && hkd && *hk * *d != *hkd)
    return op.emitOpError() << "w_dt must be (Hk, Hk*D) = (" << *hk << ", "
                            << *hk * *d << "), got " << op.getWDt().getType();
  return sameElementType([op]() mutable { return op.emitOpError(); }, "values",
                         op.getValues(), {{"w_dt", op.getWDt()}});
}

LogicalResult DmaBiasOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindDmaBias(shapes, *this)) ||
      failed(shapes.bind("result", getBias().getType(), kBiasLayout)))
    return failure();
  return verifyBiasWeights(shapes, *this);
}

//===----------------------------------------------------------------------===//
// DmaAttentionOp
//===----------------------------------------------------------------------===//

template <typename OpOrAdaptor>
static LogicalResult bindDmaAttention(ShapeBinder &shapes, OpOrAdaptor op) {
  if (failed(shapes.bind("query", op.getQuery().getType(), kQueryLayout)) ||
      failed(shapes.bind("key", op.getKey().getType(), kKeyLayout)) ||
      failed(shapes.bind("value", op.getValue().getType(), kKeyLayout)) ||
      failed(shapes.bind("bias", op.getBias().getType(), kBiasLayout)))
    return failure();
  return shapes.divisible("H", "Hk");
}

/// The element type of an attention output: the query's, or f32.
static Type attentionOutputType(Value query, bool f32Output) {
  return f32Output ? Float32Type::get(query.getContext())
                   : elementTypeOf(query);
}

/// output (B, Lq, H, D) and lse (B, H, Lq) f32, from the extents bound by
/// either attention op.
static void appendAttentionResultTypes(const ShapeBinder &shapes, Value query,
                                       bool f32Output,
                                       SmallVectorImpl<Type> &types) {
  types.push_back(tensorOf(shapes, kQueryLayout,
                           attentionOutputType(query, f32Output)));
  types.push_back(
      tensorOf(shapes, kLseLayout, Float32Type::get(query.getContext())));
}

LogicalResult DmaAttentionOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindDmaAttention(shapes, adaptor)))
    return failure();
  appendAttentionResultTypes(shapes, adaptor.getQuery(),
                             adaptor.getF32Output(), types);
  return success();
}

double DmaAttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  int64_t headDim = getQuery().getType().getDimSize(3);
  return 1.0 / std::sqrt(static_cast<double>(headDim));
}

/// The results of both attention ops: output (B, Lq, H, D) of the query's
/// element type (f32 with f32_output), lse (B, H, Lq); q, k, v share their
/// element type.
template <typename AttentionOp>
static LogicalResult verifyAttentionResults(ShapeBinder &shapes,
                                            ShapeBinder::EmitErrorFn emit,
                                            AttentionOp op) {
  if (failed(shapes.bind("output", op.getOutput().getType(), kQueryLayout)) ||
      failed(shapes.bind("lse", op.getLse().getType(), kLseLayout)) ||
      failed(sameElementType(emit, "query", op.getQuery(),
                             {{"key", op.getKey()}, {"value", op.getValue()}})))
    return failure();
  Type expected = attentionOutputType(op.getQuery(), op.getF32Output());
  if (elementTypeOf(op.getOutput()) != expected)
    return emit() << "output must have element type " << expected
                  << (op.getF32Output() ? " (f32_output)" : " (the query's)")
                  << ", got " << elementTypeOf(op.getOutput());
  return success();
}

/// Summaries of blocks of `blockSize` keys hold ceil(Lk / blockSize) blocks.
static LogicalResult verifySummaryBlocks(const ShapeBinder &shapes,
                                         ShapeBinder::EmitErrorFn emit,
                                         int64_t blockSize) {
  if (blockSize <= 0)
    return emit() << "block_size must be positive, got " << blockSize;
  std::optional<int64_t> keys = shapes.get("Lk"), blocks = shapes.get("NB");
  int64_t expected = keys ? llvm::divideCeilSigned(*keys, blockSize) : 0;
  if (keys && blocks && *blocks != expected)
    return emit() << "summaries must have ceil(Lk / block_size) = "
                  << expected << " blocks, got " << *blocks;
  return success();
}

LogicalResult DmaAttentionOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindDmaAttention(shapes, *this)) ||
      failed(verifyAttentionResults(shapes, emit, *this)))
    return failure();
  if (std::optional<uint64_t> window = getWindow();
      window && static_cast<int64_t>(*window) <= 0)
    return emitOpError() << "window must be in [1, 2^63 - 1], got "
                         << static_cast<int64_t>(*window)
                         << " (an i64 attribute: 2^63 and above read as "
                            "negative)";
  if (std::optional<APFloat> scale = getScale()) {
    double value = scale->convertToDouble();
    if (!std::isfinite(value) || value <= 0.0)
      return emitOpError() << "scale must be positive and finite, got "
                           << value;
  }
  if (ShapedType::isDynamic(getQuery().getType().getDimSize(3)) &&
      !getScale())
    return emitOpError() << "needs an explicit scale when D is dynamic";
  return success();
}

//===----------------------------------------------------------------------===//
// SsdOp
//===----------------------------------------------------------------------===//

constexpr StringRef kSsdXLayout[] = {"B", "T", "H", "P"};
// The most experts a CDMoE token takes: routing keeps its k best in a
// sorted list, O(k) per insertion over about k ln k candidate pairs.
constexpr int64_t kMaxCdmoeTopK = 1024;
// The longest SSD chunk: its (Lc, Lc) weights stay a few GiB at most.
constexpr int64_t kMaxSsdChunk = 1 << 16;
constexpr StringRef kSsdStateLayout[] = {"B", "H", "P", "N"};

template <typename OpOrAdaptor>
static LogicalResult bindSsd(ShapeBinder &shapes, OpOrAdaptor op) {
  if (failed(shapes.bind("x", op.getX().getType(), kSsdXLayout)) ||
      failed(shapes.bind("dt", op.getDt().getType(), {"B", "T", "H"})) ||
      failed(shapes.bind("a", op.getA().getType(), {"H"})) ||
      failed(shapes.bind("b", op.getB().getType(), {"B", "T", "G", "N"})) ||
      failed(shapes.bind("c", op.getC().getType(), {"B", "T", "G", "N"})))
    return failure();
  if (Value d = op.getD()) {
    bool perChannel = cast<ShapedType>(d.getType()).getRank() == 2;
    if (failed(shapes.bind("D", d.getType(),
                           perChannel ? ArrayRef<StringRef>{"H", "P"}
                                      : ArrayRef<StringRef>{"H"})))
      return failure();
  }
  if (Value z = op.getZ())
    if (failed(shapes.bind("z", z.getType(), kSsdXLayout)))
      return failure();
  if (Value dtBias = op.getDtBias())
    if (failed(shapes.bind("dt_bias", dtBias.getType(), {"H"})))
      return failure();
  if (Value h0 = op.getInitialState())
    if (failed(shapes.bind("initial_state", h0.getType(), kSsdStateLayout)))
      return failure();
  for (auto [name, rotary] : {std::pair<StringRef, Value>{"cos", op.getCos()},
                              {"sin", op.getSin()}}) {
    if (!rotary)
      continue;
    bool perBatch = cast<ShapedType>(rotary.getType()).getRank() == 3;
    if (failed(shapes.bind(name, rotary.getType(),
                           perBatch ? ArrayRef<StringRef>{"B", "T", "R"}
                                    : ArrayRef<StringRef>{"T", "R"})))
      return failure();
  }
  return shapes.divisible("H", "G");
}

LogicalResult SsdOp::inferReturnTypes(MLIRContext *context,
                                      std::optional<Location> location,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindSsd(shapes, adaptor)))
    return failure();
  types.push_back(cast<RankedTensorType>(adaptor.getX().getType()));
  types.push_back(
      tensorOf(shapes, kSsdStateLayout, Float32Type::get(context)));
  return success();
}

LogicalResult SsdOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindSsd(shapes, *this)) ||
      failed(shapes.bind("y", getY().getType(), kSsdXLayout)) ||
      failed(shapes.bind("final_state", getFinalState().getType(),
                         kSsdStateLayout)))
    return failure();
  if (failed(sameElementType(emit, "x", getX(),
                             {{"b", getB()},
                              {"c", getC()},
                              {"z", getZ()},
                              {"y", getY()}})))
    return failure();
  if (static_cast<bool>(getCos()) != static_cast<bool>(getSin()))
    return emitOpError() << "rope needs both cos and sin";
  if (getCos()) {
    if (failed(sameElementType(emit, "cos", getCos(), {{"sin", getSin()}})))
      return failure();
    std::optional<int64_t> r = shapes.get("R"), n = shapes.get("N");
    if (r && (*r <= 0 || *r % 2 != 0))
      return emitOpError() << "rotary dims R = " << *r
                           << " must be positive and even";
    if (r && n && *r > *n)
      return emitOpError() << "rotary dims R = " << *r
                           << " must not exceed the state size N = " << *n;
  }
  int64_t chunk = static_cast<int64_t>(getChunkSize());
  if (chunk <= 0 || !llvm::isPowerOf2_64(chunk) || chunk > kMaxSsdChunk)
    return emitOpError() << "chunk_size must be a power of two in [1, "
                         << kMaxSsdChunk << "], got " << chunk;
  if (std::optional<ArrayRef<double>> limit = getDtLimit()) {
    if (limit->size() != 2)
      return emitOpError() << "dt_limit must be [min, max], got "
                           << limit->size() << " values";
    double lo = (*limit)[0], hi = (*limit)[1];
    if (std::isnan(lo) || std::isnan(hi))
      return emitOpError() << "dt_limit must not be NaN, got [" << lo << ", "
                           << hi << "]";
    if (lo == INFINITY || hi == -INFINITY)
      return emitOpError() << "dt_limit [" << lo << ", " << hi
                           << "] leaves no finite step";
    if (lo > hi)
      return emitOpError() << "dt_limit must satisfy min <= max, got ["
                           << lo << ", " << hi << "]";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// CdmoeOp
//===----------------------------------------------------------------------===//

template <typename OpOrAdaptor>
static LogicalResult bindCdmoe(ShapeBinder &shapes, OpOrAdaptor op) {
  return success(
      succeeded(shapes.bind("x", op.getX().getType(), {"T", "d"})) &&
      succeeded(shapes.bind("w_gate", op.getWGate().getType(), {"I", "d"})) &&
      succeeded(shapes.bind("w_up", op.getWUp().getType(), {"I", "d"})) &&
      succeeded(shapes.bind("w_down", op.getWDown().getType(), {"d", "I"})) &&
      succeeded(
          shapes.bind("w_router", op.getWRouter().getType(), {"2K", "d"})) &&
      succeeded(shapes.bind("down", op.getDown().getType(), {"N", "d"})) &&
      succeeded(shapes.bind("up", op.getUp().getType(), {"N", "d"})));
}

LogicalResult CdmoeOp::inferReturnTypes(MLIRContext *, std::optional<Location>
                                                           location,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindCdmoe(shapes, adaptor)))
    return failure();
  types.push_back(cast<RankedTensorType>(adaptor.getX().getType()));
  return success();
}

LogicalResult CdmoeOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindCdmoe(shapes, *this)) ||
      failed(shapes.bind("y", getY().getType(), {"T", "d"})))
    return failure();
  if (failed(sameElementType(emit, "x", getX(),
                             {{"w_gate", getWGate()},
                              {"w_up", getWUp()},
                              {"w_down", getWDown()},
                              {"w_router", getWRouter()},
                              {"down", getDown()},
                              {"up", getUp()},
                              {"y", getY()}})))
    return failure();
  int64_t topK = static_cast<int64_t>(getTopK());
  if (topK <= 0 || topK > kMaxCdmoeTopK)
    return emitOpError() << "top_k must be in [1, " << kMaxCdmoeTopK
                         << "], got " << topK;
  std::optional<int64_t> n = shapes.get("N"), twoK = shapes.get("2K");
  if (twoK && *twoK % 2 != 0)
    return emitOpError() << "w_router must have 2K rows, got " << *twoK;
  if (n) {
    auto k = static_cast<int64_t>(std::llround(std::sqrt(double(*n))));
    if (k * k != *n)
      return emitOpError() << "expert count N = " << *n
                           << " must be a perfect square K*K";
    if (twoK && *twoK != 2 * k)
      return emitOpError() << "w_router must have 2K = " << 2 * k
                           << " rows for N = " << *n << " experts, got "
                           << *twoK;
    if (topK > *n)
      return emitOpError() << "top_k = " << topK
                           << " exceeds the expert count N = " << *n;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

template <typename OpOrAdaptor>
static LogicalResult bindRope(ShapeBinder &shapes, OpOrAdaptor op) {
  if (failed(shapes.bind("x", op.getX().getType(), {"B", "L", "H", "D"})))
    return failure();
  for (auto [name, table] : {std::pair<StringRef, Value>{"cos", op.getCos()},
                             {"sin", op.getSin()}}) {
    bool perBatch = cast<ShapedType>(table.getType()).getRank() == 3;
    if (failed(shapes.bind(name, table.getType(),
                           perBatch ? ArrayRef<StringRef>{"B", "L", "R"}
                                    : ArrayRef<StringRef>{"L", "R"})))
      return failure();
  }
  return success();
}

LogicalResult RopeOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> location,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindRope(shapes, adaptor)))
    return failure();
  types.push_back(adaptor.getX().getType());
  return success();
}

LogicalResult RopeOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindRope(shapes, *this)) ||
      failed(shapes.bind("output", getOutput().getType(),
                         {"B", "L", "H", "D"})))
    return failure();
  if (failed(sameElementType(emit, "x", getX(), {{"output", getOutput()}})) ||
      failed(sameElementType(emit, "cos", getCos(), {{"sin", getSin()}})))
    return failure();
  int64_t rotary = static_cast<int64_t>(getRotaryDims());
  if (rotary <= 0 || rotary % 2 != 0)
    return emitOpError() << "rotary_dims must be positive and even, got "
                         << rotary;
  if (std::optional<int64_t> d = shapes.get("D"); d && rotary > *d)
    return emitOpError() << "rotary_dims = " << rotary
                         << " exceeds the head dim D = " << *d;
  if (std::optional<int64_t> r = shapes.get("R"); r && *r != rotary)
    return emitOpError() << "cos/sin have " << *r
                         << " columns but rotary_dims = " << rotary;
  return success();
}

//===----------------------------------------------------------------------===//
// RmsNormOp
//===----------------------------------------------------------------------===//

template <typename OpOrAdaptor>
static LogicalResult bindRmsNorm(ShapeBinder &shapes, OpOrAdaptor op) {
  auto x = cast<RankedTensorType>(op.getX().getType());
  if (x.getRank() == 0)
    return shapes.bind("x", x, {"d"});
  SmallVector<std::string> names;
  for (int64_t i = 0; i + 1 < x.getRank(); ++i)
    names.push_back("n" + std::to_string(i));
  SmallVector<StringRef> layout(names.begin(), names.end());
  layout.push_back("d");
  if (failed(shapes.bind("x", x, layout)))
    return failure();
  return shapes.bind("weight", op.getWeight().getType(), {"d"});
}

LogicalResult RmsNormOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> location,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindRmsNorm(shapes, adaptor)))
    return failure();
  types.push_back(adaptor.getX().getType());
  return success();
}

LogicalResult RmsNormOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindRmsNorm(shapes, *this)))
    return failure();
  if (getOutput().getType() != getX().getType())
    return emitOpError() << "result type " << getOutput().getType()
                         << " must equal the type of x " << getX().getType();
  float eps = getEps().convertToFloat();
  if (!(eps > 0.0f) || !std::isfinite(eps))
    return emitOpError() << "eps must be positive and finite, got " << eps;
  return success();
}

//===----------------------------------------------------------------------===//
// DmaSelectOp
//===----------------------------------------------------------------------===//

template <typename OpOrAdaptor>
static LogicalResult bindDmaSelect(ShapeBinder &shapes, OpOrAdaptor op) {
  return shapes.bind("bias", op.getBias().getType(), kBiasLayout);
}

static constexpr StringRef kTauLayout[] = {"B", "Hk", "Lq"};

LogicalResult DmaSelectOp::inferReturnTypes(MLIRContext *context,
                                            std::optional<Location> location,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindDmaSelect(shapes, adaptor)))
    return failure();
  auto bias = cast<RankedTensorType>(adaptor.getBias().getType());
  types.push_back(RankedTensorType::get(
      {bias.getDimSize(0), bias.getDimSize(1),
       static_cast<int64_t>(adaptor.getQueryLen())},
      Float32Type::get(context)));
  return success();
}

LogicalResult DmaSelectOp::verify() {
  ShapeBinder shapes([this] { return emitOpError(); });
  if (failed(bindDmaSelect(shapes, *this)) ||
      failed(shapes.bind("tau", getTau().getType(), kTauLayout)))
    return failure();
  if (static_cast<int64_t>(getWindow()) <= 0)
    return emitOpError() << "window must be positive, got "
                         << static_cast<int64_t>(getWindow());
  if (std::optional<int64_t> lq = shapes.get("Lq");
      !lq || *lq != static_cast<int64_t>(getQueryLen()))
    return emitOpError() << "tau must have query_len = " << getQueryLen()
                         << " rows";
  return success();
}

//===----------------------------------------------------------------------===//
// DmaBlockSummaryOp
//===----------------------------------------------------------------------===//

static constexpr StringRef kSummaryLayout[] = {"B", "Hk", "NB"};

LogicalResult DmaBlockSummaryOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(shapes.bind("bias", adaptor.getBias().getType(), kBiasLayout)))
    return failure();
  auto bias = cast<RankedTensorType>(adaptor.getBias().getType());
  int64_t block = static_cast<int64_t>(adaptor.getBlockSize());
  int64_t keys = bias.getDimSize(2);
  int64_t blocks = ShapedType::isDynamic(keys) || block <= 0
                       ? ShapedType::kDynamic
                       : llvm::divideCeil(keys, block);
  auto summary = RankedTensorType::get(
      {bias.getDimSize(0), bias.getDimSize(1), blocks},
      Float32Type::get(context));
  types.append({summary, summary});
  return success();
}

LogicalResult DmaBlockSummaryOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(shapes.bind("bias", getBias().getType(), kBiasLayout)) ||
      failed(shapes.bind("block_max", getBlockMax().getType(),
                         kSummaryLayout)) ||
      failed(shapes.bind("block_min", getBlockMin().getType(),
                         kSummaryLayout)))
    return failure();
  return verifySummaryBlocks(shapes, emit,
                             static_cast<int64_t>(getBlockSize()));
}

//===----------------------------------------------------------------------===//
// DmaThresholdAttentionOp
//===----------------------------------------------------------------------===//

template <typename OpOrAdaptor>
static LogicalResult bindDmaThresholdAttention(ShapeBinder &shapes,
                                               OpOrAdaptor op) {
  if (failed(bindDmaAttention(shapes, op)) ||
      failed(shapes.bind("tau", op.getTau().getType(), kTauLayout)))
    return failure();
  for (auto [name, summary] :
       {std::pair<StringRef, Value>{"block_max", op.getBlockMax()},
        {"block_min", op.getBlockMin()}})
    if (summary && failed(shapes.bind(name, summary.getType(),
                                      kSummaryLayout)))
      return failure();
  return success();
}

LogicalResult DmaThresholdAttentionOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindDmaThresholdAttention(shapes, adaptor)))
    return failure();
  appendAttentionResultTypes(shapes, adaptor.getQuery(),
                             adaptor.getF32Output(), types);
  return success();
}

LogicalResult DmaThresholdAttentionOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindDmaThresholdAttention(shapes, *this)) ||
      failed(verifyAttentionResults(shapes, emit, *this)))
    return failure();
  if (static_cast<bool>(getBlockMax()) != static_cast<bool>(getBlockSize()))
    return emitOpError() << "block summaries and block_size go together";
  if (std::optional<uint64_t> block = getBlockSize();
      block && failed(verifySummaryBlocks(shapes, emit,
                                          static_cast<int64_t>(*block))))
    return failure();
  double scale = getScale().convertToDouble();
  if (!std::isfinite(scale) || scale <= 0.0)
    return emitOpError() << "scale must be positive and finite, got "
                         << scale;
  return success();
}

//===----------------------------------------------------------------------===//
// DmaAttentionGradOp
//===----------------------------------------------------------------------===//

template <typename OpOrAdaptor>
static LogicalResult bindDmaAttentionGrad(ShapeBinder &shapes, OpOrAdaptor op) {
  if (failed(bindDmaAttention(shapes, op)) ||
      failed(shapes.bind("tau", op.getTau().getType(), kTauLayout)) ||
      failed(shapes.bind("output", op.getOutput().getType(), kQueryLayout)) ||
      failed(shapes.bind("lse", op.getLse().getType(), kLseLayout)) ||
      failed(shapes.bind("grad_output", op.getGradOutput().getType(),
                         kQueryLayout)))
    return failure();
  return success();
}

LogicalResult DmaAttentionGradOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindDmaAttentionGrad(shapes, adaptor)))
    return failure();
  Type element = elementTypeOf(adaptor.getQuery());
  types.push_back(tensorOf(shapes, kQueryLayout, element));
  types.push_back(tensorOf(shapes, kKeyLayout, element));
  types.push_back(tensorOf(shapes, kKeyLayout, element));
  types.push_back(tensorOf(shapes, kBiasLayout, Float32Type::get(context)));
  return success();
}

LogicalResult DmaAttentionGradOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindDmaAttentionGrad(shapes, *this)) ||
      failed(shapes.bind("grad_query", getGradQuery().getType(), kQueryLayout)) ||
      failed(shapes.bind("grad_key", getGradKey().getType(), kKeyLayout)) ||
      failed(shapes.bind("grad_value", getGradValue().getType(), kKeyLayout)) ||
      failed(shapes.bind("grad_bias", getGradBias().getType(), kBiasLayout)))
    return failure();
  double scale = getScale().convertToDouble();
  if (!std::isfinite(scale) || scale <= 0.0)
    return emitOpError() << "scale must be positive and finite, got " << scale;
  // The output is the forward's: 16-bit, or f32 from f32_output.
  Type output = elementTypeOf(getOutput());
  if (output != elementTypeOf(getQuery()) && !output.isF32())
    return emitOpError() << "output must have the element type of query, "
                         << elementTypeOf(getQuery()) << ", or f32, got "
                         << output;
  return sameElementType(emit, "query", getQuery(),
                         {{"key", getKey()},
                          {"value", getValue()},
                          {"grad_output", getGradOutput()},
                          {"grad_query", getGradQuery()},
                          {"grad_key", getGradKey()},
                          {"grad_value", getGradValue()}});
}

//===----------------------------------------------------------------------===//
// DmaBiasGradOp
//===----------------------------------------------------------------------===//

LogicalResult DmaBiasGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  auto emit = inferenceErrors(location);
  ShapeBinder shapes(emit);
  if (failed(bindDmaBias(shapes, adaptor)) ||
      failed(shapes.bind("grad_bias", adaptor.getGradBias().getType(),
                         kBiasLayout)))
    return failure();
  types.push_back(adaptor.getValues().getType());
  types.push_back(adaptor.getWDt().getType());
  types.push_back(adaptor.getA().getType());
  if (Value dtBias = adaptor.getDtBias())
    types.push_back(dtBias.getType());
  return success();
}

LogicalResult DmaBiasGradOp::verify() {
  auto emit = [this] { return emitOpError(); };
  ShapeBinder shapes(emit);
  if (failed(bindDmaBias(shapes, *this)) ||
      failed(shapes.bind("grad_bias", getGradBias().getType(), kBiasLayout)) ||
      failed(verifyBiasWeights(shapes, *this)))
    return failure();
  if (static_cast<bool>(getDtBias()) != static_cast<bool>(getGradDtBias()))
    return emitOpError() << "has a dt_bias gradient exactly when it has a "
                            "dt_bias";
  for (auto [name, grad, operand] :
       {std::tuple<StringRef, Value, Value>{"grad_values", getGradValues(),
                                            getValues()},
        {"grad_w_dt", getGradWDt(), getWDt()},
        {"grad_a", getGradA(), getA()},
        {"grad_dt_bias", getGradDtBias(), getDtBias()}})
    if (grad && grad.getType() != operand.getType())
      return emitOpError() << name << " must have the type of its operand, "
                           << operand.getType() << ", got " << grad.getType();
  return success();
}

#define GET_OP_CLASSES
#include "wm/Dialect/WM/IR/WMOps.cpp.inc"
