"""Top test digits per channel: the images that excite each channel most, and the patches its units saw.

One batched pass over a set of images (the 10,000 MNIST test digits) records, for every conv and
pooling layer, each channel's maximum activation over space on each image and where that maximum
is. Ranking the images by that maximum gives each channel's top images (ties: the lower index
first); cropping each top image to the receptive field of the unit that peaked gives the patch the
channel responded to. Data-driven, so often more telling on MNIST than gradient-ascent patterns.

Results are cached on disk per model and image set (sha256 of the weights and of the images).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cnnviz.core.model_cache import cache_path, load_arrays, save_arrays, weights_sha256

TOP_COUNT = 9
BATCH_SIZE = 500
CACHE_KIND = "top_activations"


class Cancelled(Exception):
    """The caller's cancel check said stop."""


@dataclass(frozen=True)
class TopImages:
    """One layer's most exciting images, per channel, most exciting first."""

    layer: str
    indices: np.ndarray    # (C, k) int64: image indices
    values: np.ndarray     # (C, k) float32: the channel's maximum activation over space on that image
    positions: np.ndarray  # (C, k, 2) int64: (y, x) of that maximum in the layer's map


def top_activations(model, images: np.ndarray, layers: list[str] | None = None, count: int = TOP_COUNT,
                    scale: float = 1.0, batch_size: int = BATCH_SIZE,
                    progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None,
                    use_cache: bool = True) -> dict[str, TopImages]:
    """{layer: TopImages} for `layers` (default: every conv and pooling layer) over `images`.

    `images` is (N, H, W) or (N, H, W, C) in any dtype; each batch is multiplied by `scale` to give
    the model's input (1/255 for uint8 MNIST). `progress(images done, N)` after each batch.
    """
    from cnnviz.core.layer_choice import spatial_layer, spatial_names
    from cnnviz.core.network import layer_specs

    specs = layer_specs(model)
    layers = list(layers) if layers is not None else spatial_names(specs)
    for name in layers:
        spatial_layer(specs, name, "ranking top images")
    path = cache_path(CACHE_KIND, weights_sha256(model), {
        "images": hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest(), "shape": list(images.shape),
        "dtype": str(images.dtype), "scale": scale, "layers": layers, "count": count})
    cached = load_arrays(path, *_expected_entry(specs, layers, count, len(images))) if use_cache else None
    if cached is None:
        peaks = channel_peaks(model, images, layers, scale, batch_size, progress, cancel)
        cached = {}
        widths = {spec.name: spec.output_shape[1] for spec in specs if spec.is_spatial}
        for name, (values, where) in peaks.items():
            order = np.argsort(-values, axis=0, kind="stable")[:count].T  # (C, k)
            channels = np.arange(values.shape[1])[:, None]
            width = widths[name]
            cached[f"{name}/indices"] = order
            cached[f"{name}/values"] = values[order, channels]
            cached[f"{name}/positions"] = np.stack(np.divmod(where[order, channels], width), axis=-1)
        if use_cache:
            save_arrays(path, cached)
    return {name: TopImages(name, cached[f"{name}/indices"], cached[f"{name}/values"], cached[f"{name}/positions"])
            for name in layers}


def _expected_entry(specs, layers: list[str], count: int, num_images: int) -> tuple[dict, Callable]:
    """What a cached entry must hold (names, shapes, dtypes) and a check of its values, for `load_arrays`."""
    kept = min(count, num_images)
    shapes = {spec.name: spec.output_shape for spec in specs}
    expected = {}
    for name in layers:
        channels = shapes[name][-1]
        expected[f"{name}/indices"] = ((channels, kept), "int64")
        expected[f"{name}/values"] = ((channels, kept), "float32")
        expected[f"{name}/positions"] = ((channels, kept, 2), "int64")

    def valid(arrays: dict) -> bool:
        for name in layers:
            height, width = shapes[name][:2]
            indices, positions = arrays[f"{name}/indices"], arrays[f"{name}/positions"]
            if indices.size and (indices.min() < 0 or indices.max() >= num_images):
                return False
            if positions.size and (positions.min() < 0 or positions[..., 0].max() >= height
                                   or positions[..., 1].max() >= width):
                return False
        return True

    return expected, valid


def channel_peaks(model, images: np.ndarray, layers: list[str], scale: float = 1.0, batch_size: int = BATCH_SIZE,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{layer: (values (N, C) float32, where (N, C) int64)}: each channel's maximum over space on each
    image and the flat index (y · W + x) of its first occurrence."""
    import tensorflow as tf

    from cnnviz.core.layer_graph import collect_outputs
    from cnnviz.core.network import input_shape_of

    input_shape = input_shape_of(model)

    @tf.function(input_signature=[tf.TensorSpec((None, *input_shape), tf.float32)])
    def peaks(batch):
        outputs = collect_outputs(model, batch, layers)
        found = []
        for name in layers:
            maps = outputs[name]
            flat = tf.reshape(maps, (tf.shape(maps)[0], -1, maps.shape[-1]))  # (n, H·W, C)
            found.append((tf.reduce_max(flat, axis=1), tf.argmax(flat, axis=1)))
        return found

    count = len(images)
    collected: list[list] = []
    for start in range(0, count, batch_size):
        if cancel is not None and cancel():
            raise Cancelled(f"ranking top images cancelled after {start} of {count}")
        batch = np.asarray(images[start:start + batch_size], np.float32) * np.float32(scale)
        collected.append([(v.numpy(), w.numpy()) for v, w in peaks(batch.reshape(-1, *input_shape))])
        if progress is not None:
            progress(min(start + batch_size, count), count)
    return {name: (np.concatenate([c[i][0] for c in collected]), np.concatenate([c[i][1] for c in collected]))
            for i, name in enumerate(layers)}


def top_patches(images: np.ndarray, top: TopImages, specs, input_shape, scale: float = 1.0) -> np.ndarray:
    """(C, k, size_y, size_x[, channels]) float32: each top image cropped to the receptive field of the unit
    that peaked. Parts of the field outside the image (padding) are 0; a layer whose field is unknown
    gives whole images."""
    from cnnviz.core.receptive_field import geometries, unit_box

    names = [spec.name for spec in specs]
    geometry = geometries(specs, input_shape)[names.index(top.layer)]
    height, width = input_shape[:2]
    size_y, size_x = (height, width) if geometry is None else (geometry.size_y, geometry.size_x)
    channels, k = top.indices.shape
    sample = np.asarray(images[:1], np.float32)
    patches = np.zeros((channels, k, size_y, size_x, *sample.shape[3:]), np.float32)
    for c in range(channels):
        for j in range(k):
            y, x = (int(v) for v in top.positions[c, j])
            box = unit_box(geometry, y, x, (height, width))
            field_top = 0 if geometry is None else geometry.offset_y + y * geometry.jump_y
            field_left = 0 if geometry is None else geometry.offset_x + x * geometry.jump_x
            image = np.asarray(images[top.indices[c, j]], np.float32) * np.float32(scale)
            row, col = box.top - field_top, box.left - field_left
            patches[c, j, row:row + box.height, col:col + box.width] = \
                image[box.top:box.bottom, box.left:box.right]
    return patches
