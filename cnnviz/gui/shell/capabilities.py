"""The capabilities the window installs, in this order: one folder under `cnnviz/gui/` each, whose
`installer.py` has `install(context) -> object` (docs/ARCHITECTURE.md, "Adding a capability").

The order places their menu entries, toolbar buttons and panels: export's File entry and toolbar
button follow Open and Save; training's panels come first on the right, so the others tab with them;
lessons come last, as they drive the others (through their named operations and targets).
"""

from __future__ import annotations

import importlib

CAPABILITIES: tuple[str, ...] = ("export", "training", "models", "attribution", "history", "units", "robustness",
                                  "lab", "experiments", "handwriting", "lessons")


def install_capabilities(context, names: tuple[str, ...] | None = None) -> dict[str, object]:
    """Install each capability (default: CAPABILITIES) into `context`; name -> what its `install` returned."""
    return {name: importlib.import_module(f"cnnviz.gui.{name}.installer").install(context)
            for name in (CAPABILITIES if names is None else names)}
