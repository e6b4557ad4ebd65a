//===- RuntimeModule.cpp - Python bindings of the WM runtime --------------===//
//
// `wm._runtime`: a thin pybind11 layer over wm::rt. wm::rt::Error becomes
// wm._runtime.CudaError (a RuntimeError); TensorError becomes
// wm._runtime.TensorError, a subclass of both CudaError and ValueError, since
// a mismatched tensor is a bad argument rather than a device failure.
//
//===----------------------------------------------------------------------===//

#include "wm/Runtime/Runtime.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <string_view>
#include <vector>

namespace py = pybind11;
using namespace wm::rt;

namespace {

PyObject *tensorErrorType = nullptr; // owned by the module; lives forever

Dim3 toDim3(const std::vector<std::int64_t> &v, const char *what) {
  if (v.size() != 3)
    throw Error(std::string(what) + " must have 3 dims, got " +
                std::to_string(v.size()));
  return {v[0], v[1], v[2]};
}

// A read-only view of any C-contiguous buffer (bytes, bytearray, numpy).
class HostView {
public:
  explicit HostView(const py::object &obj) {
    if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_SIMPLE) != 0)
      throw py::error_already_set();
  }
  ~HostView() { PyBuffer_Release(&view_); }
  HostView(const HostView &) = delete;
  HostView &operator=(const HostView &) = delete;
  const void *data() const { return view_.buf; }
  std::size_t size() const { return static_cast<std::size_t>(view_.len); }

private:
  Py_buffer view_{};
};

} // namespace

