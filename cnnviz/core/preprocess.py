"""Turn a drawing or an image into the 28×28 input the model expects, the way MNIST was made.

MNIST (LeCun et al.) took each digit's bounding box, scaled it to fit a 20×20 box keeping its
aspect ratio with anti-aliasing, and placed it in a 28×28 field so that its centre of mass sits
at the centre of the field. Measured on the test set, that centre is pixel (14, 14) in array
index coordinates (mean 13.99, 14.00; the spread of ±0.29 px is the rounding of a whole-pixel
shift), so `FIELD_CENTRE` is 14 and the shift is rounded to whole pixels as MNIST did.

Everything works on (H, W) float arrays in [0, 1], white ink on black, as the canvas holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODEL_SIZE = 28
CANVAS_SIZE = 280   # the drawing canvas, and where opened images are placed first
DIGIT_BOX = 20
FIELD_CENTRE = 14.0
# Values at or below this count as background (a drawing's untouched pixels are exactly 0;
# the floor only keeps 8-bit noise of photographed or compressed images out of the ink box).
INK_FLOOR = 1.0 / 255.0


@dataclass(frozen=True)
class InputMapping:
    """How model-input pixels sit on the source image (the canvas): source = origin + model × scale.

    Coordinates are pixel edges (row, column), so a model box [top, bottom) maps to the source box
    that was shrunk into it. Receptive fields and Grad-CAM maps use it to land on the user's strokes.
    """

    origin: tuple[float, float]   # source (row, column) of model-input coordinate (0, 0)
    scale: tuple[float, float]    # source pixels per model-input pixel (rows, columns)

    def to_source(self, row: float, col: float) -> tuple[float, float]:
        return self.origin[0] + row * self.scale[0], self.origin[1] + col * self.scale[1]

    def box_to_source(self, top: float, left: float, bottom: float, right: float) -> tuple[float, float, float, float]:
        """A model-input box (bottom/right exclusive) in source pixels, (top, left, bottom, right)."""
        (y0, x0), (y1, x1) = self.to_source(top, left), self.to_source(bottom, right)
        return y0, x0, y1, x1


def exact_mapping(source_size: int, model_size: int = MODEL_SIZE) -> InputMapping:
    """The mapping of a model input shown whole on a source_size² canvas (an MNIST digit as stored)."""
    return InputMapping((0.0, 0.0), (source_size / model_size, source_size / model_size))


@dataclass(frozen=True)
class Preprocessed:
    """The model input and how it was made from the source image (for showing the steps)."""

    image: np.ndarray                       # (28, 28) float32 in [0, 1]
    ink_box: tuple[int, int, int, int]      # top, left, bottom, right (exclusive) in the source
    scaled_size: tuple[int, int]            # height, width of the digit inside the 28×28 field
    offset: tuple[int, int]                 # row, column where the scaled digit was placed
    centre_of_mass: tuple[float, float]     # row, column in the 28×28 field

    @property
    def mapping(self) -> InputMapping:
        """Where each model-input pixel came from in the source (the inverse of scale-and-shift)."""
        top, left, bottom, right = self.ink_box
        scale = ((bottom - top) / self.scaled_size[0], (right - left) / self.scaled_size[1])
        return InputMapping((top - self.offset[0] * scale[0], left - self.offset[1] * scale[1]), scale)


def ink_box(image: np.ndarray, floor: float = INK_FLOOR) -> tuple[int, int, int, int] | None:
    """The tight bounding box (top, left, bottom, right; bottom/right exclusive) of all ink, or None."""
    ink = np.asarray(image) > floor
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def resize_area(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize with an area (box) filter: each output pixel is the mean of the input it covers.

    Anti-aliased when shrinking, and it keeps the image's total brightness per area. Works one
    axis at a time on running sums, so memory grows with the image, not with image × output
    (a 1×999,999 picture needs a few MB, not the 1.8 GB of a 224 × 999,999 weight matrix).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.shape[1] * height > image.shape[0] * width:   # shrink the axis that shrinks most first
        return _resize_area_axis(_resize_area_axis(image, width, 1), height, 0).astype(np.float32)
    return _resize_area_axis(_resize_area_axis(image, height, 0), width, 1).astype(np.float32)


def _resize_area_axis(image: np.ndarray, size_out: int, axis: int) -> np.ndarray:
    """Area-resize along one axis: differences of the running sum at the output cells' edges."""
    values = np.moveaxis(image, axis, 0)
    size_in = values.shape[0]
    sums = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0, dtype=np.float64)])
    edges = np.linspace(0.0, size_in, size_out + 1)
    whole = np.minimum(np.floor(edges).astype(np.int64), size_in - 1)
    part = (edges - whole).reshape((-1,) + (1,) * (values.ndim - 1))
    covered = sums[whole] + part * values[whole]   # the running sum at each (fractional) edge
    cells = np.diff(covered, axis=0) * (size_out / size_in)
    return np.moveaxis(cells, 0, axis)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the brightness-weighted mean position, in array index coordinates."""
    image = np.asarray(image, dtype=np.float64)
    total = image.sum()
    if total <= 0:
        raise ValueError("an image without ink has no centre of mass")
    row = float(image.sum(axis=1) @ np.arange(image.shape[0]) / total)
    col = float(image.sum(axis=0) @ np.arange(image.shape[1]) / total)
    return row, col


def preprocess(image: np.ndarray) -> Preprocessed | None:
    """MNIST's recipe applied to `image` (white on black, [0, 1]); None when there is no ink."""
    image = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D greyscale image, got shape {image.shape}")
    box = ink_box(image)
    if box is None:
        return None
    top, left, bottom, right = box
    crop = image[top:bottom, left:right]
    scale = DIGIT_BOX / max(crop.shape)
    height = max(1, round(crop.shape[0] * scale))
    width = max(1, round(crop.shape[1] * scale))
    digit = resize_area(crop, height, width)
    if digit.max() > 0:
        # A thin stroke scaled down a lot fades; MNIST's digits reach full white, so restore the peak.
        digit = np.clip(digit / digit.max(), 0.0, 1.0) if digit.max() < 1.0 else digit
    digit_row, digit_col = centre_of_mass(digit)
    # Whole-pixel shift as MNIST; keep the whole digit inside the field for lopsided shapes.
    row = int(np.clip(round(FIELD_CENTRE - digit_row), 0, MODEL_SIZE - height))
    col = int(np.clip(round(FIELD_CENTRE - digit_col), 0, MODEL_SIZE - width))
    field = np.zeros((MODEL_SIZE, MODEL_SIZE), np.float32)
    field[row:row + height, col:col + width] = digit
    return Preprocessed(np.ascontiguousarray(field), box, (height, width), (row, col), centre_of_mass(field))


