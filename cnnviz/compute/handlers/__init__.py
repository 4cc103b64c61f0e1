"""Handler modules of the compute process, imported by `server.load_handlers()` in this order.

To add computations: write `handlers/NAME.py` with `@handler(...)` functions and add "NAME" here.
"""

HANDLER_MODULES: tuple[str, ...] = ("model", "training", "export", "attribution", "ablation", "units", "lab", "history",
                                    "kernel_edit", "adversarial", "sanity_check", "lessons", "robustness", "own_digits")
