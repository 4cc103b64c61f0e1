"""The error every model-file reader raises, and the size bounds they share (a leaf module: the
Keras and the ONNX readers both use it)."""

from __future__ import annotations

MIN_SIZE, MAX_SIZE = 8, 512   # the image sides cnnviz shows, in pixels


class ModelFileError(Exception):
    """A model file is missing, corrupt, truncated or not a model cnnviz can show."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name if it has none)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
