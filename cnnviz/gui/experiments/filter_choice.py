"""Which filter the kernel painter edits and how its weights are laid out as a paintable grid (Qt-free).

A Conv2D filter C is `kernel[..., C]`, (kh, kw, inputs): the painter shows one input channel's kh×kw
slice at a time. A Dense unit C is `kernel[:, C]`, one weight per input: when the unit reads a Flatten
of maps (dense_1 reads conv2d_3's 3×3×64), its weights are laid out as those maps, (h, w) per input
channel, as Keras flattens them (row-major over y, x, channel); otherwise they wrap into a near-square
grid with one "input channel" (cells past the last weight are NaN and cannot be painted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EDITABLE_KINDS = ("Conv2D", "Dense")


@dataclass(frozen=True)
class FilterSlot:
    """One editable filter (or unit) of the model shown and the shape of its painter grid."""

    layer: str              # the layer's name
    index: int              # its index in model order
    kind: str               # "Conv2D" or "Dense"
    channel: int            # the filter (or unit)
    count: int              # how many filters (units) the layer has
    grid: tuple[int, int]   # rows, columns of one input channel's slice in the painter
    inputs: int             # input channels (slices) the painter pages through
    size: int               # weights in the filter (without its bias)
    wraps: bool = False     # a dense unit on a flat input: its weights wrapped into the grid

    @property
    def noun(self) -> str:
        return "filter" if self.kind == "Conv2D" else "unit"

    @property
    def takes_presets(self) -> bool:
        """The 3×3 shape presets fit Conv2D filters with 3×3 kernels only."""
        return self.kind == "Conv2D" and self.grid == (3, 3)

    def describe(self) -> str:
        """'conv2d_1 · filter 5 of 32 (3×3 × 1 input channel)'."""
        rows, cols = self.grid
        what = "input channel" if self.inputs == 1 else "input channels"
        shape = f"{self.size} weights" if self.wraps else f"{rows}×{cols} × {self.inputs} {what}"
        return f"{self.layer} · {self.noun} {self.channel} of {self.count} ({shape})"


def editable_layers(model) -> list[int]:
    """Indices (model order) of the layers whose filters can be edited: Conv2D and Dense."""
    if model is None:
        return []
    return [i for i, spec in enumerate(model.layers) if spec.kind in EDITABLE_KINDS and model.weights[i]]


def why_not_editable(model, index: int) -> str:
    """One line: why layer `index` has nothing to edit, and where to go instead."""
    if model is None:
        return "No model yet."
    editable = [model.layers[i].name for i in editable_layers(model)]
    spec = model.layers[index] if 0 <= index < len(model.layers) else None
    where = (f"pick one of {', '.join(editable)} in the overview" if editable else
             "this model has no Conv2D or Dense layer, so there is nothing to edit")
    if spec is None:
        return f"Kernel edits work on Conv2D filters and Dense units: {where}."
    if spec.kind in EDITABLE_KINDS:
        return f"{spec.name} has no weights to edit."
    return f"{spec.name} is a {spec.kind} layer, with no filters of its own to edit: {where}."


def filter_slot(model, index: int, channel: int) -> FilterSlot | None:
    """The painter's view of filter `channel` of layer `index` (None: not an editable layer or channel)."""
    if model is None or index not in editable_layers(model):
        return None
    spec = model.layers[index]
    kernel = model.weights[index][0]
    count = int(kernel.shape[-1])
    if not 0 <= channel < count:
        return None
    if spec.kind == "Conv2D":
        rows, cols, inputs = (int(d) for d in kernel.shape[:3])
        return FilterSlot(spec.name, index, spec.kind, int(channel), count, (rows, cols), inputs,
                          rows * cols * inputs)
    weights = int(kernel.shape[0])
    maps = _flattened_maps(model, index)
    if maps is not None and math.prod(maps) == weights:
        return FilterSlot(spec.name, index, spec.kind, int(channel), count, (maps[0], maps[1]), maps[2], weights)
    cols = math.ceil(math.sqrt(weights))
    return FilterSlot(spec.name, index, spec.kind, int(channel), count, (math.ceil(weights / cols), cols), 1,
                      weights, wraps=True)


def _flattened_maps(model, index: int) -> tuple[int, int, int] | None:
    """(h, w, c) of the maps a Flatten feeds into Dense layer `index`, if that is what it reads."""
    specs = model.layers
    flatten = _input_of(specs, index)
    if flatten is None or flatten.kind != "Flatten":
        return None
    maps = _input_of(specs, specs.index(flatten))
    shape = tuple(int(d) for d in (model.input_shape if maps is None else maps.output_shape))
    return shape if len(shape) == 3 else None     # a Flatten of the model's input: laid out as the image


def _input_of(specs, index: int):
    """The spec that feeds layer `index` (None: the model input, or several inputs)."""
    spec = specs[index]
    if not spec.inputs:
        return specs[index - 1] if index > 0 else None
    if len(spec.inputs) != 1:
        return None
    names = [s.name for s in specs]
    return specs[names.index(spec.inputs[0])] if spec.inputs[0] in names else None


def filter_weights(slot: FilterSlot, kernel: np.ndarray) -> np.ndarray:
    """The filter's own weights out of a layer's whole kernel: (kh, kw, in) or (in,)."""
    return np.asarray(kernel, np.float32)[..., slot.channel]


def grid_of(slot: FilterSlot, weights: np.ndarray, input_channel: int) -> np.ndarray:
    """The painter grid (rows, cols) of input channel `input_channel` of a filter's `weights`."""
    weights = np.asarray(weights, np.float32)
    rows, cols = slot.grid
    if slot.kind == "Conv2D":
        return weights[:, :, input_channel].copy()
    if not slot.wraps:
        return weights.reshape(rows, cols, slot.inputs)[:, :, input_channel].copy()
    grid = np.full(rows * cols, np.nan, np.float32)
    grid[:weights.size] = weights
    return grid.reshape(rows, cols)


def painted_values(slot: FilterSlot, weights: np.ndarray, input_channel: int, grid: np.ndarray) -> np.ndarray:
    """The values a core paint edit takes for `grid` painted over input channel `input_channel`: the kh×kw
    slice for a conv filter, the whole weight vector (the other input channels unchanged) for a unit."""
    grid = np.asarray(grid, np.float32)
    if slot.kind == "Conv2D":
        return grid.copy()
    vector = np.asarray(weights, np.float32).copy()
    if slot.wraps:
        vector[:] = grid.reshape(-1)[:vector.size]
        return vector
    rows, cols = slot.grid
    maps = vector.reshape(rows, cols, slot.inputs)
    maps[:, :, input_channel] = grid
    return maps.reshape(-1)
