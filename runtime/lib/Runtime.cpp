//===- Runtime.cpp - WM kernel runtime on the CUDA driver API -------------===//
//
// The driver API types and entry points used here are declared locally and
// resolved from libcuda.so.1 with dlopen, so this file needs no CUDA headers
// and the library works (by throwing Error) on machines without a driver.
//
//===----------------------------------------------------------------------===//

#include "wm/Runtime/Runtime.h"

#include <dlfcn.h>

#include <cstring>
#include <type_traits>
#include <utility>

namespace wm::rt {
namespace {

// --- The slice of the driver API we use (values from cuda.h, stable ABI). ---
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;

/// cuda.h's CUlaunchAttribute: an id, padding to 8 bytes, a 64-byte union
/// (of which we set `programmaticStreamSerializationAllowed`, an int).
struct CUlaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    int programmaticStreamSerializationAllowed;
  } value;
};
static_assert(sizeof(CUlaunchAttribute) == 72, "cuda.h's layout");

/// cuda.h's CUlaunchConfig.
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};
static_assert(sizeof(CUlaunchConfig) == 56, "cuda.h's layout");

constexpr const char *kDriverLib = "libcuda.so.1";

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxGetCurrent)(CUcontext *);
  CUresult (*cuCtxSynchronize)();
  // The Ex variant so a PTX JIT failure can report ptxas's error log.
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **,
                               void **);
  CUresult (*cuMemAlloc)(CUdeviceptr *, std::size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, std::size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, std::size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, std::size_t);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
};

struct LoadedDriver {
  Driver api{};
  std::string error; // non-empty: loading or cuInit failed
};

