"""Where the network looks and what each filter wants: Grad-CAM, occlusion, filter patterns, top test digits.

- "gradcam" and "occlusion" are quick (milliseconds; they follow the user's strokes) and use the
  serving copy, so they work while the model trains;
- "filter_patterns" and "top_digits" are tasks on the current model, with progress events
  (`progress`: a fraction done, at most PROGRESS_HZ a second) and cancel; the core caches both on
  disk per model (the sha256 of its weights), so asking again is instant.

Every result carries the model `generation` it was computed on.
"""

from __future__ import annotations

import time

import numpy as np

from cnnviz.compute.registry import Cancelled, handler

PROGRESS_HZ = 10


@handler("gradcam")
def gradcam(state, image, layer: str | None = None, class_index: int | None = None) -> dict:
    """Grad-CAM of `image` at `layer` (default: the last conv layer) for `class_index` (default: the
    predicted class): {"result": core GradCamResult, "generation"}."""
    from cnnviz.core.gradcam import grad_cam

    with state.serving() as serving:
        result = grad_cam(serving.model, np.asarray(image, np.float32), layer, class_index)
    return {"result": result, "generation": state.generation}


@handler("occlusion")
def occlusion(state, image, class_index: int | None = None, patch: int | None = None, stride: int | None = None,
              fill: str | float | None = None) -> dict:
    """The occlusion map of `image` (patch size, stride, fill "grey"/"black" or a value; core defaults):
    {"result": core OcclusionResult, "generation"}."""
    from cnnviz.core.occlusion import DEFAULT_FILL, DEFAULT_PATCH, DEFAULT_STRIDE, FILLS, occlusion_map

    fill = DEFAULT_FILL if fill is None else fill
    value = FILLS[fill] if isinstance(fill, str) else float(fill)
    with state.serving() as serving:
        result = occlusion_map(serving.model, np.asarray(image, np.float32), class_index,
                               patch or DEFAULT_PATCH, stride or DEFAULT_STRIDE, value)
    return {"result": result, "generation": state.generation}


@handler("filter_patterns", kind="task")
def filter_patterns(state, task, layer: str, steps: int | None = None, use_cache: bool = True) -> dict:
    """Every filter's pattern of conv layer `layer` (gradient ascent, cached on disk per model):
    {"layer", "patterns" (C, H, W) float32 in [0, 1], "cached", "seconds", "generation"}."""
    from cnnviz.core import filter_patterns as core

    model = state.require_model()
    generation = state.generation
    settings = core.PatternSettings(steps=steps) if steps else core.PatternSettings()
    cached = use_cache and core.pattern_cache_path(model, layer, settings).is_file()
    started = time.perf_counter()
    try:
        patterns = core.filter_patterns(model, layer, settings, progress=_progress_events(task),
                                        cancel=lambda: task.cancelled, use_cache=use_cache)
    except core.Cancelled as exc:
        raise Cancelled(str(exc)) from exc
    return {"layer": layer, "patterns": np.asarray(patterns, np.float32), "cached": bool(cached),
            "seconds": time.perf_counter() - started, "generation": generation}


@handler("top_digits", kind="task")
def top_digits(state, task, use_cache: bool = True) -> dict:
    """For every conv and pooling layer, each channel's most exciting test digits (one batched pass over
    the test set, cached on disk per model), those digits and the patches its peak units saw:
    {"layers": {name: core TopImages}, "digits": {name: (C, k, H, W) uint8 as stored},
    "patches": {name: (C, k, h, w) float32 in [0, 1]}, "generation"}."""
    from cnnviz.compute.handlers.model import test_set
    from cnnviz.core import top_activations as core
    from cnnviz.core.network import input_shape_of

    model = state.require_model()
    generation, specs = state.generation, list(state.specs)
    images = test_set(state).x_test
    scale = 1.0 / 255.0
    try:
        tops = core.top_activations(model, images, scale=scale, progress=_progress_events(task),
                                    cancel=lambda: task.cancelled, use_cache=use_cache)
    except core.Cancelled as exc:
        raise Cancelled(str(exc)) from exc
    shape = input_shape_of(model)
    patches = {name: core.top_patches(images, top, specs, shape, scale) for name, top in tops.items()}
    digits = {name: np.asarray(images[top.indices]) for name, top in tops.items()}
    return {"layers": tops, "digits": digits, "patches": patches, "generation": generation}


def _progress_events(task):
    """A core progress callback (done, total) that sends "progress" events (fractions), throttled."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= 1.0 / PROGRESS_HZ:
            last[0] = now
            task.emit("progress", done / max(total, 1))

    return progress
