//===- wm-opt.cpp - The WM optimizer driver -------------------------------===//
//
// mlir-opt with the wm dialect: every upstream dialect, extension and pass,
// the LLVM IR translations that GPU serialization needs, and WM's passes.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "wm/Conversion/Passes.h"
#include "wm/Dialect/WM/IR/WMDialect.h"
#include "wm/Dialect/WM/Transforms/Passes.h"
#include "wm/Dialect/WMTile/IR/WMTile.h"
#include "wm/Pipelines/Pipelines.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::wm::registerWMPasses();
  mlir::wm::registerWMConversionPasses();
  mlir::wm::registerWMPipelines();

  mlir::DialectRegistry registry;
  registry.insert<mlir::wm::WMDialect, mlir::wm::tile::WMTileDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "WM optimizer driver\n", registry));
}
