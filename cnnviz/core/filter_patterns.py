"""Filter patterns: for each filter of a layer, an input that excites it strongly (gradient ascent).

Every filter's image starts from small random noise around grey and climbs the gradient of that
filter's mean activation with respect to the image (Erhan et al., 2009; Chollet, *Deep Learning
with Python*, 5.4.2). All C filters of a layer climb together: one batch of images, one gradient
step updates all of them (image i only affects filter i mod C's objective). So that the patterns
are readable and every filter gets somewhere:

- each image's gradient is normalised (the same step length for weak and strong filters);
- the image is shifted by up to a pixel before each step and shifted back (jitter), which stops
  single-pixel tricks; every few steps a light blur and a small pull towards grey remove noise;
  values stay in the model's input range [0, 1];
- the mean of a ReLU's output has no gradient where the ReLU is off, so a smooth version is
  climbed instead: softplus of the pre-activation, with a softness of twice its spread over the
  map, which lets positions that are nearly on take part (a plain ReLU mean leaves most filters
  of the first layer stuck on a small local mark);
- every filter climbs twice at once from two random starts: once as above, once first climbing
  its best position's pre-activation while no position activates it at all (waking it up); of
  every image either climb passes through, the one that excites the filter most is kept.

The result is checked by the tests: every filter's pattern excites that filter more than the
other patterns of its layer do on average. A pattern is one input the filter likes, not the only
one: `top_activations` shows the real digits that excite it most.

Results are cached on disk per model (sha256 of the weights + settings), so asking again is instant.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cnnviz.core.layer_choice import spatial_layer
from cnnviz.core.model_cache import cache_path, load_arrays, save_arrays, weights_sha256

CACHE_KIND = "filter_patterns"
ALGORITHM_VERSION = 4  # bump when the ascent changes, so old cached patterns are not reused
SOFTNESS = 2.0         # softplus softness, in units of the pre-activation's spread over the map

Progress = Callable[[int, int], None]  # (steps done, steps in all)


class Cancelled(Exception):
    """The caller's cancel check said stop."""


@dataclass(frozen=True)
class PatternSettings:
    """How the ascent runs; part of the cache key."""

    steps: int = 80
    step_size: float = 0.05      # in input units per step, after normalising the gradient
    start_noise: float = 0.05    # spread of the random start around `start_level`
    start_level: float = 0.5
    jitter: int = 1              # random shift in pixels, each way
    blur_every: int = 4          # steps between light blurs (0: never)
    decay: float = 0.02          # pull towards grey at each blur
    seed: int = 0

    def key(self) -> dict:
        return {**dataclasses.asdict(self), "algorithm": ALGORITHM_VERSION}


