// The bundled model blocks compile all the way to the LLVM dialect.
// RUN: wm-opt %wm_src_root/examples/doge_block.mlir --wm-to-cpu | FileCheck %s --check-prefix=DOGE
// RUN: wm-opt %wm_src_root/examples/hybrid_block.mlir --wm-to-cpu | FileCheck %s --check-prefix=HYBRID
// RUN: wm-opt %wm_src_root/examples/doge_block.mlir --wm-to-loops | FileCheck %s --check-prefix=LOOPS
// RUN: not wm-opt %wm_src_root/examples/doge_block.mlir --wm-to-cpu="block-q=1099511627776" 2>&1 | FileCheck %s --check-prefix=BLOCK-Q
// RUN: not wm-opt %wm_src_root/examples/doge_block.mlir --wm-to-loops="block-k=-1" 2>&1 | FileCheck %s --check-prefix=BLOCK-K
// BLOCK-Q: wm-to-cpu: block-q must be in [1, 4096], got 1099511627776
// BLOCK-K: wm-to-loops: block-k must be in [1, 4096], got -1

// DOGE: llvm.func @doge_block
// DOGE-NOT: wm.
// DOGE-NOT: scf.
// DOGE-NOT: memref.
// DOGE: llvm.return

// HYBRID: llvm.func @hybrid_block
// HYBRID-NOT: wm.
// HYBRID: llvm.return

// The loop stage: no wm op is left, tensors and linalg remain for bufferization.
// LOOPS-LABEL: func.func @doge_block
// LOOPS-NOT: wm.
// LOOPS: linalg.matmul
// LOOPS: scf.for
// LOOPS: bufferization.to_tensor