PYBIND11_MODULE(_runtime, m) {
  m.doc() = "WM kernel runtime: CUDA driver API (dlopen'ed libcuda.so.1)";

  auto &cudaError =
      py::register_exception<Error>(m, "CudaError", PyExc_RuntimeError);
  const std::string qualName =
      py::str(m.attr("__name__")).cast<std::string>() + ".TensorError";
  py::tuple bases = py::make_tuple(cudaError, py::handle(PyExc_ValueError));
  tensorErrorType =
      PyErr_NewException(qualName.c_str(), bases.ptr(), /*dict=*/nullptr);
  if (!tensorErrorType)
    throw py::error_already_set();
  m.attr("TensorError") = py::handle(tensorErrorType);
  // Registered last, so it runs before the generic CudaError translator.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const TensorError &e) {
      PyErr_SetString(tensorErrorType, e.what());
    }
  });

  m.def("ensure_driver", &ensureDriver,
        "Load libcuda.so.1 and cuInit; raises CudaError if unavailable.");

  py::class_<Context>(m, "Context",
                      "A device's primary context (shared with PyTorch).")
      .def(py::init<int>(), py::arg("ordinal") = 0)
      .def_property_readonly("ordinal", &Context::ordinal)
      .def_property_readonly("max_shared_bytes_per_block_optin",
                             &Context::maxSharedBytesPerBlockOptin)
      .def_property_readonly("compute_capability",
                             [](const Context &c) {
                               auto cc = c.computeCapability();
                               return py::make_tuple(cc[0], cc[1]);
                             })
      .def("make_current", &Context::makeCurrent)
      .def("synchronize", &Context::synchronize,
           py::call_guard<py::gil_scoped_release>());

  py::class_<Kernel>(m, "Kernel")
      .def_property_readonly("name", &Kernel::name)
      .def_property_readonly("max_dynamic_shared_bytes",
                             &Kernel::maxDynamicSharedBytes)
      .def("set_max_dynamic_shared_bytes", &Kernel::setMaxDynamicSharedBytes,
           py::arg("bytes"))
      .def("__repr__", [](const Kernel &k) {
        return "<wm._runtime.Kernel '" + k.name() + "'>";
      });

  py::class_<Module>(m, "Module", "A loaded PTX or cubin image.")
      .def(py::init([](const Context &ctx, const py::bytes &image,
                       const std::string &name) {
             std::string_view data = image;
             py::gil_scoped_release release; // PTX JIT can take a while
             return Module(ctx, data.data(), data.size(), name);
           }),
           py::arg("context"), py::arg("image"), py::arg("name") = "module")
      .def_property_readonly("name", &Module::name)
      .def("get_function", &Module::getFunction, py::arg("name"));

  py::class_<KernelArg>(m, "KernelArg", "A kernel parameter passed by value.")
      .def_static("ptr", &KernelArg::pointer, py::arg("device_ptr"))
      .def_static("i32", &KernelArg::i32, py::arg("value"))
      .def_static("i64", &KernelArg::i64, py::arg("value"))
      .def_static("f32", &KernelArg::f32, py::arg("value"))
      .def_static("f64", &KernelArg::f64, py::arg("value"))
      .def("__repr__", [](const KernelArg &a) -> std::string {
        switch (a.kind) {
        case KernelArg::Kind::Ptr:
          return "KernelArg.ptr(" + std::to_string(a.value.ptr) + ")";
        case KernelArg::Kind::I32:
          return "KernelArg.i32(" + std::to_string(a.value.i32) + ")";
        case KernelArg::Kind::I64:
          return "KernelArg.i64(" + std::to_string(a.value.i64) + ")";
        case KernelArg::Kind::F32:
          return "KernelArg.f32(" + std::to_string(a.value.f32) + ")";
        case KernelArg::Kind::F64:
          return "KernelArg.f64(" + std::to_string(a.value.f64) + ")";
        }
        return "KernelArg(?)";
      });

  m.def(
      "launch",
      [](const Kernel &kernel, const std::vector<std::int64_t> &grid,
         const std::vector<std::int64_t> &block, std::int64_t sharedBytes,
         std::uintptr_t stream, const std::vector<KernelArg> &args) {
        launch(kernel, toDim3(grid, "grid"), toDim3(block, "block"),
               sharedBytes, stream, args);
      },
      py::arg("kernel"), py::arg("grid"), py::arg("block"),
      py::arg("shared_bytes") = 0, py::arg("stream") = 0,
      py::arg("args") = std::vector<KernelArg>{},
      "Launch on a CUstream handle (int; 0 = legacy default stream).");

  py::class_<LaunchPlan>(m, "LaunchPlan",
                         "Launches checked once; run() fills the pointers.")
      .def(py::init<std::size_t>(), py::arg("slot_count"))
      .def(
          "add",
          [](LaunchPlan &plan, const Kernel &kernel,
             const std::vector<std::int64_t> &grid,
             const std::vector<std::int64_t> &block, std::int64_t sharedBytes,
             std::vector<KernelArg> args, std::vector<int> slots,
             bool overlapPrevious) {
            plan.add(kernel, toDim3(grid, "grid"), toDim3(block, "block"),
                     sharedBytes, std::move(args), std::move(slots),
                     overlapPrevious);
          },
          py::arg("kernel"), py::arg("grid"), py::arg("block"),
          py::arg("shared_bytes"), py::arg("args"), py::arg("slots"),
          py::arg("overlap_previous") = false,
          "slots[i]: the pointer slot filling args[i], or -1. "
          "overlap_previous: the kernel may start while the previous step "
          "runs (programmatic dependent launch).")
      .def("run", &LaunchPlan::run, py::arg("stream"), py::arg("pointers"),
           "Launch every step on a CUstream handle, one pointer per slot.")
      .def("__len__", &LaunchPlan::size)
      .def_property_readonly("slot_count", &LaunchPlan::slotCount);

  py::class_<DeviceBuffer>(m, "DeviceBuffer", "Owned device memory (tests).")
      .def(py::init<const Context &, std::size_t>(), py::arg("context"),
           py::arg("nbytes"))
      .def_property_readonly("ptr", &DeviceBuffer::ptr)
      .def_property_readonly("size", &DeviceBuffer::size)
      .def(
          "copy_from_host",
          [](DeviceBuffer &b, const py::object &src) {
            HostView view(src);
            b.copyFromHost(view.data(), view.size());
          },
          py::arg("data"))
      .def(
          "copy_to_host",
          [](const DeviceBuffer &b) {
            std::string out(b.size(), '\0');
            b.copyToHost(out.data(), out.size());
            return py::bytes(out);
          })
      .def("memset", &DeviceBuffer::memset, py::arg("value"));

  m.def("dtype_size", &dtypeSize, py::arg("dtype"));
  m.def("check_tensor", &checkTensor, py::arg("name"),
        py::arg("expected_shape"), py::arg("expected_dtype"),
        py::arg("actual_shape"), py::arg("actual_dtype"),
        py::arg("actual_strides"),
        "Raise TensorError unless the tensor has the expected shape and "
        "dtype and is C-contiguous (strides in elements).");
}
