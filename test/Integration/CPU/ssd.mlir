// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// SSD on a tiny T = 3 sequence (B = 1, H = 1, P = 2, G = 1, N = 2), against
// the plain recurrence of the spec computed with numpy:
//   S_t = exp(dt'_t a) S_{t-1} + dt'_t outer(x_t, b_t),  y_t = S_t c_t (+ D x_t)
// with a = -0.5 and dt = [1, 0.5, 2]. For instance S_0 = [[1, 0], [2, 0]] and
// y_0 = S_0 [2, 1] = [2, 4]. Every chunk size (1, 2 with a partial last
// chunk, 4 > T) must give the recurrence's result.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// Prints y as (T, P) and the final state as (P, N).
func.func @show(%y: tensor<1x3x1x2xf32>, %s: tensor<1x1x2x2xf32>) {
  %y2 = tensor.collapse_shape %y [[0, 1, 2], [3]] : tensor<1x3x1x2xf32> into tensor<3x2xf32>
  %yd = tensor.cast %y2 : tensor<3x2xf32> to tensor<?x?xf32>
  call @print2d(%yd) : (tensor<?x?xf32>) -> ()
  %s2 = tensor.collapse_shape %s [[0, 1, 2], [3]] : tensor<1x1x2x2xf32> into tensor<2x2xf32>
  %sd = tensor.cast %s2 : tensor<2x2xf32> to tensor<?x?xf32>
  call @print2d(%sd) : (tensor<?x?xf32>) -> ()
  return
}

