"""Handler modules of the compute process, imported by `registry.load_handlers()` in this order.

To add computations: write `handlers/NAME.py` with `@handler(...)` functions and add "NAME" here.
"""

HANDLER_MODULES: tuple[str, ...] = ("model", "training", "export", "attribution", "ablation", "units", "lab", "history",
                                 "robustness", "own_digits")
