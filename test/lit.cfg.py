# -*- Python -*-
# lit configuration of the WM test suite.

import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "WM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.wm_obj_root, "test")

# Captured FileCheck variables do not leak across CHECK-LABEL blocks.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

config.substitutions.append(("%wm_src_root", config.wm_src_root))
tool_dirs = [os.path.join(config.wm_obj_root, "bin"), config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["wm-opt"], tool_dirs)

# CPU execution tests (test/Integration/CPU) JIT the lowered IR with
# mlir-runner; printMemrefF32 lives in the runner utils, which need the C
# runner utils.
llvm_config.add_tool_substitutions(["mlir-runner"], [config.llvm_tools_dir])
llvm_lib_dir = os.path.normpath(os.path.join(config.llvm_tools_dir, os.pardir, "lib"))
shlib_ext = {"darwin": ".dylib", "win32": ".dll"}.get(sys.platform, ".so")
config.substitutions.append(
    ("%mlir_c_runner_utils", os.path.join(llvm_lib_dir, "libmlir_c_runner_utils" + shlib_ext)))
config.substitutions.append(
    ("%mlir_runner_utils", os.path.join(llvm_lib_dir, "libmlir_runner_utils" + shlib_ext)))

# Python-driven tests (test/python). use_default_substitutions() maps
# %python to lit's own interpreter, which may lack numpy and differ from the
# one the _wm extension was built for: prefer the build's Python3_EXECUTABLE.
python = getattr(config, "python_executable", None) or sys.executable
config.substitutions = [s for s in config.substitutions if s[0] != "%python"]
config.substitutions.append(("%python", '"%s"' % python))
config.environment["WM_BUILD_DIR"] = config.wm_obj_root