func.func @main() {
  %x = arith.constant dense<[[[[1.0, 2.0]], [[-1.0, 0.5]], [[3.0, -2.0]]]]> : tensor<1x3x1x2xf32>
  %dt = arith.constant dense<[[[1.0], [0.5], [2.0]]]> : tensor<1x3x1xf32>
  %a = arith.constant dense<[-0.5]> : tensor<1xf32>
  %b = arith.constant dense<[[[[1.0, 0.0]], [[0.5, 1.0]], [[-1.0, 2.0]]]]> : tensor<1x3x1x2xf32>
  %c = arith.constant dense<[[[[2.0, 1.0]], [[1.0, -1.0]], [[0.5, 0.5]]]]> : tensor<1x3x1x2xf32>

  // chunk_size 2: chunks [0, 2) and the partial [2, 3).
  // CHECK: sizes = [3, 2]
  // CHECK-NEXT: [2, 4]
  // CHECK-NEXT: [1.0288, 1.4326]
  // CHECK-NEXT: [3.0053, -1.64452]
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [-5.8054{{[67]}}, 11.8161]
  // CHECK-NEXT: [{{(4\.61899|4\.619)}}, -7.90803]
  %y2, %s2 = wm.ssd %x, %dt, %a, %b, %c {chunk_size = 2 : i64}
      : (tensor<1x3x1x2xf32>, tensor<1x3x1xf32>, tensor<1xf32>, tensor<1x3x1x2xf32>, tensor<1x3x1x2xf32>)
      -> (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>)
  call @show(%y2, %s2) : (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>) -> ()

  // chunk_size 1: every step its own chunk; the same numbers.
  // CHECK: sizes = [3, 2]
  // CHECK-NEXT: [2, 4]
  // CHECK-NEXT: [1.0288, 1.4326]
  // CHECK-NEXT: [3.0053, -1.64452]
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [-5.8054{{[67]}}, 11.8161]
  // CHECK-NEXT: [{{(4\.61899|4\.619)}}, -7.90803]
  %y1, %s1 = wm.ssd %x, %dt, %a, %b, %c {chunk_size = 1 : i64}
      : (tensor<1x3x1x2xf32>, tensor<1x3x1xf32>, tensor<1xf32>, tensor<1x3x1x2xf32>, tensor<1x3x1x2xf32>)
      -> (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>)
  call @show(%y1, %s1) : (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>) -> ()

  // chunk_size 4 > T: one partial chunk; the same numbers.
  // CHECK: sizes = [3, 2]
  // CHECK-NEXT: [2, 4]
  // CHECK-NEXT: [1.0288, 1.4326]
  // CHECK-NEXT: [3.0053, -1.64452]
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [-5.8054{{[67]}}, 11.8161]
  // CHECK-NEXT: [{{(4\.61899|4\.619)}}, -7.90803]
  %y4, %s4 = wm.ssd %x, %dt, %a, %b, %c {chunk_size = 4 : i64}
      : (tensor<1x3x1x2xf32>, tensor<1x3x1xf32>, tensor<1xf32>, tensor<1x3x1x2xf32>, tensor<1x3x1x2xf32>)
      -> (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>)
  call @show(%y4, %s4) : (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>) -> ()

  // D = 0.5, z gating y *= z * sigmoid(z), and the state starting from h0.
  // CHECK: sizes = [3, 2]
  // CHECK-NEXT: [2.2710{{[56]}}, -1.83407]
  // CHECK-NEXT: [0, 1.71588]
  // CHECK-NEXT: [1.40218, -1.7745]
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [-5.63169, 11.6423]
  // CHECK-NEXT: [4.70588, -7.5604{{[89]}}]
  %d = arith.constant dense<[0.5]> : tensor<1xf32>
  %z = arith.constant dense<[[[[1.0, -1.0]], [[0.0, 2.0]], [[0.5, 1.0]]]]> : tensor<1x3x1x2xf32>
  %h0 = arith.constant dense<[[[[1.0, -1.0], [0.5, 2.0]]]]> : tensor<1x1x2x2xf32>
  %yg, %sg = wm.ssd %x, %dt, %a, %b, %c D(%d) z(%z) initial_state(%h0) {chunk_size = 2 : i64}
      : (tensor<1x3x1x2xf32>, tensor<1x3x1xf32>, tensor<1xf32>, tensor<1x3x1x2xf32>, tensor<1x3x1x2xf32>,
         tensor<1xf32>, tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>)
      -> (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>)
  call @show(%yg, %sg) : (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>) -> ()

  // dt' = softplus(dt - 0.5), and b, c rotated by position (rotate-half over
  // R = N = 2 with angle 0, acos(0.6), pi/2 at t = 0, 1, 2).
  // CHECK: sizes = [3, 2]
  // CHECK-NEXT: [1.94815, 3.89631]
  // CHECK-NEXT: [1.31086, 1.75529]
  // CHECK-NEXT: [2.18299, -1.88458]
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [-9.7662{{[67]}}, -5.40029]
  // CHECK-NEXT: [7.32001, 3.55085]
  %dtb = arith.constant dense<[-0.5]> : tensor<1xf32>
  %cos = arith.constant dense<[[1.0, 1.0], [0.6, 0.6], [0.0, 0.0]]> : tensor<3x2xf32>
  %sin = arith.constant dense<[[0.0, 0.0], [0.8, 0.8], [1.0, 1.0]]> : tensor<3x2xf32>
  %yr, %sr = wm.ssd %x, %dt, %a, %b, %c dt_bias(%dtb) rope(%cos, %sin) {chunk_size = 2 : i64, dt_softplus}
      : (tensor<1x3x1x2xf32>, tensor<1x3x1xf32>, tensor<1xf32>, tensor<1x3x1x2xf32>, tensor<1x3x1x2xf32>,
         tensor<1xf32>, tensor<3x2xf32>, tensor<3x2xf32>)
      -> (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>)
  call @show(%yr, %sr) : (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>) -> ()
  // a = +0.5 (some models pass a positive A): the state grows, and the
  // chunked form must still equal the recurrence (exponents not clamped to <= 0).
  // CHECK: sizes = [3, 2]
  // CHECK-NEXT: [2, 4]
  // CHECK-NEXT: [1.5340{{[23]}}, 2.44305]
  // CHECK-NEXT: [3.7258{{[12]}}, 2.00002]
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: [-3.18923, 10.6409]
  // CHECK-NEXT: [11.3205, -7.32043]
  %ap = arith.constant dense<[0.5]> : tensor<1xf32>
  %yp, %sp = wm.ssd %x, %dt, %ap, %b, %c {chunk_size = 4 : i64}
      : (tensor<1x3x1x2xf32>, tensor<1x3x1xf32>, tensor<1xf32>, tensor<1x3x1x2xf32>, tensor<1x3x1x2xf32>)
      -> (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>)
  call @show(%yp, %sp) : (tensor<1x3x1x2xf32>, tensor<1x1x2x2xf32>) -> ()
  return
}
