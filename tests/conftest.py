# Make `import tests.reference` and `import wm` (the package in python/, whose
# extension modules live in the build tree) work from a source checkout.
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (_ROOT, os.path.join(_ROOT, "python")):
    if path not in sys.path:
        sys.path.insert(0, path)