def model_input(image: np.ndarray) -> np.ndarray | None:
    """The (28, 28) float32 model input for `image`, or None when there is no ink to read."""
    result = preprocess(image)
    return None if result is None else result.image


def fit_into_square(image: np.ndarray, size: int, margin: float = 0.1) -> np.ndarray:
    """`image` scaled (area filter) to fit a size×size black square with a margin, centred.

    Used to place an opened image or an MNIST digit on the drawing canvas.
    """
    image = np.asarray(image, dtype=np.float32)
    place = placement(image.shape, size, margin)
    height, width = place.size
    resized = resize_area(image, height, width) if place.scale < 1 else _resize_bilinear(image, height, width)
    square = np.zeros((size, size), np.float32)
    top, left = place.offset
    square[top:top + height, left:left + width] = np.clip(resized, 0.0, 1.0)
    return square


@dataclass(frozen=True)
class Placement:
    """Where `fit_into_square` puts an image: scale, (height, width) and (row, column) of its corner."""

    scale: float
    size: tuple[int, int]
    offset: tuple[int, int]
    source: tuple[int, int]   # the image's (height, width)

    def to_square(self, row: float, col: float) -> tuple[float, float]:
        """Image coordinates (row, column; pixel edges) -> square coordinates."""
        return (self.offset[0] + row * self.size[0] / self.source[0],
                self.offset[1] + col * self.size[1] / self.source[1])


def placement(shape: tuple[int, ...], size: int, margin: float = 0.1) -> Placement:
    """How an image of `shape` (H, W, ...) is scaled and centred in a size×size square with a margin."""
    inner = max(1, int(round(size * (1.0 - 2 * margin))))
    scale = inner / max(shape[:2])
    height = max(1, round(shape[0] * scale))
    width = max(1, round(shape[1] * scale))
    return Placement(scale, (height, width), ((size - height) // 2, (size - width) // 2), (shape[0], shape[1]))


def image_on_canvas(image: np.ndarray) -> np.ndarray:
    """An opened image as the app places it on its CANVAS_SIZE² canvas (the CLI does the same)."""
    return fit_into_square(image, CANVAS_SIZE)


def _resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Smooth enlargement (pixel centres aligned), so a 28×28 digit looks drawn, not blocky."""
    rows = (np.arange(height) + 0.5) * image.shape[0] / height - 0.5
    cols = (np.arange(width) + 0.5) * image.shape[1] / width - 0.5
    along_rows = np.stack([np.interp(rows, np.arange(image.shape[0]), image[:, c])
                           for c in range(image.shape[1])], axis=1)
    return np.stack([np.interp(cols, np.arange(image.shape[1]), along_rows[r])
                     for r in range(height)], axis=0).astype(np.float32)
