//===- Runtime.h - WM kernel runtime on the CUDA driver API ---------------===//
//
// Loads compiled WM kernels (PTX or cubin) and launches them. libcuda.so.1 is
// opened with dlopen on first use, so code linking this library builds and
// runs on machines without CUDA; every driver call is checked and failures
// throw wm::rt::Error naming the call, the kernel/module, and the CUresult.
//
//===----------------------------------------------------------------------===//

#ifndef WM_RUNTIME_RUNTIME_H
#define WM_RUNTIME_RUNTIME_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wm::rt {

/// Any runtime failure: driver missing, driver call failed, bad launch.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A tensor does not match what a kernel expects (shape, dtype, layout).
class TensorError : public Error {
public:
  using Error::Error;
};

/// Loads libcuda.so.1 and calls cuInit once; throws Error if that failed.
/// Every other entry point calls this first.
void ensureDriver();

/// A device's primary context, retained for the lifetime of all copies.
/// PyTorch uses the primary context too, so both see the same memory/modules.
class Context {
public:
  explicit Context(int ordinal = 0);

  int ordinal() const;
  /// Largest dynamic shared memory a kernel may opt into (bytes).
  int maxSharedBytesPerBlockOptin() const;
  /// {major, minor}, e.g. {9, 0} on H100/H200.
  std::array<int, 2> computeCapability() const;
  /// Makes the context current on the calling thread.
  void makeCurrent() const;
  /// cuCtxSynchronize: waits for all work in the context.
  void synchronize() const;

  struct State;
  const std::shared_ptr<State> &state() const { return state_; }

private:
  std::shared_ptr<State> state_;
};

class Kernel;

/// A loaded module. `image` is PTX text or a cubin/fatbin; PTX gets the NUL
/// terminator cuModuleLoadData needs. `name` only labels error messages.
class Module {
public:
  Module(const Context &ctx, const void *image, std::size_t size,
         std::string name = "module");

  Kernel getFunction(const std::string &name) const;
  const std::string &name() const;
  const Context &context() const;

  struct State;

private:
  std::shared_ptr<State> state_;
};

/// A kernel entry point; keeps its module loaded.
class Kernel {
public:
  const std::string &name() const { return name_; }
  /// Raises the kernel's dynamic shared memory cap (needed above 48 KiB).
  void setMaxDynamicSharedBytes(int bytes);
  int maxDynamicSharedBytes() const { return maxDynamicShared_; }
  const Context &context() const;
  void *handle() const { return func_; }

private:
  friend class Module;
  Kernel(std::shared_ptr<Module::State> module, void *func, std::string name);
  std::shared_ptr<Module::State> module_;
  void *func_ = nullptr;
  std::string name_;
  int maxDynamicShared_ = 48 * 1024; // driver default without opt-in
};

/// One kernel parameter, passed by value.
struct KernelArg {
  enum class Kind { Ptr, I32, I64, F32, F64 };
  Kind kind;
  union {
    std::uint64_t ptr;
    std::int32_t i32;
    std::int64_t i64;
    float f32;
    double f64;
  } value;

  static KernelArg pointer(std::uint64_t p);
  static KernelArg i32(std::int32_t v);
  static KernelArg i64(std::int64_t v);
  static KernelArg f32(float v);
  static KernelArg f64(double v);
};

using Dim3 = std::array<std::int64_t, 3>;

/// Launches `kernel` on `stream` (0 = the legacy default stream, otherwise a
/// CUstream handle such as torch.cuda.current_stream().cuda_stream).
/// Validates dims, threads per block, shared memory and pointer args first.
void launch(const Kernel &kernel, const Dim3 &grid, const Dim3 &block,
            std::int64_t sharedBytes, std::uintptr_t stream,
            const std::vector<KernelArg> &args);

/// A fixed sequence of launches (an artifact's), checked once when built.
/// Per call only the pointer arguments change: `run` takes one device
/// pointer per slot, so an artifact call costs one crossing from Python.
class LaunchPlan {
public:
  explicit LaunchPlan(std::size_t slotCount) : slotCount_(slotCount) {}
  /// `slots[i]` is the pointer slot (below slotCount) that fills args[i], or
  /// -1 to pass args[i] as given. Every kernel must belong to one context.
  /// With `overlapPrevious` the kernel may start while the previous step
  /// runs (cuLaunchKernelEx with programmatic stream serialization, sm_90
  /// on): it must wait for that step's results itself.
  void add(const Kernel &kernel, const Dim3 &grid, const Dim3 &block,
           std::int64_t sharedBytes, std::vector<KernelArg> args,
           std::vector<int> slots, bool overlapPrevious = false);
  /// Launches every step in order on `stream`; `pointers` has one entry per
  /// slot, used or not.
  void run(std::uintptr_t stream,
           const std::vector<std::uint64_t> &pointers) const;
  std::size_t size() const { return steps_.size(); }
  std::size_t slotCount() const { return slotCount_; }

private:
  struct Step {
    Kernel kernel;
    Dim3 grid, block;
    std::int64_t sharedBytes;
    std::vector<KernelArg> args;
    std::vector<int> slots;
    bool overlapPrevious;
  };
  std::vector<Step> steps_;
  std::size_t slotCount_;
};

/// Device memory owned by this object (for tests and tools).
class DeviceBuffer {
public:
  DeviceBuffer(const Context &ctx, std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;

  std::uint64_t ptr() const { return ptr_; }
  std::size_t size() const { return size_; }
  void copyFromHost(const void *src, std::size_t bytes);
  void copyToHost(void *dst, std::size_t bytes) const;
  void memset(std::uint8_t value);

private:
  void release() noexcept;
  Context ctx_;
  std::uint64_t ptr_ = 0;
  std::size_t size_ = 0;
};

/// Element size of a WM dtype name ("bf16", "f16", "f32", "i32", "i64");
/// throws Error for anything else.
std::size_t dtypeSize(const std::string &dtype);

/// Checks a tensor against a kernel's static expectation: same shape and
/// dtype, C-contiguous (strides in elements, as torch reports them). Throws
/// TensorError, e.g. "input 'q': expected shape (1, 4096, 16, 128) bf16, got
/// (1, 4096, 16, 64) bf16".
void checkTensor(const std::string &name,
                 const std::vector<std::int64_t> &expectedShape,
                 const std::string &expectedDtype,
                 const std::vector<std::int64_t> &actualShape,
                 const std::string &actualDtype,
                 const std::vector<std::int64_t> &actualStrides);

} // namespace wm::rt

#endif // WM_RUNTIME_RUNTIME_H
