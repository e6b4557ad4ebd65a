"""WM: a compiler for the sequence-model ops of the Wonderful Matrices models.

Build a graph, compile it, call it::

    import numpy as np, wm
    g = wm.Graph("layer")
    x = g.input((128, 256), "f32", name="x")
    w = g.input((256,), "f32", name="w")
    g.output(g.rms_norm(x, w))
    layer = g.compile(target="cpu")
    y = layer(np.random.randn(128, 256).astype(np.float32), np.ones(256, np.float32))
"""

import os as _os

# The extension modules live in the build tree: <repo>/build/python/wm, or
# $WM_BUILD_DIR/python/wm.
_build = _os.environ.get(
    "WM_BUILD_DIR",
    _os.path.join(_os.path.dirname(__file__), _os.pardir, _os.pardir, "build"))
__path__.append(_os.path.join(_os.path.abspath(_build), "python", "wm"))

from .graph import CompileError, Graph, GraphError, Tensor  # noqa: E402

__all__ = ["CompileError", "Graph", "GraphError", "Tensor"]
