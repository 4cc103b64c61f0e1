#!/usr/bin/env python3
"""Regenerate resources/colormaps.npz: matplotlib's colormaps as 256-entry uint8 RGB tables.

The app must not import matplotlib (it would slow its launch), so the colours it shows and the
exporter writes come from these tables, made once from matplotlib:

    .venv/bin/python scripts/make_colormaps.py

`tests/test_colormaps.py` checks the shipped file still equals matplotlib's tables.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

# cnnviz.core.colormaps names the maps (and their order in menus); import it without the package
# being installed, from the repository this script lives in.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cnnviz.core.colormaps import ALL_COLORMAPS, TABLES_FILE_NAME  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "resources" / TABLES_FILE_NAME


def matplotlib_table(name: str) -> np.ndarray:
    """(256, 3) uint8: colormap `name` sampled at 256 evenly spaced points, rounded to the nearest byte."""
    import matplotlib

    rgba = matplotlib.colormaps[name].resampled(256)(np.linspace(0.0, 1.0, 256))
    return np.round(rgba[:, :3] * 255).astype(np.uint8)


def tables_npz_bytes() -> bytes:
    """The bytes of the .npz: one (256, 3) uint8 array per colormap, under its matplotlib name."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: matplotlib_table(name) for name in ALL_COLORMAPS})
    return buffer.getvalue()


def main() -> int:
    import matplotlib

    data = tables_npz_bytes()
    OUT.write_bytes(data)
    print(f"Wrote {len(ALL_COLORMAPS)} colormaps ({', '.join(ALL_COLORMAPS)}) from matplotlib "
          f"{matplotlib.__version__} to {OUT} ({len(data)} bytes).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
