"""Read a digit from an image file (PNG, JPEG, GIF, BMP) as white ink on black, Qt-free.

Decoding uses TensorFlow (`tf.io.decode_image`), imported only when a file is read. Photos and
scans are often dark ink on light paper: the border tells which, and such images are inverted
so that every digit arrives the way MNIST stores it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
_MAX_BYTES = 64 * 1024 * 1024
_MAX_PIXELS = 40_000_000
NOISE_MARGIN = 2.0 / 255.0   # above the background level before a pixel counts as ink
MIN_CONTRAST = 0.1           # ink must be this much brighter than the background


class ImageFileError(Exception):
    """A file is missing or is not an image cnnviz can read."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The image at `path` as (H, W) float32 in [0, 1], white ink on a black background.

    Raises ImageFileError with a readable message when the file cannot be used.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"No file at {path}.")
    size = path.stat().st_size
    if size == 0:
        raise ImageFileError(f"{path.name} is empty.")
    if size > _MAX_BYTES:
        raise ImageFileError(f"{path.name} is too large ({size / 2**20:.0f} MB) for a digit image.")
    pixels = decode_image(path.read_bytes(), path.name)
    return ink_on_black(to_greyscale(pixels))


def decode_image(data: bytes, name: str = "the file") -> np.ndarray:
    """Decode PNG/JPEG/GIF/BMP bytes to an (H, W, C) uint8 array (C = 1, 2, 3 or 4)."""
    import tensorflow as tf

    try:
        pixels = tf.io.decode_image(data, expand_animations=False, dtype=tf.uint8).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError, ValueError) as exc:
        raise ImageFileError(f"{name} is not a readable image (PNG, JPEG, GIF or BMP).") from exc
    if pixels.ndim != 3 or pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ImageFileError(f"{name} has no pixels.")
    if pixels.shape[0] * pixels.shape[1] > _MAX_PIXELS:
        raise ImageFileError(f"{name} is too large ({pixels.shape[1]}×{pixels.shape[0]} pixels).")
    return pixels


def to_greyscale(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 -> (H, W) float32 luminance in [0, 1]; transparency becomes background.

    Transparent pixels take the colour opposite to the opaque ones, so a digit drawn on a
    transparent layer (in either colour) stands out after compositing.
    """
    values = pixels.astype(np.float32) / 255.0
    channels = values.shape[2]
    colour = values[..., :3] if channels >= 3 else values[..., :1]
    grey = colour @ np.array([0.299, 0.587, 0.114], np.float32) if channels >= 3 else colour[..., 0]
    if channels in (2, 4):
        alpha = values[..., -1]
        opaque = alpha > 0.5
        ink_is_light = opaque.any() and float(np.median(grey[opaque])) > 0.5
        background = 0.0 if ink_is_light else 1.0
        grey = grey * alpha + background * (1.0 - alpha)
    return grey.astype(np.float32)


def ink_on_black(grey: np.ndarray) -> np.ndarray:
    """Make the ink white on black: invert dark-on-light images, then stretch ink to full range.

    The median of the image border (digits rarely touch it) tells the polarity: a light border
    means dark ink on light paper. The background level (the border's 95th percentile, so paper
    grain and JPEG noise count as background) becomes 0 and the strongest ink 1. An image whose
    ink is hardly brighter than its background is blank: all zeros.
    """
    grey = np.asarray(grey, dtype=np.float32)
    if float(np.median(border_pixels(grey))) > 0.5:
        grey = 1.0 - grey
    background = float(np.percentile(border_pixels(grey), 95)) + NOISE_MARGIN
    peak = float(grey.max())
    if peak - background < MIN_CONTRAST:
        return np.zeros_like(grey)
    return np.clip((grey - background) / (peak - background), 0.0, 1.0)


def border_pixels(image: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels, one flat array."""
    if min(image.shape) <= 2:
        return image.ravel()
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])
