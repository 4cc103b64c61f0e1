"""Small numpy image tools that `ink.py` reads pictures with: square filters (box mean, binary and grey
dilation, grey erosion), 8-connected components and their boxes, Otsu's threshold, a mask's bounding box.

Plain numpy, one axis at a time; no SciPy, no OpenCV.
"""

from __future__ import annotations

import numpy as np


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean mask: (labels (H, W) int32 with 0 = background, count).

    Works on runs of set pixels: runs in neighbouring rows that touch are joined (union by
    minimum label with pointer jumping), so the cost grows with the number of runs, not pixels.
    """
    height, width = mask.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    run_rows, run_starts = np.nonzero(steps == 1)
    _, run_ends = np.nonzero(steps == -1)          # exclusive; pairs with the starts (row-major order)
    count = len(run_rows)
    if count == 0:
        return np.zeros(mask.shape, np.int32), 0
    first_run = np.searchsorted(run_rows, np.arange(height + 2))
    pairs = []
    for row in np.unique(run_rows):
        if row + 1 >= height:
            continue
        a0, a1, b0, b1 = first_run[row], first_run[row + 1], first_run[row + 1], first_run[row + 2]
        if b0 == b1:
            continue
        touching = ((run_starts[a0:a1, None] <= run_ends[None, b0:b1])
                    & (run_starts[None, b0:b1] <= run_ends[a0:a1, None]))
        above, below = np.nonzero(touching)
        pairs.append(np.stack([above + a0, below + b0], axis=1))
    parent = np.arange(count)
    if pairs:
        first, second = np.concatenate(pairs).T
        while True:
            low = np.minimum(parent[first], parent[second])
            hooked = parent.copy()
            np.minimum.at(hooked, parent[first], low)    # hook each root to the lower one
            np.minimum.at(hooked, parent[second], low)
            while True:                                  # pointer jumping: everyone to its root
                jumped = hooked[hooked]
                if np.array_equal(jumped, hooked):
                    break
                hooked = jumped
            if np.array_equal(hooked, parent):
                break
            parent = hooked
    roots, run_label = np.unique(parent, return_inverse=True)
    flat = np.zeros(height * (width + 1) + 1, np.int32)
    np.add.at(flat, run_rows * (width + 1) + run_starts, run_label + 1)
    np.add.at(flat, run_rows * (width + 1) + run_ends, -(run_label + 1))
    labels = np.cumsum(flat[:-1]).reshape(height, width + 1)[:, :width].astype(np.int32)
    return labels, len(roots)


def component_boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """(count, 4) boxes (top, left, bottom, right) of labels 1..count."""
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols] - 1
    boxes = np.empty((count, 4), np.int64)
    boxes[:, 0] = boxes[:, 1] = np.iinfo(np.int64).max
    boxes[:, 2] = boxes[:, 3] = -1
    np.minimum.at(boxes[:, 0], which, rows)
    np.minimum.at(boxes[:, 1], which, cols)
    np.maximum.at(boxes[:, 2], which, rows + 1)
    np.maximum.at(boxes[:, 3], which, cols + 1)
    return boxes


def grey_dilate(image: np.ndarray, radius: int) -> np.ndarray:
    """Grey-level dilation (maximum) over a (2r+1)² square."""
    return _square_filter(np.asarray(image, np.float32), radius, "constant", np.maximum)


def grey_erode(image: np.ndarray, radius: int) -> np.ndarray:
    """Grey-level erosion (minimum) over a (2r+1)² square; ink cut by the border stays cut, not eaten."""
    return _square_filter(np.asarray(image, np.float32), radius, "edge", np.minimum)


def box_mean(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² square around each pixel (edge pixels repeated beyond the border)."""
    if radius <= 0:
        return np.asarray(image, np.float32)
    total = _square_filter(np.asarray(image, np.float32), radius, "edge", np.add)
    return total * np.float32(1.0 / (2 * radius + 1) ** 2)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)² square."""
    if radius <= 0:
        return np.asarray(mask, bool)
    return _square_filter(np.asarray(mask, bool), radius, "constant", np.logical_or)


def _square_filter(values: np.ndarray, radius: int, pad_mode: str, combine) -> np.ndarray:
    """`combine` over a (2r+1)² square around each pixel, one axis at a time."""
    for axis in (0, 1):
        values = _shifted(values, radius, axis, pad_mode, combine)
    return values


def _shifted(values: np.ndarray, radius: int, axis: int, pad_mode: str, combine) -> np.ndarray:
    """`combine` of the 2r+1 copies of `values` shifted by -r..r along `axis`."""
    padding = [(radius, radius) if a == axis else (0, 0) for a in range(values.ndim)]
    padded = np.pad(values, padding, mode=pad_mode)
    size = values.shape[axis]

    def window(shift: int) -> np.ndarray:
        return padded[(slice(None),) * axis + (slice(shift, shift + size),)]

    result = window(0).copy()
    for shift in range(1, 2 * radius + 1):
        combine(result, window(shift), out=result)
    return result


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of `values` (the level that best splits them into two classes)."""
    values = np.asarray(values, np.float64).ravel()
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return high
    bin_of = np.minimum(((values - low) * (bins / (high - low))).astype(np.int64), bins - 1)
    counts = np.bincount(bin_of, minlength=bins)
    edges = low + (high - low) * np.arange(bins + 1) / bins
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the set pixels, bottom/right exclusive; None when none are set."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1
