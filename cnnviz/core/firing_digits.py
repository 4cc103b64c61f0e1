"""Which test digits one filter (or one dense unit) fires on, ranked by its mean activation.

A filter's peak activation is a poor ranking for a hand-made filter: a 3×3 vertical-edge kernel of
±1 on a ReLU reaches its largest value, 3.0 (three white pixels against three black ones), on most
digits that have any clean vertical stroke, so ranking by the peak is a tie broken by the image's
index. The mean of the filter's map over all its positions instead grows with *how much* of the digit
the filter finds (the longer and more numerous the edges, the larger), so it separates digits: an
edge detector ranks tall 1s, 4s and 7s with long straight strokes first and round 0s, 2s and 3s last.

`channel_means` runs the model over a set of images in batches (a traced pass, no weight changed)
and gives every image's mean and peak of one channel's map (for a Dense unit, mean and peak are its
value). `firing_digits` ranks them: the top images by mean (ties: lower index first), each class's
mean over its images (what the learner reads as "it fires on 7s"), and how many images tie at the
top peak (what a peak ranking would have had to break arbitrarily).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

TOP_COUNT = 9
BATCH_SIZE = 500
RANKED_BY = "its map's mean over every position (a dense unit: its value)"


class Cancelled(Exception):
    """The caller's cancel check said stop."""


@dataclass(frozen=True)
class FiringDigits:
    """One filter's response over a set of labelled images."""

    layer: str
    channel: int
    indices: np.ndarray          # (k,) int64: the images with the largest mean, largest first
    means: np.ndarray            # (k,) float32: their mean activation
    labels: np.ndarray           # (k,) int64: their labels
    class_means: np.ndarray      # (K,) float32: the mean activation over each class's images (NaN: none)
    class_counts: np.ndarray     # (K,) int64: how many images of each class
    active_share: float          # the share of images on which the filter fires at all (mean > 0)
    top_peak: float              # the largest peak over every image
    peak_ties: int               # how many images reach that peak (within 1e-6 of it)
    count: int                   # images ranked
    ranked_by: str = RANKED_BY

    def ranked_classes(self) -> list[int]:
        """The classes from the one the filter fires on most to the least (classes with no image last)."""
        order = np.argsort(-np.nan_to_num(self.class_means, nan=-np.inf), kind="stable")
        return [int(c) for c in order]


def channel_means(model, images: np.ndarray, layer: str, channel: int, scale: float = 1.0,
                  batch_size: int = BATCH_SIZE, progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(means (N,), peaks (N,)) float32: channel `channel` of layer `layer`'s output on each image, its mean
    and its maximum over every position (the value itself for a flat layer). `images` (N, H, W[, C]) are
    multiplied by `scale` to give the model's input; `progress(done, N)` after each batch."""
    import tensorflow as tf

    from cnnviz.core.layer_graph import collect_outputs
    from cnnviz.core.network import input_shape_of, layer_specs

    input_shape = input_shape_of(model)
    shapes = {spec.name: spec.output_shape for spec in layer_specs(model)}
    if layer not in shapes:
        raise ValueError(f"the model has no layer {layer!r}")
    width = int(shapes[layer][-1])
    if not 0 <= channel < width:
        raise ValueError(f"{layer} has channels 0 to {width - 1}, not {channel}")

    @tf.function(input_signature=[tf.TensorSpec((None, *input_shape), tf.float32)], autograph=False)
    def response(batch):
        output = collect_outputs(model, batch, [layer])[layer][..., channel]
        flat = tf.reshape(output, (tf.shape(output)[0], -1))
        return tf.reduce_mean(flat, axis=1), tf.reduce_max(flat, axis=1)

    count = len(images)
    means, peaks = [], []
    for start in range(0, count, batch_size):
        if cancel is not None and cancel():
            raise Cancelled(f"ranking the digits cancelled after {start} of {count}")
        batch = np.asarray(images[start:start + batch_size], np.float32) * np.float32(scale)
        mean, peak = response(batch.reshape(-1, *input_shape))
        means.append(mean.numpy())
        peaks.append(peak.numpy())
        if progress is not None:
            progress(min(start + batch_size, count), count)
    empty = np.zeros(0, np.float32)
    return (np.concatenate(means) if means else empty).astype(np.float32), \
        (np.concatenate(peaks) if peaks else empty).astype(np.float32)


def firing_digits(layer: str, channel: int, means: np.ndarray, peaks: np.ndarray, labels: np.ndarray,
                  num_classes: int, count: int = TOP_COUNT) -> FiringDigits:
    """Rank images by `means` (see the module docstring); `labels` (N,) are their classes."""
    means = np.asarray(means, np.float32)
    peaks = np.asarray(peaks, np.float32)
    labels = np.asarray(labels, np.int64)
    order = np.argsort(-means, kind="stable")[:count]
    counts = np.bincount(labels, minlength=num_classes)[:num_classes].astype(np.int64)
    sums = np.bincount(labels, weights=means.astype(np.float64), minlength=num_classes)[:num_classes]
    with np.errstate(invalid="ignore", divide="ignore"):
        class_means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).astype(np.float32)
    top_peak = float(peaks.max()) if peaks.size else 0.0
    ties = int(np.count_nonzero(peaks >= top_peak - 1e-6)) if peaks.size else 0
    return FiringDigits(layer, int(channel), order.astype(np.int64), means[order], labels[order], class_means,
                        counts, float(np.mean(means > 0)) if means.size else 0.0, top_peak, ties, int(means.size))
