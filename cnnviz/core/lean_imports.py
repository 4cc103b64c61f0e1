"""Keras's first import without matplotlib: `lean_keras_import()`, first thing in every process entry.

`import keras` runs two modules of `keras.visualization` (image and bounding-box galleries) that import
matplotlib at module level, guarded by `except ImportError` ("plotting needs matplotlib"). cnnviz never
calls them, but that import (matplotlib, its pyplot and a backend) adds ~0.4–0.9 s to every
`import keras`, the compute process's first maps included (measured on 2 AMD EPYC cores: `import keras`
3.99–4.68 s without it, 4.83–5.98 s with it, three interleaved runs each under load).

`lean_keras_import()` installs an import hook that runs just those two modules with matplotlib hidden, so
their guard takes its "not installed" branch; matplotlib stays importable for everything else (cnnviz's
figures import it when an export needs it). The only effect on Keras: its gallery plotting functions
say matplotlib is missing. When matplotlib is already imported, nothing is hidden (nothing to save).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

# Keras modules that import matplotlib at import time, only for functions cnnviz does not call.
KERAS_PLOTTING_MODULES = ("keras.src.visualization.plot_image_gallery",
                          "keras.src.visualization.plot_bounding_box_gallery")
HIDDEN_MODULES = ("matplotlib", "matplotlib.pyplot", "matplotlib.patches")


def lean_keras_import() -> None:
    """Let Keras's first import skip matplotlib (see the module docstring). Idempotent."""
    if not any(isinstance(finder, _LeanKerasImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LeanKerasImport())


class _LeanKerasImport(importlib.abc.MetaPathFinder):
    """Gives each KERAS_PLOTTING_MODULES module a loader that runs it with matplotlib hidden."""

    def __init__(self):
        self._waiting = set(KERAS_PLOTTING_MODULES)

    def find_spec(self, name, path=None, target=None):
        if name not in self._waiting:
            return None
        self._waiting.discard(name)
        if not self._waiting and self in sys.meta_path:
            sys.meta_path.remove(self)   # both found: out of every later import's way
        spec = importlib.util.find_spec(name)   # the other finders' (this one no longer waits for it)
        if spec is not None and spec.loader is not None:
            spec.loader = _WithoutMatplotlib(spec.loader)
        return spec


class _WithoutMatplotlib(importlib.abc.Loader):
    """The real loader, run while `import matplotlib…` raises ImportError (unless it is already imported)."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = module.__loader__ = self.loader
        hidden = [name for name in HIDDEN_MODULES if name not in sys.modules] if "matplotlib" not in sys.modules else []
        for name in hidden:
            sys.modules[name] = None   # `import name` raises ImportError
        try:
            self.loader.exec_module(module)
        finally:
            for name in hidden:
                if sys.modules.get(name, 0) is None:
                    del sys.modules[name]
