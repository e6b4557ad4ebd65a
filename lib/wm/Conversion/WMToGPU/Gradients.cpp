//===- Gradients.cpp - DMA gradients as GPU row programs ------------------===//
//
// The first GPU form of spec section 1.4: scalar programs, one thread per
// output row, deterministic (each gradient element has one writer, no
// atomics), checked against numpy by CI through wm-to-cpu{gpu-kernels}:
//
//   dma_grad_delta   (b, h, i): Dr = dO . O (f32 O), else sum_j P dP
//   dma_grad_query   (b, h, i): dQ over the keys the row keeps
//   dma_grad_key     (b, g, j): dK, dV, dBias over the group's heads and
//                               the rows that keep the key
//   dma_bias_grad_dt (b, j, g), then _values (b, j, c), _weights (g, c),
//                    _params (g): the chain through spec section 1.1
//
// Each row recomputes its probabilities from lse. Work is O(Lq Lk D), not yet
// the forward's O(L (W + Bq)): the tensor-core backward comes next.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/WMToGPU/KernelFactory.h"
#include "wm/Conversion/WMToTile/WMToTile.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::wm;

using arith::CmpFPredicate;

namespace {

/// The shapes of one attention gradient.
struct GradShape {
  explicit GradShape(DmaAttentionGradOp op) {
    auto q = op.getQuery().getType(), k = op.getKey().getType();
    batch = q.getDimSize(0), queries = q.getDimSize(1), heads = q.getDimSize(2);
    headDim = q.getDimSize(3), keys = k.getDimSize(1), kvHeads = k.getDimSize(2);
    scale = op.getScale().convertToDouble();
    causal = op.getCausal();
  }
  int64_t batch, queries, heads, headDim, keys, kvHeads;
  double scale;
  bool causal;
};

/// The buffers every attention gradient kernel reads, in their order at the
/// head of its arguments: q, k, v, bias, tau, lse, dout.
struct GradInputs {
  explicit GradInputs(ValueRange args)
      : q(args[0]), k(args[1]), v(args[2]), bias(args[3]), tau(args[4]),
        lse(args[5]), dout(args[6]) {}
  static constexpr unsigned kCount = 7;
  Value q, k, v, bias, tau, lse, dout;
};

/// The end of the keys row i may see.
Value rowKeyEnd(LoopBuilder &lb, const GradShape &s, Value i) {
  Value keys = lb.index(s.keys);
  if (!s.causal)
    return keys;
  Value limit = lb.addi(i, lb.index(s.keys - s.queries + 1));
  return lb.maxi(lb.index(0), lb.mini(keys, limit));
}

/// kept(P_ij, dP_ij) for a pair (b, h, i, g, j) the row keeps, else 0.
Value ifKept(LoopBuilder &lb, const GradShape &s, const GradInputs &in, Value b,
             Value h, Value i, Value g, Value j,
             function_ref<Value(Value, Value)> kept) {
  Value keyBias = lb.load(in.bias, {b, g, j});
  Value keeps = lb.keeps(keyBias, lb.load(in.tau, {b, g, i}));
  Value dim = lb.index(s.headDim);
  return lb.ifValue(
      keeps,
      [&] {
        Value logit = lb.dot(
            dim,
            [&](Value d) {
              return lb.load(in.q, {b, i, h, d});
            },
            [&](Value d) {
              return lb.load(in.k, {b, j, g, d});
            });
        Value score = lb.add(lb.mul(lb.f32(s.scale), logit), keyBias);
        // A kept key whose score is -inf has probability 0.
        Value p = lb.select(lb.cmp(CmpFPredicate::OEQ, score, lb.negInf()),
                            lb.f32(0.0),
                            lb.exp(lb.sub(score, lb.load(in.lse, {b, h, i}))));
        Value dp = lb.dot(
            dim,
            [&](Value d) {
              return lb.load(in.dout, {b, i, h, d});
            },
            [&](Value d) {
              return lb.load(in.v, {b, j, g, d});
            });
        return kept(p, dp);
      },
      [&] { return lb.f32(0.0); });
}

/// Runs body(P, dS) for a pair the row keeps; returns its dS, exactly 0 for
/// a key the row does not keep.
Value visitPair(LoopBuilder &lb, const GradShape &s, const GradInputs &in,
                Value delta, Value b, Value h, Value i, Value g, Value j,
                function_ref<void(Value, Value)> body) {
  return ifKept(lb, s, in, b, h, i, g, j, [&](Value p, Value dp) {
    Value ds = lb.mul(p, lb.sub(dp, lb.load(delta, {b, h, i})));
    body(p, ds);
    return ds;
  });
}

/// Dr_i = dO_i . O_i from an f32 O. From a 16-bit O, sum_j P_ij dP_ij over
/// the kept keys (equal in exact arithmetic) from the same f32 P and dP as
/// dS, so that sum_j dS_ij stays 0 (a bf16 O would leave its rounding in
/// every dBias of the row). Buffers: the inputs, the f32 O if given, Dr.
void deltaKernel(KernelFactory &factory, OpBuilder &host, Location loc,
                 const GradShape &s, ValueRange buffers, bool fromOutput) {
  factory.launch(
      host, loc, "dma_grad_delta", buffers, s.batch * s.heads * s.queries,
      [&](LoopBuilder &lb, ValueRange args, Value tid) {
        GradInputs in(args);
        SmallVector<Value> c = delinearize(lb, tid, {s.batch, s.heads, s.queries});
        Value b = c[0], h = c[1], i = c[2];
        Value g = lb.divi(h, lb.index(s.heads / s.kvHeads));
        auto fromPairs = [&] {
          return lb.reduce(lb.index(0), rowKeyEnd(lb, s, i), lb.f32(0.0),
                           [&](Value j, Value acc) {
                             Value term = ifKept(lb, s, in, b, h, i, g, j,
                                                 [&](Value p, Value dp) {
                                                   return lb.mul(p, dp);
                                                 });
                             return lb.add(acc, term);
                           });
        };
        Value out = args[GradInputs::kCount];
        Value dr = fromOutput
                       ? lb.dot(lb.index(s.headDim),
                                [&](Value d) {
                                  return lb.load(in.dout, {b, i, h, d});
                                },
                                [&](Value d) {
                                  return lb.load(out, {b, i, h, d});
                                })
                       : fromPairs();
        lb.store(dr, args.back(), c);
      });
}

/// Buffers: the inputs, dq, Dr.
void queryKernel(KernelFactory &factory, OpBuilder &host, Location loc,
                 const GradShape &s, ValueRange buffers) {
  factory.launch(
      host, loc, "dma_grad_query", buffers, s.batch * s.heads * s.queries,
      [&](LoopBuilder &lb, ValueRange args, Value tid) {
        GradInputs in(args);
        Value dq = args[GradInputs::kCount], delta = args.back();
        SmallVector<Value> c = delinearize(lb, tid, {s.batch, s.heads, s.queries});
        Value b = c[0], h = c[1], i = c[2];
        Value g = lb.divi(h, lb.index(s.heads / s.kvHeads));
        Value zero = lb.index(0), dim = lb.index(s.headDim);
        Value acc = memref::AllocaOp::create(
            lb.builder(), lb.location(),
            MemRefType::get({s.headDim}, lb.builder().getF32Type()));
        lb.forEach(zero, dim, [&](Value d) { lb.store(lb.f32(0.0), acc, {d}); });
        lb.forEach(zero, rowKeyEnd(lb, s, i), [&](Value j) {
          visitPair(lb, s, in, delta, b, h, i, g, j, [&](Value, Value ds) {
            Value scaled = lb.mul(lb.f32(s.scale), ds);
            lb.forEach(zero, dim, [&](Value d) {
              lb.store(lb.add(lb.load(acc, {d}),
                              lb.mul(scaled, lb.load(in.k, {b, j, g, d}))),
                       acc, {d});
            });
          });
        });
        lb.forEach(zero, dim, [&](Value d) {
          lb.store(lb.load(acc, {d}), dq, {b, i, h, d});
        });
      });
}

/// Buffers: the inputs, dk, dv, dbias, Dr.
void keyKernel(KernelFactory &factory, OpBuilder &host, Location loc,
               const GradShape &s, ValueRange buffers) {
  factory.launch(
      host, loc, "dma_grad_key", buffers, s.batch * s.kvHeads * s.keys,
      [&](LoopBuilder &lb, ValueRange args, Value tid) {
        GradInputs in(args);
        Value dkOut = args[GradInputs::kCount],
              dvOut = args[GradInputs::kCount + 1];
        Value dbiasOut = args[GradInputs::kCount + 2], delta = args.back();
        SmallVector<Value> c = delinearize(lb, tid, {s.batch, s.kvHeads, s.keys});
        Value b = c[0], g = c[1], j = c[2];
        Value zero = lb.index(0), dim = lb.index(s.headDim);
        auto rowType = MemRefType::get({s.headDim}, lb.builder().getF32Type());
        Value dk = memref::AllocaOp::create(lb.builder(), lb.location(), rowType);
        Value dv = memref::AllocaOp::create(lb.builder(), lb.location(), rowType);
        lb.forEach(zero, dim, [&](Value d) {
          lb.store(lb.f32(0.0), dk, {d});
          lb.store(lb.f32(0.0), dv, {d});
        });
        // Rows that may see key j: i >= j - (Lk - Lq) when causal.
        Value firstRow =
            s.causal ? lb.maxi(zero, lb.subi(j, lb.index(s.keys - s.queries)))
                     : zero;
        int64_t group = s.heads / s.kvHeads;
        Value dbias = lb.reduce(
            lb.index(0), lb.index(group), lb.f32(0.0), [&](Value r, Value total) {
              Value h = lb.addi(lb.muli(g, lb.index(group)), r);
              return lb.reduce(
                  firstRow, lb.index(s.queries), total,
                  [&](Value i, Value sum) {
                    Value ds = visitPair(
                        lb, s, in, delta, b, h, i, g, j,
                        [&](Value p, Value ds) {
                          Value scaled = lb.mul(lb.f32(s.scale), ds);
                          lb.forEach(zero, dim, [&](Value d) {
                            Value qd = lb.load(in.q, {b, i, h, d});
                            Value od = lb.load(in.dout, {b, i, h, d});
                            lb.store(
                                lb.add(lb.load(dk, {d}), lb.mul(scaled, qd)),
                                dk, {d});
                            lb.store(lb.add(lb.load(dv, {d}), lb.mul(p, od)),
                                     dv, {d});
                          });
                        });
                    return lb.add(sum, ds);
                  });
            });
        lb.forEach(zero, dim, [&](Value d) {
          lb.store(lb.load(dk, {d}), dkOut, {b, j, g, d});
          lb.store(lb.load(dv, {d}), dvOut, {b, j, g, d});
        });
        lb.store(dbias, dbiasOut, {b, g, j});
      });
}

} // namespace

