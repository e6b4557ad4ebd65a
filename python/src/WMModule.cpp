//===- WMModule.cpp - The _wm Python extension ----------------------------===//
//
// One extension module owns the MLIRContext (with every dialect WM emits and
// the LLVM translations registered). Python hands it MLIR text built by
// wm.Graph; every entry point reports MLIR diagnostics, with the locations
// Python attached (the user's file:line), as wm.CompileError.
//
//===----------------------------------------------------------------------===//

#include "wm/Conversion/Passes.h"
#include "wm/Conversion/WMToGPU/KernelFactory.h"
#include "wm/Conversion/WMToGPU/TileChunks.h"
#include "wm/Dialect/WM/IR/WMDialect.h"
#include "wm/Dialect/WM/Transforms/Passes.h"
#include "wm/Dialect/WM/IR/WMOps.h"
#include "wm/Dialect/WMTile/IR/WMTile.h"
#include "wm/Pipelines/Pipelines.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/TargetSelect.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <csetjmp>
#include <cstdlib>
#include <new>

namespace py = pybind11;
using namespace mlir;

namespace {

/// Raised for every MLIR error; Python re-exports it as wm.CompileError.
struct CompileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string formatLocation(Location loc) {
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return (file.getFilename().str() + ":" + std::to_string(file.getLine()));
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string text = formatLocation(inner); !text.empty())
        return text;
  if (auto name = dyn_cast<NameLoc>(loc))
    return formatLocation(name.getChildLoc());
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    return formatLocation(callSite.getCaller());
  return "";
}

/// Collects the diagnostics of one call as "file:line: error: message".
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext &context)
      : handler(context.getDiagEngine().registerHandler(
            [this](Diagnostic &diag) { record(diag); })),
        context(context) {}
  ~DiagnosticCollector() { context.getDiagEngine().eraseHandler(handler); }

  [[noreturn]] void raise(const std::string &what) {
    std::string message = what;
    for (const std::string &line : lines)
      message += "\n" + line;
    throw CompileError(message);
  }

private:
  void record(Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Error &&
        diag.getSeverity() != DiagnosticSeverity::Warning)
      return;
    std::string line = formatLocation(diag.getLocation());
    line += line.empty() ? "" : ": ";
    line += diag.getSeverity() == DiagnosticSeverity::Error ? "error: "
                                                            : "warning: ";
    line += diag.str();
    for (Diagnostic &note : diag.getNotes())
      line += "\n  note: " + note.str();
    lines.push_back(std::move(line));
  }

  DiagnosticEngine::HandlerID handler;
  MLIRContext &context;
  std::vector<std::string> lines;
};

/// A strided memref descriptor of any rank, as the C interface expects it.
struct MemRefDescriptor {
  std::vector<int64_t> words;

  explicit MemRefDescriptor(py::array &array) {
    if (!(array.flags() & py::array::c_style))
      throw CompileError("arrays passed to compiled code must be C-contiguous");
    auto data = reinterpret_cast<int64_t>(array.mutable_data());
    words = {data, data, 0};
    for (py::ssize_t d = 0; d < array.ndim(); ++d)
      words.push_back(array.shape(d));
    for (py::ssize_t d = 0; d < array.ndim(); ++d)
      words.push_back(array.strides(d) / array.itemsize());
  }
};

/// Allocation failures in compiled code. memref.alloc becomes a malloc whose
/// result the code uses unchecked, so the JIT's malloc is this one: on
/// failure it returns to the innermost invocation (no destructors run in JIT
/// frames), which raises MemoryError. What the call allocated before leaks.
thread_local jmp_buf *allocationFailure = nullptr;

extern "C" void *wmCheckedMalloc(size_t size) {
  void *memory = std::malloc(size);
  if (!memory && size && allocationFailure)
    longjmp(*allocationFailure, 1);
  return memory;
}

