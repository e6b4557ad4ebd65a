"""Tests of the kernel runtime (wm._runtime) and the artifact loader (wm.gpu).

Manifest parsing tests always run. Extension tests skip unless wm._runtime is
built in ${WM_BUILD_DIR:-build}/python (this file builds nothing). Device
tests also need torch with a CUDA GPU; they run on the GPU machine:
  cmake -G Ninja -S . -B build-gpu -DWM_ENABLE_MLIR=OFF && ninja -C build-gpu
  WM_BUILD_DIR=build-gpu python3 -m pytest -q tests/test_runtime.py
"""

import copy
import ctypes
import glob
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC_PY = os.path.join(ROOT, "python")
BUILD_PY = os.path.join(ROOT, os.environ.get("WM_BUILD_DIR", "build"), "python")


def _setup_wm_path():
    # The package's sources and the built extension live in different trees.
    for p in (BUILD_PY, SRC_PY):
        if p not in sys.path:
            sys.path.insert(0, p)
    import wm
    ext_dir = os.path.join(BUILD_PY, "wm")
    if ext_dir not in list(wm.__path__):
        wm.__path__.append(ext_dir)


_setup_wm_path()
from wm import gpu  # noqa: E402


@pytest.fixture(scope="module")
def rt():
    if not glob.glob(os.path.join(BUILD_PY, "wm", "_runtime*.so")):
        pytest.skip(f"wm._runtime is not built in {BUILD_PY} "
                    "(cmake -G Ninja -S . -B build -DWM_ENABLE_MLIR=OFF && ninja -C build)")
    return importlib.import_module("wm._runtime")


def _have_libcuda():
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


# --- Manifest parsing (no torch, no CUDA) -----------------------------------

MANIFEST = {
    "version": 1, "name": "dma_layer", "target": "sm_90a", "binary": "kernels.cubin",
    "inputs": [{"name": "q", "shape": [1, 4096, 16, 128], "dtype": "bf16"},
               {"name": "bias", "shape": [16, 4096], "dtype": "f32"}],
    "outputs": [{"name": "out", "shape": [1, 4096, 16, 128], "dtype": "bf16"},
                {"name": "lse", "shape": [1, 16, 4096], "dtype": "f32"}],
    "buffers": [{"name": "tau", "shape": [16], "dtype": "f32"}],
    "launches": [
        {"kernel": "dma_select_kernel", "grid": [16, 1, 1], "block": [128, 1, 1],
         "shared_bytes": 0, "args": [{"buffer": "bias"}, {"buffer": "tau"}, {"i64": 4096}]},
        {"kernel": "dma_attention_kernel", "grid": [32, 16, 1], "block": [128, 1, 1],
         "shared_bytes": 100000,
         "args": [{"buffer": "q"}, {"buffer": "tau"}, {"buffer": "out"}, {"buffer": "lse"},
                  {"f32": 0.088}, {"i32": 7}, {"f64": 1.5}]},
        {"kernel": "dma_attention_kernel", "grid": [1, 1, 1], "block": [32, 1, 1],
         "shared_bytes": 512, "args": [{"buffer": "out"}]},
    ],
}


def test_parse_overlap_previous():
    """A launch may overlap the previous one (absent: it does not)."""
    data = copy.deepcopy(MANIFEST)
    data["launches"][1]["overlap_previous"] = True
    m = gpu.parse_manifest(data)
    assert not m.launches[0].overlap_previous and m.launches[1].overlap_previous


def test_parse_valid_manifest():
    m = gpu.parse_manifest(copy.deepcopy(MANIFEST))
    assert m.name == "dma_layer" and m.target == "sm_90a" and m.binary == "kernels.cubin"
    assert [s.name for s in m.inputs] == ["q", "bias"]
    assert m.inputs[0].shape == (1, 4096, 16, 128) and m.inputs[0].nbytes == 4096 * 16 * 128 * 2
    assert m.buffers[0] == gpu.TensorSpec("tau", (16,), "f32")
    l1 = m.launches[1]
    assert l1.grid == (32, 16, 1) and l1.shared_bytes == 100000
    assert [a.kind for a in l1.args] == ["buffer"] * 4 + ["f32", "i32", "f64"]
    assert m.max_shared_bytes() == {"dma_select_kernel": 0, "dma_attention_kernel": 100000}


