"""Repaint of a layer with hundreds of channels: paged (64 maps a page, as the app shows them) against
all channels in one mosaic (the grid without pages), measured side by side, interleaved.

One update = new values for every channel (a stroke, a training step) -> `LayerGrid.set_maps` ->
a synchronous repaint of the grid's viewport (offscreen Qt, so the figures are the GUI thread's own
work, not the display's). Prints medians and 95th percentiles in ms, and the ratio.

    .venv/bin/python scripts/bench_layer_grid.py [--repeats 60] [--size 900x650]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

LAYERS = {"256 ch, 14×14": (256, 14, 14), "256 ch, 32×32": (256, 32, 32), "512 ch, 7×7": (512, 7, 7)}
UNPAGED = 1 << 30


def update(grid, module, page_size: int, maps: np.ndarray, levels: np.ndarray) -> float:
    """Seconds for new values -> set_maps -> repaint, with the grid paging at `page_size`."""
    module.PAGE_SIZE = page_size
    started = time.perf_counter()
    grid.set_maps(maps, levels)
    grid.viewport().repaint()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--size", default="900x650", help="grid size in pixels, WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from PySide6.QtWidgets import QApplication

    from cnnviz.gui.widgets import layer_grid

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    paged_page = layer_grid.PAGE_SIZE
    print(f"grid {width}×{height}, {args.repeats} updates each, interleaved; ms per update (median / p95)")
    for name, shape in LAYERS.items():
        grids = {}
        for label, page_size in (("paged", paged_page), ("one mosaic", UNPAGED)):
            layer_grid.PAGE_SIZE = page_size
            grid = layer_grid.LayerGrid()
            grid.resize(width, height)
            grid.show()
            app.processEvents()
            grids[label] = (grid, page_size)
        times = {label: [] for label in grids}
        base = rng.random(shape, dtype=np.float32)
        for repeat in range(args.repeats + 3):
            maps = base * np.float32(1 + 0.01 * repeat)
            levels = np.stack([maps.min(axis=(1, 2)), maps.max(axis=(1, 2))], axis=1)
            for label, (grid, page_size) in (grids.items() if repeat % 2 else reversed(grids.items())):
                seconds = update(grid, layer_grid, page_size, maps, levels)
                if repeat >= 3:   # the first updates build the mosaic
                    times[label].append(seconds * 1000)
            app.processEvents()
        summary = {label: (statistics.median(t), float(np.percentile(t, 95))) for label, t in times.items()}
        paged, whole = summary["paged"], summary["one mosaic"]
        print(f"{name:16} paged {paged[0]:6.2f} / {paged[1]:6.2f}   one mosaic {whole[0]:6.2f} / {whole[1]:6.2f}   "
              f"one mosaic ÷ paged: {whole[0] / paged[0]:.1f}×")
        for grid, _ in grids.values():
            grid.close()
    layer_grid.PAGE_SIZE = paged_page


if __name__ == "__main__":
    main()
