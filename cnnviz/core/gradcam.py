"""Grad-CAM: which part of the input made the model choose a class (Selvaraju et al., 2017).

For a class c and a layer with maps A (H×W×C): the gradient of c's **pre-softmax score** with
respect to A, averaged over space, weights each channel; the weighted sum of the maps, clipped at
zero, is the class activation map (H×W, the layer's own resolution: 3×3 at conv2d_3, 11×11 at
conv2d_2). The pre-softmax score matters: a 100 %-sure softmax has near-zero gradients.

`GradCam(model, layer)` builds a functional graph that reuses the model's layers (no weight copies,
nothing changed) and a traced `tf.function`, so one call costs a few milliseconds; `grad_cam()`
keeps one per (model, layer). `upsample` and `overlay` turn the map into a picture with numpy.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from cnnviz.core.colormaps import lookup_table
from cnnviz.core.layer_choice import default_conv_layer, spatial_layer

OVERLAY_COLORMAP = "inferno"
OVERLAY_OPACITY = 0.6


@dataclass(frozen=True)
class GradCamResult:
    """One explanation: the raw map at the layer's resolution and what it explains."""

    heatmap: np.ndarray          # (H, W) float32, >= 0, unscaled
    class_index: int             # the class explained
    predicted: int               # the model's top class for this input
    probabilities: np.ndarray    # (K,) float32
    channel_weights: np.ndarray  # (C,) float32: the space-averaged gradients, one per channel
    layer: str


class GradCam:
    """Grad-CAM at one layer of one model; call it with an image (H, W) or (H, W, channels)."""

    def __init__(self, model, layer: str | None = None):
        import tensorflow as tf

        from cnnviz.core.class_scores import class_head
        from cnnviz.core.layer_graph import run_layers
        from cnnviz.core.network import input_shape_of, layer_specs

        specs = layer_specs(model)
        self.layer = layer or default_conv_layer(specs)
        spatial_layer(specs, self.layer, "Grad-CAM")
        self.input_shape = input_shape_of(model)
        head = class_head(model)

        def explain(batch, class_index):
            seen = {}

            def visit(layer, layer_input, output):
                if layer.name == self.layer:
                    seen["maps"] = output
                if layer is head.layer:
                    seen["logits"] = head.logits(layer_input, output)
                    seen["probabilities"] = output if head.outputs_probabilities else tf.nn.softmax(output)
                return output

            with tf.GradientTape() as tape:
                run_layers(model, batch, visit)
                maps = seen["maps"]
                logits = seen["logits"][0]
                predicted = tf.argmax(logits, output_type=tf.int32)
                chosen = tf.where(class_index >= 0, class_index, predicted)
                score = tf.gather(logits, chosen)
            gradients = tape.gradient(score, maps)
            if gradients is None:
                raise ValueError(f"the class scores do not depend on layer {self.layer}")
            weights = tf.reduce_mean(gradients[0], axis=(0, 1))
            heatmap = tf.nn.relu(tf.reduce_sum(maps[0] * weights, axis=-1))
            return heatmap, chosen, predicted, seen["probabilities"][0], weights

        self._explain = tf.function(explain, input_signature=[
            tf.TensorSpec((1, *self.input_shape), tf.float32), tf.TensorSpec((), tf.int32)])
        self.num_classes = int(model.outputs[0].shape[-1])
        self(np.zeros(self.input_shape, np.float32))  # trace now, not on the first stroke

    def __call__(self, image: np.ndarray, class_index: int | None = None) -> GradCamResult:
        """Explain `class_index` (default: the predicted class) for one image in the model's input range."""
        if class_index is not None and not 0 <= class_index < self.num_classes:
            raise ValueError(f"class must be from 0 to {self.num_classes - 1}, not {class_index}")
        batch = np.asarray(image, dtype=np.float32).reshape(1, *self.input_shape)
        requested = -1 if class_index is None else int(class_index)
        heatmap, chosen, predicted, probabilities, weights = self._explain(batch, np.int32(requested))
        return GradCamResult(heatmap.numpy(), int(chosen), int(predicted), probabilities.numpy(),
                             weights.numpy(), self.layer)


_CACHE: OrderedDict = OrderedDict()  # (id(model), layer) -> (weak reference to the model, GradCam)
CACHE_SIZE = 8  # explainers kept; each holds its model, so a bound, not weak keys, lets old models go


def grad_cam(model, image: np.ndarray, layer: str | None = None, class_index: int | None = None) -> GradCamResult:
    """Grad-CAM of `image` at `layer` (default: the last conv layer), reusing a traced function per (model, layer)."""
    key = (id(model), layer)
    entry = _CACHE.get(key)
    if entry is None or entry[0]() is not model:
        entry = _CACHE[key] = (weakref.ref(model), GradCam(model, layer))
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return entry[1](image, class_index)


def upsample(heatmap: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a 2-D map to (height, width), pixel centres aligned (like `tf.image.resize`)."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    rows = _bilinear_weights(heatmap.shape[0], height)
    cols = _bilinear_weights(heatmap.shape[1], width)
    return (rows @ heatmap @ cols.T).astype(np.float32)


def _bilinear_weights(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) matrix of linear-interpolation weights with half-pixel centres."""
    source = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    source = np.clip(source, 0.0, size_in - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    fraction = (source - low).astype(np.float32)
    weights = np.zeros((size_out, size_in), np.float32)
    weights[np.arange(size_out), low] += 1.0 - fraction
    weights[np.arange(size_out), high] += fraction
    return weights


def overlay(image: np.ndarray, heatmap: np.ndarray, scale: int = 1, colormap: str = OVERLAY_COLORMAP,
            opacity: float = OVERLAY_OPACITY) -> np.ndarray:
    """RGB uint8 picture: `image` ((H, W) grey or (H, W, 3) colour, values in [0, 1]), each pixel
    scale×scale, under the heat map.

    The heat map (any resolution, >= 0) is upsampled bilinearly to the picture's size and scaled to
    its maximum; its colour covers the image in proportion to the heat (up to `opacity`), so cold
    places show the plain image. An all-zero map leaves the image as it is.
    """
    base = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if base.ndim == 3 and base.shape[-1] == 1:
        base = base[..., 0]
    base = np.repeat(np.repeat(base, scale, axis=0), scale, axis=1)
    if base.ndim == 2:
        base = np.repeat(base[..., None], 3, axis=-1)
    heat = np.clip(upsample(heatmap, *base.shape[:2]), 0.0, None)
    peak = float(heat.max())
    heat = heat / peak if peak > 0 else heat
    colour = lookup_table(colormap)[np.round(heat * 255).astype(np.uint8)].astype(np.float32)
    alpha = (opacity * heat)[..., None]
    picture = (1.0 - alpha) * (base * 255.0) + alpha * colour
    return np.round(picture).astype(np.uint8)
