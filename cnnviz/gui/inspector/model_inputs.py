"""What the inspector feeds the model, for any model: the canvas, a test image, or an opened picture.

- Digit models (28×28 grey, classes 0…9): the drawing canvas read with MNIST's recipe, as always
  (`cnnviz.core.preprocess`); test digits go in exactly as stored.
- Other models (Fashion-MNIST, 32×32 RGB, 64×64 grey, …): an opened picture is resized as it is
  to the model's height × width, grey or RGB as the model wants (`core.model_input`, the
  command line's "resize"), and shown in colour on the canvas. Drawing works too: the canvas
  (white strokes on black) is resized the same way, grey, repeated into R, G and B for RGB models.

Model inputs are in the model's own form: (H, W) for grey models, (H, W, 3) for RGB ones, with
white = the model's `input_scale` (1, or 255 for models that rescale their input themselves).
Everything here but `PictureInput` is Qt-free arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.core.preprocess import InputMapping, centre_of_mass, fit_into_square, placement, preprocess
from cnnviz.gui.widgets.model_words import input_shape, is_digit_model

PICTURE_MARGIN = 0.02   # an opened picture fills the canvas nearly edge to edge


def model_form(image: np.ndarray, model) -> np.ndarray:
    """An input in [0, 1] ((H, W), (H, W, 1) or (H, W, 3)) in the model's form: (H, W) grey or
    (H, W, 3) RGB, white = its input scale."""
    height, width, channels = input_shape(model)
    image = np.asarray(image, np.float32).reshape(height, width, channels)
    scale = 1.0 if model is None else float(model.input_scale)
    image = image[..., 0] if channels == 1 else image
    return np.ascontiguousarray(image * np.float32(scale) if scale != 1 else image)


def whole_canvas_mapping(canvas_size: int, height: int, width: int) -> InputMapping:
    """Model-input pixels of an input that shows the whole canvas (a test image, a resized drawing)."""
    return InputMapping((0.0, 0.0), (canvas_size / height, canvas_size / width))


@dataclass(frozen=True)
class CanvasReading:
    """The model input made from the canvas, where its pixels lie on the canvas, and the digit guides."""

    model_input: np.ndarray | None
    mapping: InputMapping | None
    guides: tuple[tuple[int, int, int, int], tuple[float, float]] | None = None   # ink box, centre of mass


def read_canvas(source: np.ndarray, exact: np.ndarray | None, model,
                picture: tuple[np.ndarray, InputMapping] | None = None) -> CanvasReading:
    """The model input for the canvas `source` ((S, S) in [0, 1]); `exact` is the input that came with
    the image on it (a test image or an opened picture, in [0, 1]), used when it fits the model;
    `picture` is (exact input, mapping) of the picture opened last, to place its pixels."""
    height, width, channels = input_shape(model)
    size = source.shape[0]
    if exact is not None and exact.size == height * width * channels:
        if picture is not None and picture[0].shape == exact.shape and np.array_equal(picture[0], exact):
            mapping = picture[1]
        else:
            mapping = whole_canvas_mapping(size, height, width)
        return CanvasReading(model_form(exact, model), mapping)
    if is_digit_model(model):
        prepared = preprocess(source)
        if prepared is None:
            return CanvasReading(None, None)
        return CanvasReading(model_form(prepared.image, model), prepared.mapping,
                             (prepared.ink_box, centre_of_mass(source)))
    if not source.any():
        return CanvasReading(None, None)
    from cnnviz.core.model_input import resize_image

    resized = resize_image(source[..., None], height, width)
    resized = np.repeat(resized, 3, axis=2) if channels == 3 else resized
    return CanvasReading(model_form(resized, model), whole_canvas_mapping(size, height, width))


@dataclass(frozen=True)
class OpenedPicture:
    """A picture prepared for a model: the canvas pixels, the colour picture shown over them, the
    model input (in [0, 1]) and where its pixels lie on the canvas."""

    canvas: np.ndarray          # (S, S) float32 grey: what the canvas holds (and draws on)
    picture: np.ndarray         # (S, S) or (S, S, 3) uint8: what the canvas shows
    model_input: np.ndarray     # (H, W) or (H, W, 3) in [0, 1]
    mapping: InputMapping


def prepare_picture(pixels: np.ndarray, model, canvas_size: int) -> OpenedPicture:
    """Decoded pixels ((h, w) or (h, w, C) in [0, 1]) as a non-digit model takes them (resized as they
    are), and as the canvas shows them (the whole picture, colour kept for RGB models)."""
    from cnnviz.core.model_input import colour_channels, resize_image

    height, width, channels = input_shape(model)
    colour = colour_channels(np.asarray(pixels, np.float32), channels)        # (h, w, channels)
    model_input = resize_image(colour, height, width)
    place = placement(colour.shape, canvas_size, PICTURE_MARGIN)
    planes = [fit_into_square(colour[..., c], canvas_size, PICTURE_MARGIN) for c in range(channels)]
    shown = np.stack(planes, axis=-1) if channels == 3 else planes[0]
    grey = shown @ np.array([0.299, 0.587, 0.114], np.float32) if channels == 3 else shown
    picture = np.round(np.clip(shown, 0, 1) * 255).astype(np.uint8)
    top, left = place.offset
    mapping = InputMapping((float(top), float(left)), (place.size[0] / height, place.size[1] / width))
    form = model_input[..., 0] if channels == 1 else model_input
    return OpenedPicture(grey.astype(np.float32), picture, np.ascontiguousarray(form, np.float32), mapping)


class PictureInput:
    """The picture opened last for a non-digit model, put on the drawing canvas (shown in colour; the
    model input travels with it as the canvas's exact input until the next stroke)."""

    def __init__(self, canvas):
        self._canvas = canvas
        self._opened: OpenedPicture | None = None
        self._pixels: np.ndarray | None = None
        self._name = ""

    def open(self, pixels: np.ndarray, model, name: str = "") -> str:
        """Show `pixels` on the canvas as `model` takes them; a one-line status."""
        from cnnviz.gui.widgets.drawing_canvas import PictureOverlay

        opened = prepare_picture(pixels, model, self._canvas.canvas_size)
        self._opened, self._pixels, self._name = opened, np.asarray(pixels, np.float32), name
        empty = np.zeros(opened.canvas.shape, bool)
        self._canvas.set_image(opened.canvas, exact_input=opened.model_input,
                               overlay=PictureOverlay(opened.picture, empty, (), None))
        height, width, channels = input_shape(model)
        h, w = pixels.shape[:2]
        colour = "RGB" if channels == 3 else "grey"
        return f"Opened {name} ({w}×{h} pixels), resized as it is to the model's {height}×{width} {colour} input."

    def placed(self) -> tuple[np.ndarray, InputMapping] | None:
        """(model input in [0, 1], mapping) of the picture opened last, for `read_canvas`."""
        return None if self._opened is None else (self._opened.model_input, self._opened.mapping)

    def is_shown(self) -> bool:
        """True while the canvas still shows the picture opened last (no stroke, clear or undo since)."""
        overlay = self._canvas.overlay()
        return self._opened is not None and overlay is not None and overlay.picture is self._opened.picture

    def pixels(self) -> tuple[np.ndarray, str] | None:
        """The decoded picture opened last and its name (to open it again for another model)."""
        return None if self._pixels is None else (self._pixels, self._name)


def read_picture_file(path: str | Path) -> np.ndarray:
    """A picture file's pixels, colour kept (raises `cnnviz.core.images.ImageFileError`)."""
    from cnnviz.core.images import read_pixels

    return read_pixels(path)
