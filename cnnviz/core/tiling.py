"""How values are laid out as pictures: crisp enlargement, grid shapes, strips of a vector (Qt-free).

Shared by the exporter's figures (`cnnviz.core.figures`) and the app's views, so a flatten layer
looks the same on screen and on paper. Colouring values is `cnnviz.core.colormaps`' job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_COLUMNS = 8
STRIP_VALUES_PER_ROW = 32


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement: each pixel becomes a crisp `scale`×`scale` square."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def grid_shape(num_cells: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) for `num_cells` cells, `columns` (default 8) to a row."""
    columns = min(num_cells, columns or DEFAULT_COLUMNS)
    return math.ceil(num_cells / columns), columns


@dataclass(frozen=True)
class StripLayout:
    """A vector of `size` values in rows of `columns`, read like text (row-major, as Flatten orders them).

    `source_shape` is the (H, W, C) of the maps a Flatten layer flattened, when known: then a row
    is one position (y, x) and column c is channel c of those maps (rows = H·W, columns = C).
    """

    size: int
    rows: int
    columns: int
    source_shape: tuple[int, int, int] | None = None

    def grid(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """(rows, columns) float32 array of `values`, the unused end of the last row set to `fill`."""
        padded = np.full(self.rows * self.columns, fill, dtype=np.float32)
        padded[:self.size] = np.asarray(values, dtype=np.float32).reshape(-1)
        return padded.reshape(self.rows, self.columns)

    def unit_at(self, row: int, column: int) -> int | None:
        """The value index drawn at (row, column), or None outside the values."""
        if not (0 <= row < self.rows and 0 <= column < self.columns):
            return None
        index = row * self.columns + column
        return index if index < self.size else None

    def source_position(self, unit: int) -> tuple[int, int, int] | None:
        """(y, x, channel) in the flattened maps of value `unit`, when the source shape is known."""
        if self.source_shape is None or not 0 <= unit < self.size:
            return None
        height, width, channels = self.source_shape
        position, channel = divmod(unit, channels)
        y, x = divmod(position, width)
        return y, x, channel

    def row_label(self, row: int) -> str:
        """'y,x' for a flattened map's rows, else the indices of the row's values ('32–63')."""
        if self.source_shape is not None:
            y, x, _ = self.source_position(row * self.columns)
            return f"{y},{x}"
        first = row * self.columns
        return f"{first}\u2013{min(first + self.columns, self.size) - 1}"


def strip_layout(size: int, source_shape=None, columns: int = STRIP_VALUES_PER_ROW) -> StripLayout:
    """How to draw `size` values: by the (H, W, C) maps they were flattened from, else in rows of `columns`."""
    if source_shape is not None and len(source_shape) == 3 and int(np.prod(source_shape)) == size:
        height, width, channels = (int(d) for d in source_shape)
        return StripLayout(size, height * width, channels, (height, width, channels))
    columns = max(1, min(size, columns))
    return StripLayout(size, math.ceil(size / columns), columns)
