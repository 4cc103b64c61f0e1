"""Write and read small PNG files in tests (Pillow, an independent decoder from cnnviz's writers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def write_png(path: Path, pixels: np.ndarray) -> Path:
    """Write (H, W) greyscale or (H, W, 3|4) uint8 `pixels` as an 8-bit PNG."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    Image.fromarray(pixels, _MODES[channels]).save(path, "PNG")
    return Path(path)


def read_png(path: Path) -> np.ndarray:
    """The pixels of a PNG: (H, W) for greyscale, else (H, W, channels), uint8."""
    with Image.open(path) as image:
        assert image.format == "PNG", f"{path} is {image.format}, not PNG"
        return np.asarray(image)
