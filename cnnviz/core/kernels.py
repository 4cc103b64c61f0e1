"""A conv layer's learned weights as pictures: one tile per filter (Qt-free, TensorFlow-free).

A Conv2D kernel is (kh, kw, C_in, C_out). Filter f is the (kh, kw, C_in) block `kernel[..., f]`:
one kh×kw patch of weights per input channel. A first layer on a grey image has C_in = 1, so a
filter is a single kh×kw tile. A deeper filter becomes a *mosaic*: its C_in patches in a square-ish
grid, input channel 0 top left, row by row, one cell of gap between patches. Gap cells (and the
empty places after the last channel) are NaN, so whoever colours the mosaic can draw them as
background, apart from a weight of 0.

Colours are a diverging colormap centred on 0 (`colormaps.DIVERGING_COLORMAP` with
`colormaps.centred_levels` over the whole layer): red weights add to the filter's sum where the
input is bright, blue ones subtract, white ones do not matter. The app's Kernels view and
`cnnviz export --kernels` draw the same tiles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

GAP = 1   # cells of background between the patches of a mosaic


def conv_kernel(weights: Sequence[np.ndarray]) -> np.ndarray:
    """The (kh, kw, C_in, C_out) kernel from a Conv2D layer's `get_weights()` (kernel, then bias)."""
    if not len(weights) or np.ndim(weights[0]) != 4:
        raise ValueError("not the weights of a 2-D convolution (a 4-D kernel first)")
    return np.asarray(weights[0], dtype=np.float32)


def mosaic_grid(num_channels: int) -> tuple[int, int]:
    """(rows, columns) of the patches of a filter with `num_channels` input channels: full rows when a
    divisor allows it (at most twice as wide as high), else square-ish; never more rows than columns
    (64 -> 8×8, 32 -> 4×8, 3 -> 1×3, 7 -> 3×3, 1 -> 1×1)."""
    root = math.sqrt(max(num_channels, 1))
    columns = next((d for d in range(math.ceil(root), math.floor(2 * root) + 1) if num_channels % d == 0),
                   math.ceil(root))
    return math.ceil(num_channels / columns), max(columns, 1)


def filter_mosaic(filter_weights: np.ndarray, gap: int = GAP) -> np.ndarray:
    """One filter's (kh, kw, C_in) weights as an (H, W) float32 mosaic with NaN between patches.

    C_in = 1 gives the kh×kw patch itself (no gaps)."""
    block = np.asarray(filter_weights, dtype=np.float32)
    if block.ndim == 2:
        block = block[:, :, None]
    kh, kw, channels = block.shape
    if channels == 1:
        return block[:, :, 0].copy()
    rows, columns = mosaic_grid(channels)
    mosaic = np.full((rows * (kh + gap) - gap, columns * (kw + gap) - gap), np.nan, np.float32)
    for channel in range(channels):
        row, column = divmod(channel, columns)
        top, left = row * (kh + gap), column * (kw + gap)
        mosaic[top:top + kh, left:left + kw] = block[:, :, channel]
    return mosaic


def kernel_tiles(kernel: np.ndarray, gap: int = GAP) -> np.ndarray:
    """Every filter of a (kh, kw, C_in, C_out) kernel as a mosaic: (C_out, H, W) float32, NaN gaps."""
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(f"a conv kernel is (kh, kw, C_in, C_out), not {kernel.shape}")
    if kernel.shape[2] == 1:
        return np.ascontiguousarray(np.moveaxis(kernel[:, :, 0, :], -1, 0))
    return np.stack([filter_mosaic(kernel[..., f], gap) for f in range(kernel.shape[3])])


def mosaic_cell(kernel_shape: Sequence[int], y: int, x: int, gap: int = GAP) -> tuple[int, int, int] | None:
    """Which weight pixel (y, x) of a filter's mosaic shows: (input channel, ky, kx), or None on a gap.

    `kernel_shape` is (kh, kw, C_in[, C_out])."""
    kh, kw, channels = (int(d) for d in kernel_shape[:3])
    if channels == 1:
        return (0, y, x) if 0 <= y < kh and 0 <= x < kw else None
    _, columns = mosaic_grid(channels)
    row, ky = divmod(y, kh + gap)
    column, kx = divmod(x, kw + gap)
    channel = row * columns + column
    if y < 0 or x < 0 or ky >= kh or kx >= kw or column >= columns or channel >= channels:
        return None
    return channel, ky, kx


def coloured_tile(tile: np.ndarray, low: float, high: float, colormap: str,
                  gap_colour: tuple[int, int, int]) -> np.ndarray:
    """RGB uint8 (H, W, 3) of a tile through `colormap` between `low` and `high`, gaps in `gap_colour`."""
    from cnnviz.core.colormaps import colorize

    gaps = np.isnan(tile)
    pixels = colorize(np.where(gaps, 0.0, tile), low, high, colormap)
    pixels[gaps] = gap_colour
    return pixels