def _set(path, value):
    """A mutation of MANIFEST: set (or delete, value=DEL) the field at `path`."""
    def mutate(d):
        *parents, last = path
        for key in parents:
            d = d[key]
        if value is DEL:
            del d[last]
        else:
            d[last] = value
    return mutate


DEL = object()
BAD_MANIFESTS = [
    (_set(["version"], DEL), "version: missing required field"),
    (_set(["version"], 2), "version: unsupported manifest version 2"),
    (_set(["name"], ""), "name: expected a non-empty string"),
    (_set(["target"], "gfx90a"), "target: expected a GPU architecture"),
    (_set(["binary"], "../kernels.cubin"), "binary: expected a file name"),
    (_set(["inputs"], {"q": 1}), "inputs: expected a list"),
    (_set(["inputs", 0, "dtype"], "f8"), "inputs[0].dtype: unknown dtype 'f8'"),
    (_set(["inputs", 1, "shape", 1], -1), "inputs[1].shape[1]: expected an integer >= 1"),
    (_set(["inputs", 1, "shape", 1], True), "inputs[1].shape[1]"),
    (_set(["outputs", 1, "name"], DEL), "outputs[1].name: missing required field"),
    (_set(["buffers", 0, "name"], "q"), "buffers[0].name: duplicate tensor name 'q'"),
    (_set(["outputs"], []), "outputs: expected at least one output"),
    (_set(["launches"], []), "launches: expected at least one launch"),
    (_set(["launches", 0, "kernel"], DEL), "launches[0].kernel: missing required field"),
    (_set(["launches", 0, "grid"], [16, 0, 1]), "launches[0].grid: expected a list of 3"),
    (_set(["launches", 0, "grid"], [16, 1]), "launches[0].grid: expected a list of 3"),
    (_set(["launches", 1, "block"], [1024, 2, 1]), "launches[1].block: [1024, 2, 1] has 2048"),
    (_set(["launches", 1, "shared_bytes"], -4), "launches[1].shared_bytes"),
    (_set(["launches", 0, "args", 0], {"buffer": "nope"}),
     "launches[0].args[0].buffer: unknown buffer 'nope'"),
    (_set(["launches", 0, "args", 2], {"u8": 1}), "launches[0].args[2]: expected one key"),
    (_set(["launches", 0, "args", 2], {"i64": 1, "i32": 2}), "launches[0].args[2]: expected one key"),
    (_set(["launches", 0, "args", 2], {"i64": 1.5}), "launches[0].args[2].i64: expected an integer"),
    (_set(["launches", 1, "args", 5], {"i32": 2**31}), "launches[1].args[5].i32"),
    (_set(["launches", 1, "args", 4], {"f32": "x"}), "launches[1].args[4].f32: expected a number"),
    (_set(["launches", 1, "args", 4], {"f32": 1e39}), "does not fit in f32"),
    (_set(["launches", 1, "args", 3], {"buffer": "tau"}), "outputs[1]: output 'lse' is not passed"),
    (_set(["launches", 1, "overlap_previous"], 1), "launches[1].overlap_previous: expected true"),
    (_set(["launches", 0, "overlap_previous"], True),
     "launches[0].overlap_previous: the first launch has no previous one"),
]


@pytest.mark.parametrize("mutate,message", BAD_MANIFESTS, ids=[m for _, m in BAD_MANIFESTS])
def test_parse_rejects_malformed(mutate, message):
    data = copy.deepcopy(MANIFEST)
    mutate(data)
    with pytest.raises(gpu.ManifestError) as e:
        gpu.parse_manifest(data, "a/manifest.json")
    assert str(e.value).startswith("a/manifest.json: ")
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)


