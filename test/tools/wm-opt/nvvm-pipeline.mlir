// wm-opt carries the upstream sink down to PTX for the H200 (no CUDA toolkit
// needed for format=isa): the PTX targets sm_90a.
// RUN: wm-opt %s --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90a cubin-features=+ptx80 opt-level=3 cubin-format=isa" | FileCheck %s

// CHECK: gpu.binary @kernels
// CHECK-SAME: .target sm_90a
// CHECK-SAME: .entry scale_kernel
// CHECK-SAME: mul.rn.f32
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @scale_kernel(%buf: memref<256xf32>, %factor: f32) kernel {
      %i = gpu.thread_id x
      %x = memref.load %buf[%i] : memref<256xf32>
      %y = arith.mulf %x, %factor : f32
      memref.store %y, %buf[%i] : memref<256xf32>
      gpu.return
    }
  }
}
