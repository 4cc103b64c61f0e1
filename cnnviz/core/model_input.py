"""From a decoded image to what a model takes: its size, grey or RGB, its value range (Qt-free).

Two ways (`PREPARATIONS`):

- "digit": MNIST's recipe (ink found and separated from the paper, its box scaled into 20×20,
  centred by mass in 28×28), the way the app and `cnnviz predict` read handwritten digits. Only
  for 28×28×1 models.
- "resize": the image as it is, resized to the model's height × width (bilinear, anti-aliased
  when shrinking), grey (luminance) or RGB as the model wants; transparency is dropped.

"auto" picks "digit" for digit models (28×28 grey, classes 0…9) and "resize" for every other.
Values are 0…1 (white = 1), or 0…255 for models that rescale their input themselves
(`ModelInfo.input_scale`). Pixels come from `cnnviz.core.images` (decoding, ink detection).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

PREPARATIONS = ("auto", "digit", "resize")


@dataclass(frozen=True)
class PreparedInput:
    """A model input and how it was made."""

    array: np.ndarray | None     # the model's input shape (H, W, C), float32; None when there is no digit
    preparation: str             # "digit" or "resize"
    scale: float                 # the value of white in `array` (1 or 255)
    note: str | None = None      # what the reading found worth saying: why there is no digit, or
                                 # that the picture holds several marks and the largest was read

    @property
    def display(self) -> np.ndarray | None:
        """The input in 0…1 for showing: (H, W) for grey models, (H, W, 3) for RGB."""
        if self.array is None:
            return None
        image = self.array / np.float32(self.scale)
        return image[..., 0] if image.shape[-1] == 1 else image


def choose_preparation(info, preparation: str = "auto") -> str:
    """"digit" or "resize" for `info` (a ModelInfo); ValueError when "digit" cannot fit the model."""
    if preparation not in PREPARATIONS:
        raise ValueError(f"unknown preparation {preparation!r}; choose one of {', '.join(PREPARATIONS)}")
    if preparation == "auto":
        return "digit" if info.is_digit_model else "resize"
    if preparation == "digit" and tuple(info.input_shape) != (28, 28, 1):
        raise ValueError("the digit preparation makes 28×28 grey inputs; this model takes "
                         f"{'×'.join(map(str, info.input_shape))}: use resize")
    return preparation


def prepare_file(path: str | os.PathLike, info, preparation: str = "auto") -> PreparedInput:
    """Read an image file and make the model input for it (raises images.ImageFileError)."""
    from cnnviz.core.images import read_pixels

    return prepare_pixels(read_pixels(path), info, preparation)


def prepare_pixels(pixels: np.ndarray, info, preparation: str = "auto") -> PreparedInput:
    """The model input for decoded pixels: (H, W) or (H, W, C) floats in [0, 1], C = 1…4."""
    chosen = choose_preparation(info, preparation)
    pixels = np.asarray(pixels, dtype=np.float32)
    if chosen == "digit":
        from cnnviz.core.images import digit_model_input, read_digit

        reading = read_digit(pixels)
        digit = digit_model_input(reading)
        array = None if digit is None else digit.reshape(28, 28, 1)
        note = reading_note(reading)
    else:
        height, width, channels = info.input_shape
        array = resize_image(colour_channels(pixels, channels), height, width)
        note = None
    if array is not None and info.input_scale != 1:
        array = array * np.float32(info.input_scale)
    return PreparedInput(array, chosen, float(info.input_scale), note)


def reading_note(reading) -> str | None:
    """One sentence on an ink reading: why nothing was found, or that several marks were found."""
    if not reading.found:
        return reading.message or "the picture is blank: no ink stands out from the paper"
    if len(reading.components) > 1:
        return (f"the picture holds {len(reading.components)} separate marks; the largest was read "
                "(in the app, click another to read it)")
    return None


def colour_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """(H, W, channels) in [0, 1]: luminance for 1, RGB for 3 (grey repeated); alpha dropped."""
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels
    colour = pixels[..., :3] if pixels.shape[-1] >= 3 else pixels[..., :1]
    if channels == 1 and colour.shape[-1] == 3:
        return (colour @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    if channels == 3 and colour.shape[-1] == 1:
        return np.repeat(colour, 3, axis=-1)
    return colour


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, C) floats resized to (height, width, C) with Pillow's bilinear filter, float32."""
    from PIL import Image

    if image.shape[:2] == (height, width):
        return np.ascontiguousarray(image, dtype=np.float32)
    planes = [np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c], dtype=np.float32))
                         .resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
              for c in range(image.shape[-1])]
    return np.clip(np.stack(planes, axis=-1), 0.0, 1.0)