extern "C" void *wmCheckedAlignedAlloc(size_t alignment, size_t size) {
  void *memory = std::aligned_alloc(alignment, size);
  if (!memory && size && allocationFailure)
    longjmp(*allocationFailure, 1);
  return memory;
}

/// Calls `function(args)`; false if an allocation in it failed.
bool callCatchingAllocationFailure(void (*function)(void **), void **args) {
  jmp_buf here;
  jmp_buf *outer = allocationFailure;
  allocationFailure = &here;
  bool completed = setjmp(here) == 0;
  if (completed)
    function(args);
  allocationFailure = outer;
  return completed;
}

class CpuExecutable {
public:
  CpuExecutable(std::unique_ptr<ExecutionEngine> engine, std::string entry,
                size_t arity)
      : engine(std::move(engine)), entry(std::move(entry)), arity(arity) {
    this->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap symbols;
      auto define = [&](StringRef name, auto *function) {
        symbols[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(function),
                                   llvm::JITSymbolFlags::Exported};
      };
      define("malloc", &wmCheckedMalloc);
      define("aligned_alloc", &wmCheckedAlignedAlloc);
      return symbols;
    });
  }

  /// Calls the entry point; `arrays` are its memref arguments in order
  /// (inputs, then the outputs it writes).
  void invoke(std::vector<py::array> arrays) {
    if (arrays.size() != arity)
      throw CompileError("expected " + std::to_string(arity) +
                         " arrays, got " + std::to_string(arrays.size()));
    std::vector<MemRefDescriptor> descriptors;
    descriptors.reserve(arrays.size());
    for (py::array &array : arrays)
      descriptors.emplace_back(array);
    std::vector<void *> pointers, args;
    pointers.reserve(arrays.size());
    for (MemRefDescriptor &descriptor : descriptors)
      pointers.push_back(descriptor.words.data());
    for (void *&pointer : pointers)
      args.push_back(&pointer);
    engine->initialize();
    auto function = engine->lookupPacked("_mlir_ciface_" + entry);
    if (!function)
      throw CompileError("invoking " + entry + " failed: " +
                         llvm::toString(function.takeError()));
    bool completed;
    {
      py::gil_scoped_release release;
      completed = callCatchingAllocationFailure(*function, args.data());
    }
    if (!completed)
      throw std::bad_alloc();
  }

private:
  std::unique_ptr<ExecutionEngine> engine;
  std::string entry;
  size_t arity;
};

