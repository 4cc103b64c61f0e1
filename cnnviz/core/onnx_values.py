"""The values an ONNX graph's conversion passes around, and how a Keras tensor is laid out against the
ONNX tensor it stands for (a leaf module: `onnx_import` and `onnx_ops` both use it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NCHW, NHWC, FLAT = "nchw", "nhwc", "flat"   # how a Keras tensor relates to the ONNX tensor it stands for


@dataclass(frozen=True)
class Origin:
    """The ONNX tensor a Keras layer computes, and how the two are laid out.

    `layout` NCHW: the Keras output is the ONNX tensor transposed to NHWC; NHWC: they are the same;
    FLAT: a vector, `keras[:, i] == onnx[:, perm[i]]` (`perm` None: the same order).
    """

    node: str
    output: str
    layout: str
    perm: tuple[int, ...] | None = None


def as_keras_layout(array: np.ndarray, origin: Origin) -> np.ndarray:
    """An ONNX tensor (with its batch axis) in the layout of the Keras layer that stands for it."""
    if origin.layout == NCHW and array.ndim == 4:
        return array.transpose(0, 2, 3, 1)
    if origin.layout == FLAT and origin.perm is not None:
        return array[:, list(origin.perm)]
    return array


@dataclass
class Value:
    """A tensor of the graph while converting: a Keras tensor (computed) or a numpy array (constant)."""

    tensor: object = None
    layout: str = NCHW
    perm: np.ndarray | None = None
    array: np.ndarray | None = None

    @property
    def is_constant(self) -> bool:
        return self.array is not None
