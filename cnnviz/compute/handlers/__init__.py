"""Handler modules of the compute process, imported by `load_handlers()` in this order.

To add computations: write `handlers/NAME.py` with `@handler(...)` functions and add "NAME" here.
"""

from __future__ import annotations

import importlib

from cnnviz.compute.registry import HANDLERS, HandlerSpec

HANDLER_MODULES: tuple[str, ...] = ("model", "training", "export", "attribution", "ablation", "units", "lab", "history")


def load_handlers() -> dict[str, HandlerSpec]:
    """Import every module of HANDLER_MODULES (registering their handlers); the registry."""
    for module in HANDLER_MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return HANDLERS
