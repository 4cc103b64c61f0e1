"""Smoothing live training curves as TensorBoard does, and how often they redraw (the Training panel's
curves and the Lab's use both)."""

from __future__ import annotations

import math

import numpy as np

DEFAULT_SMOOTHING = 0.9   # TensorBoard's weight: the share of the running average kept at each batch
MAX_SMOOTHING = 0.99
REDRAW_INTERVAL_MS = 200  # progress arrives at 25 Hz; the plots redraw at most 5 times a second (each redraw costs
#                           the GUI process CPU that training on 2 cores would use)


def smooth(values, weight: float, state: tuple[float, int] = (0.0, 0)) -> tuple[np.ndarray, tuple[float, int]]:
    """TensorBoard's debiased exponential moving average of `values`, continuing from `state`.

    `weight` in [0, 1) is the share of the running average kept at each value (0 = no smoothing).
    The running average starts at 0 and is divided by 1 - weight**n after n values, which removes
    the pull towards 0 of a plain average's start. A non-finite value is passed through unsmoothed.
    Returns the smoothed values and the state to continue from with the next values.
    """
    last, count = state
    out = np.empty(len(values))
    for i, value in enumerate(np.asarray(values, dtype=np.float64)):
        if not math.isfinite(value):
            out[i] = value
            continue
        last = last * weight + (1.0 - weight) * value
        count += 1
        out[i] = last / (1.0 - weight ** count) if weight > 0 else last
    return out, (last, count)