std::string resultText(const Driver &d, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName && d.cuGetErrorName(r, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (d.cuGetErrorString && d.cuGetErrorString(r, &text) != CUDA_SUCCESS)
    text = nullptr;
  return (name ? std::string(name) : "CUDA_ERROR_" + std::to_string(r)) +
         ": " + (text ? text : "unknown error");
}

LoadedDriver loadDriver() {
  LoadedDriver out;
  // Never dlclose: objects may call into the driver until process exit.
  void *lib = dlopen(kDriverLib, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    out.error = std::string("CUDA driver library ") + kDriverLib +
                " not found: " + (why ? why : "unknown dlopen error");
    return out;
  }
  Driver &d = out.api;
  auto resolve = [&](auto &fn, const char *symbol) {
    if (!out.error.empty())
      return;
    void *p = dlsym(lib, symbol);
    if (!p)
      out.error = std::string("CUDA driver library ") + kDriverLib +
                  " has no symbol " + symbol + " (driver too old?)";
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  resolve(d.cuGetErrorName, "cuGetErrorName");
  resolve(d.cuGetErrorString, "cuGetErrorString");
  resolve(d.cuInit, "cuInit");
  resolve(d.cuDeviceGet, "cuDeviceGet");
  resolve(d.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  resolve(d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  resolve(d.cuCtxSetCurrent, "cuCtxSetCurrent");
  resolve(d.cuCtxGetCurrent, "cuCtxGetCurrent");
  resolve(d.cuCtxSynchronize, "cuCtxSynchronize");
  resolve(d.cuModuleLoadDataEx, "cuModuleLoadDataEx");
  resolve(d.cuModuleUnload, "cuModuleUnload");
  resolve(d.cuModuleGetFunction, "cuModuleGetFunction");
  resolve(d.cuFuncSetAttribute, "cuFuncSetAttribute");
  resolve(d.cuLaunchKernel, "cuLaunchKernel");
  resolve(d.cuLaunchKernelEx, "cuLaunchKernelEx");
  resolve(d.cuMemAlloc, "cuMemAlloc_v2");
  resolve(d.cuMemFree, "cuMemFree_v2");
  resolve(d.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  resolve(d.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  resolve(d.cuMemsetD8, "cuMemsetD8_v2");
  if (!out.error.empty())
    return out;
  if (CUresult r = d.cuInit(0); r != CUDA_SUCCESS)
    out.error = "cuInit: " + resultText(d, r);
  return out;
}

const Driver &driver() {
  // Thread-safe, once; leaked so destructors running at exit can still use it.
  static const LoadedDriver *loaded = new LoadedDriver(loadDriver());
  if (!loaded->error.empty())
    throw Error(loaded->error);
  return loaded->api;
}

void check(CUresult r, const std::string &what) {
  if (r != CUDA_SUCCESS)
    throw Error(what + ": " + resultText(driver(), r));
}

std::string quoted(const std::string &s) { return "(" + s + ")"; }

} // namespace

void ensureDriver() { (void)driver(); }

// --- Context ----------------------------------------------------------------

struct Context::State {
  int ordinal = 0;
  CUdevice device = 0;
  CUcontext ctx = nullptr;
  int maxSharedOptin = 0;
  std::array<int, 2> cc{0, 0};

  ~State() {
    // Drop our reference; PyTorch (or others) may still hold the context.
    if (ctx)
      (void)driver().cuDevicePrimaryCtxRelease(device);
  }
};

namespace {
// Makes a context current for one operation and restores the caller's, so
// work from any thread lands in the right context without side effects.
class CurrentContext {
public:
  explicit CurrentContext(const Context::State &s) {
    const Driver &d = driver();
    check(d.cuCtxGetCurrent(&prev_), "cuCtxGetCurrent");
    if (prev_ != s.ctx) {
      check(d.cuCtxSetCurrent(s.ctx), "cuCtxSetCurrent");
      restore_ = true;
    }
  }
  ~CurrentContext() {
    if (restore_)
      (void)driver().cuCtxSetCurrent(prev_);
  }
  CurrentContext(const CurrentContext &) = delete;
  CurrentContext &operator=(const CurrentContext &) = delete;

private:
  CUcontext prev_ = nullptr;
  bool restore_ = false;
};
} // namespace

Context::Context(int ordinal) {
  const Driver &d = driver();
  auto s = std::make_shared<State>();
  s->ordinal = ordinal;
  std::string dev = "device " + std::to_string(ordinal);
  check(d.cuDeviceGet(&s->device, ordinal), "cuDeviceGet" + quoted(dev));
  check(d.cuDevicePrimaryCtxRetain(&s->ctx, s->device),
        "cuDevicePrimaryCtxRetain" + quoted(dev));
  auto attr = [&](int which, const char *label) {
    int v = 0;
    check(d.cuDeviceGetAttribute(&v, which, s->device),
          std::string("cuDeviceGetAttribute(") + label + ", " + dev + ")");
    return v;
  };
  s->maxSharedOptin = attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                           "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN");
  s->cc = {attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                "COMPUTE_CAPABILITY_MAJOR"),
           attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                "COMPUTE_CAPABILITY_MINOR")};
  check(d.cuCtxSetCurrent(s->ctx), "cuCtxSetCurrent" + quoted(dev));
  state_ = std::move(s);
}

int Context::ordinal() const { return state_->ordinal; }
int Context::maxSharedBytesPerBlockOptin() const {
  return state_->maxSharedOptin;
}
std::array<int, 2> Context::computeCapability() const { return state_->cc; }

void Context::makeCurrent() const {
  check(driver().cuCtxSetCurrent(state_->ctx), "cuCtxSetCurrent");
}

void Context::synchronize() const {
  CurrentContext current(*state_);
  check(driver().cuCtxSynchronize(), "cuCtxSynchronize");
}

// --- Module / Kernel --------------------------------------------------------

struct Module::State {
  Context ctx;
  CUmodule module = nullptr;
  std::string name;

  explicit State(Context c) : ctx(std::move(c)) {}
  ~State() {
    if (!module)
      return;
    try {
      CurrentContext current(*ctx.state());
      (void)driver().cuModuleUnload(module);
    } catch (const Error &) {
      // Destructors must not throw; at exit the driver may already be gone.
    }
  }
};

Module::Module(const Context &ctx, const void *image, std::size_t size,
               std::string name) {
  const Driver &d = driver();
  auto s = std::make_shared<State>(ctx);
  s->name = std::move(name);
  const std::string what = "cuModuleLoadData" + quoted(s->name);
  if (!image || size == 0)
    throw Error(what + ": empty module image");

  // ELF (cubin) and fatbin images carry their own size; anything else is PTX
  // text, which the driver reads up to a NUL terminator.
  const auto *bytes = static_cast<const unsigned char *>(image);
  const bool elf = size >= 4 && std::memcmp(bytes, "\x7f" "ELF", 4) == 0;
  const bool fatbin = size >= 4 && bytes[0] == 0x50 && bytes[1] == 0xed &&
                      bytes[2] == 0x55 && bytes[3] == 0xba;
  std::vector<unsigned char> data(bytes, bytes + size);
  if (!elf && !fatbin && data.back() != 0)
    data.push_back(0);

  CurrentContext current(*ctx.state());
  char log[8192] = {0};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log))};
  CUresult r = d.cuModuleLoadDataEx(&s->module, data.data(), 2, options, values);
  if (r != CUDA_SUCCESS) {
    s->module = nullptr;
    std::string msg = what + ": " + resultText(d, r);
    log[sizeof(log) - 1] = 0;
    if (log[0])
      msg += "\n" + std::string(log);
    throw Error(msg);
  }
  state_ = std::move(s);
}

