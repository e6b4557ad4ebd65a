# The Python graph builder (python/wm) emits wm ops with the result types the
# dialect infers and the user's file:line as each op's location, lowers a
# graph through a named pass pipeline, and reports bad attributes at build
# time with the op and the line.
# RUN: %python %s %wm_src_root/python | FileCheck %s

import sys

sys.path.insert(0, sys.argv[1])

import wm  # noqa: E402

g = wm.Graph("layer")
x = g.input((1, 16, 2, 8), "f32", name="x")
w = g.input((8,), "f32", name="w")
v = g.input((1, 16, 1, 8), "f32", name="v")
w_dt = g.input((1, 8), "f32", name="w_dt")
a = g.input((1,), "f32", name="a")

# The graph as built (printed below): inputs keep their names, each op
# carries the line that built it.
# CHECK-LABEL: func.func @layer(%in_x: tensor<1x16x2x8xf32>, %in_w: tensor<8xf32>, %in_v: tensor<1x16x1x8xf32>, %in_w_dt: tensor<1x8xf32>, %in_a: tensor<1xf32>) -> (tensor<1x16x2x8xf32>, tensor<1x2x16xf32>)
# CHECK-NEXT: %[[Q:.*]] = wm.rms_norm %in_x, %in_w {eps = 1.000000000e-05 : f32} : (tensor<1x16x2x8xf32>, tensor<8xf32>) -> (tensor<1x16x2x8xf32>) loc("{{.*}}graph.py":[[# @LINE + 1]]:1)
q = g.rms_norm(x, w, eps=1e-5)
# CHECK-NEXT: %[[B:.*]] = wm.dma_bias exp %in_v, %in_w_dt, %in_a : (tensor<1x16x1x8xf32>, tensor<1x8xf32>, tensor<1xf32>) -> (tensor<1x1x16xf32>) loc("{{.*}}graph.py":[[# @LINE + 1]]:1)
bias = g.dma_bias(v, w_dt, a, form="exp")
# CHECK-NEXT: %[[O:.*]], %[[L:.*]] = wm.dma_attention %[[Q]], %in_v, %in_v, %[[B]] {causal, window = 4 : i64, scope = #wm.scope<prefix>} : (tensor<1x16x2x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x1x16xf32>) -> (tensor<1x16x2x8xf32>, tensor<1x2x16xf32>) loc("{{.*}}graph.py":[[# @LINE + 1]]:1)
out, lse = g.dma_attention(q, v, v, bias, causal=True, window=4)
# CHECK-NEXT: return %[[O]], %[[L]] : tensor<1x16x2x8xf32>, tensor<1x2x16xf32>
g.output(out, lse)
print(g.to_mlir())

# wm-select-keys splits the attention into per-row thresholds, key-block
# summaries and a threshold attention with the explicit scale 8^-1/2.
# CHECK-LABEL: func.func @layer(%arg0: tensor<1x16x2x8xf32>, %arg1: tensor<8xf32>, %arg2: tensor<1x16x1x8xf32>, %arg3: tensor<1x8xf32>, %arg4: tensor<1xf32>)
# CHECK: %[[N:.*]] = wm.rms_norm %arg0, %arg1 {eps = 9.99999974E-6 : f32}
# CHECK: %[[BIAS:.*]] = wm.dma_bias exp %arg2, %arg3, %arg4
# CHECK: %[[TAU:.*]] = wm.dma_select %[[BIAS]] {causal, query_len = 16 : i64, window = 4 : i64} : (tensor<1x1x16xf32>) -> tensor<1x1x16xf32>
# CHECK: %[[MAX:.*]], %[[MIN:.*]] = wm.dma_block_summary %[[BIAS]]
# CHECK: %[[OUT:.*]], %[[LSE:.*]] = wm.dma_threshold_attention %[[N]], %arg2, %arg2, %[[BIAS]], %[[TAU]] summary(%[[MAX]], %[[MIN]]) {{{.*}}causal, scale = 0.353553385 : f32}
# CHECK-NOT: wm.dma_attention
# CHECK: return %[[OUT]], %[[LSE]]
print(g.lower("wm-select-keys"))

# CHECK: dma_attention (at {{.*}}graph.py:[[# @LINE + 3]]): 'wm.dma_attention' is invalid
# CHECK-NEXT: graph.py:[[# @LINE + 2]]: error: 'wm.dma_attention' op window must be in [1, 2^63 - 1], got 0
try:
    g.dma_attention(q, v, v, bias, window=0)
except wm.GraphError as error:
    print(error)
