"""Colormaps as 256-entry uint8 lookup tables, and the normalisation of feature maps for display.

Qt-free so that the app, the exporter and the tests share one definition of every colour.
"""

from __future__ import annotations

import numpy as np

# Control points sampled from matplotlib's perceptually uniform maps (equally spaced).
_STOPS = {
    "viridis": ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
                "#b5de2b", "#fde725"],
    "magma": ["#000004", "#180f3d", "#440f76", "#721f81", "#9e2f7f", "#cd4071", "#f1605d", "#fd9668",
              "#feca8d", "#fcfdbf"],
    "inferno": ["#000004", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925", "#fb9b06",
                "#f7d13d", "#fcffa4"],
    "plasma": ["#0d0887", "#47039f", "#7301a8", "#9c179e", "#bd3786", "#d8576b", "#ed7953", "#fb9f3a",
               "#fdca26", "#f0f921"],
    "gray": ["#000000", "#ffffff"],
}
COLORMAPS = tuple(_STOPS)
DEFAULT_COLORMAP = "viridis"
NORMALISATIONS = ("channel", "layer")
DEFAULT_NORMALISATION = "channel"


def lookup_table(name: str) -> np.ndarray:
    """A (256, 3) uint8 RGB table for colormap `name`."""
    if name not in _STOPS:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    stops = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in _STOPS[name]], dtype=np.float64)
    positions = np.linspace(0.0, 1.0, len(stops))
    x = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(x, positions, stops[:, c]) for c in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


def channel_levels(maps: np.ndarray, mode: str = DEFAULT_NORMALISATION) -> np.ndarray:
    """(C, 2) low/high display levels for maps shaped (H, W, C) (or (N,) treated as one channel).

    "channel" scales each map to its own range, "layer" gives every map the layer's range.
    A flat range is widened so it never divides by zero.
    """
    if mode not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {mode!r}; choose one of {', '.join(NORMALISATIONS)}")
    maps = np.asarray(maps, dtype=np.float32)
    flat = maps.reshape(-1, maps.shape[-1]) if maps.ndim == 3 else maps.reshape(-1, 1)
    if mode == "channel":
        low, high = flat.min(axis=0), flat.max(axis=0)
    else:
        low = np.full(flat.shape[1], flat.min())
        high = np.full(flat.shape[1], flat.max())
    high = np.where(high > low, high, low + 1.0)
    return np.stack([low, high], axis=1).astype(np.float32)


def to_unit(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map `values` linearly so `low`->0 and `high`->1, clipped to [0, 1]."""
    return np.clip((np.asarray(values, dtype=np.float32) - low) / (high - low), 0.0, 1.0)


def colorize(values: np.ndarray, low: float, high: float, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """RGB uint8 image (…, 3) of `values` through colormap `name` between `low` and `high`."""
    indices = np.round(to_unit(values, low, high) * 255).astype(np.uint8)
    return lookup_table(name)[indices]