class PatternAscent:
    """The traced gradient step for one layer of one model, and what each image does to its filter.

    `step(images, shift, step_size)` -> (climbed images; the shifted images the step measured, with
    their mean activation and best pre-activation of their own filter); `responses(images)` -> that
    mean activation and best pre-activation of the images as given.

    `images` is (N, *input_shape); image i climbs filter i mod C (N = 2·C: two climbs per filter).
    """

    def __init__(self, model, layer: str):
        import tensorflow as tf

        from cnnviz.core.layer_graph import run_layers
        from cnnviz.core.network import input_shape_of, layer_specs

        spec = spatial_layer(layer_specs(model), layer, "a filter pattern")
        self.layer = layer
        self.num_filters = count = spec.output_shape[-1]
        self.input_shape = input_shape_of(model)

        def responses(images):
            """Per image i, for filter i mod C: mean activation, smooth mean, best pre-activation ((N,) each)."""
            seen = {}

            def visit(visited, layer_input, output):
                if visited.name == layer:
                    seen["maps"] = (pre_activation(visited, layer_input, output), output)
                return output

            run_layers(model, images, visit)
            pre, post = seen["maps"]
            own = tf.one_hot(tf.range(tf.shape(images)[0]) % count, count)[:, None, None, :]  # (N, 1, 1, C)
            mean = tf.reduce_mean(tf.reduce_sum(post * own, axis=-1), axis=(1, 2))
            pre = tf.reduce_sum(pre * own, axis=-1)  # (N, H, W): image i's own filter
            spread = tf.stop_gradient(tf.math.reduce_std(pre, axis=(1, 2), keepdims=True))
            softness = SOFTNESS * spread + 1e-6
            smooth = tf.reduce_mean(softness * tf.nn.softplus(pre / softness), axis=(1, 2))
            return mean, smooth, tf.reduce_max(pre, axis=(1, 2))

        def step(images, shift, step_size):
            moved = tf.roll(images, shift, axis=(1, 2))
            with tf.GradientTape() as tape:
                tape.watch(moved)
                mean, smooth, peak = responses(moved)
                # The first C images wake a filter no position activates by climbing its best
                # position; the other C climb the smooth mean only. Each finds filters the other misses.
                dead = tf.cast(tf.stop_gradient(mean) <= 0.0, tf.float32)
                waking = tf.cast(tf.range(tf.shape(images)[0]) < count, tf.float32) * dead
                score = tf.reduce_sum((1.0 - waking) * smooth + waking * peak)
            gradient = tape.gradient(score, moved)
            norm = tf.sqrt(tf.reduce_mean(tf.square(gradient), axis=(1, 2, 3), keepdims=True)) + 1e-8
            climbed = tf.clip_by_value(moved + step_size * gradient / norm, 0.0, 1.0)
            return tf.roll(climbed, -shift, axis=(1, 2)), moved, mean, peak

        spec_images = tf.TensorSpec((None, *self.input_shape), tf.float32)
        self.step = tf.function(step, input_signature=[spec_images, tf.TensorSpec((2,), tf.int32),
                                                       tf.TensorSpec((), tf.float32)])
        self.responses = tf.function(lambda images: responses(images)[::2], input_signature=[spec_images])


def pre_activation(layer, layer_input, output):
    """A convolution's output before its activation, from its own kernel and bias; else `output`."""
    from keras import ops

    activation = layer.get_config().get("activation") if hasattr(layer, "convolution_op") else None
    if activation in (None, "linear") or not hasattr(layer, "kernel"):
        return output
    maps = layer.convolution_op(layer_input, layer.kernel)
    if layer.use_bias:
        maps = maps + ops.reshape(layer.bias, (1,) * (len(maps.shape) - 1) + (-1,))
    return maps


def ascend(ascent: PatternAscent, settings: PatternSettings = PatternSettings(),
           progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
           done_before: int = 0, total: int | None = None) -> np.ndarray:
    """Run the ascent: (C, *input_shape) float32 images in [0, 1]. Raises Cancelled when `cancel()` is true.

    Every filter climbs twice at once (see `PatternAscent`), each from its own random start; of all
    the images measured over the steps of both climbs (each step measures the jittered image it
    climbs from), the one that excites the filter most is kept (a climb can overshoot, and a filter
    that has just woken up can fall asleep again). `progress(done_before + steps done, total)` is
    called after each step.
    """
    rng = np.random.default_rng(settings.seed)
    count = ascent.num_filters
    starts = settings.start_level + settings.start_noise * rng.standard_normal((2, 1, *ascent.input_shape))
    images = np.clip(np.repeat(starts, count, axis=1), 0.0, 1.0).reshape(2 * count, *ascent.input_shape)
    images = images.astype(np.float32)
    best, best_score = images.copy(), np.full(2 * count, -np.inf)
    total = total or settings.steps
    for step in range(settings.steps):
        if cancel is not None and cancel():
            raise Cancelled(f"filter patterns of {ascent.layer} cancelled after {step} steps")
        shift = rng.integers(-settings.jitter, settings.jitter + 1, size=2).astype(np.int32)
        images, measured, mean, peak = (value.numpy() for value in
                                        ascent.step(images, shift, np.float32(settings.step_size)))
        _keep_better(best, best_score, measured, _ranking_score(mean, peak))
        if settings.blur_every and (step + 1) % settings.blur_every == 0 and step + 1 < settings.steps:
            images = settings.start_level + (1.0 - settings.decay) * (blur(images) - settings.start_level)
        if progress is not None:
            progress(done_before + step + 1, total)
    _keep_better(best, best_score, images, _ranking_score(*(value.numpy() for value in ascent.responses(images))))
    winner = best_score.reshape(2, count).argmax(axis=0)  # per filter, the better of its two climbs
    return best.reshape(2, count, *ascent.input_shape)[winner, np.arange(count)]