void mlir::wm::dmaAttentionGradKernels(KernelFactory &factory, OpBuilder &host,
                                       DmaAttentionGradOp op, ValueRange args) {
  GradShape s(op);
  Location loc = op.getLoc();
  // args: q, k, v, bias, tau, out, lse, dout, then dq, dk, dv, dbias. Only
  // the Dr kernel reads out, and only an f32 one.
  Value delta = memref::AllocOp::create(
      host, loc, MemRefType::get({s.batch, s.heads, s.queries}, host.getF32Type()));
  SmallVector<Value> inputs = {args[0], args[1], args[2], args[3],
                               args[4], args[6], args[7]};
  auto with = [&](ValueRange tail) {
    SmallVector<Value> buffers(inputs);
    llvm::append_range(buffers, tail);
    return buffers;
  };
  bool fromOutput =
      cast<MemRefType>(args[5].getType()).getElementType().isF32();
  deltaKernel(factory, host, loc, s,
              fromOutput ? with({args[5], delta}) : with({delta}), fromOutput);
  queryKernel(factory, host, loc, s, with({args[8], delta}));
  keyKernel(factory, host, loc, s, with({args[9], args[10], args[11], delta}));
}

void mlir::wm::dmaAttentionGradProgram(KernelFactory &factory, OpBuilder &host,
                                       DmaAttentionGradOp op, ValueRange args,
                                       int64_t warps) {
  Location loc = op.getLoc();
  Value dq = args[8], dk = args[9], dv = args[10], dbias = args[11];
  auto keyType = cast<MemRefType>(dk.getType());
  bool narrow = !keyType.getElementType().isF32();
  auto wide = MemRefType::get(keyType.getShape(), host.getF32Type());
  Value dk32 = narrow ? memref::AllocOp::create(host, loc, wide) : dk;
  Value dv32 = narrow ? memref::AllocOp::create(host, loc, wide) : dv;
  int64_t keyElements = keyType.getNumElements();
  int64_t biasElements = cast<MemRefType>(dbias.getType()).getNumElements();
  auto flat = [](LoopBuilder &lb, Value buffer, Value i) {
    auto type = cast<MemRefType>(buffer.getType());
    return delinearize(lb, i, type.getShape());
  };
  factory.launch(host, loc, "dma_grad_zero", {dk32, dv32, dbias},
                 std::max(keyElements, biasElements),
                 [&](LoopBuilder &lb, ValueRange x, Value i) {
                   lb.ifThen(lb.cmpi(arith::CmpIPredicate::ult, i,
                                     lb.index(keyElements)),
                             [&] {
                               lb.store(lb.f32(0.0), x[0], flat(lb, x[0], i));
                               lb.store(lb.f32(0.0), x[1], flat(lb, x[1], i));
                             });
                   lb.ifThen(lb.cmpi(arith::CmpIPredicate::ult, i,
                                     lb.index(biasElements)),
                             [&] {
                               lb.store(lb.f32(0.0), x[2], flat(lb, x[2], i));
                             });
                 });
  buildAttentionGradProgram(host, op,
                            {args[0], args[1], args[2], args[3], args[4],
                             args[5], args[6], args[7], dq, dk32, dv32, dbias},
                            attentionGradConfig(op, warps));
  if (!narrow)
    return;
  factory.launch(host, loc, "dma_grad_round", {dk32, dv32, dk, dv},
                 keyElements, [&](LoopBuilder &lb, ValueRange x, Value i) {
                   SmallVector<Value> at = flat(lb, x[0], i);
                   lb.store(lb.load(x[0], at), x[2], at);
                   lb.store(lb.load(x[1], at), x[3], at);
                 });
}

