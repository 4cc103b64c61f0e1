"""The Kernels view of a conv layer: its learned weights in the grid instead of its maps.

conv2d_1's 32 filters are 3×3 tiles; a deeper filter's tile is the mosaic of its 3×3 patches, one
per input channel (`core.kernels`). Colours are diverging and centred on 0 over the whole layer
(red adds where the input is bright, blue subtracts), with the layer's range on the colour bar.
Clicking a tile enlarges that filter beside the grid. While the model trains the tiles follow the
serving copy's weights (`LiveWeights`).
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.colormaps import DIVERGING_COLORMAP, centred_levels, lookup_table
from cnnviz.core.kernels import conv_kernel, kernel_tiles, mosaic_cell
from cnnviz.gui.widgets.layer_modes import LayerMode, Tiles


class KernelsMode(LayerMode):
    """Each conv filter's weights as a tile (see the module docstring)."""

    name = "kernels"
    label = "Kernels"
    tooltip = ("The learned weights of each filter: red adds to its sum where the input is bright, "
               "blue subtracts (a deeper filter: one 3×3 patch per input channel)")

    def __init__(self, inspector, live_weights):
        super().__init__(inspector)
        self._inspector = inspector
        self._live = live_weights
        self._cache: dict[int, tuple[np.ndarray, Tiles, tuple]] = {}   # layer -> (its kernel array, tiles, shape)
        live_weights.changed.connect(self._on_weights_changed)

    def applies_to(self, layer) -> bool:
        return layer.kind == "Conv2D"

    def tiles(self, layer: int) -> Tiles | None:
        found = self._tiles_and_shape(layer)
        return None if found is None else found[0]

    def message(self, layer: int) -> str:
        return "The kernels appear once the model has loaded."

    def describe_tile(self, layer: int, channel: int, y: int, x: int) -> str:
        found = self._tiles_and_shape(layer)
        if found is None:
            return f"filter {channel}"
        _, shape = found
        cell = mosaic_cell(shape, y, x)
        if cell is None:
            return f"filter {channel}  (click to enlarge)"
        source, ky, kx = cell
        weight = self._kernel(layer)[ky, kx, source, channel]
        where = f"input channel {source}, " if shape[2] > 1 else ""
        return f"filter {channel}  ·  {where}row {ky}, column {kx}  ·  weight {weight:+.4f}  (click to enlarge)"

    def enlarged(self, layer: int, channel: int) -> tuple[np.ndarray, str] | None:
        found = self._tiles_and_shape(layer)
        if found is None or not 0 <= channel < len(found[0].images):
            return None
        tiles, shape = found
        names = self._inspector.layer_names()
        # Short: a long title would widen the side panel and squeeze the grid (the button tooltip explains patches).
        return tiles.images[channel], (f"<b>{names[layer]}</b> filter <b>{channel}</b> of {shape[3]} · "
                                       f"{'×'.join(str(n) for n in shape[:3])}")

    # --- internals -------------------------------------------------------------------------------
    def _kernel(self, layer: int) -> np.ndarray | None:
        weights = self._live.weights()
        if weights is None or not 0 <= layer < len(weights) or not weights[layer]:
            return None
        try:
            return conv_kernel(weights[layer])
        except ValueError:
            return None

    def _tiles_and_shape(self, layer: int) -> tuple[Tiles, tuple] | None:
        """The layer's tiles, made once per set of weights."""
        weights = self._live.weights()
        if weights is None or not 0 <= layer < len(weights) or not weights[layer]:
            return None
        source = weights[layer][0]
        cached = self._cache.get(layer)
        if cached is not None and cached[0] is source:
            return cached[1], cached[2]
        kernel = self._kernel(layer)
        if kernel is None:
            return None
        images = kernel_tiles(kernel)
        low, high = centred_levels(kernel)
        levels = np.tile(np.array([[low, high]], np.float32), (len(images), 1))
        tiles = Tiles(images, levels, lookup_table(DIVERGING_COLORMAP), "weight (whole layer)", DIVERGING_COLORMAP)
        self._cache[layer] = (source, tiles, kernel.shape)
        return tiles, kernel.shape

    def _on_weights_changed(self) -> None:
        """New weights while training (or back to the model's): redraw if the grid shows kernels."""
        if self._inspector.current_layer_mode() == self.name:
            self.changed.emit()
