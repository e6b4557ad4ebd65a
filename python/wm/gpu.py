"""Run compiled WM artifacts on PyTorch CUDA tensors.

An artifact is a directory holding ``manifest.json`` (written by the compiler)
and the kernel image it names (PTX text or a cubin)::

    art = CompiledArtifact("out/dma_layer")
    out, lse = art(q, k, v, bias)

Manifest parsing needs neither torch nor CUDA (so it is testable anywhere);
torch and ``wm._runtime`` are imported only when an artifact meets a device.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, Union

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
DTYPE_SIZES = {"bf16": 2, "f16": 2, "f32": 4, "i32": 4, "i64": 8}
SCALAR_KINDS = ("i32", "i64", "f32", "f64")
ARG_KINDS = ("buffer",) + SCALAR_KINDS
MAX_THREADS_PER_BLOCK = 1024
_INT_RANGES = {"i32": (-(2**31), 2**31 - 1), "i64": (-(2**63), 2**63 - 1)}
_F32_MAX = 3.4028234663852886e38
_TARGET_RE = re.compile(r"sm_(\d+)(\d)([a-z]?)$")


class ManifestError(ValueError):
    """A malformed manifest; the message names the file and the field."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: Tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * DTYPE_SIZES[self.dtype]


@dataclass(frozen=True)
class Arg:
    kind: str  # one of ARG_KINDS
    value: Union[str, int, float]  # tensor name for "buffer", else the scalar


@dataclass(frozen=True)
class Launch:
    kernel: str
    grid: Tuple[int, int, int]
    block: Tuple[int, int, int]
    shared_bytes: int
    args: Tuple[Arg, ...]
    # May start while the previous launch runs (programmatic dependent
    # launch); the kernel waits for what it needs through flags.
    overlap_previous: bool = False


@dataclass(frozen=True)
class Manifest:
    version: int
    name: str
    target: str
    binary: str
    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]
    buffers: Tuple[TensorSpec, ...]  # scratch, allocated per call
    launches: Tuple[Launch, ...]

    def max_shared_bytes(self) -> Dict[str, int]:
        """Largest dynamic shared memory each kernel is launched with."""
        out: Dict[str, int] = {}
        for launch in self.launches:
            out[launch.kernel] = max(out.get(launch.kernel, 0), launch.shared_bytes)
        return out


# --- Parsing (pure Python) ---------------------------------------------------


