"""The explanation sanity check in the app: randomise layers, explain again, compare.

"sanity_check" (task): the core `sanity_check` on a copy of the served weights (the serving copy and
the current model are never randomised) -> {"result": core SanityResult (every step's three maps and
their Spearman scores), "generation"}; events "progress" (steps done, steps in all); cancel lands
between steps.
"""

from __future__ import annotations

import numpy as np

from cnnviz.compute.registry import Cancelled, handler


@handler("sanity_check", kind="task")
def sanity_check(state, task, image, mode: str | None = None, seed: int | None = None,
                 class_index: int | None = None, layer: str | None = None) -> dict:
    """Randomise layer by layer (`mode` "cascading" or "independent", seeded) and explain `image` again."""
    from cnnviz.core import sanity_check as core

    generation = state.generation
    model = state.served_copy()

    def progress(done: int, total: int) -> None:
        task.emit("progress", (done, total))

    try:
        result = core.sanity_check(model, np.asarray(image, np.float32), mode or core.DEFAULT_MODE,
                                   core.DEFAULT_SEED if seed is None else seed, class_index, layer,
                                   progress=progress, cancel=lambda: task.cancelled)
    except core.Cancelled as exc:
        raise Cancelled(str(exc)) from exc
    return {"result": result, "generation": generation}
