// RUN: wm-opt %s --convert-wm-to-gpu | FileCheck %s
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-overlap=false" | FileCheck %s --check-prefix=OFF
// RUN: wm-opt %s --convert-wm-to-gpu="ssd-chain-pieces=2" | FileCheck %s --check-prefix=OFF
// RUN: wm-opt %s --convert-wm-to-gpu --convert-wm-tile-to-gpu | FileCheck %s --check-prefix=GPU
// With the state chain in one piece (B H = 128), the chunk scan overlaps it:
// each chain CTA resets its progress count, lets the scan start, and after
// storing chunk c's entering state (and saving its dt' and ld) publishes
// c + 1; each scan CTA waits for the counts of its heads to pass its chunk.
// Its grid has the chunks outermost, in the chain's order.

// CHECK-LABEL: func.func @many_heads
// CHECK: %[[PROGRESS:.*]] = memref.alloc() : memref<2x64x1xi32>
// CHECK: wm_tile.program "ssd_state_chain" grid [1, 64, 2]
// CHECK-SAME: %[[PROGRESS]]) :
// CHECK: ^bb0(%[[P:[^:]*]]: index, %[[H:[^:]*]]: index, %[[B:[^:]*]]: index,
// CHECK: wm_tile.signal %{{.*}}[%[[B]], %[[H]], %[[P]]] = %c0
// CHECK-NEXT: wm_tile.launch_dependents
// CHECK: scf.for
// CHECK: wm_tile.store {{.*}} memref<2x3x64x64x128xbf16>
// CHECK: wm_tile.discretize
// CHECK: wm_tile.barrier
// CHECK: scf.if
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi
// CHECK-NEXT: wm_tile.signal %{{.*}}[%[[B]], %[[H]], %[[P]]] = %[[NEXT]]
// CHECK: wm_tile.program "ssd_chunk_scan" grid [6, 32, 2]
// CHECK-SAME: %[[PROGRESS]],
// C and the first x and B tiles fly while the scan waits.
// CHECK: wm_tile.copy_async
// CHECK: wm_tile.copy_async
// CHECK: wm_tile.copy_async
// CHECK: wm_tile.copy_async
// CHECK: wm_tile.wait_signal {{.*}} at_least
// CHECK: wm_tile.wait_signal {{.*}} at_least
// CHECK: wm_tile.copy_async
// CHECK: } {overlap_previous}

// Without the overlap (asked, or with the chain in pieces): no counts, the
// scan's heads outermost.
// OFF-NOT: wm_tile.signal
// OFF-NOT: wm_tile.launch_dependents
// OFF: wm_tile.program "ssd_chunk_scan" grid [32, 6, 2]
// OFF-NOT: wm_tile.wait_signal
// OFF-NOT: overlap_previous

// GPU: gpu.launch_func @wm_kernels::@ssd_state_chain
// GPU-NOT: wm.overlap_previous
// GPU: gpu.launch_func @wm_kernels::@ssd_chunk_scan {{.*}} {wm.overlap_previous}
// GPU-LABEL: gpu.func @ssd_state_chain
// GPU: llvm.store {{.*}} atomic syncscope("device") release {alignment = 4 : i64} : i32, !llvm.ptr<1>
// GPU: nvvm.griddepcontrol launch_dependents
// GPU: gpu.barrier
// GPU: llvm.store {{.*}} atomic syncscope("device") release {alignment = 4 : i64} : i32, !llvm.ptr<1>
// GPU-LABEL: gpu.func @ssd_chunk_scan
// GPU: nvvm.cp.async
// GPU: scf.while
// GPU: llvm.load {{.*}} atomic syncscope("device") acquire {alignment = 4 : i64} : !llvm.ptr<1> -> i32
// GPU: nvvm.nanosleep
// GPU: gpu.barrier
// GPU-NOT: {{wm_tile\.[a-z_]+ %|= wm_tile\.}}
// GPU: gpu.return
func.func @many_heads(%in_x_buffer: memref<2x300x64x64xbf16>, %in_dt_buffer: memref<2x300x64xf32>, %in_a_buffer: memref<64xf32>, %in_b_buffer: memref<2x300x1x128xbf16>, %in_c_buffer: memref<2x300x1x128xbf16>, %out0: memref<2x300x64x64xbf16>, %out1: memref<2x64x64x128xf32>) attributes {llvm.emit_c_interface} {
  %in_x = bufferization.to_tensor %in_x_buffer restrict : memref<2x300x64x64xbf16> to tensor<2x300x64x64xbf16>
  %in_dt = bufferization.to_tensor %in_dt_buffer restrict : memref<2x300x64xf32> to tensor<2x300x64xf32>
  %in_a = bufferization.to_tensor %in_a_buffer restrict : memref<64xf32> to tensor<64xf32>
  %in_b = bufferization.to_tensor %in_b_buffer restrict : memref<2x300x1x128xbf16> to tensor<2x300x1x128xbf16>
  %in_c = bufferization.to_tensor %in_c_buffer restrict : memref<2x300x1x128xbf16> to tensor<2x300x1x128xbf16>
  %v1, %v2 = wm.ssd %in_x, %in_dt, %in_a, %in_b, %in_c {chunk_size = 128 : i64} : (tensor<2x300x64x64xbf16>, tensor<2x300x64xf32>, tensor<64xf32>, tensor<2x300x1x128xbf16>, tensor<2x300x1x128xbf16>) -> (tensor<2x300x64x64xbf16>, tensor<2x64x64x128xf32>)
  bufferization.materialize_in_destination %v1 in restrict writable %out0 : (tensor<2x300x64x64xbf16>, memref<2x300x64x64xbf16>) -> ()
  bufferization.materialize_in_destination %v2 in restrict writable %out1 : (tensor<2x64x64x128xf32>, memref<2x64x64x128xf32>) -> ()
  return
}
