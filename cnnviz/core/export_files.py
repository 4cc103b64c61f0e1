"""The bytes of one exported file and the names of its files: PNG and `.npy` bytes, checksums, and the
layer/channel file names (`core/export.py` writes the maps, `core/kernel_export.py` the kernels).

A leaf module (nothing of cnnviz): both exporters use it without importing each other.
"""

from __future__ import annotations

import hashlib
import io
import os

import numpy as np


def layer_prefix(index: int, name: str) -> str:
    """File-name stem of layer `index` (0-based in the model): 'L1_conv2d_1' for index 0."""
    return f"L{index + 1}_{name}"


def channel_name(channel: int, num_channels: int) -> str:
    """'ch05' for channel 5 of 32: zero-padded to the width of the largest channel number (>= 2)."""
    return f"ch{channel:0{max(2, len(str(num_channels - 1)))}d}"


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's C-ordered bytes (as cnnviz.core.data.array_sha256)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def png_bytes(pixels: np.ndarray) -> bytes:
    """PNG bytes (Pillow) of uint8 `pixels`: (H, W) grey or (H, W, 3) RGB, exactly these values."""
    from PIL import Image

    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"a PNG here is uint8 (H, W) or (H, W, 3), not {pixels.dtype} {pixels.shape}")
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L" if pixels.ndim == 2 else "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """`.npy` bytes of `array` as float32 (no pickles)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()
