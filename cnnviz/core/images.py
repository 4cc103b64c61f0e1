"""Read a digit from an image file (PNG, JPEG, GIF, BMP), Qt-free and without TensorFlow.

Decoding uses Pillow (imported when a file is read). The header is read first and a picture too
large to decode cheaply is refused before any pixel is decoded; an accepted one is scaled down so
that its longer side is at most MAX_SIDE (JPEGs are decoded at a reduced scale directly), so any
accepted file costs little memory. `read_pixels` keeps colour and alpha, for models that want
them; `read_digit` is the one path every caller uses for a digit: the app's Open… and
drag-and-drop, `cnnviz predict` and `cnnviz export --image` (see `cnnviz.core.ink`).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from cnnviz.core.ink import InkReading, find_ink

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP")
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 40_000_000     # declared width × height, checked from the header before decoding
MAX_SIDE = 1024             # an accepted image is scaled down (box filter) to at most this


class ImageFileError(Exception):
    """A file is missing or is not an image cnnviz can read."""


def read_pixels(path: str | os.PathLike, max_side: int = MAX_SIDE) -> np.ndarray:
    """The image at `path` as (H, W, C) float32 in [0, 1]: C = 1 (grey), 2 (grey, alpha), 3 (RGB)
    or 4 (RGBA); the first frame of an animation; turned upright as its EXIF orientation says;
    scaled down (area average) so that max(H, W) <= max_side.

    Raises ImageFileError with a readable message when the file cannot be used.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = _checked_file(path)
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS   # Pillow's own guard: it refuses twice this from the header
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as opened:   # reads the header only
                _check_size(opened.size, path.name)
                if opened.format == "JPEG":   # decode at 1/2, 1/4 or 1/8 scale when that is enough
                    opened.draft(opened.mode, _reduced_size(opened.size, max_side))
                # Pillow joins the blocks it reads until its decoder has a whole row: 64 KB blocks made a
                # 60 MB one-row BMP cost 900 joins of up to 60 MB (74 s). Blocks of a row (the file is
                # at most MAX_FILE_BYTES) keep that linear.
                opened.decodermaxblock = max(opened.decodermaxblock, min(opened.size[0] * 8, MAX_FILE_BYTES))
                image = ImageOps.exif_transpose(_standard_mode(opened))
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageFileError(f"{path.name} is too large to read as a digit image ({exc}).") from exc
    except PermissionError as exc:
        raise ImageFileError(f"cannot read {path.name}: {exc.strerror}.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageFileError(f"{path.name} is not a readable image (PNG, JPEG, GIF or BMP).") from exc
    if max(image.size) > max_side:
        image = image.resize(_reduced_size(image.size, max_side), Image.Resampling.BOX, reducing_gap=2.0)
    scale = 1.0 / 65535.0 if image.mode == "F" else 1.0 / 255.0
    pixels = np.asarray(image, dtype=np.float32) * np.float32(scale)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    return np.clip(pixels, 0.0, 1.0)


def read_grey(path: str | os.PathLike, max_side: int = MAX_SIDE) -> np.ndarray:
    """The image at `path` as (H, W) float32 grey levels in [0, 1], transparency flattened."""
    return to_greyscale(read_pixels(path, max_side))


def read_digit(source: str | os.PathLike | np.ndarray, invert: bool | None = None,
               threshold: float | None = None, component: int | None = None) -> InkReading:
    """The digit in an image file or a grey/colour array: its ink found and separated from the paper.

    `source` is a path, or an (H, W) / (H, W, C) float array in [0, 1]. The overrides are those of
    `cnnviz.core.ink.find_ink`. `reading.digit` is the chosen digit, white on black, cropped to its box.
    """
    if isinstance(source, np.ndarray):
        grey = source if source.ndim == 2 else to_greyscale(source)
    else:
        grey = read_grey(source)
    return find_ink(grey, invert=invert, threshold=threshold, component=component)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The digit in the image at `path`, white on black and cropped to its box, (H, W) float32.

    All zeros (the picture's size) when the image holds no digit; raises ImageFileError.
    """
    reading = read_digit(path)
    return reading.digit if reading.found else np.zeros_like(reading.image)


def to_greyscale(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) floats in [0, 1] (or uint8) -> (H, W) float32 luminance; transparency becomes background.

    Transparent pixels take the colour opposite to the opaque ones, so a digit drawn on a
    transparent layer (in either colour) stands out after compositing.
    """
    values = np.asarray(pixels)
    values = values.astype(np.float32) / 255.0 if values.dtype == np.uint8 else values.astype(np.float32)
    if values.ndim == 2:
        return values
    channels = values.shape[2]
    if channels >= 3:
        grey = values[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    else:
        grey = values[..., 0]
    if channels in (2, 4):
        alpha = values[..., -1]
        opaque = alpha > 0.5
        ink_is_light = opaque.any() and float(np.median(grey[opaque])) > 0.5
        background = 0.0 if ink_is_light else 1.0
        grey = grey * alpha + background * (1.0 - alpha)
    return grey.astype(np.float32)


def _checked_file(path: str | os.PathLike) -> Path:
    """`path` as a Path, once it is known to be a non-empty file of a sane size."""
    path = Path(path)
    if path.is_dir():
        raise ImageFileError(f"{path} is a folder, not an image file.")
    if not path.is_file():
        if path.exists():   # a device, a pipe, a socket
            raise ImageFileError(f"{path} is not a regular file.")
        if path.is_symlink():
            raise ImageFileError(f"{path} is a symbolic link to nothing readable.")
        raise ImageFileError(f"No file at {path}.")
    size = path.stat().st_size
    if size == 0:
        raise ImageFileError(f"{path.name} is empty.")
    if size > MAX_FILE_BYTES:
        raise ImageFileError(f"{path.name} is too large ({size / 2**20:.0f} MB) for a digit image.")
    return path


def _check_size(size: tuple[int, int], name: str) -> None:
    """Refuse from the header: no pixels, or more than MAX_PIXELS."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageFileError(f"{name} has no pixels.")
    if width * height > MAX_PIXELS:
        raise ImageFileError(f"{name} is too large ({width}×{height} pixels; at most "
                             f"{MAX_PIXELS / 1e6:.0f} million).")


def _reduced_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) scaled so the longer side is max_side (unchanged when already smaller)."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, math.floor(width * scale + 0.5)), max(1, math.floor(height * scale + 0.5))


def _standard_mode(image):
    """Pillow image -> one of L, LA, RGB, RGBA or F (16-bit grey, 0 to 65535); alpha kept."""
    mode = image.mode
    has_alpha = mode in ("LA", "RGBA", "PA", "La", "RGBa") or "transparency" in image.info
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.convert("F") if mode == "I" else image.convert("I").convert("F")
    if mode in ("L", "RGB") and not has_alpha:
        return image
    if mode in ("1", "L") and not has_alpha:
        return image.convert("L")
    if mode in ("L", "LA", "La") or (mode == "P" and _palette_is_grey(image) and not has_alpha):
        return image.convert("LA" if has_alpha else "L")
    return image.convert("RGBA" if has_alpha else "RGB")


def _palette_is_grey(image) -> bool:
    palette = image.getpalette() or []
    return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))


def digit_model_input(reading: InkReading) -> np.ndarray | None:
    """The (28, 28) model input for a reading, made exactly as the app makes it from its canvas
    (the digit placed on the CANVAS_SIZE² canvas, then MNIST's recipe); None when nothing was found."""
    from cnnviz.core.preprocess import image_on_canvas, model_input

    return model_input(image_on_canvas(reading.digit)) if reading.found else None
