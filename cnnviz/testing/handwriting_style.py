"""A made-up handwriting style for the own-digits tests and the Your digits autotest: "bubble" digits, each
stroke drawn as its outline.

Nobody in MNIST writes like this (the shipped model reads about half of them), yet a person reads them
at once: the style fine-tuning should teach. Made from MNIST digits (white on black, 28×28 uint8):
enlarged 4× (128 px with its margin), the stroke widened to a 7-px band and its inside (a 3-px band) cut out.
"""

from __future__ import annotations

import numpy as np


def bubble(digit: np.ndarray) -> np.ndarray:
    """The digit as a hollow outline, (128, 128) uint8, white on black."""
    from PIL import Image, ImageFilter

    big = Image.fromarray(np.pad(np.asarray(digit, np.uint8), 2)).resize((128, 128), Image.Resampling.BICUBIC)
    outer = np.asarray(big.filter(ImageFilter.MaxFilter(7)), np.int16)
    inner = np.asarray(big.filter(ImageFilter.MaxFilter(3)), np.int16)
    return np.clip(outer - inner, 0, 255).astype(np.uint8)


def write_bubble_folder(folder, images: np.ndarray, labels: np.ndarray) -> list:
    """Keep each digit, in the bubble style, in `folder` through the collection's writer; the paths."""
    from cnnviz.core.own_digits import save_digit

    return [save_digit(folder, int(label), bubble(image)) for image, label in zip(images, labels)]
