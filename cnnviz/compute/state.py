"""What the compute process holds: the current model, its plain description, and a serving copy.

Two threads use models at the same time: the task thread (training `fit`, saving, test-set
passes) uses `state.model`; the quick thread (strokes, probes) uses the *serving copy*, a second
model of the same architecture with its own variables, so a probe never calls the model `fit` is
training (TensorFlow's predict is not thread-safe on a model being trained: tensorflow#61298).
While training, the weights reach the serving copy as snapshots: between compiled calls from the task
thread (`publish_weights`, at most every PUBLISH_INTERVAL_S), and during a call from a training step, asked
for and read by the quick thread on its timer (`offer_weights`, see `handlers/training.py`); the quick
thread copies the newest into the serving copy before its next forward pass, so what a stroke shows is
never more than about half a second behind.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from cnnviz.compute.protocol import ModelInfo
from cnnviz.core.network import LayerSpec
from cnnviz.core.training import EpochRecord

PUBLISH_INTERVAL_S = 0.15  # weights reach the serving copy at most this often while training


@dataclass
class Serving:
    """The serving copy: a Keras model with its own variables and its ActivationProbe."""

    model: object
    probe: object


@dataclass
class HeldModel:
    """One model with what belongs to it, so a run from scratch can put the previous one back."""

    model: object
    specs: list[LayerSpec]
    path: Path | None
    history: list[EpochRecord]
    class_names: list[str]
    serving: Serving


def model_layers(model) -> list:
    """The layers that have a LayerSpec (InputLayers left out), in `model.layers` order."""
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def layer_weights(model) -> list[list[np.ndarray]]:
    """Every layer's weights as numpy arrays, one list per LayerSpec."""
    return [[np.asarray(w) for w in layer.get_weights()] for layer in model_layers(model)]


def set_layer_weights(model, weights: list[list[np.ndarray]]) -> None:
    """Inverse of `layer_weights`."""
    layers = model_layers(model)
    if len(layers) != len(weights):
        raise ValueError(f"{len(weights)} weight lists for {len(layers)} layers")
    for layer, arrays in zip(layers, weights):
        layer.set_weights(arrays)


def make_serving(model) -> Serving:
    """A serving copy of `model` (same architecture, weights copied) and its traced probe."""
    import keras

    from cnnviz.core.activations import ActivationProbe

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return Serving(copy, ActivationProbe(copy))


def default_class_names(model) -> list[str]:
    """"0" … "N-1" for a model with N outputs."""
    return [str(i) for i in range(int(model.outputs[0].shape[-1]))]