namespace {

/// The shapes of one dma_bias gradient.
struct BiasGradShape {
  explicit BiasGradShape(DmaBiasGradOp op) {
    auto v = op.getValues().getType();
    batch = v.getDimSize(0), keys = v.getDimSize(1), kvHeads = v.getDimSize(2);
    headDim = v.getDimSize(3), width = kvHeads * headDim;
    exp = op.getForm() == BiasForm::exp;
    dtBias = static_cast<bool>(op.getDtBias());
  }
  int64_t batch, keys, kvHeads, headDim, width;
  bool exp, dtBias;
};

/// ddt and dda (the gradient reaching dt and a) per (b, j, g).
void biasChainKernel(KernelFactory &factory, OpBuilder &host, Location loc,
                     const BiasGradShape &s, ValueRange buffers) {
  factory.launch(
      host, loc, "dma_bias_grad_dt", buffers, s.batch * s.keys * s.kvHeads,
      [&](LoopBuilder &lb, ValueRange args, Value tid) {
        Value values = args[0], w = args[1], a = args[2], dbias = args[3];
        Value ddtOut = args[args.size() - 2], ddaOut = args.back();
        SmallVector<Value> c = delinearize(lb, tid, {s.batch, s.keys, s.kvHeads});
        Value b = c[0], j = c[1], g = c[2];
        Value dt = lb.dmaBiasDt(values, w, s.dtBias ? args[4] : Value(), b, j,
                                g, lb.index(s.kvHeads), lb.index(s.headDim));
        Value decay = lb.load(a, {g});
        Value grad = lb.load(dbias, {b, g, j});
        auto [ddt, dda] = lb.dmaBiasGradAt(dt, decay, grad, s.exp);
        lb.store(ddt, ddtOut, c);
        lb.store(dda, ddaOut, c);
      });
}

} // namespace

