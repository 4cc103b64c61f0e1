"""MNIST test digits shown the way users bring digits: cropped tightly, photographed, on ruled paper.

Each style turns one 28×28 uint8 MNIST digit (white on black) into a picture a user might save,
with a fixed random generator so a style's test set is the same on every run. Used by
`scripts/bench_real_digits.py` (accuracy per style), the tests and the app's autotest.
Pictures are uint8 arrays; `save_picture` writes them as PNG, or as JPEG for photo-like styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

SCALE = 4          # users' digits are larger than MNIST's: 28 px become 112
PAPER = 245        # off-white paper
INK = 25           # dark ink


@dataclass(frozen=True)
class Style:
    name: str
    description: str
    make: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    jpeg_quality: int | None = None   # saved as JPEG at this quality, else PNG


def enlarged(digit: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """The digit enlarged smoothly (bicubic), as a pen-drawn digit at a higher resolution looks."""
    from PIL import Image

    size = digit.shape[0] * scale
    return np.asarray(Image.fromarray(np.asarray(digit, np.uint8)).resize((size, size), Image.Resampling.BICUBIC))


def on_paper(ink: np.ndarray, paper: float | np.ndarray = PAPER, ink_level: float = INK) -> np.ndarray:
    """White-on-black ink (uint8) as dark ink on paper: each pixel mixes paper and ink by the ink's value."""
    amount = ink.astype(np.float32) / 255.0
    return np.clip(np.round(paper * (1 - amount) + ink_level * amount), 0, 255).astype(np.uint8)


def ink_box(ink: np.ndarray, floor: int = 20) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the pixels above `floor`."""
    rows = np.flatnonzero((ink > floor).any(axis=1))
    cols = np.flatnonzero((ink > floor).any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _crop_with_margins(ink: np.ndarray, margins: tuple[int, int, int, int]) -> np.ndarray:
    """The ink's box plus (top, left, bottom, right) margins: > 0 adds black, < 0 cuts into the ink."""
    top, left, bottom, right = ink_box(ink)
    crop = ink[top - min(0, margins[0]):bottom + min(0, margins[2]),
               left - min(0, margins[1]):right + min(0, margins[3])]
    return np.pad(crop, ((max(0, margins[0]), max(0, margins[2])), (max(0, margins[1]), max(0, margins[3]))))


def plain(digit, rng):
    """The MNIST digit itself, 28×28, white on black."""
    return np.asarray(digit, np.uint8)


def tight_top(digit, rng):
    """Enlarged, dark on light, cropped through the top of the ink (0 to 3 px), small margins elsewhere."""
    margins = (-int(rng.integers(0, 4)), *rng.integers(2, 14, size=3))
    return on_paper(_crop_with_margins(enlarged(digit), margins))


def side_and_bottom(digit, rng):
    """Enlarged, dark on light, cropped through the right (or left) and the bottom of the ink (0 to 3 px)."""
    top, side = rng.integers(4, 20, size=2)
    cut_side, cut_bottom = -rng.integers(0, 4, size=2)
    margins = (top, side, cut_bottom, cut_side) if rng.random() < 0.5 else (top, cut_side, cut_bottom, side)
    return on_paper(_crop_with_margins(enlarged(digit), margins))


def small_in_corner(digit, rng):
    """At 2× (56 px) in a corner of a 640×480 sheet of paper, dark on light."""
    sheet = np.zeros((480, 640), np.uint8)
    small = enlarged(digit, 2)
    row = int(rng.integers(8, 40)) if rng.random() < 0.5 else 480 - 56 - int(rng.integers(8, 40))
    col = int(rng.integers(8, 40)) if rng.random() < 0.5 else 640 - 56 - int(rng.integers(8, 40))
    sheet[row:row + 56, col:col + 56] = small
    return on_paper(sheet)


def photo(digit, rng):
    """A photo of paper: 160×160, a left-to-right light gradient, grain, saved as JPEG (quality 80)."""
    ink = np.pad(enlarged(digit), 24)
    width = ink.shape[1]
    start, end = rng.uniform(130, 170), rng.uniform(225, 250)
    light = np.linspace(start, end, width)[None, :] if rng.random() < 0.5 else np.linspace(end, start, width)[None, :]
    picture = on_paper(ink, paper=light, ink_level=0.15 * start)
    grain = rng.normal(0, 3, picture.shape)
    return np.clip(picture + grain, 0, 255).astype(np.uint8)


def ruled(digit, rng):
    """On ruled paper: 1-px light-grey lines every 8 px (and a margin line), dark ink."""
    ink = np.pad(enlarged(digit), 16)
    paper = np.full(ink.shape, float(PAPER))
    offset = int(rng.integers(0, 8))
    paper[offset::8, :] = 200
    paper[:, int(rng.integers(10, 30))] = 215
    return on_paper(ink, paper=paper)


def thin(digit, rng):
    """Thin strokes: the enlarged digit eroded by 2 px, dark on light."""
    from PIL import Image, ImageFilter

    eroded = Image.fromarray(np.pad(enlarged(digit), 12)).filter(ImageFilter.MinFilter(5))
    return on_paper(np.asarray(eroded))


def thick(digit, rng):
    """Thick strokes: the enlarged digit dilated by 3 px, dark on light."""
    from PIL import Image, ImageFilter

    dilated = Image.fromarray(np.pad(enlarged(digit), 12)).filter(ImageFilter.MaxFilter(7))
    return on_paper(np.asarray(dilated))


STYLES = {style.name: style for style in (
    Style("plain", "MNIST as it is (28×28, white on black)", plain),
    Style("tight-top", "tight crop touching the top edge", tight_top),
    Style("side-bottom", "touching a side and the bottom", side_and_bottom),
    Style("small-corner", "small (56 px) in a corner of a 640×480 page", small_in_corner),
    Style("photo", "photo: light gradient, grain, JPEG q80", photo, jpeg_quality=80),
    Style("ruled", "ruled paper (grey lines every 8 px)", ruled),
    Style("thin", "thin strokes (eroded 2 px at 4×)", thin),
    Style("thick", "thick strokes (dilated 3 px at 4×)", thick),
)}


def render(style: str, digit: np.ndarray, seed: int) -> np.ndarray:
    """`digit` (28×28 uint8) in `style`, with a generator seeded by `seed`."""
    return STYLES[style].make(np.asarray(digit, np.uint8), np.random.default_rng(seed))


def save_picture(path: str | Path, pixels: np.ndarray, jpeg_quality: int | None = None) -> Path:
    """Write a uint8 picture as PNG, or as JPEG at `jpeg_quality` (the suffix is set to match)."""
    from PIL import Image

    path = Path(path).with_suffix(".jpg" if jpeg_quality else ".png")
    image = Image.fromarray(np.asarray(pixels, np.uint8))
    if jpeg_quality:
        image.save(path, "JPEG", quality=jpeg_quality)
    else:
        image.save(path, "PNG")
    return path


def save_style(folder: str | Path, style: str, digit: np.ndarray, seed: int, name: str) -> Path:
    """Render `digit` in `style` and save it in `folder` as `name` + .png or .jpg."""
    return save_picture(Path(folder) / name, render(style, digit, seed), STYLES[style].jpeg_quality)
