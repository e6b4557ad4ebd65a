// wm-opt lists the wm dialect beside the upstream ones it needs down to PTX.
// RUN: wm-opt --help | FileCheck %s
// RUN: wm-opt --show-dialects | FileCheck %s --check-prefix=DIALECTS

// CHECK: WM optimizer driver
// CHECK-DAG: --gpu-lower-to-nvvm-pipeline
// CHECK-DAG: --convert-nvgpu-to-nvvm
// CHECK-DAG: --gpu-module-to-binary

// DIALECTS-DAG: gpu
// DIALECTS-DAG: linalg
// DIALECTS-DAG: nvgpu
// DIALECTS-DAG: nvvm
// DIALECTS-DAG: wm