class Context {
public:
  Context() {
    DialectRegistry registry;
    registry.insert<wm::WMDialect, wm::tile::WMTileDialect>();
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registerAllToLLVMIRTranslations(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    context.printOpOnDiagnostic(false);
  }

  /// Parses and verifies a module; returns it in canonical printed form.
  std::string verify(const std::string &text) {
    OwningOpRef<ModuleOp> module = parse(text);
    return print(*module);
  }

  /// Builds one op of `name` over operands of the given types and returns
  /// the result types it infers, or raises with the verifier's diagnostics.
  std::vector<std::string> inferOp(const std::string &name,
                                   const std::vector<std::string> &types,
                                   const std::string &attributes,
                                   const std::string &location) {
    DiagnosticCollector diagnostics(context);
    std::optional<RegisteredOperationName> opName =
        RegisteredOperationName::lookup(name, &context);
    if (!opName)
      diagnostics.raise("unknown op '" + name + "'");
    Location loc = parseLocation(location);
    OpBuilder builder(&context);
    OwningOpRef<ModuleOp> scratch = ModuleOp::create(loc);
    Block *block = new Block();
    scratch->getBodyRegion().push_back(block);
    builder.setInsertionPointToStart(block);
    OperationState state(loc, *opName);
    for (const std::string &typeText : types) {
      Type type = parseType(typeText, &context);
      if (!type)
        diagnostics.raise("invalid type '" + typeText + "'");
      state.operands.push_back(block->addArgument(type, loc));
    }
    DictionaryAttr dict = DictionaryAttr::get(&context);
    if (!attributes.empty()) {
      dict = dyn_cast_or_null<DictionaryAttr>(
          parseAttribute(attributes, &context));
      if (!dict)
        diagnostics.raise("invalid attributes '" + attributes + "'");
      state.addAttributes(dict.getValue());
    }
    auto infer = opName->getInterface<InferTypeOpInterface>();
    if (!infer)
      diagnostics.raise("op '" + name + "' does not infer its result types");
    // Inference reads inherent attributes (operand segments too) from the
    // op's properties, so build them as the op itself will hold them.
    std::vector<std::max_align_t> storage(
        opName->getOpPropertyByteSize() / sizeof(std::max_align_t) + 1);
    OpaqueProperties properties(storage.data());
    opName->initOpProperties(properties, OpaqueProperties(nullptr));
    llvm::scope_exit destroy(
        [&] { opName->destroyOpProperties(properties); });
    if (failed(opName->setOpPropertiesFromAttribute(
            *opName, properties, dict, [&] { return emitError(loc); })))
      diagnostics.raise("'" + name + "' has invalid attributes");
    SmallVector<Type> results;
    if (failed(infer->inferReturnTypes(&context, loc, state.operands, dict,
                                       properties, state.regions, results)))
      diagnostics.raise("'" + name + "' rejected its operands");
    state.addTypes(results);
    Operation *op = builder.create(state);
    if (failed(mlir::verify(op)))
      diagnostics.raise("'" + name + "' is invalid");
    std::vector<std::string> printed;
    for (Type type : results) {
      std::string text;
      llvm::raw_string_ostream os(text);
      type.print(os);
      printed.push_back(text);
    }
    return printed;
  }

  /// Runs a textual pass pipeline on the module (e.g. "wm-to-loops").
  std::string lower(const std::string &text, const std::string &pipeline) {
    OwningOpRef<ModuleOp> module = parse(text);
    DiagnosticCollector diagnostics(context);
    PassManager pm = PassManager::on<ModuleOp>(&context);
    if (failed(parsePassPipeline(pipeline, pm)))
      diagnostics.raise("invalid pass pipeline '" + pipeline + "'");
    if (failed(pm.run(*module)))
      diagnostics.raise("pass pipeline failed");
    return print(*module);
  }

  /// Compiles a module for the host and JITs it; `entry` takes `arity`
  /// memref arguments and carries llvm.emit_c_interface.
  std::unique_ptr<CpuExecutable> compileCpu(const std::string &text,
                                            const std::string &entry,
                                            size_t arity,
                                            const std::string &options) {
    OwningOpRef<ModuleOp> module = parse(text);
    DiagnosticCollector diagnostics(context);
    PassManager pm = PassManager::on<ModuleOp>(&context);
    if (failed(parsePassPipeline("wm-to-cpu{" + options + "}",
                                 pm)))
      diagnostics.raise("invalid wm-to-cpu options '" + options + "'");
    if (failed(pm.run(*module)))
      diagnostics.raise("compiling for the CPU failed");
    ExecutionEngineOptions engineOptions;
    engineOptions.transformer = makeOptimizingTransformer(
        /*optLevel=*/3, /*sizeLevel=*/0, /*targetMachine=*/nullptr);
    auto engine = ExecutionEngine::create(*module, engineOptions);
    if (!engine)
      diagnostics.raise("JIT compilation failed: " +
                        llvm::toString(engine.takeError()));
    return std::make_unique<CpuExecutable>(std::move(*engine), entry, arity);
  }

  /// Compiles a DMA entry function for the GPU; returns the launch manifest
  /// (JSON text) and the kernel image (PTX text or cubin bytes).
  std::pair<std::string, py::bytes>
  compileGpu(const std::string &text, const std::string &entry,
             const std::vector<std::string> &inputNames,
             const std::vector<std::string> &outputNames,
             const std::string &options) {
    OwningOpRef<ModuleOp> module = parse(text);
    DiagnosticCollector diagnostics(context);
    PassManager pm = PassManager::on<ModuleOp>(&context);
    if (failed(parsePassPipeline("wm-to-nvvm{" + options + "}", pm)))
      diagnostics.raise("invalid wm-to-nvvm options '" + options + "'");
    if (failed(pm.run(*module)))
      diagnostics.raise("compiling for the GPU failed");
    auto func = module->lookupSymbol<func::FuncOp>(entry);
    auto binary = module->lookupSymbol<gpu::BinaryOp>("wm_kernels");
    if (!func || !binary || binary.getObjects().size() != 1)
      diagnostics.raise("the GPU pipeline produced no kernels for '" + entry +
                        "'");
    std::vector<std::string> argNames(inputNames);
    argNames.insert(argNames.end(), outputNames.begin(), outputNames.end());
    if (argNames.size() != func.getNumArguments())
      diagnostics.raise("expected one name per argument of '" + entry + "'");
    auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
    bool isPtx = object.getFormat() == gpu::CompilationTarget::Assembly;

    llvm::json::Array buffers[3]; // inputs, outputs, scratch
    DenseMap<Value, std::string> names;
    auto spec = [](const std::string &name, Type type) {
      auto memref = cast<MemRefType>(type);
      llvm::json::Array shape;
      for (int64_t extent : memref.getShape())
        shape.push_back(extent);
      std::string dtype;
      llvm::raw_string_ostream os(dtype);
      memref.getElementType().print(os);
      return llvm::json::Object{{"name", name},
                                {"shape", std::move(shape)},
                                {"dtype", dtype}};
    };
    // The outputs are the trailing arguments, written in place.
    for (auto [index, arg] : llvm::enumerate(func.getArguments())) {
      names[arg] = argNames[index];
      buffers[index < inputNames.size() ? 0 : 1].push_back(
          spec(argNames[index], arg.getType()));
    }
    llvm::json::Array launches;
    WalkResult walk = func.walk([&](Operation *op) -> WalkResult {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        std::string name = "scratch" + std::to_string(buffers[2].size());
        names[alloc] = name;
        buffers[2].push_back(spec(name, alloc.getType()));
        return WalkResult::advance();
      }
      auto launch = dyn_cast<gpu::LaunchFuncOp>(op);
      if (!launch)
        return WalkResult::advance();
      auto dims = [&](gpu::KernelDim3 d) -> std::optional<llvm::json::Array> {
        llvm::json::Array out;
        for (Value v : {d.x, d.y, d.z}) {
          std::optional<int64_t> c = getConstantIntValue(v);
          if (!c)
            return std::nullopt;
          out.push_back(*c);
        }
        return out;
      };
      auto grid = dims(launch.getGridSizeOperandValues());
      auto block = dims(launch.getBlockSizeOperandValues());
      if (!grid || !block) {
        launch.emitError() << "launch dimensions must be constants";
        return WalkResult::interrupt();
      }
      int64_t sharedBytes = 0;
      if (Value dynamicShared = launch.getDynamicSharedMemorySize()) {
        std::optional<int64_t> bytes = getConstantIntValue(dynamicShared);
        if (!bytes) {
          launch.emitError() << "dynamic shared memory size must be a constant";
          return WalkResult::interrupt();
        }
        sharedBytes = *bytes;
      }
      llvm::json::Array args;
      for (Value operand : launch.getKernelOperands()) {
        if (!names.count(operand)) {
          launch.emitError() << "kernel operand is not a named buffer";
          return WalkResult::interrupt();
        }
        args.push_back(llvm::json::Object{{"buffer", names[operand]}});
      }
      llvm::json::Object step{{"kernel", launch.getKernelName().getValue()},
                              {"grid", std::move(*grid)},
                              {"block", std::move(*block)},
                              {"shared_bytes", sharedBytes},
                              {"args", std::move(args)}};
      if (launch->hasAttr(wm::kOverlapPreviousAttr))
        step["overlap_previous"] = true;
      launches.push_back(std::move(step));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      diagnostics.raise("the host code is not a plain launch sequence");

    std::string chip = "sm_90a";
    if (auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget()))
      chip = target.getChip().str();
    llvm::json::Object manifest{
        {"version", 1},
        {"name", entry},
        {"target", chip},
        {"binary", isPtx ? "kernels.ptx" : "kernels.cubin"},
        {"inputs", std::move(buffers[0])},
        {"outputs", std::move(buffers[1])},
        {"buffers", std::move(buffers[2])},
        {"launches", std::move(launches)}};
    std::string json;
    llvm::raw_string_ostream os(json);
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)));
    return {json, py::bytes(object.getObject().str())};
  }