const std::string &Module::name() const { return state_->name; }
const Context &Module::context() const { return state_->ctx; }

Kernel Module::getFunction(const std::string &name) const {
  CUfunction fn = nullptr;
  check(driver().cuModuleGetFunction(&fn, state_->module, name.c_str()),
        "cuModuleGetFunction(" + name + " in " + state_->name + ")");
  return Kernel(state_, fn, name);
}

Kernel::Kernel(std::shared_ptr<Module::State> module, void *func,
               std::string name)
    : module_(std::move(module)), func_(func), name_(std::move(name)) {}

const Context &Kernel::context() const { return module_->ctx; }

void Kernel::setMaxDynamicSharedBytes(int bytes) {
  const std::string what = "cuFuncSetAttribute(" + name_ +
                           ", MAX_DYNAMIC_SHARED_SIZE_BYTES=" +
                           std::to_string(bytes) + ")";
  const int limit = module_->ctx.maxSharedBytesPerBlockOptin();
  if (bytes < 0 || bytes > limit)
    throw Error(what + ": must be in [0, " + std::to_string(limit) +
                "], the device's opt-in shared memory limit");
  CurrentContext current(*module_->ctx.state());
  check(driver().cuFuncSetAttribute(static_cast<CUfunction>(func_),
                                    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                    bytes),
        what);
  maxDynamicShared_ = bytes;
}

// --- Launch -----------------------------------------------------------------

KernelArg KernelArg::pointer(std::uint64_t p) {
  KernelArg a{Kind::Ptr, {}};
  a.value.ptr = p;
  return a;
}
KernelArg KernelArg::i32(std::int32_t v) {
  KernelArg a{Kind::I32, {}};
  a.value.i32 = v;
  return a;
}
KernelArg KernelArg::i64(std::int64_t v) {
  KernelArg a{Kind::I64, {}};
  a.value.i64 = v;
  return a;
}
KernelArg KernelArg::f32(float v) {
  KernelArg a{Kind::F32, {}};
  a.value.f32 = v;
  return a;
}
KernelArg KernelArg::f64(double v) {
  KernelArg a{Kind::F64, {}};
  a.value.f64 = v;
  return a;
}

namespace {
std::string dimsText(const Dim3 &d) {
  return "(" + std::to_string(d[0]) + ", " + std::to_string(d[1]) + ", " +
         std::to_string(d[2]) + ")";
}

std::string launchName(const Kernel &kernel) {
  return "cuLaunchKernel(" + kernel.name() + ")";
}

/// The checks that do not depend on the argument values.
void checkLaunchShape(const Kernel &kernel, const Dim3 &grid, const Dim3 &block,
                      std::int64_t sharedBytes) {
  auto fail = [&](const std::string &why) {
    throw Error(launchName(kernel) + ": " + why);
  };
  // Hardware limits (all CUDA GPUs since sm_30); checked here for clear text.
  static constexpr Dim3 kMaxGrid{2147483647, 65535, 65535};
  static constexpr Dim3 kMaxBlock{1024, 1024, 64};
  for (int i = 0; i < 3; ++i) {
    if (grid[i] <= 0 || grid[i] > kMaxGrid[i])
      fail("grid " + dimsText(grid) + " out of range (each dim in [1, " +
           dimsText(kMaxGrid) + "])");
    if (block[i] <= 0 || block[i] > kMaxBlock[i])
      fail("block " + dimsText(block) + " out of range (each dim in [1, " +
           dimsText(kMaxBlock) + "])");
  }
  if (block[0] * block[1] * block[2] > 1024)
    fail("block " + dimsText(block) + " has " +
         std::to_string(block[0] * block[1] * block[2]) +
         " threads, more than 1024");
  const int optin = kernel.context().maxSharedBytesPerBlockOptin();
  if (sharedBytes < 0 || sharedBytes > optin)
    fail("dynamic shared memory " + std::to_string(sharedBytes) +
         " bytes outside [0, " + std::to_string(optin) +
         "], the device's opt-in limit");
  if (sharedBytes > kernel.maxDynamicSharedBytes())
    fail("dynamic shared memory " + std::to_string(sharedBytes) +
         " bytes exceeds the kernel's cap of " +
         std::to_string(kernel.maxDynamicSharedBytes()) +
         "; call setMaxDynamicSharedBytes first");
}

/// cuLaunchKernel in the caller's current context, after the null-pointer
/// check; it takes one pointer per parameter, to the value to copy.
void enqueue(const Kernel &kernel, const Dim3 &grid, const Dim3 &block,
             std::int64_t sharedBytes, std::uintptr_t stream,
             const std::vector<KernelArg> &args, bool overlapPrevious = false) {
  std::vector<void *> params(args.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].kind == KernelArg::Kind::Ptr && args[i].value.ptr == 0)
      throw Error(launchName(kernel) + ": argument " + std::to_string(i) +
                  " is a null device pointer");
    params[i] = const_cast<void *>(static_cast<const void *>(&args[i].value));
  }
  if (overlapPrevious) {
    CUlaunchAttribute overlap{};
    overlap.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    overlap.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config{static_cast<unsigned>(grid[0]),
                          static_cast<unsigned>(grid[1]),
                          static_cast<unsigned>(grid[2]),
                          static_cast<unsigned>(block[0]),
                          static_cast<unsigned>(block[1]),
                          static_cast<unsigned>(block[2]),
                          static_cast<unsigned>(sharedBytes),
                          reinterpret_cast<CUstream>(stream),
                          &overlap,
                          1};
    check(driver().cuLaunchKernelEx(
              &config, static_cast<CUfunction>(kernel.handle()),
              params.empty() ? nullptr : params.data(), nullptr),
          "cuLaunchKernelEx(" + kernel.name() + ", overlapping the previous)");
    return;
  }
  check(driver().cuLaunchKernel(
            static_cast<CUfunction>(kernel.handle()),
            static_cast<unsigned>(grid[0]), static_cast<unsigned>(grid[1]),
            static_cast<unsigned>(grid[2]), static_cast<unsigned>(block[0]),
            static_cast<unsigned>(block[1]), static_cast<unsigned>(block[2]),
            static_cast<unsigned>(sharedBytes),
            reinterpret_cast<CUstream>(stream),
            params.empty() ? nullptr : params.data(), nullptr),
        launchName(kernel));
}
} // namespace

