"""Move it (issue 21): the prediction for an input shifted, turned and scaled, and how the maps follow a shift.

- "robustness" (quick): `core.robustness.probe_robustness` for one input on the serving copy (it follows
  the weights while training), or with `variant` on a model of the architecture lab's store (the seed
  against no-pooling shows what pooling buys). One batched forward pass of ~190 inputs. The panel shifts
  the input itself as the user drags (`core.robustness.shift_image`) and asks for its maps with `probe`.

The traced extractor of each model is kept (`state.features["robustness"]`, a few at most), so only the
first request for a model pays for tracing.
"""

from __future__ import annotations

import numpy as np

from cnnviz.compute.handlers.lab import store_of
from cnnviz.compute.registry import handler

CACHE_KEY = "robustness"
CACHED_MODELS = 4


@handler("robustness")
def robustness(state, image, variant: str | None = None, variant_path=None) -> dict:
    """`core.robustness.probe_robustness` of `image` (the model's input shape): {"result":
    RobustnessResult, "generation", "variant"}; with `variant` (a lab variant's name and the file it
    came from), on that variant: {"result": None, "missing": True, ...} when the lab has not loaded it."""
    from cnnviz.core.robustness import probe_robustness

    image = np.asarray(image, dtype=np.float32)
    if variant is not None:
        entry = store_of(state).get(variant, variant_path)
        if entry is None:
            return {"result": None, "missing": True, "generation": state.generation, "variant": variant}
        result = probe_robustness(_probe_for(state, entry.model), image)
    else:
        with state.serving() as serving:
            result = probe_robustness(_probe_for(state, serving.model), image)
    return {"result": result, "missing": False, "generation": state.generation, "variant": variant}


def _probe_for(state, model):
    """The RobustnessProbe of `model`, built on first use and kept for the CACHED_MODELS latest models."""
    from cnnviz.core.robustness import RobustnessProbe

    cache: dict = state.features.setdefault(CACHE_KEY, {})
    key = id(model)
    entry = cache.get(key)
    if entry is None or entry.model is not model:
        entry = cache[key] = RobustnessProbe(model)
        while len(cache) > CACHED_MODELS:
            cache.pop(next(iter(cache)))
    return entry