def test_load_manifest_files(tmp_path):
    with pytest.raises(ValueError, match="manifest.json: no such file"):
        gpu.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        gpu.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST))
    with pytest.raises(ValueError, match="binary: file 'kernels.cubin' not found"):
        gpu.load_manifest(tmp_path)
    (tmp_path / "kernels.cubin").write_bytes(b"\x7fELF")
    assert gpu.load_manifest(tmp_path).name == "dma_layer"


def test_check_target():
    gpu.check_target("sm_90a", (9, 0))
    gpu.check_target("sm_80", (9, 0))
    with pytest.raises(RuntimeError, match="built for sm_90a cannot run .* 10.0"):
        gpu.check_target("sm_90a", (10, 0))
    with pytest.raises(RuntimeError, match="sm_90 cannot run"):
        gpu.check_target("sm_90", (8, 9))


def test_gpu_module_imports_without_torch(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST))
    (tmp_path / "kernels.cubin").write_bytes(b"\x7fELF")
    code = ("import sys; sys.modules['torch'] = None; sys.path.insert(0, sys.argv[1]);"
            "from wm import gpu; print(gpu.load_manifest(sys.argv[2]).launches[1].kernel)")
    r = subprocess.run([sys.executable, "-c", code, SRC_PY, str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "dma_attention_kernel"


# --- The extension, without a GPU --------------------------------------------


def test_runtime_imports(rt):
    assert issubclass(rt.CudaError, RuntimeError)
    assert issubclass(rt.TensorError, rt.CudaError) and issubclass(rt.TensorError, ValueError)
    assert rt.dtype_size("bf16") == 2 and rt.dtype_size("i64") == 8
    with pytest.raises(rt.CudaError, match="unknown dtype 'f8'"):
        rt.dtype_size("f8")


@pytest.mark.skipif(_have_libcuda(), reason="libcuda.so.1 is present here")
def test_context_without_driver(rt):
    for _ in range(2):  # the failure is remembered, never a crash
        with pytest.raises(rt.CudaError, match="CUDA driver library libcuda.so.1 not found: "):
            rt.Context(0)
    with pytest.raises(rt.CudaError, match="libcuda"):
        rt.ensure_driver()


def test_check_tensor_messages(rt):
    ok = ([1, 4096, 16, 128], "bf16")
    rt.check_tensor("q", *ok, (1, 4096, 16, 128), "bf16", (8388608, 2048, 128, 1))
    with pytest.raises(rt.TensorError) as e:
        rt.check_tensor("q", *ok, (1, 4096, 16, 64), "bf16", (4194304, 1024, 64, 1))
    assert str(e.value) == ("input 'q': expected shape (1, 4096, 16, 128) bf16, "
                            "got (1, 4096, 16, 64) bf16")
    with pytest.raises(ValueError) as e:
        rt.check_tensor("k", [5], "f32", [5], "f16", [1])
    assert str(e.value) == "input 'k': expected shape (5,) f32, got (5,) f16"
    with pytest.raises(rt.TensorError) as e:
        rt.check_tensor("v", [2, 3], "f32", [2, 3], "f32", [1, 2])  # a transpose
    assert str(e.value) == ("input 'v': expected a C-contiguous tensor of shape (2, 3), "
                            "got strides (1, 2) (call .contiguous() first)")
    with pytest.raises(rt.TensorError, match=r"expected shape \(2, 3\) f32, got \(6,\) f32"):
        rt.check_tensor("v", [2, 3], "f32", [6], "f32", [1])
    # Strides of size-1 dims do not matter (torch's notion of contiguity).
    rt.check_tensor("s", [4, 1], "i32", [4, 1], "i32", [1, 99])
    rt.check_tensor("s", [], "i64", [], "i64", [])


def test_kernel_args(rt):
    assert repr(rt.KernelArg.ptr(16)) == "KernelArg.ptr(16)"
    assert repr(rt.KernelArg.i64(-3)) == "KernelArg.i64(-3)"
    rt.KernelArg.f32(0.5), rt.KernelArg.f64(0.5), rt.KernelArg.i32(-1)
    with pytest.raises(TypeError):
        rt.KernelArg.i32(2**31)


# --- On a GPU (torch + CUDA) -------------------------------------------------

# Two hand-written kernels, so these tests need no compiler:
#   axpy_kernel(x, y, out, alpha: f32, n: i64): out[i] = alpha * x[i] + y[i]
#   stage_kernel(in, out, off: i32, n: i64): out[i] = in[i], staged through
#     dynamic shared memory at byte offset off + 4 * tid (so off near the top
#     of a >48 KiB allocation only works once the kernel's cap is raised).
PTX = r"""
.version 8.0
.target sm_90
.address_size 64

.visible .entry axpy_kernel(.param .u64 p_x, .param .u64 p_y, .param .u64 p_out,
                            .param .f32 p_alpha, .param .u64 p_n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<4>;
    .reg .f32 %f<5>;
    .reg .b64 %rd<11>;
    ld.param.u64 %rd1, [p_x];
    ld.param.u64 %rd2, [p_y];
    ld.param.u64 %rd3, [p_out];
    ld.param.f32 %f1, [p_alpha];
    ld.param.u64 %rd4, [p_n];
    cvta.to.global.u64 %rd1, %rd1;
    cvta.to.global.u64 %rd2, %rd2;
    cvta.to.global.u64 %rd3, %rd3;
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    cvt.u64.u32 %rd5, %r3;
    mad.wide.u32 %rd6, %r1, %r2, %rd5;
    setp.ge.s64 %p1, %rd6, %rd4;
    @%p1 bra DONE;
    shl.b64 %rd7, %rd6, 2;
    add.s64 %rd8, %rd1, %rd7;
    ld.global.f32 %f2, [%rd8];
    add.s64 %rd9, %rd2, %rd7;
    ld.global.f32 %f3, [%rd9];
    fma.rn.f32 %f4, %f1, %f2, %f3;
    add.s64 %rd10, %rd3, %rd7;
    st.global.f32 [%rd10], %f4;
DONE:
    ret;
}

.extern .shared .align 16 .b8 smem[];

.visible .entry stage_kernel(.param .u64 p_in, .param .u64 p_out, .param .u32 p_off,
                             .param .u64 p_n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<8>;
    .reg .f32 %f<2>;
    .reg .b64 %rd<9>;
    ld.param.u64 %rd1, [p_in];
    ld.param.u64 %rd2, [p_out];
    ld.param.u32 %r4, [p_off];
    ld.param.u64 %rd3, [p_n];
    cvta.to.global.u64 %rd1, %rd1;
    cvta.to.global.u64 %rd2, %rd2;
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    cvt.u64.u32 %rd4, %r3;
    mad.wide.u32 %rd5, %r1, %r2, %rd4;
    setp.ge.s64 %p1, %rd5, %rd3;
    @%p1 bra DONE;
    shl.b64 %rd6, %rd5, 2;
    add.s64 %rd7, %rd1, %rd6;
    ld.global.f32 %f1, [%rd7];
    mov.u32 %r5, smem;
    shl.b32 %r6, %r3, 2;
    add.u32 %r6, %r6, %r4;
    add.u32 %r6, %r6, %r5;
    st.shared.f32 [%r6], %f1;
    ld.shared.f32 %f1, [%r6];
    add.s64 %rd8, %rd2, %rd6;
    st.global.f32 [%rd8], %f1;
DONE:
    ret;
}
"""

N = 1000  # not a multiple of the block, so bounds checks matter
BIG_SHARED = 100 * 1024


def _artifact_manifest(binary):
    n, blocks = N, (N + 255) // 256
    f32 = lambda name: {"name": name, "shape": [N], "dtype": "f32"}  # noqa: E731
    return {
        "version": 1, "name": "axpy_stage", "target": "sm_90", "binary": binary,
        "inputs": [f32("x"), f32("y")],
        "outputs": [f32("out"), f32("x_copy")],
        "buffers": [f32("tmp")],
        "launches": [
            {"kernel": "axpy_kernel", "grid": [blocks, 1, 1], "block": [256, 1, 1],
             "shared_bytes": 0,
             "args": [{"buffer": "x"}, {"buffer": "y"}, {"buffer": "tmp"}, {"f32": 2.5},
                      {"i64": n}]},
            {"kernel": "stage_kernel", "grid": [blocks, 1, 1], "block": [256, 1, 1],
             "shared_bytes": BIG_SHARED,
             "args": [{"buffer": "tmp"}, {"buffer": "out"}, {"i32": BIG_SHARED - 1024},
                      {"i64": n}]},
            {"kernel": "stage_kernel", "grid": [blocks, 1, 1], "block": [256, 1, 1],
             "shared_bytes": 1024,
             "args": [{"buffer": "x"}, {"buffer": "x_copy"}, {"i32": 0}, {"i64": n}]},
        ],
    }


@pytest.fixture(scope="module")
def cuda(rt):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.cuda.init()
    return torch


@pytest.fixture
def artifact_dir(tmp_path):
    (tmp_path / "kernels.ptx").write_text(PTX)
    (tmp_path / "manifest.json").write_text(json.dumps(_artifact_manifest("kernels.ptx")))
    return tmp_path


def test_context_and_buffers(rt, cuda):
    ctx = rt.Context(0)
    major, minor = ctx.compute_capability
    assert major >= 7 and ctx.max_shared_bytes_per_block_optin > 48 * 1024
    buf = rt.DeviceBuffer(ctx, 64)
    buf.copy_from_host(bytes(range(64)))
    assert buf.copy_to_host() == bytes(range(64))
    buf.memset(7)
    assert buf.copy_to_host() == b"\x07" * 64
    with pytest.raises(rt.CudaError, match="cuMemcpyHtoD: 65 bytes exceed the buffer's 64"):
        buf.copy_from_host(bytes(65))
    with pytest.raises(rt.CudaError, match=r"cuDeviceGet\(device 4096\): CUDA_ERROR_INVALID_DEVICE"):
        rt.Context(4096)


def test_module_launch_and_errors(rt, cuda):
    import numpy as np
    ctx = rt.Context(0)
    mod = rt.Module(ctx, PTX.encode(), "handwritten")
    axpy = mod.get_function("axpy_kernel")
    assert axpy.name == "axpy_kernel"
    x = np.arange(N, dtype=np.float32)
    y = np.full(N, 3.0, dtype=np.float32)
    bx, by, bo = (rt.DeviceBuffer(ctx, 4 * N) for _ in range(3))
    bx.copy_from_host(x)
    by.copy_from_host(y)
    args = [rt.KernelArg.ptr(bx.ptr), rt.KernelArg.ptr(by.ptr), rt.KernelArg.ptr(bo.ptr),
            rt.KernelArg.f32(0.5), rt.KernelArg.i64(N)]
    rt.launch(axpy, (4, 1, 1), (256, 1, 1), 0, 0, args)
    ctx.synchronize()
    np.testing.assert_array_equal(np.frombuffer(bo.copy_to_host(), np.float32), 0.5 * x + y)

    def launch_in_fresh_thread():  # no context is current here until the runtime sets one
        bo.memset(0)
        rt.launch(axpy, (4, 1, 1), (256, 1, 1), 0, 0, args)
        ctx.synchronize()
        np.testing.assert_array_equal(np.frombuffer(bo.copy_to_host(), np.float32), 0.5 * x + y)
    _in_thread(launch_in_fresh_thread)

    def launch_error(grid=(4, 1, 1), block=(256, 1, 1), shared=0, a=args, kernel=axpy):
        with pytest.raises(rt.CudaError) as e:
            rt.launch(kernel, grid, block, shared, 0, a)
        return str(e.value)

    assert launch_error(grid=(0, 1, 1)).startswith("cuLaunchKernel(axpy_kernel): grid (0, 1, 1)")
    assert "has 2048 threads, more than 1024" in launch_error(block=(1024, 2, 1))
    assert "block must have 3 dims" in launch_error(block=(256, 1))
    assert "argument 1 is a null device pointer" in launch_error(
        a=[args[0], rt.KernelArg.ptr(0)] + args[2:])
    stage = mod.get_function("stage_kernel")
    assert "call setMaxDynamicSharedBytes first" in launch_error(kernel=stage, shared=BIG_SHARED)
    assert "the device's opt-in limit" in launch_error(
        kernel=stage, shared=ctx.max_shared_bytes_per_block_optin + 1)

    with pytest.raises(rt.CudaError) as e:
        mod.get_function("nope")
    assert str(e.value) == ("cuModuleGetFunction(nope in handwritten): "
                            "CUDA_ERROR_NOT_FOUND: named symbol not found")
    with pytest.raises(rt.CudaError) as e:
        rt.Module(ctx, PTX.replace("fma.rn.f32", "fma.bogus.f32").encode(), "broken")
    assert str(e.value).startswith("cuModuleLoadData(broken): CUDA_ERROR_INVALID_PTX")
    assert "fma.bogus" in str(e.value) or "ptxas" in str(e.value)  # the JIT's log


def test_launch_plan(rt, cuda):
    import numpy as np
    ctx = rt.Context(0)
    axpy = rt.Module(ctx, PTX.encode(), "handwritten").get_function("axpy_kernel")
    x = np.arange(N, dtype=np.float32)
    bufs = [rt.DeviceBuffer(ctx, 4 * N) for _ in range(3)]
    bufs[0].copy_from_host(x)
    bufs[1].copy_from_host(np.ones(N, np.float32))
    placeholder = rt.KernelArg.ptr(1)
    args = [placeholder] * 3 + [rt.KernelArg.f32(2.0), rt.KernelArg.i64(N)]
    plan = rt.LaunchPlan(4)  # slot 3 unused, as a buffer no launch of a plan reads
    plan.add(axpy, (4, 1, 1), (256, 1, 1), 0, args, [0, 1, 2, -1, -1])
    plan.add(axpy, (4, 1, 1), (256, 1, 1), 0, args, [2, 1, 2, -1, -1])  # in place
    assert len(plan) == 2 and plan.slot_count == 4
    plan.run(0, [b.ptr for b in bufs] + [bufs[0].ptr])
    ctx.synchronize()
    np.testing.assert_array_equal(np.frombuffer(bufs[2].copy_to_host(), np.float32),
                                  2 * (2 * x + 1) + 1)

    def plan_error(fn):
        with pytest.raises(rt.CudaError) as e:
            fn()
        return str(e.value)
    assert "expected 4 device pointers, got 2" in plan_error(lambda: plan.run(0, [1, 2]))
    assert "argument 1 is a null device pointer" in plan_error(
        lambda: plan.run(0, [bufs[0].ptr, 0, bufs[2].ptr, 1]))
    assert "has slot 4, outside [-1, 4)" in plan_error(
        lambda: plan.add(axpy, (4, 1, 1), (256, 1, 1), 0, args, [0, 1, 4, -1, -1]))
    assert "only pointer arguments take a slot" in plan_error(
        lambda: plan.add(axpy, (4, 1, 1), (256, 1, 1), 0, args, [0, 1, 2, 3, -1]))
    assert "4 slots for 5 arguments" in plan_error(
        lambda: plan.add(axpy, (4, 1, 1), (256, 1, 1), 0, args, [0, 1, 2, -1]))
    assert "grid (0, 1, 1) out of range" in plan_error(
        lambda: plan.add(axpy, (0, 1, 1), (256, 1, 1), 0, args, [0, 1, 2, -1, -1]))
    assert len(plan) == 2  # a refused step is not added


def _check_artifact(torch, art):
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(N, device="cuda", generator=g)
    y = torch.randn(N, device="cuda", generator=g)
    out, x_copy = art(x, y)
    torch.testing.assert_close(out, 2.5 * x + y)
    assert torch.equal(x_copy, x)


def test_artifact_runs(rt, cuda, artifact_dir):
    torch = cuda
    art = gpu.CompiledArtifact(artifact_dir, poison_outputs=True)
    _check_artifact(torch, art)
    assert len(art._loaded) == 1  # loaded once, reused
    _check_artifact(torch, art)
    assert len(art._loaded) == 1
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):  # launches follow torch's current stream
        _check_artifact(torch, art)
    torch.cuda.synchronize()
    # Another thread: its own current stream and (torch-set) context.
    _in_thread(_check_artifact, torch, art)


def _in_thread(fn, *args):
    errors = []
    thread = threading.Thread(target=_run_catching, args=(errors, fn) + args)
    thread.start()
    thread.join()
    assert not errors, errors[0]


def _run_catching(errors, fn, *args):
    try:
        fn(*args)
    except BaseException as e:  # noqa: B036 - reported by the main thread
        errors.append(e)


def test_artifact_cubin(rt, cuda, artifact_dir):
    ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
    if not os.path.exists(ptxas):
        pytest.skip("ptxas not found")
    cubin = artifact_dir / "kernels.cubin"
    subprocess.run([ptxas, "-arch=sm_90", "-o", str(cubin), str(artifact_dir / "kernels.ptx")],
                   check=True)
    (artifact_dir / "manifest.json").write_text(json.dumps(_artifact_manifest("kernels.cubin")))
    _check_artifact(cuda, gpu.CompiledArtifact(artifact_dir))


def test_artifact_rejects_bad_inputs(rt, cuda, artifact_dir):
    torch = cuda
    art = gpu.CompiledArtifact(artifact_dir)
    x = torch.zeros(N, device="cuda")
    with pytest.raises(TypeError, match=r"expected 2 inputs \(x, y\), got 1"):
        art(x)
    with pytest.raises(rt.TensorError, match=r"input 'y': expected shape \(1000,\) f32, "
                                             r"got \(999,\) f32"):
        art(x, x[:999])
    with pytest.raises(rt.TensorError, match=r"input 'y': .* got \(1000,\) bf16"):
        art(x, x.bfloat16())
    with pytest.raises(rt.TensorError, match="input 'x': expected a C-contiguous"):
        art(torch.zeros(2 * N, device="cuda")[::2], x)
    with pytest.raises(ValueError, match="input 'x': expected a CUDA tensor, got cpu"):
        art(x.cpu(), x)
    with pytest.raises(TypeError, match="input 'y': expected a torch.Tensor"):
        art(x, [0.0] * N)
    # Contiguous, but 4 bytes past a 16-byte boundary.
    with pytest.raises(ValueError, match="input 'y': its data starts 4 bytes past a 16-byte"):
        art(x, torch.zeros(N + 1, device="cuda")[1:])


def test_poison_catches_unwritten_outputs(rt, cuda, artifact_dir):
    torch = cuda
    data = _artifact_manifest("kernels.ptx")
    data["launches"][2]["grid"] = [1, 1, 1]  # covers only the first 256 elements
    (artifact_dir / "manifest.json").write_text(json.dumps(data))
    x = torch.ones(N, device="cuda")
    _, x_copy = gpu.CompiledArtifact(artifact_dir, poison_outputs=True)(x, x)
    assert not torch.isnan(x_copy[:256]).any() and torch.isnan(x_copy[256:]).all()
    assert math.isnan(float(x_copy[-1]))