void launch(const Kernel &kernel, const Dim3 &grid, const Dim3 &block,
            std::int64_t sharedBytes, std::uintptr_t stream,
            const std::vector<KernelArg> &args) {
  checkLaunchShape(kernel, grid, block, sharedBytes);
  CurrentContext current(*kernel.context().state());
  enqueue(kernel, grid, block, sharedBytes, stream, args);
}

// --- LaunchPlan -------------------------------------------------------------

void LaunchPlan::add(const Kernel &kernel, const Dim3 &grid, const Dim3 &block,
                     std::int64_t sharedBytes, std::vector<KernelArg> args,
                     std::vector<int> slots, bool overlapPrevious) {
  checkLaunchShape(kernel, grid, block, sharedBytes);
  if (slots.size() != args.size())
    throw Error(launchName(kernel) + ": " + std::to_string(slots.size()) +
                " slots for " + std::to_string(args.size()) + " arguments");
  if (!steps_.empty() &&
      steps_.front().kernel.context().state() != kernel.context().state())
    throw Error(launchName(kernel) + ": a plan's kernels share one context");
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (slots[i] >= 0 && args[i].kind != KernelArg::Kind::Ptr)
      throw Error(launchName(kernel) + ": argument " + std::to_string(i) +
                  " has slot " + std::to_string(slots[i]) +
                  "; only pointer arguments take a slot");
    if (slots[i] < -1 || slots[i] >= static_cast<int>(slotCount_))
      throw Error(launchName(kernel) + ": argument " + std::to_string(i) +
                  " has slot " + std::to_string(slots[i]) + ", outside [-1, " +
                  std::to_string(slotCount_) + ")");
  }
  if (overlapPrevious && steps_.empty())
    throw Error(launchName(kernel) +
                ": the first step has no previous one to overlap");
  steps_.push_back({kernel, grid, block, sharedBytes, std::move(args),
                    std::move(slots), overlapPrevious});
}

void LaunchPlan::run(std::uintptr_t stream,
                     const std::vector<std::uint64_t> &pointers) const {
  if (pointers.size() != slotCount_)
    throw Error("launch plan: expected " + std::to_string(slotCount_) +
                " device pointers, got " + std::to_string(pointers.size()));
  if (steps_.empty())
    return;
  CurrentContext current(*steps_.front().kernel.context().state());
  for (const Step &step : steps_) {
    std::vector<KernelArg> args = step.args;
    for (std::size_t i = 0; i < args.size(); ++i)
      if (step.slots[i] >= 0)
        args[i].value.ptr = pointers[step.slots[i]];
    enqueue(step.kernel, step.grid, step.block, step.sharedBytes, stream, args,
            step.overlapPrevious);
  }
}