class ComputeState:
    """The compute process's models and feature state (one instance per process)."""

    def __init__(self):
        self.model = None                    # the current Keras model (task thread)
        self.specs: list[LayerSpec] = []
        self.path: Path | None = None
        self.history: list[EpochRecord] = []
        self.class_names: list[str] = []
        self.generation = 0                  # +1 for every model made current
        self.features: dict = {}             # state handlers add (caches, masks, checkpoints, …)
        self.live_input: np.ndarray | None = None   # the input of the latest probe (live maps)
        # A feature's own forward pass for `probe` (filters switched off): (serving, image) -> outputs
        self.probe_variant: Callable[[Serving, np.ndarray], list[np.ndarray]] | None = None
        # A feature's change to the served weights (kernel edits), called on the serving copy whenever
        # it is held, after newer weights went in, so it lasts over training snapshots and checkpoints
        self.weights_overlay: Callable[[Serving], None] | None = None
        self._serving: Serving | None = None
        self._serving_lock = threading.RLock()
        self.training = False                # a training run is publishing weights
        self.weights_frozen = False          # …but is testing now (or about to), so they do not change
        self._pending_weights: list[np.ndarray] | None = None
        self._published_at = 0.0
        self._serving_weights_at = 0.0       # when the serving copy's weights were snapshot
        self._weights_lock = threading.Lock()
        self._idle_hooks: list[Callable[[], None]] = []
        self._idle_every: dict[Callable[[], None], float] = {}
        self.wake_quick: Callable[[], None] = lambda: None   # the server's: run the idle hooks soon

    # --- the current model (task thread) -------------------------------------------------------
    def set_model(self, model, path: Path | None = None, history=(), class_names=None,
                  serving: Serving | None = None) -> ModelInfo:
        """Make `model` current (building its serving copy unless given); its ModelInfo."""
        from cnnviz.core.network import layer_specs

        serving = serving or make_serving(model)
        specs = layer_specs(model)
        with self._serving_lock:
            self.model, self.specs = model, specs
            self.path = Path(path) if path else None
            self.history = list(history)
            self.class_names = list(class_names) if class_names else default_class_names(model)
            self._serving = serving
            with self._weights_lock:
                self._pending_weights = None
            self.generation += 1
        return self.info()

    def model_trained(self, history) -> ModelInfo:
        """The current model was trained: new history, final weights to the serving copy, a new generation."""
        self.history = list(history)
        self.publish_weights(self.require_model(), force=True)
        self.generation += 1
        return self.info()

    def hold(self) -> HeldModel | None:
        """The current model and what belongs to it (to put back later with `restore`)."""
        if self.model is None:
            return None
        return HeldModel(self.model, self.specs, self.path, self.history, self.class_names, self._serving)

    def restore(self, held: HeldModel) -> ModelInfo:
        """Make a held model current again (its serving copy is reused)."""
        return self.set_model(held.model, held.path, held.history, held.class_names, held.serving)

    def require_model(self):
        if self.model is None:
            raise RuntimeError("no model is loaded yet")
        return self.model

    def info(self, include_weights: bool = True) -> ModelInfo:
        """The current model as plain data."""
        from cnnviz.core.model_files import input_scale, non_finite_layers, output_activation

        model = self.require_model()
        weights = layer_weights(model) if include_weights else []
        return ModelInfo(
            path=self.path, name=model.name, layers=list(self.specs),
            input_shape=tuple(int(d) for d in model.inputs[0].shape[1:]), class_names=list(self.class_names),
            weights=weights, history=list(self.history),
            architecture=model.to_json(), generation=self.generation,
            output_activation=output_activation(model), input_scale=input_scale(model),
            non_finite_layers=non_finite_layers(model))   # from the weights, with or without include_weights

    # --- weights flowing from training to the serving copy --------------------------------------
    def publish_weights(self, model, force: bool = False) -> bool:
        """Snapshot `model`'s weights for the serving copy, at most every PUBLISH_INTERVAL_S
        (call between batches, on the thread that trains); True if a snapshot was taken."""
        now = time.monotonic()
        if not force and now - self._published_at < PUBLISH_INTERVAL_S:
            return False
        self.offer_weights(model.get_weights(), now)
        return True

    def offer_weights(self, weights: list[np.ndarray], taken_at: float) -> None:
        """Weights (as `model.get_weights()`) for the serving copy, no older than `taken_at` (monotonic
        seconds): from `publish_weights`, or copied by a training step while a compiled call runs
        (`core.step_recorder`, read on the quick thread). An older offer than the pending one is ignored."""
        with self._weights_lock:
            if taken_at < self._published_at and self._pending_weights is not None:
                return
            self._pending_weights = weights
            self._published_at = max(self._published_at, taken_at)
        self.wake_quick()

    def weights_published_at(self) -> float:
        return self._published_at

    # --- the serving copy (quick thread) ---------------------------------------------------------
    @contextlib.contextmanager
    def serving(self) -> Iterator[Serving]:
        """Hold the serving copy, its weights brought up to date with the newest snapshot."""
        with self._serving_lock:
            if self._serving is None:
                raise RuntimeError("no model is loaded yet")
            with self._weights_lock:
                pending, self._pending_weights = self._pending_weights, None
                taken_at = self._published_at
            if pending is not None:
                self._serving.model.set_weights(pending)
                self._serving_weights_at = taken_at
            if self.weights_overlay is not None:
                self.weights_overlay(self._serving)
            yield self._serving

    def served_copy(self):
        """A model of the serving copy's architecture holding the weights it serves right now (kernel
        edits and a scrubbed checkpoint included), for a task: the task thread never runs the serving
        copy itself. One copy per serving model, reused by later tasks."""
        import keras

        with self.serving() as serving:
            model, weights = serving.model, serving.model.get_weights()
        copy = self.model_feature("served_copy", model, keras.models.clone_model)
        copy.set_weights(weights)
        return copy

    def serving_weights_age(self) -> float | None:
        """How far the serving copy's weights are behind the model in training, in seconds: the time
        since their snapshot, or 0 while the run tests (weights unchanged since). None when no run
        is going (then they are the current model's)."""
        if not self.training:
            return None
        return 0.0 if self.weights_frozen else time.monotonic() - self._serving_weights_at

    def probe(self, image: np.ndarray) -> list[np.ndarray]:
        """Every layer's output for `image` from the serving copy (through `probe_variant` when a
        feature set one); remembers it as the live input."""
        image = np.asarray(image, dtype=np.float32)
        with self.serving() as serving:
            variant = self.probe_variant
            outputs = serving.probe(image) if variant is None else variant(serving, image)
        self.live_input = image
        return outputs

    def has_pending_weights(self) -> bool:
        with self._weights_lock:
            return self._pending_weights is not None

    def model_feature(self, key: str, model, build: Callable[[object], object]):
        """`build(model)` kept in `features[key]` while `model` is the one it was built for (a traced
        explainer of the serving copy, say): built again for another model, never for the same one."""
        entry = self.features.get(key)
        if entry is None or entry[0]() is not model:
            entry = self.features[key] = (weakref.ref(model), build(model))
        return entry[1]

    # --- work the quick thread does when it has no request ---------------------------------------
    def add_idle_hook(self, hook: Callable[[], None], every_s: float | None = None) -> None:
        """Run `hook()` on the quick thread after each round of requests and after new weights, and with
        `every_s`, also at least that often while nothing else happens (a live training run's timer)."""
        self._idle_hooks.append(hook)
        if every_s is not None:
            self._idle_every[hook] = every_s

    def remove_idle_hook(self, hook: Callable[[], None]) -> None:
        if hook in self._idle_hooks:
            self._idle_hooks.remove(hook)
        self._idle_every.pop(hook, None)

    def idle_interval(self) -> float | None:
        """How long the quick thread may wait for a request before running the idle hooks (None: forever)."""
        return min(self._idle_every.values(), default=None)

    def run_idle_hooks(self) -> None:
        for hook in list(self._idle_hooks):
            hook()
