# -*- Python -*-
# lit configuration of the WM test suite.

import os

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
