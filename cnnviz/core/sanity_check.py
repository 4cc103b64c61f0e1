"""The sanity check for explanations (Adebayo et al., 2018): does a map change when the model forgets?

Randomise the model's weights layer by layer and explain the same input again: an explanation that
depends on what the model learned must change; one that still looks the same was showing the input,
not the model. Modes:

- **cascading** (the paper's): from the top down, the output layer first, then each layer below it
  as well, until every layer with weights is random; step k has the top k layers randomised
  (`randomised_down_to` names the lowest of them);
- **independent**: one layer at a time, every other layer keeping its trained weights.

A randomised layer's weights are re-initialised as Keras would before training: each weight by the
layer's own initializer (`kernel_initializer`, `bias_initializer`, …; Glorot-uniform kernels and
zero biases in the seed model), seeded from (`seed`, the layer's place), so both modes draw the same
random weights for a layer and a run can be repeated. A weight with no initializer of its own is
drawn from a normal distribution with its trained mean and standard deviation.

Three explanations of one class (the class the trained model predicts, unless told), recomputed at
every step on a copy of the model (the model itself is never changed):
- Grad-CAM (`core.gradcam.GradCam`, the last conv layer unless told);
- occlusion (`core.occlusion.occlusion_map`, patch 6, stride 2, grey);
- the plain gradient (Simonyan et al., 2014): |∂ score / ∂ pixel| of the class's pre-softmax score,
  the largest over colour channels.
The similarity of each map to the trained model's is Spearman's rank correlation over the input's
pixels (Grad-CAM upsampled to the input's size as the overlay shows it; ties get their average
rank; None when either map is constant, as a ReLU'd Grad-CAM of a random model can be).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

MODES = ("cascading", "independent")
METHODS = ("gradcam", "occlusion", "gradient")
DEFAULT_MODE = "cascading"
DEFAULT_SEED = 0


class Cancelled(Exception):
    """The caller's `cancel()` said stop."""


@dataclass(frozen=True)
class SanityStep:
    """One step: which layers are random, each method's map, and its similarity to the original map."""

    layer: str                            # the layer this step randomises (cascading: the lowest random one)
    randomised: tuple[str, ...]           # every layer random at this step, top first
    maps: dict[str, np.ndarray]           # method -> (H, W) map
    spearman: dict[str, float | None]     # method -> rank correlation with the trained model's map


@dataclass(frozen=True)
class SanityResult:
    """The trained model's maps, then one SanityStep per randomised layer."""

    mode: str
    seed: int
    class_index: int                      # the class explained
    predicted: int                        # the trained model's prediction
    gradcam_layer: str | None
    original: dict[str, np.ndarray]       # method -> the trained model's (H, W) map
    steps: tuple[SanityStep, ...]
    skipped: dict[str, str]               # method -> why it does not apply to this model


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1…n of the flattened `values`, tied values sharing the mean of their ranks."""
    values = np.asarray(values, np.float64).ravel()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman(first: np.ndarray, second: np.ndarray) -> float | None:
    """Spearman's rank correlation of two equally sized maps (None when either is constant or not finite)."""
    a, b = np.asarray(first, np.float64).ravel(), np.asarray(second, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"maps of {a.size} and {b.size} values cannot be compared")
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    ra, rb = average_ranks(a), average_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float(np.clip((ra @ rb) / np.sqrt((ra @ ra) * (rb @ rb)), -1.0, 1.0))


def randomisable_layers(model) -> list[str]:
    """Names of the layers that have weights, from the output down."""
    from cnnviz.core.network import model_layers

    return [layer.name for layer in reversed(model_layers(model)) if layer.weights]


def layer_seed(seed: int, layer_index: int) -> int:
    """The seed of one layer's draw, from the run's seed and the layer's place in the model."""
    return int(np.random.SeedSequence([int(seed), int(layer_index)]).generate_state(1)[0])


def randomise_layer(model, name: str, seed: int) -> None:
    """Re-initialise every weight of layer `name` in place (as the module docstring says)."""
    layer = model.get_layer(name)
    index = [item.name for item in model.layers].index(name)
    rng = np.random.default_rng(layer_seed(seed, index))
    for variable in layer.weights:
        shape = tuple(int(d) for d in variable.shape)
        initializer = _seeded_initializer(layer, variable, int(rng.integers(2**31 - 1)))
        if initializer is not None:
            values = np.asarray(initializer(shape, dtype=variable.dtype))
        else:
            trained = variable.numpy().astype(np.float64)
            values = rng.normal(trained.mean(), trained.std(), shape)
        variable.assign(np.asarray(values, dtype=variable.numpy().dtype))


def _seeded_initializer(layer, variable, seed: int):
    """The layer's initializer for `variable` (e.g. `kernel_initializer` for "kernel"), seeded; None if none."""
    name = variable.name.split("/")[-1].split(":")[0]
    candidates = [f"{name}_initializer", f"{name.replace('_kernel', '')}_initializer"]
    if name == "kernel" and hasattr(layer, "depthwise_initializer"):
        candidates.insert(0, "depthwise_initializer")
    initializer = next((getattr(layer, c) for c in candidates if getattr(layer, c, None) is not None), None)
    if initializer is None or not callable(initializer):
        return None
    config = initializer.get_config()
    if "seed" in config:
        initializer = type(initializer).from_config({**config, "seed": seed})
    return initializer


