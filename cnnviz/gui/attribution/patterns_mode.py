"""The Patterns view of a conv layer: for each filter, the 28×28 input that excites it most, in the grid.

The patterns come from gradient ascent in the compute process (the "filter_patterns" task: a
progress bar with Cancel where the grid is, while it runs), cached on disk per model by the core,
so asking again, even after a restart, is instant; here they are kept per model generation and
layer. A pattern is *one* input a filter likes, pushed to extremes: the top test digits
(`top_digits.py`) show what excites it in real digits. Patterns are not computed while the model
trains (its weights are still changing); they are asked for again when training ends.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6.QtCore import Signal

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.colormaps import lookup_table
from cnnviz.gui.widgets.task_progress import TaskProgress
from cnnviz.gui.widgets.layer_modes import LayerMode, Tiles

PATTERN_COLORMAP = "gray"   # patterns are inputs: shown as the model sees them, 0 black, 1 white


@dataclass
class _Job:
    """A pattern computation of one layer (of one model generation)."""

    generation: int
    request: int | None = None      # the request id while it runs
    fraction: float | None = None   # progress; None until it started
    error: str = ""                 # why it failed or stopped ("" while running or done)


class PatternsMode(LayerMode):
    """Each conv filter's pattern as a tile (see the module docstring)."""

    name = "patterns"
    label = "Patterns"
    tooltip = ("The input that excites each filter most, found by gradient ascent "
               "(computed once per model, then cached)")

    patterns_ready = Signal(str)   # the layer (name) whose patterns arrived

    def __init__(self, inspector, client, steps: int | None = None, use_cache: bool = True):
        super().__init__(inspector)
        self._inspector = inspector
        self._client = client
        self.steps = steps             # gradient-ascent steps (None: the core's default)
        self.use_cache = use_cache     # False: compute again even if the disk cache has them (tests)
        self._patterns: dict[tuple[int, str], np.ndarray] = {}   # (generation, layer) -> (C, H, W)
        self._jobs: dict[str, _Job] = {}                          # layer -> its latest computation
        self._progress = TaskProgress()
        self._progress.cancel_clicked.connect(self._on_cancel_clicked)
        self._progress.start_clicked.connect(self._on_start_clicked)
        self.is_training: Callable[[], bool] = lambda: False     # the window says
        self.last_seconds: float | None = None                   # how long the last computation took

    # --- LayerMode -----------------------------------------------------------------------------
    def applies_to(self, layer) -> bool:
        return "Conv" in layer.kind and layer.is_spatial

    def tiles(self, layer: int) -> Tiles | None:
        name = self._name(layer)
        patterns = self.patterns(name) if name else None
        if patterns is None:
            if name:
                self.compute(name, again=False)
            return None
        levels = np.tile(np.array([[0.0, 1.0]], np.float32), (len(patterns), 1))
        return Tiles(patterns, levels, lookup_table(PATTERN_COLORMAP), "input value", PATTERN_COLORMAP)

    def message(self, layer: int) -> str:
        return "Each filter's pattern appears here once it has been found."

    def placeholder(self, layer: int) -> TaskProgress:
        self._show_progress(self._name(layer))
        return self._progress

    def enlarged(self, layer: int, channel: int) -> tuple[np.ndarray, str] | None:
        """The selected filter's pattern, enlarged beside the grid."""
        name = self._name(layer)
        pattern = self.pattern(name, channel)
        if pattern is None:
            return None
        return pattern, f"<b>{name}</b> filter <b>{channel}</b> of {len(self.patterns(name))} · its pattern"

    def describe_tile(self, layer: int, channel: int, y: int, x: int) -> str:
        patterns = self.patterns(self._name(layer))
        value = f"  ·  input value {patterns[channel, y, x]:.3f}" if patterns is not None else ""
        return f"filter {channel}'s pattern  ·  x {x}, y {y}{value}  (click for its top digits)"

    # --- patterns ------------------------------------------------------------------------------
    def patterns(self, layer: str | None) -> np.ndarray | None:
        """(C, H, W) patterns of `layer` for the current model, if found."""
        generation = self._generation()
        return None if generation is None or layer is None else self._patterns.get((generation, layer))

    def pattern(self, layer: str | None, channel: int) -> np.ndarray | None:
        found = self.patterns(layer)
        return None if found is None or not 0 <= channel < len(found) else found[channel]

    def is_running(self, layer: str) -> bool:
        job = self._jobs.get(layer)
        return job is not None and job.request is not None

    def compute(self, layer: str, again: bool = True) -> None:
        """Find `layer`'s patterns (a task in the compute process) unless known or on their way;
        after a failure or cancel only when asked `again`."""
        generation = self._generation()
        if generation is None or self._client is None or self.patterns(layer) is not None:
            return
        job = self._jobs.get(layer)
        if job is not None and job.generation == generation and (job.request is not None or not again):
            return
        if self.is_training():
            self._jobs[layer] = _Job(generation, error="Filter patterns are found once training has finished "
                                                       "(the weights are still changing).")
            self._show_progress(layer)
            return
        job = self._jobs[layer] = _Job(generation)
        args = {"layer": layer, "use_cache": self.use_cache}
        if self.steps:
            args["steps"] = self.steps
        job.request = self._client.request(
            "filter_patterns", args, on_reply=functools.partial(self._on_result, layer, job),
            on_error=functools.partial(self._on_failed, layer, job),
            on_event=functools.partial(self._on_event, layer, job))
        self._show_progress(layer)

    def cancel(self, layer: str) -> None:
        """Stop `layer`'s computation (its reply says it was cancelled)."""
        job = self._jobs.get(layer)
        if job is not None and job.request is not None and self._client is not None:
            self._client.cancel(job.request)

    def set_client(self, client) -> None:
        self._client = client
        self._jobs.clear()

    def training_finished(self) -> None:
        """The weights are still again: layers that waited are computed now (if shown)."""
        for layer, job in list(self._jobs.items()):
            if job.request is None and "training" in job.error:
                del self._jobs[layer]
        self.changed.emit()

    def progress_widget(self) -> TaskProgress:
        return self._progress

    # --- replies -------------------------------------------------------------------------------
    def _on_event(self, layer: str, job: _Job, kind: str, payload) -> None:
        if kind == "progress":
            job.fraction = float(payload)
            self._show_progress(layer)

    def _on_result(self, layer: str, job: _Job, result: dict) -> None:
        job.request = None
        self._patterns[(result["generation"], layer)] = np.ascontiguousarray(result["patterns"], np.float32)
        self.last_seconds = float(result.get("seconds", 0.0))
        if self._jobs.get(layer) is job:
            del self._jobs[layer]
        self.patterns_ready.emit(layer)
        self.changed.emit()

    def _on_failed(self, layer: str, job: _Job, error: ComputeError) -> None:
        job.request = None
        if error.cancelled:
            job.error = f"Finding {layer}'s patterns was cancelled."
        elif error.crashed:
            job.error = f"The compute process stopped while finding {layer}'s patterns."
        else:
            job.error = f"Could not find {layer}'s patterns: {error.message}"
        self._show_progress(layer)

    # --- the place holder ----------------------------------------------------------------------
    def _show_progress(self, layer: str | None) -> None:
        """The place holder tells how the current layer's patterns are coming along."""
        if layer is None or layer != self._name(self._inspector.current_layer()):
            return
        job = self._jobs.get(layer)
        if job is None or job.generation != self._generation():
            self._progress.show_idle(f"{layer}'s filter patterns have not been found yet.", "Find the patterns")
        elif job.request is not None:
            count = self._channels(layer)
            self._progress.show_running(f"Finding the input that excites each of the {count} filters of {layer} "
                                        f"most (gradient ascent, cached afterwards)…", job.fraction)
        else:
            retry = "" if "training" in job.error else "Try again"
            self._progress.show_idle(job.error, retry)

    def _on_cancel_clicked(self) -> None:
        name = self._name(self._inspector.current_layer())
        if name:
            self.cancel(name)

    def _on_start_clicked(self) -> None:
        name = self._name(self._inspector.current_layer())
        if name:
            self.compute(name)

    # --- the model -----------------------------------------------------------------------------
    def _generation(self) -> int | None:
        model = self._inspector.model()
        return None if model is None else model.generation

    def _name(self, layer: int) -> str | None:
        names = self._inspector.layer_names()
        return names[layer] if 0 <= layer < len(names) else None

    def _channels(self, layer: str) -> int:
        model = self._inspector.model()
        for spec in (model.layers if model is not None else []):
            if spec.name == layer:
                return int(spec.output_shape[-1])
        return 0
