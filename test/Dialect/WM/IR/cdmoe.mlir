// RUN: wm-opt %s --split-input-file | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --mlir-print-op-generic | wm-opt --split-input-file | FileCheck %s
// RUN: wm-opt %s --split-input-file --verify-roundtrip > /dev/null

// CHECK-LABEL: func.func @cdmoe
// CHECK-SAME: (%[[X:.*]]: tensor<64x256xbf16>, %[[WG:.*]]: tensor<512x256xbf16>, %[[WU:.*]]: tensor<512x256xbf16>, %[[WD:.*]]: tensor<256x512xbf16>, %[[WR:.*]]: tensor<64x256xbf16>, %[[DOWN:.*]]: tensor<1024x256xbf16>, %[[UP:.*]]: tensor<1024x256xbf16>)
// CHECK: %[[Y:.*]] = wm.cdmoe %[[X]], %[[WG]], %[[WU]], %[[WD]], %[[WR]], %[[DOWN]], %[[UP]] {top_k = 8 : i64}
// CHECK-SAME: -> tensor<64x256xbf16>
// CHECK: return %[[Y]]
func.func @cdmoe(%x: tensor<64x256xbf16>, %wg: tensor<512x256xbf16>, %wu: tensor<512x256xbf16>,
                 %wd: tensor<256x512xbf16>, %wr: tensor<64x256xbf16>,
                 %down: tensor<1024x256xbf16>, %up: tensor<1024x256xbf16>) -> tensor<64x256xbf16> {
  %y = wm.cdmoe %x, %wg, %wu, %wd, %wr, %down, %up {top_k = 8 : i64}
      : (tensor<64x256xbf16>, tensor<512x256xbf16>, tensor<512x256xbf16>, tensor<256x512xbf16>,
         tensor<64x256xbf16>, tensor<1024x256xbf16>, tensor<1024x256xbf16>) -> tensor<64x256xbf16>
  return %y : tensor<64x256xbf16>
}

// -----

// Dynamic token count; top_k = N keeps every expert.
// CHECK-LABEL: func.func @cdmoe_dynamic_tokens
// CHECK: wm.cdmoe {{.*}} {top_k = 16 : i64} : (tensor<?x32xf32>,
// CHECK-SAME: -> tensor<?x32xf32>
func.func @cdmoe_dynamic_tokens(%x: tensor<?x32xf32>, %wg: tensor<48x32xf32>, %wu: tensor<48x32xf32>,
                                %wd: tensor<32x48xf32>, %wr: tensor<8x32xf32>,
                                %down: tensor<16x32xf32>, %up: tensor<16x32xf32>) -> tensor<?x32xf32> {
  %y = wm.cdmoe %x, %wg, %wu, %wd, %wr, %down, %up {top_k = 16 : i64}
      : (tensor<?x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>,
         tensor<8x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
