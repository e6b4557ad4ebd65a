// RUN: wm-opt %s --wm-to-cpu | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s

// out = x / sqrt(mean(x^2) + eps) * weight over the last dim; expected values
// from numpy (float64, printed with 6 significant digits).

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2d(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [-2.0, 0.0, 2.0, 0.5]]> : tensor<2x4xf32>
  %w = arith.constant dense<[1.0, 0.5, 2.0, -1.0]> : tensor<4xf32>

  // Default eps = 1e-6.
  // CHECK: rank = 2 offset = 0 sizes = [2, 4]
  // CHECK-NEXT: [0.36514{{[89]}}, 0.36514{{[89]}}, 2.19089, -1.46059]
  // CHECK-NEXT: [-1.39262, 0, 2.78524, -0.348155]
  %a = wm.rms_norm %x, %w : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %ad = tensor.cast %a : tensor<2x4xf32> to tensor<?x?xf32>
  call @print2d(%ad) : (tensor<?x?xf32>) -> ()

  // A large eps (1.0) is added to the mean square, inside the root.
  // CHECK: rank = 2 offset = 0 sizes = [2, 4]
  // CHECK-NEXT: [0.342997, 0.342997, 2.05798, -1.37199]
  // CHECK-NEXT: [-1.14286, 0, 2.2857{{[12]}}, -0.285714]
  %b = wm.rms_norm %x, %w {eps = 1.0 : f32} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %bd = tensor.cast %b : tensor<2x4xf32> to tensor<?x?xf32>
  call @print2d(%bd) : (tensor<?x?xf32>) -> ()

  // Rank 3: each (i, j) row is normalised on its own; an all-zero row stays 0.
  // CHECK: rank = 2 offset = 0 sizes = [4, 2]
  // CHECK-NEXT: [1.69706, 1.13137]
  // CHECK-NEXT: [0, 0]
  // CHECK-NEXT: [2, {{(-0\.999999|-1)}}]
  // CHECK-NEXT: [1.69706, 1.13137]
  %x3 = arith.constant dense<[[[3.0, 4.0], [0.0, 0.0]], [[1.0, -1.0], [6.0, 8.0]]]> : tensor<2x2x2xf32>
  %w3 = arith.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %c = wm.rms_norm %x3, %w3 : (tensor<2x2x2xf32>, tensor<2xf32>) -> tensor<2x2x2xf32>
  %c2 = tensor.collapse_shape %c [[0, 1], [2]] : tensor<2x2x2xf32> into tensor<4x2xf32>
  %cd = tensor.cast %c2 : tensor<4x2xf32> to tensor<?x?xf32>
  call @print2d(%cd) : (tensor<?x?xf32>) -> ()
  return
}
