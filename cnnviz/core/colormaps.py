"""Colormaps as 256-entry uint8 lookup tables, and the normalisation of feature maps for display.

Qt-free so that the app, the exporter and the tests share one definition of every colour. The
tables are matplotlib's own colormaps, sampled once by `scripts/make_colormaps.py` into the shipped
`resources/colormaps.npz` (the app must not import matplotlib: it would slow its launch);
`tests/test_colormaps.py` checks they still equal matplotlib's.
"""

from __future__ import annotations

from functools import cache

import numpy as np

# Sequential maps for activations (the app's and the exporter's choice), in menu order.
COLORMAPS = ("viridis", "magma", "inferno", "plasma", "gray")
# Diverging, centred on 0 with `centred_levels`: kernels and other signed values (blue < 0 < red).
DIVERGING_COLORMAP = "RdBu_r"
ALL_COLORMAPS = (*COLORMAPS, DIVERGING_COLORMAP)
DEFAULT_COLORMAP = "viridis"
NORMALISATIONS = ("channel", "layer")
DEFAULT_NORMALISATION = "channel"
TABLES_FILE_NAME = "colormaps.npz"


@cache
def _tables() -> dict[str, np.ndarray]:
    from cnnviz.core.paths import resources_dir

    with np.load(resources_dir() / TABLES_FILE_NAME, allow_pickle=False) as data:
        tables = {name: data[name] for name in data.files}
    for table in tables.values():
        table.setflags(write=False)  # shared by every caller: nobody may change a colour
    return tables


def lookup_table(name: str) -> np.ndarray:
    """A read-only (256, 3) uint8 RGB table for colormap `name` (one of ALL_COLORMAPS)."""
    if name not in ALL_COLORMAPS:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(ALL_COLORMAPS)}")
    return _tables()[name]


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


def centred_levels(values: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest magnitude in `values`, so 0 sits mid-way in a diverging colormap."""
    values = np.asarray(values, dtype=np.float32)
    finite = values[np.isfinite(values)]
    magnitude = float(np.abs(finite).max()) if finite.size else 0.0
    magnitude = magnitude if magnitude > 0 else 1.0
    return -magnitude, magnitude


def to_unit(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map `values` linearly so `low`->0 and `high`->1, clipped to [0, 1]."""
    return np.clip((np.asarray(values, dtype=np.float32) - low) / (high - low), 0.0, 1.0)


def table_indices(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """The lookup-table index (0 to 255) of every value between `low` and `high`."""
    return np.round(to_unit(values, low, high) * 255).astype(np.uint8)


def colorize(values: np.ndarray, low: float, high: float, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """RGB uint8 image (…, 3) of `values` through colormap `name` between `low` and `high`."""
    return lookup_table(name)[table_indices(values, low, high)]