private:
  OwningOpRef<ModuleOp> parse(const std::string &text) {
    DiagnosticCollector diagnostics(context);
    ParserConfig config(&context);
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(text, config, "wm.Graph");
    if (!module)
      diagnostics.raise("the graph does not parse");
    if (failed(mlir::verify(*module)))
      diagnostics.raise("the graph is invalid");
    return module;
  }

  Location parseLocation(const std::string &text) {
    if (text.empty())
      return UnknownLoc::get(&context);
    auto attr = dyn_cast_or_null<LocationAttr>(
        parseAttribute("loc(" + text + ")", &context));
    return attr ? Location(attr) : UnknownLoc::get(&context);
  }

  static std::string print(ModuleOp module) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module.print(os, OpPrintingFlags().enableDebugInfo(false));
    return text;
  }

  MLIRContext context;
};

} // namespace

PYBIND11_MODULE(_wm, m) {
  m.doc() = "WM compiler: MLIR context, verification, lowering, CPU JIT";
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  registerAllPasses();
  wm::registerWMPasses();
  wm::registerWMConversionPasses();
  wm::registerWMPipelines();

  static py::exception<CompileError> compileError(m, "CompileError",
                                                  PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const CompileError &e) {
      PyErr_SetString(compileError.ptr(), e.what());
    }
  });

  // The tensor-core kernels' tile copy plan on integers, for host tests:
  // how many times each (row, chunk) of a tile is copied.
  m.def(
      "tile_chunk_copies",
      [](int64_t rows, int64_t chunks, int64_t threads) {
        wm::TileChunks plan{rows, chunks, threads};
        wm::IntegerArith arith;
        std::vector<std::vector<int64_t>> copies(
            rows, std::vector<int64_t>(chunks, 0));
        for (int64_t step = 0; step < plan.steps(); ++step)
          for (int64_t tid = 0; tid < threads; ++tid) {
            auto [row, chunk] = plan.chunkAt(arith, step, tid);
            if (row < 0 || row >= rows || chunk < 0 || chunk >= chunks)
              throw CompileError("tile_chunk_copies: chunk out of the tile");
            ++copies[row][chunk];
          }
        return copies;
      },
      py::arg("rows"), py::arg("chunks"), py::arg("threads"));

  py::class_<CpuExecutable>(m, "CpuExecutable")
      .def("invoke", &CpuExecutable::invoke, py::arg("arrays"));
  py::class_<Context>(m, "Context")
      .def(py::init<>())
      .def("verify", &Context::verify, py::arg("text"))
      .def("infer_op", &Context::inferOp, py::arg("name"), py::arg("types"),
           py::arg("attributes"), py::arg("location"))
      .def("lower", &Context::lower, py::arg("text"), py::arg("pipeline"))
      .def("compile_cpu", &Context::compileCpu, py::arg("text"),
           py::arg("entry"), py::arg("arity"), py::arg("options") = "")
      .def("compile_gpu", &Context::compileGpu, py::arg("text"),
           py::arg("entry"), py::arg("input_names"), py::arg("output_names"),
           py::arg("options") = "");
}