void mlir::wm::dmaBiasGradKernels(KernelFactory &factory, OpBuilder &host,
                                  DmaBiasGradOp op, ValueRange args) {
  BiasGradShape s(op);
  Location loc = op.getLoc();
  int64_t operands = s.dtBias ? 5 : 4;
  Value values = args[0], w = args[1], a = args[2];
  Value dbias = args[operands - 1];
  Value dvalues = args[operands], dw = args[operands + 1], da = args[operands + 2];
  auto scratchType =
      MemRefType::get({s.batch, s.keys, s.kvHeads}, host.getF32Type());
  Value ddt = memref::AllocOp::create(host, loc, scratchType);
  Value dda = memref::AllocOp::create(host, loc, scratchType);
  SmallVector<Value> chain = {values, w, a, dbias};
  if (s.dtBias)
    chain.push_back(args[3]);
  chain.append({ddt, dda});
  biasChainKernel(factory, host, loc, s, chain);
  factory.launch(
      host, loc, "dma_bias_grad_values", {ddt, w, dvalues},
      s.batch * s.keys * s.width, [&](LoopBuilder &lb, ValueRange x, Value tid) {
        SmallVector<Value> c = delinearize(lb, tid, {s.batch, s.keys, s.width});
        Value sum = lb.reduce(lb.index(0), lb.index(s.kvHeads), lb.f32(0.0),
                              [&](Value g, Value acc) {
                                Value grad = lb.load(x[0], {c[0], c[1], g});
                                Value weight = lb.load(x[1], {g, c[2]});
                                return lb.add(acc, lb.mul(grad, weight));
                              });
        Value h = lb.divi(c[2], lb.index(s.headDim));
        Value d = lb.remi(c[2], lb.index(s.headDim));
        lb.store(sum, x[2], {c[0], c[1], h, d});
      });
  factory.launch(
      host, loc, "dma_bias_grad_weights", {ddt, values, dw},
      s.kvHeads * s.width, [&](LoopBuilder &lb, ValueRange x, Value tid) {
        SmallVector<Value> c = delinearize(lb, tid, {s.kvHeads, s.width});
        Value h = lb.divi(c[1], lb.index(s.headDim));
        Value d = lb.remi(c[1], lb.index(s.headDim));
        Value sum = lb.reduce(
            lb.index(0), lb.index(s.batch * s.keys), lb.f32(0.0),
            [&](Value bj, Value acc) {
              Value b = lb.divi(bj, lb.index(s.keys));
              Value j = lb.remi(bj, lb.index(s.keys));
              Value grad = lb.load(x[0], {b, j, c[0]});
              return lb.add(acc, lb.mul(grad, lb.load(x[1], {b, j, h, d})));
            });
        lb.store(sum, x[2], c);
      });
  SmallVector<Value> params = {ddt, dda, da};
  if (s.dtBias)
    params.push_back(args.back());
  factory.launch(
      host, loc, "dma_bias_grad_params", params, s.kvHeads,
      [&](LoopBuilder &lb, ValueRange x, Value g) {
        auto total = [&](Value of) {
          return lb.reduce(lb.index(0), lb.index(s.batch * s.keys), lb.f32(0.0),
                           [&](Value bj, Value acc) {
                             Value b = lb.divi(bj, lb.index(s.keys));
                             Value j = lb.remi(bj, lb.index(s.keys));
                             return lb.add(acc, lb.load(of, {b, j, g}));
                           });
        };
        lb.store(total(x[1]), x[2], {g});
        if (s.dtBias)
          lb.store(total(x[0]), x[3], {g});
      });
}