class _Parser:
    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, msg: str):
        raise ManifestError(f"{self.source}: {path}: {msg}")

    def field(self, obj: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in obj:
            self.fail(f"{path}.{key}" if path else key, "missing required field")
        return obj[key]

    def obj(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {value!r}")
        return value

    def lst(self, value: Any, path: str) -> list:
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {value!r}")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            self.fail(path, f"expected a non-empty string, got {value!r}")
        return value

    def integer(self, value: Any, path: str, lo: int, hi: Optional[int] = None) -> int:
        # bool is an int subclass; true/false in JSON is never a valid integer.
        if not isinstance(value, int) or isinstance(value, bool) \
                or value < lo or (hi is not None and value > hi):
            rng = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
            self.fail(path, f"expected an integer {rng}, got {value!r}")
        return value

    def dims3(self, value: Any, path: str) -> Tuple[int, int, int]:
        if not isinstance(value, list) or len(value) != 3 or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
            self.fail(path, f"expected a list of 3 positive integers, got {value!r}")
        return (value[0], value[1], value[2])

    def tensor(self, value: Any, path: str) -> TensorSpec:
        value = self.obj(value, path)
        name = self.string(self.field(value, "name", path), f"{path}.name")
        shape = self.lst(self.field(value, "shape", path), f"{path}.shape")
        # Dims >= 1: an empty tensor has no device pointer to pass.
        dims = tuple(self.integer(d, f"{path}.shape[{i}]", 1) for i, d in enumerate(shape))
        dtype = self.field(value, "dtype", path)
        if dtype not in DTYPE_SIZES:
            self.fail(f"{path}.dtype",
                      f"unknown dtype {dtype!r} (expected one of {', '.join(DTYPE_SIZES)})")
        return TensorSpec(name, dims, dtype)

    def arg(self, value: Any, path: str, tensors: Mapping[str, TensorSpec]) -> Arg:
        value = self.obj(value, path)
        if len(value) != 1 or next(iter(value)) not in ARG_KINDS:
            self.fail(path, f"expected one key of {', '.join(ARG_KINDS)}, got {value!r}")
        kind, v = next(iter(value.items()))
        where = f"{path}.{kind}"
        if kind == "buffer":
            if v not in tensors:
                self.fail(where, f"unknown buffer {v!r} (declared: {', '.join(tensors)})")
        elif kind in _INT_RANGES:
            self.integer(v, where, *_INT_RANGES[kind])
        else:
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                self.fail(where, f"expected a number, got {v!r}")
            v = float(v)
            if kind == "f32" and math.isfinite(v) and abs(v) > _F32_MAX:
                self.fail(where, f"{v!r} does not fit in f32")
        return Arg(kind, v)

    def launch(self, value: Any, path: str, tensors: Mapping[str, TensorSpec]) -> Launch:
        value = self.obj(value, path)
        kernel = self.string(self.field(value, "kernel", path), f"{path}.kernel")
        grid = self.dims3(self.field(value, "grid", path), f"{path}.grid")
        block = self.dims3(self.field(value, "block", path), f"{path}.block")
        if math.prod(block) > MAX_THREADS_PER_BLOCK:
            self.fail(f"{path}.block", f"{list(block)} has {math.prod(block)} threads, "
                      f"more than {MAX_THREADS_PER_BLOCK}")
        shared = self.integer(self.field(value, "shared_bytes", path), f"{path}.shared_bytes", 0)
        args = self.lst(self.field(value, "args", path), f"{path}.args")
        overlap = value.get("overlap_previous", False)
        if not isinstance(overlap, bool):
            self.fail(f"{path}.overlap_previous", f"expected true or false, got {overlap!r}")
        return Launch(kernel, grid, block, shared, tuple(
            self.arg(a, f"{path}.args[{i}]", tensors) for i, a in enumerate(args)), overlap)


def parse_manifest(data: Any, source: str = "manifest") -> Manifest:
    """Validates a decoded manifest; raises ManifestError naming the field."""
    p = _Parser(source)
    data = p.obj(data, "<root>")
    version = p.field(data, "version", "")
    if version != MANIFEST_VERSION:
        p.fail("version", f"unsupported manifest version {version!r} "
               f"(this runtime reads version {MANIFEST_VERSION})")
    name = p.string(p.field(data, "name", ""), "name")
    target = p.string(p.field(data, "target", ""), "target")
    if not _TARGET_RE.match(target):
        p.fail("target", f"expected a GPU architecture like 'sm_90a', got {target!r}")
    binary = p.string(p.field(data, "binary", ""), "binary")
    if os.path.basename(binary) != binary or binary in (".", ".."):
        p.fail("binary", f"expected a file name inside the artifact directory, got {binary!r}")

    groups = {}
    tensors: Dict[str, TensorSpec] = {}
    for group in ("inputs", "outputs", "buffers"):
        specs = []
        for i, t in enumerate(p.lst(p.field(data, group, ""), group)):
            spec = p.tensor(t, f"{group}[{i}]")
            if spec.name in tensors:
                p.fail(f"{group}[{i}].name", f"duplicate tensor name {spec.name!r}")
            tensors[spec.name] = spec
            specs.append(spec)
        groups[group] = tuple(specs)
    if not groups["outputs"]:
        p.fail("outputs", "expected at least one output")

    launches = tuple(p.launch(l, f"launches[{i}]", tensors)
                     for i, l in enumerate(p.lst(p.field(data, "launches", ""), "launches")))
    if not launches:
        p.fail("launches", "expected at least one launch")
    if launches[0].overlap_previous:
        p.fail("launches[0].overlap_previous", "the first launch has no previous one to overlap")
    # An output no kernel receives would come back as uninitialized memory.
    passed = {a.value for l in launches for a in l.args if a.kind == "buffer"}
    for i, spec in enumerate(groups["outputs"]):
        if spec.name not in passed:
            p.fail(f"outputs[{i}]", f"output {spec.name!r} is not passed to any launch")
    return Manifest(version, name, target, binary, groups["inputs"], groups["outputs"],
                    groups["buffers"], launches)


def load_manifest(directory: Union[str, os.PathLike]) -> Manifest:
    """Reads and validates <directory>/manifest.json; checks the binary exists."""
    path = os.path.join(os.fspath(directory), MANIFEST_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file (not a compiled WM artifact?)") from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: invalid JSON: {e}") from None
    manifest = parse_manifest(data, path)
    if not os.path.isfile(os.path.join(os.fspath(directory), manifest.binary)):
        raise ManifestError(f"{path}: binary: file {manifest.binary!r} not found "
                            f"in {os.fspath(directory)}")
    return manifest


def check_target(target: str, capability: Tuple[int, int]) -> None:
    """Raises RuntimeError unless code for `target` runs on a device of
    `capability`: 'sm_90a' (arch-specific) needs exactly 9.0, 'sm_80' >= 8.0."""
    m = _TARGET_RE.match(target)
    if not m:
        raise ValueError(f"bad target {target!r}")
    want = (int(m.group(1)), int(m.group(2)))
    ok = tuple(capability) == want if m.group(3) else tuple(capability) >= want
    if not ok:
        raise RuntimeError(f"artifact built for {target} cannot run on a device of "
                           f"compute capability {capability[0]}.{capability[1]}")


# --- Running (torch + wm._runtime, imported lazily) --------------------------


def _runtime():
    try:
        from wm import _runtime as rt
    except ImportError as e:
        raise ImportError(
            "wm._runtime is not built: run `cmake -G Ninja -S . -B build -DWM_ENABLE_MLIR=OFF "
            "&& ninja -C build` and point WM_BUILD_DIR at the build directory") from e
    return rt


@functools.lru_cache(maxsize=None)
def _torch_dtypes():
    import torch
    return {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32,
            "i32": torch.int32, "i64": torch.int64}


def _dtype_name(dtype) -> str:
    for name, d in _torch_dtypes().items():
        if d == dtype:
            return name
    return str(dtype).replace("torch.", "")


SCRATCH_ALIGN = 256  # bytes between scratch buffers in the per-call arena
# The kernels read inputs in aligned vectors of up to 16 bytes (cp.async,
# 16-byte table and bias loads), so every input must start on such a boundary.
INPUT_ALIGN = 16


class _Loaded:
    """An artifact's module on one device: its kernels fetched and its
    launches checked once, as a plan whose pointer slots are the manifest's
    inputs, outputs and buffers in that order; the buffers share one
    per-call arena of `arena_bytes`, at `offsets`."""

    def __init__(self, context, module, plan, buffers):
        self.context = context
        self.module = module
        self.plan = plan
        self.offsets, self.arena_bytes = [], 0
        for spec in buffers:
            self.offsets.append(self.arena_bytes)
            self.arena_bytes += -(-spec.nbytes // SCRATCH_ALIGN) * SCRATCH_ALIGN


class CompiledArtifact:
    """A compiled WM artifact, callable on torch CUDA tensors.

    ``poison_outputs=True`` fills outputs with NaN (integers: their minimum)
    before launching, so a test can tell whether every element was written.
    """

    def __init__(self, path: Union[str, os.PathLike], *, poison_outputs: bool = False,
                 device=None):
        self.path = os.fspath(path)
        self.manifest = load_manifest(self.path)
        with open(os.path.join(self.path, self.manifest.binary), "rb") as f:
            self._image = f.read()
        self.poison_outputs = poison_outputs
        self._loaded: Dict[int, _Loaded] = {}
        self._expected = None  # [(shape, torch dtype)] per input, on first call
        if device is not None:
            self.load(device)

    def __repr__(self) -> str:
        return f"CompiledArtifact({self.manifest.name!r}, {self.path!r})"

    def load(self, device=None) -> _Loaded:
        """Loads the binary onto a CUDA device once (default: torch's current)."""
        import torch
        dev = torch.device("cuda", torch.cuda.current_device()) if device is None \
            else torch.device(device)
        if dev.type != "cuda":
            raise ValueError(f"{self.manifest.name}: expected a CUDA device, got {dev}")
        index = torch.cuda.current_device() if dev.index is None else dev.index
        if index in self._loaded:
            return self._loaded[index]

        rt = _runtime()
        # Under torch's device guard, so making the primary context current
        # does not move torch's notion of the current device.
        with torch.cuda.device(index):
            ctx = rt.Context(index)
            check_target(self.manifest.target, ctx.compute_capability)
            module = rt.Module(ctx, self._image,
                               f"{self.manifest.name}/{self.manifest.binary}")
            kernels = {}
            for name, shared in self.manifest.max_shared_bytes().items():
                kernels[name] = module.get_function(name)
                kernels[name].set_max_dynamic_shared_bytes(shared)
        m = self.manifest
        slot = {spec.name: i for i, spec in enumerate(m.inputs + m.outputs + m.buffers)}
        plan = rt.LaunchPlan(len(slot))
        for launch in m.launches:
            args = [rt.KernelArg.ptr(1) if a.kind == "buffer"
                    else getattr(rt.KernelArg, a.kind)(a.value) for a in launch.args]
            slots = [slot[a.value] if a.kind == "buffer" else -1 for a in launch.args]
            plan.add(kernels[launch.kernel], launch.grid, launch.block,
                     launch.shared_bytes, args, slots, launch.overlap_previous)
        loaded = self._loaded[index] = _Loaded(ctx, module, plan, m.buffers)
        return loaded

    def _check_inputs(self, inputs) -> Any:
        import torch
        m = self.manifest
        if len(inputs) != len(m.inputs):
            names = ", ".join(s.name for s in m.inputs)
            raise TypeError(f"{m.name}: expected {len(m.inputs)} inputs ({names}), "
                            f"got {len(inputs)}")
        rt = _runtime()
        device = None
        for spec, t in zip(m.inputs, inputs):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"input '{spec.name}': expected a torch.Tensor, "
                                f"got {type(t).__name__}")
            if t.device.type != "cuda":
                raise ValueError(f"input '{spec.name}': expected a CUDA tensor, got {t.device}")
            if device is None:
                device, first = t.device, spec.name
            elif t.device != device:
                raise ValueError(f"input '{spec.name}' is on {t.device}, "
                                 f"but input '{first}' is on {device}")
            rt.check_tensor(spec.name, spec.shape, spec.dtype, tuple(t.shape),
                            _dtype_name(t.dtype), t.stride())
            if t.data_ptr() % INPUT_ALIGN:
                raise ValueError(
                    f"input '{spec.name}': its data starts {t.data_ptr() % INPUT_ALIGN} bytes "
                    f"past a {INPUT_ALIGN}-byte boundary (storage offset {t.storage_offset()}); "
                    f"the kernels read inputs in aligned {INPUT_ALIGN}-byte vectors: pass a copy "
                    "(.clone())")
        return device if device is not None else torch.device("cuda", torch.cuda.current_device())

    def _inputs_ok(self, inputs) -> Optional[Any]:
        """The inputs' device when every input matches the manifest exactly
        (the common case, checked without crossing into C++); else None and
        _check_inputs says what is wrong."""
        import torch
        if self._expected is None:
            dtypes = _torch_dtypes()
            self._expected = [(torch.Size(s.shape), dtypes.get(s.dtype))
                              for s in self.manifest.inputs]
        if len(inputs) != len(self._expected) or not inputs:
            return None
        device = inputs[0].device if isinstance(inputs[0], torch.Tensor) else None
        if device is None or device.type != "cuda":
            return None
        for (shape, dtype), t in zip(self._expected, inputs):
            if not (isinstance(t, torch.Tensor) and t.device == device and t.shape == shape
                    and t.dtype == dtype and t.is_contiguous()
                    and t.data_ptr() % INPUT_ALIGN == 0):
                return None
        return device

    def __call__(self, *inputs):
        import torch
        m = self.manifest
        device = self._inputs_ok(inputs) or self._check_inputs(inputs)
        loaded = self.load(device)
        dtypes = _torch_dtypes()

        pointers = [t.data_ptr() for t in inputs]
        outputs = []
        for spec in m.outputs:
            t = torch.empty(spec.shape, dtype=dtypes[spec.dtype], device=device)
            if self.poison_outputs:
                t.fill_(math.nan if t.is_floating_point() else torch.iinfo(t.dtype).min)
            outputs.append(t)
            pointers.append(t.data_ptr())
        if m.buffers:
            # Nonzero pointers even for empty buffers (which take no space).
            arena = torch.empty(max(loaded.arena_bytes, SCRATCH_ALIGN), dtype=torch.uint8,
                                device=device)
            pointers += [arena.data_ptr() + o for o in loaded.offsets]

        # torch's current stream: ordered after the ops that made the inputs,
        # and the caching allocator may reuse the scratch arena once it is
        # dropped because later work on this stream runs after ours.
        loaded.plan.run(torch.cuda.current_stream(device).cuda_stream, pointers)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