class _Explainers:
    """The three explanations on one working copy, traced once (the copy's weights change in place)."""

    def __init__(self, model, gradcam_layer: str | None, occlusion: dict):
        import tensorflow as tf

        from cnnviz.core.class_scores import batch_logits, class_head
        from cnnviz.core.gradcam import GradCam
        from cnnviz.core.layer_choice import LayerChoiceError, default_conv_layer
        from cnnviz.core.network import input_shape_of, layer_specs

        self.model = model
        self.input_shape = tuple(input_shape_of(model))
        self.skipped: dict[str, str] = {}
        self.gradcam = None
        try:
            layer = gradcam_layer or default_conv_layer(layer_specs(model))
            self.gradcam = GradCam(model, layer)
        except LayerChoiceError as exc:
            if gradcam_layer is not None:
                raise
            self.skipped["gradcam"] = f"Grad-CAM needs a layer with maps: {exc}"
        head = class_head(model)
        spec = tf.TensorSpec((None, *self.input_shape), tf.float32)
        self._probabilities = tf.function(lambda batch: tf.nn.softmax(batch_logits(model, batch, head)),
                                          input_signature=[spec], autograph=False)

        def score_gradient(batch, class_index):
            with tf.GradientTape() as tape:
                tape.watch(batch)
                score = batch_logits(model, batch, head)[:, class_index]
            return tape.gradient(score, batch)

        self._score_gradient = tf.function(score_gradient, input_signature=[spec, tf.TensorSpec((), tf.int32)],
                                           autograph=False)
        self.occlusion = occlusion

    def maps(self, image: np.ndarray, class_index: int) -> dict[str, np.ndarray]:
        """Each method's (H, W) map of `class_index` for `image`, with the copy's weights as they are now."""
        from cnnviz.core.gradcam import upsample
        from cnnviz.core.occlusion import occlusion_map

        height, width = self.input_shape[:2]
        maps = {}
        if self.gradcam is not None:
            maps["gradcam"] = upsample(self.gradcam(image, class_index).heatmap, height, width)
        maps["occlusion"] = occlusion_map(self.model, image, class_index, predict=self.probabilities,
                                          **self.occlusion).pixel_map
        maps["gradient"] = self.gradient(image, class_index)
        return maps

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self._probabilities(np.asarray(batch, np.float32)).numpy()

    def gradient(self, image: np.ndarray, class_index: int) -> np.ndarray:
        """|∂ score / ∂ pixel|, the largest over colour channels: (H, W)."""
        batch = np.asarray(image, np.float32).reshape(1, *self.input_shape)
        gradient = self._score_gradient(batch, np.int32(class_index)).numpy()[0]
        return np.abs(gradient).max(axis=-1).astype(np.float32)


def sanity_check(model, image: np.ndarray, mode: str = DEFAULT_MODE, seed: int = DEFAULT_SEED,
                 class_index: int | None = None, gradcam_layer: str | None = None, occlusion: dict | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> SanityResult:
    """Explain `image` (the model's input shape and units) with the trained and the randomised models.

    `occlusion` overrides occlusion_map's keyword arguments (patch, stride, fill); `progress(done,
    total)` is called after each step; `cancel()` returning True stops with Cancelled.
    """
    import keras

    if mode not in MODES:
        raise ValueError(f"the mode must be one of {', '.join(MODES)}, not {mode!r}")
    layers = randomisable_layers(model)
    if not layers:
        raise ValueError("the model has no layer with weights to randomise")
    working = keras.models.clone_model(model)
    trained = model.get_weights()
    working.set_weights(trained)
    explainers = _Explainers(working, gradcam_layer, dict(occlusion or {}))
    image = np.asarray(image, np.float32).reshape(explainers.input_shape)
    predicted = int(np.argmax(explainers.probabilities(image[None])[0]))
    if class_index is None:
        class_index = predicted
    elif not 0 <= class_index < int(model.outputs[0].shape[-1]):
        raise ValueError(f"class must be from 0 to {int(model.outputs[0].shape[-1]) - 1}, not {class_index}")
    original = explainers.maps(image, class_index)
    steps = []
    for k, name in enumerate(layers):
        if cancel is not None and cancel():
            raise Cancelled("the sanity check was cancelled")
        if mode == "independent":
            working.set_weights(trained)
        randomise_layer(working, name, seed)
        maps = explainers.maps(image, class_index)
        randomised = tuple(layers[:k + 1]) if mode == "cascading" else (name,)
        steps.append(SanityStep(name, randomised, maps, {m: spearman(original[m], maps[m]) for m in maps}))
        if progress is not None:
            progress(k + 1, len(layers))
    return SanityResult(mode, int(seed), int(class_index), predicted, None if explainers.gradcam is None else
                        explainers.gradcam.layer, original, tuple(steps), explainers.skipped)
