"""Keras's first import skips matplotlib in every cnnviz process (`core.lean_imports`), and matplotlib
still works afterwards for cnnviz's own figures. Each case runs in a fresh interpreter (this one has long
imported Keras)."""

from __future__ import annotations

import json
import subprocess
import sys

IMPORT_TIMEOUT_S = 300   # bounds that only catch a hang


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_keras_imports_without_matplotlib_and_figures_still_render():
    result = _run(
        "import json, sys\n"
        "from cnnviz.core.lean_imports import lean_keras_import\n"
        "lean_keras_import()\n"
        "import keras\n"
        "before = sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib')\n"
        "import numpy as np\n"
        "from cnnviz.core.figures import grid_figure\n"
        "figure = grid_figure([np.zeros((4, 4, 3), np.uint8)] * 2, 4, cell_labels=['a', 'b'], fmt='png')\n"
        "from keras.src.visualization import plot_image_gallery\n"
        "print(json.dumps({'before': before, 'png': figure.data[:8] == b'\\x89PNG\\r\\n\\x1a\\n',\n"
        "                  'keras_plt': plot_image_gallery.plt is not None, 'hook_left': any(\n"
        "                      type(f).__name__ == '_LeanKerasImport' for f in sys.meta_path)}))\n")
    assert result == {"before": [], "png": True, "keras_plt": False, "hook_left": False}


def test_without_the_hook_keras_imports_matplotlib():
    """What the hook saves: Keras on its own imports matplotlib (if this fails, Keras stopped doing so and
    `lean_keras_import` can go)."""
    result = _run("import json, sys\nimport keras\nprint(json.dumps('matplotlib.pyplot' in sys.modules))\n")
    assert result is True


def test_an_already_imported_matplotlib_is_left_to_keras():
    result = _run(
        "import json\nimport matplotlib.pyplot\n"
        "from cnnviz.core.lean_imports import lean_keras_import\nlean_keras_import()\n"
        "from keras.src.visualization import plot_image_gallery\n"
        "print(json.dumps(plot_image_gallery.plt is matplotlib.pyplot))\n")
    assert result is True
