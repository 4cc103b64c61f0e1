"""The files `cnnviz export --kernels` writes for one conv layer's learned weights (Qt-free).

For the layer with file stem `L3_conv2d_2` (`export.layer_prefix`)::

    L3_conv2d_2_kernel.npy        the kernel as Keras holds it, float32 (kh, kw, C_in, C_out)
    L3_conv2d_2_bias.npy          the biases, float32 (C_out,) (if the layer has them)
    L3_conv2d_2_kernels/f05.png   filter 5 as a picture: one crisp scale×scale square per weight; a
                                  deeper filter is the mosaic of its kh×kw patches, one per input
                                  channel, row by row (`core.kernels`), with grey gaps between them
    L3_conv2d_2_kernels_grid.FMT  a figure (matplotlib): every filter's picture under its number,
                                  the layer's name and kernel shape as title, a colour bar "weight"

Colours: the diverging `colormaps.DIVERGING_COLORMAP` between `colormaps.centred_levels` of the
whole kernel, so 0 is the middle colour (near white), positive weights red and negative blue, and
every filter of the layer is drawn on the same scale (as the app's Kernels view does). Manifest
entries: types `kernel_array`, `bias_array`, `kernel_png` (with `filter`, and `mosaic` {rows,
columns, gap, patch: [kh, kw], channels} for C_in > 1) and `kernels_grid_FMT` (with `cells`,
`colorbar` for PNG, as the maps' grids); and one entry per layer in the manifest's `kernels` list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnviz.core import figures, tiling
from cnnviz.core.colormaps import DIVERGING_COLORMAP, centred_levels, lookup_table
from cnnviz.core.export_files import channel_name, npy_bytes, png_bytes
from cnnviz.core.kernels import GAP, coloured_tile, conv_kernel, kernel_tiles, mosaic_grid

GAP_COLOUR = (128, 128, 128)   # between the patches of a mosaic: apart from any weight's colour
KERNEL_CAPTION = "weight"


def kernel_file_count(weights: Sequence[np.ndarray]) -> int:
    """How many files `kernel_files` makes for a layer with these weights."""
    return 1 + (len(weights) > 1) + conv_kernel(weights).shape[3] + 1


def kernel_files(prefix: str, common: dict, weights: Sequence[np.ndarray], scale: int, labels: bool = True,
                 colorbar: bool = True, fmt: str = figures.DEFAULT_FIGURE_FORMAT,
                 ) -> tuple[list[tuple[str, bytes, dict]], dict]:
    """Every file for one conv layer: [(path, bytes, manifest entry fields)], and its `kernels` entry.

    `common` holds the manifest fields every entry of the layer shares (layer, layer_index, kind).
    Raises ValueError when `weights` are not a convolution's."""
    kernel = conv_kernel(weights)
    kh, kw, channels, filters = kernel.shape
    low, high = centred_levels(kernel)
    stats = {"min": float(kernel.min()), "max": float(kernel.max())}
    colours = {"colormap": DIVERGING_COLORMAP, "levels": [low, high], "scale": scale}
    files = [(f"{prefix}_kernel.npy", npy_bytes(kernel),
              {"type": "kernel_array", "format": "npy", "dtype": "float32", **common, "shape": list(kernel.shape),
               **stats})]
    if len(weights) > 1:
        bias = np.asarray(weights[1], np.float32)
        files.append((f"{prefix}_bias.npy", npy_bytes(bias),
                      {"type": "bias_array", "format": "npy", "dtype": "float32", **common, "shape": list(bias.shape),
                       "min": float(bias.min()), "max": float(bias.max())}))
    tiles = kernel_tiles(kernel)
    mosaic = {}
    if channels > 1:
        rows, columns = mosaic_grid(channels)
        mosaic = {"mosaic": {"rows": rows, "columns": columns, "gap": GAP, "patch": [kh, kw], "channels": channels}}
    cells = []
    for f, tile in enumerate(tiles):
        cell = coloured_tile(tile, low, high, DIVERGING_COLORMAP, GAP_COLOUR)
        cells.append(cell)
        values = kernel[..., f]
        files.append((f"{prefix}_kernels/{channel_name(f, filters).replace('ch', 'f', 1)}.png",
                      png_bytes(tiling.upscale(cell, scale)),
                      {"type": "kernel_png", "format": "png", **common, "filter": f, "shape": list(tile.shape),
                       "min": float(values.min()), "max": float(values.max()), **colours, **mosaic}))
    shape = f"{kh}×{kw}×{channels}"
    title = subtitle = None
    if labels:
        title = f"{common['layer']} · {filters} filters of {shape} weights"
        subtitle = (f"layer {common['layer_index']} · {common['kind']} · {DIVERGING_COLORMAP}, 0 in the middle"
                    + (f" · one {kh}×{kw} patch per input channel" if channels > 1 else ""))
    scale_bar = figures.ColourScale(lookup_table(DIVERGING_COLORMAP), low, high, KERNEL_CAPTION) if colorbar else None
    rendered = figures.grid_figure(cells, scale, cell_labels=[str(f) for f in range(filters)] if labels else None,
                                   colour_scale=scale_bar, title=title, subtitle=subtitle, fmt=fmt)
    grid = {"type": f"kernels_grid_{rendered.format}", "format": rendered.format, **common,
            "shape": list(kernel.shape), **stats, **colours, "labels": labels, "value_size": rendered.cell_scale,
            "width": rendered.width, "height": rendered.height, **mosaic}
    if rendered.cells is not None:
        grid["cells"] = [{"filter": f, "box": list(box)} for f, box in zip(range(filters), rendered.cells)]
        grid["colorbar"] = list(rendered.colorbar) if rendered.colorbar else None
    files.append((f"{prefix}_kernels_grid.{rendered.format}", rendered.data, grid))
    entry = {"index": common["layer_index"], "name": common["layer"], "shape": list(kernel.shape), **stats,
             "levels": [low, high], "kernel": files[0][0], "bias": files[1][0] if len(weights) > 1 else None}
    return files, entry