def _keep_better(best: np.ndarray, best_score: np.ndarray, images: np.ndarray, score: np.ndarray) -> None:
    better = score > best_score
    best[better], best_score[better] = images[better], score[better]


def _ranking_score(mean: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Orders images for keeping the best one seen: any mean activation above zero beats none; among
    images that leave the filter off, the higher best pre-activation (nearer to waking) wins."""
    return np.where(mean > 0, mean, np.minimum(peak, 0.0) - 1e6)


def blur(images: np.ndarray) -> np.ndarray:
    """A light 3×3 binomial blur ([1, 2, 1]/4 each way) over axes 1 and 2, edges repeated."""
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1)] + [(0, 0)] * (images.ndim - 3), mode="edge")
    rows = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
    return (0.25 * rows[:, :, :-2] + 0.5 * rows[:, :, 1:-1] + 0.25 * rows[:, :, 2:]).astype(np.float32)


def filter_patterns(model, layer: str, settings: PatternSettings = PatternSettings(),
                    progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                    use_cache: bool = True, done_before: int = 0, total: int | None = None) -> np.ndarray:
    """Every filter's pattern of `layer`: (C, H, W) float32 in [0, 1] ((C, H, W, channels) for colour inputs).

    Reuses the on-disk cache for the same weights and settings. `progress(done, total)` after each
    step; `done_before`/`total` place this layer's steps within a longer job.
    """
    total = total or settings.steps
    path = pattern_cache_path(model, layer, settings)
    patterns = load_arrays(path, _expected_patterns(model, layer), _in_unit_range) if use_cache else None
    if patterns is not None:
        patterns = patterns["patterns"]
    else:
        images = ascend(PatternAscent(model, layer), settings, progress, cancel, done_before, total)
        patterns = images[..., 0] if images.shape[-1] == 1 else images
        if use_cache:
            save_arrays(path, {"patterns": patterns})
    if progress is not None:
        progress(done_before + settings.steps, total)
    return patterns


def all_filter_patterns(model, settings: PatternSettings = PatternSettings(), progress: Progress | None = None,
                        cancel: Callable[[], bool] | None = None, use_cache: bool = True) -> dict[str, np.ndarray]:
    """Patterns of every convolution layer, {name: (C, H, W)}; progress counts the steps of all layers."""
    from cnnviz.core.layer_choice import is_conv
    from cnnviz.core.network import layer_specs

    layers = [spec.name for spec in layer_specs(model) if is_conv(spec)]
    total = settings.steps * len(layers)
    return {layer: filter_patterns(model, layer, settings, progress, cancel, use_cache, i * settings.steps, total)
            for i, layer in enumerate(layers)}


def _expected_patterns(model, layer: str) -> dict:
    """What a cached entry of `layer`'s patterns must hold: (C, H, W) float32, or (C, H, W, 3) for colour."""
    from cnnviz.core.network import input_shape_of, layer_specs

    spec = spatial_layer(layer_specs(model), layer, "a filter pattern")
    height, width, channels = input_shape_of(model)
    shape = (spec.output_shape[-1], height, width) + ((channels,) if channels != 1 else ())
    return {"patterns": (shape, "float32")}


def _in_unit_range(arrays: dict) -> bool:
    patterns = arrays["patterns"]
    return bool(patterns.size == 0 or (patterns.min() >= 0.0 and patterns.max() <= 1.0))


def pattern_cache_path(model, layer: str, settings: PatternSettings):
    """The cache file for these weights, this layer and these settings."""
    return cache_path(CACHE_KIND, weights_sha256(model), {"layer": layer, **settings.key()})


def channel_response(model, layer: str, images: np.ndarray) -> np.ndarray:
    """(N, C) each channel's mean activation (after its activation function) for each of N images."""
    import tensorflow as tf

    from cnnviz.core.layer_graph import collect_outputs
    from cnnviz.core.network import input_shape_of

    batch = tf.constant(np.asarray(images, np.float32).reshape(-1, *input_shape_of(model)))
    maps = collect_outputs(model, batch, [layer])[layer]
    return tf.reduce_mean(maps, axis=(1, 2)).numpy()
