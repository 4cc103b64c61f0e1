"""Occlusion sensitivity: cover part of the input with a patch and see how much the class probability drops.

A check on Grad-CAM that needs no gradients (Zeiler & Fergus, 2014). A square patch (grey 0.5 or
black 0) slides over the input; every occluded copy goes through the model in one batch, and the
drop of the class's probability is recorded at each patch position. `pixel_map` spreads the drops
back onto the input: each pixel gets the mean drop of the patches that covered it. A negative drop
means covering that place made the class *more* likely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

DEFAULT_PATCH = 6
DEFAULT_STRIDE = 2
FILLS = {"grey": 0.5, "black": 0.0}
DEFAULT_FILL = "grey"


@dataclass(frozen=True)
class OcclusionResult:
    """The drops per patch position and per pixel, and what they explain."""

    drops: np.ndarray          # (rows, cols) float32: probability drop with the patch at (tops[r], lefts[c])
    pixel_map: np.ndarray      # (H, W) float32: mean drop of the patches covering each pixel
    tops: np.ndarray           # (rows,) the patch's top row at each position
    lefts: np.ndarray          # (cols,) its left column
    class_index: int           # the class explained
    predicted: int             # the model's top class for the unoccluded input
    probabilities: np.ndarray  # (K,) for the unoccluded input
    patch: int
    stride: int
    fill: float


def patch_starts(size: int, patch: int, stride: int) -> np.ndarray:
    """Where a patch starts along one axis: every `stride` pixels, and flush with the far edge."""
    if not 1 <= patch <= size:
        raise ValueError(f"the patch must be 1 to {size} pixels, not {patch}")
    if stride < 1:
        raise ValueError(f"the stride must be at least 1, not {stride}")
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return np.array(starts, dtype=int)


def occluded_copies(image: np.ndarray, patch: int, stride: int, fill: float):
    """(batch (rows·cols, H, W, ...), tops, lefts): one copy of `image` per patch position, row by row."""
    image = np.asarray(image, dtype=np.float32)
    tops = patch_starts(image.shape[0], patch, stride)
    lefts = patch_starts(image.shape[1], patch, stride)
    batch = np.repeat(image[None], len(tops) * len(lefts), axis=0)
    for i, (top, left) in enumerate((t, l) for t in tops for l in lefts):
        batch[i, top:top + patch, left:left + patch] = fill
    return batch, tops, lefts


def occlusion_map(model, image: np.ndarray, class_index: int | None = None, patch: int = DEFAULT_PATCH,
                  stride: int = DEFAULT_STRIDE, fill: float = FILLS[DEFAULT_FILL],
                  predict: Callable[[np.ndarray], np.ndarray] | None = None) -> OcclusionResult:
    """Occlusion map of `class_index` (default: the predicted class) for one image in the model's input range.

    `image` has the model's input shape without the batch axis ((28, 28) is taken as (28, 28, 1));
    `predict` maps a batch to class probabilities (default: the model, softmax applied to logits).
    """
    from cnnviz.core.network import input_shape_of

    if predict is None:
        from cnnviz.core.class_scores import batch_probabilities, class_head

        head = class_head(model)
        predict = lambda batch: batch_probabilities(model, batch, head)  # noqa: E731
    image = np.asarray(image, dtype=np.float32).reshape(input_shape_of(model))
    copies, tops, lefts = occluded_copies(image, patch, stride, fill)
    probabilities = np.asarray(predict(np.concatenate([image[None], copies])), dtype=np.float32)
    base, occluded = probabilities[0], probabilities[1:]
    predicted = int(np.argmax(base))
    if class_index is None:
        class_index = predicted
    elif not 0 <= class_index < len(base):
        raise ValueError(f"class must be from 0 to {len(base) - 1}, not {class_index}")
    drops = (base[class_index] - occluded[:, class_index]).reshape(len(tops), len(lefts))
    return OcclusionResult(drops.astype(np.float32), spread_over_pixels(drops, tops, lefts, patch, image.shape[:2]),
                           tops, lefts, int(class_index), predicted, base, patch, stride, float(fill))


def spread_over_pixels(drops: np.ndarray, tops: np.ndarray, lefts: np.ndarray, patch: int,
                       shape: tuple[int, int]) -> np.ndarray:
    """(H, W) mean of `drops` over the patches covering each pixel (0 where none did)."""
    total = np.zeros(shape, np.float64)
    count = np.zeros(shape, np.float64)
    for r, top in enumerate(tops):
        for c, left in enumerate(lefts):
            total[top:top + patch, left:left + patch] += drops[r, c]
            count[top:top + patch, left:left + patch] += 1
    return np.divide(total, count, out=np.zeros(shape), where=count > 0).astype(np.float32)