// --- DeviceBuffer -----------------------------------------------------------

DeviceBuffer::DeviceBuffer(const Context &ctx, std::size_t bytes)
    : ctx_(ctx), size_(bytes) {
  if (bytes == 0)
    return; // cuMemAlloc rejects 0; an empty buffer has a null pointer
  CurrentContext current(*ctx_.state());
  CUdeviceptr p = 0;
  check(driver().cuMemAlloc(&p, bytes),
        "cuMemAlloc(" + std::to_string(bytes) + " bytes)");
  ptr_ = p;
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept
    : ctx_(other.ctx_), ptr_(std::exchange(other.ptr_, 0)),
      size_(std::exchange(other.size_, 0)) {}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    release();
    ctx_ = other.ctx_;
    ptr_ = std::exchange(other.ptr_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  if (!ptr_)
    return;
  try {
    CurrentContext current(*ctx_.state());
    (void)driver().cuMemFree(ptr_);
  } catch (const Error &) {
    // Destructors must not throw; at exit the driver may already be gone.
  }
  ptr_ = 0;
}

namespace {
void checkCopySize(const char *call, std::size_t bytes, std::size_t size) {
  if (bytes > size)
    throw Error(std::string(call) + ": " + std::to_string(bytes) +
                " bytes exceed the buffer's " + std::to_string(size));
}
} // namespace

void DeviceBuffer::copyFromHost(const void *src, std::size_t bytes) {
  checkCopySize("cuMemcpyHtoD", bytes, size_);
  if (bytes == 0)
    return;
  CurrentContext current(*ctx_.state());
  check(driver().cuMemcpyHtoD(ptr_, src, bytes), "cuMemcpyHtoD");
}

void DeviceBuffer::copyToHost(void *dst, std::size_t bytes) const {
  checkCopySize("cuMemcpyDtoH", bytes, size_);
  if (bytes == 0)
    return;
  CurrentContext current(*ctx_.state());
  check(driver().cuMemcpyDtoH(dst, ptr_, bytes), "cuMemcpyDtoH");
}

void DeviceBuffer::memset(std::uint8_t value) {
  if (size_ == 0)
    return;
  CurrentContext current(*ctx_.state());
  check(driver().cuMemsetD8(ptr_, value, size_), "cuMemsetD8");
}

// --- Tensor checks (pure, no driver) ----------------------------------------

std::size_t dtypeSize(const std::string &dtype) {
  if (dtype == "bf16" || dtype == "f16")
    return 2;
  if (dtype == "f32" || dtype == "i32")
    return 4;
  if (dtype == "i64")
    return 8;
  throw Error("unknown dtype '" + dtype + "' (expected bf16, f16, f32, i32 or i64)");
}

namespace {
// Python tuple syntax, as torch users read shapes: (), (5,), (1, 2).
// No iostreams: with a static libstdc++ (as on the GPU machine's toolchain)
// they crash once another module has loaded the shared one (numpy does).
std::string tupleText(const std::vector<std::int64_t> &v) {
  std::string s = "(";
  for (std::size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}
} // namespace

void checkTensor(const std::string &name,
                 const std::vector<std::int64_t> &expectedShape,
                 const std::string &expectedDtype,
                 const std::vector<std::int64_t> &actualShape,
                 const std::string &actualDtype,
                 const std::vector<std::int64_t> &actualStrides) {
  const std::string who = "input '" + name + "': ";
  if (expectedShape != actualShape || expectedDtype != actualDtype)
    throw TensorError(who + "expected shape " + tupleText(expectedShape) + " " +
                      expectedDtype + ", got " + tupleText(actualShape) + " " +
                      actualDtype);
  if (actualStrides.size() != actualShape.size())
    throw TensorError(who + "got " + std::to_string(actualStrides.size()) +
                      " strides for a rank-" +
                      std::to_string(actualShape.size()) + " tensor");
  // C-contiguous as torch defines it: strides of size-1 dims don't matter,
  // and an empty tensor is contiguous.
  std::int64_t expected = 1;
  bool empty = false;
  for (std::int64_t s : actualShape)
    empty |= s == 0;
  for (std::size_t i = actualShape.size(); i-- > 0 && !empty;) {
    if (actualShape[i] != 1 && actualStrides[i] != expected)
      throw TensorError(who + "expected a C-contiguous tensor of shape " +
                        tupleText(actualShape) + ", got strides " +
                        tupleText(actualStrides) +
                        " (call .contiguous() first)");
    expected *= actualShape[i];
  }
}

} // namespace wm::rt
