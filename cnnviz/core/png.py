"""A small Qt-free PNG writer and reader (8-bit greyscale or RGB), built on zlib and struct.

The core must not import Qt, and numpy has no image I/O, so the exporter writes its PNGs here.
`encode_png` always writes filter type 0 rows; `decode_png` reads any non-interlaced 8-bit
greyscale, grey+alpha, RGB or RGBA PNG (all five row filters), which covers what cnnviz writes
and what the tests read back.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from cnnviz.core.atomic import write_bytes_atomic

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {v: k for k, v in _COLOR_TYPES.items()}


class PngError(ValueError):
    """Bytes that are not a PNG this module can read."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray, compress_level: int = 6) -> bytes:
    """PNG bytes of a uint8 image shaped (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"PNG images here are uint8, not {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in _COLOR_TYPES or 0 in image.shape[:2]:
        raise ValueError(f"cannot write an image shaped {image.shape} as PNG")
    height, width, channels = image.shape
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # leading 0 = filter "none"
    rows[:, 1:] = image.reshape(height, width * channels)
    data = zlib.compress(rows.tobytes(), compress_level)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write `image` (see `encode_png`) to `path` atomically."""
    write_bytes_atomic(path, encode_png(image))
    return Path(path)


def decode_png(data: bytes) -> np.ndarray:
    """A uint8 array (H, W) for greyscale, else (H, W, channels), from PNG bytes."""
    if not data.startswith(_SIGNATURE):
        raise PngError("not a PNG file (bad signature)")
    pos, header, idat = len(_SIGNATURE), None, []
    while pos + 8 <= len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise PngError("truncated PNG")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        raise PngError("PNG without header or image data")
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in _CHANNELS or interlace:
        raise PngError(f"unsupported PNG (bit depth {depth}, colour type {color_type}, interlace {interlace})")
    channels = _CHANNELS[color_type]
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise PngError(f"corrupt PNG data: {exc}") from exc
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise PngError("PNG data has the wrong length")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            current = line
        elif kind == 2:
            current = (line + previous) & 0xFF
        elif kind in (1, 3, 4):
            current = _unfilter_sequential(kind, line, previous, channels)
        else:
            raise PngError(f"unknown PNG row filter {kind}")
        out[y] = current
        previous = current
    image = out.reshape(height, width, channels)
    return image[:, :, 0] if channels == 1 else image


def _unfilter_sequential(kind: int, line: np.ndarray, previous: np.ndarray, bpp: int) -> np.ndarray:
    """Undo the Sub (1), Average (3) and Paeth (4) filters, which depend on the pixel to the left."""
    current = np.zeros_like(line)
    for i in range(len(line)):
        left = current[i - bpp] if i >= bpp else 0
        up = previous[i]
        up_left = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            predictor = left
        elif kind == 3:
            predictor = (left + up) // 2
        else:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
        current[i] = (line[i] + predictor) & 0xFF
    return current


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG file written by `write_png` (or any 8-bit non-interlaced PNG)."""
    return decode_png(Path(path).read_bytes())
