"""Receptive fields: which input pixels (or which units of an earlier map) can influence a unit.

Computed generically from `LayerSpec`s (Qt-free, TensorFlow-free), one layer at a time. Every
spatial layer is a sliding window along each axis: an effective kernel `k` (a dilated kernel
spans `dilation * (kernel - 1) + 1` cells), a stride `s` and a padding `p` before the first cell.
If a layer's input unit i covers input pixels `offset + i*jump … + size - 1`, its output unit o
covers

    size'   = size + (k - 1) * jump
    jump'   = jump * s
    offset' = offset - p * jump

Conv and pooling layers are windows; TensorFlow's "same" padding pads `total // 2` before and
the rest after (bottom/right); global pooling with `keepdims` is one window over the whole map;
`ZeroPadding2D` shifts; layers that keep the map's height and width (BatchNormalization,
Dropout, Activation, ReLU, Rescaling, Add...) are the identity. Flatten, Dense and global
pooling without `keepdims` are not spatial: they see the whole input (geometry None). A layer
whose output size does not follow from these rules (Conv2DTranspose, UpSampling2D, ...) has an
unknown geometry, None, as has everything after it; `unit_box(None, ...)` is the whole input,
which is always a correct (if loose) answer.

`Geometry` is the classic arithmetic (what `cnnviz summary` prints). `unit_box` is exact: it also
walks back through the layers, so a window cell in one layer's zero padding adds no pixels, and
the box is the smallest one holding every input pixel that can change the unit (a unit that sees
only padding gets an empty box). For plain "valid" stacks the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnviz.core.network import INPUT_NAME, LayerSpec, resolved_inputs

MODEL_INPUT = INPUT_NAME   # how `LayerSpec.inputs` names the model input


@dataclass(frozen=True)
class Box:
    """A rectangle of input pixels: rows top … bottom - 1, columns left … right - 1.

    `clipped` is True when the unit's full receptive field reaches beyond the input (into the
    padding) and this box is only the part inside it.
    """

    top: int
    left: int
    height: int
    width: int
    clipped: bool = False

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def right(self) -> int:
        return self.left + self.width

    def to_json(self) -> dict:
        return {"top": self.top, "left": self.left, "height": self.height, "width": self.width,
                "clipped": self.clipped}


@dataclass(frozen=True)
class Geometry:
    """Where the units of one layer look: unit (y, x) covers input rows `offset_y + y*jump_y`
    to `offset_y + y*jump_y + size_y - 1` (and the same for columns with `_x`).

    Offsets can be negative: with "same" padding the first units reach into the padding.
    """

    size_y: int
    size_x: int
    jump_y: int
    jump_x: int
    offset_y: int
    offset_x: int
    # The layers' windows along each axis, first layer first, for the exact walk of `unit_box`;
    # () for a hand-made geometry and None after a merge (Add, Concatenate): the box is then the
    # arithmetic one, clipped, which holds the exact one.
    windows_y: tuple | None = field(default=(), compare=False, repr=False)
    windows_x: tuple | None = field(default=(), compare=False, repr=False)

    @property
    def size(self) -> int:
        """The side of a square receptive field."""
        if self.size_y != self.size_x:
            raise ValueError(f"the receptive field is {self.size_y}×{self.size_x}, not square")
        return self.size_y

    @property
    def jump(self) -> int:
        """The stride product, in input pixels, when it is the same along both axes."""
        if self.jump_y != self.jump_x:
            raise ValueError(f"the jump is {self.jump_y} down and {self.jump_x} across, not the same")
        return self.jump_y


UNIT = Geometry(1, 1, 1, 1, 0, 0)   # a map seen from itself: each unit covers just itself


@dataclass(frozen=True)
class _Window:
    """One layer along one axis: `taps` cells `dilation` apart, moved by `stride`, over `size_in` cells
    with `pad_before`/`pad_after` zero cells added."""

    taps: int
    dilation: int
    stride: int
    pad_before: int
    pad_after: int
    size_in: int

    @property
    def span(self) -> int:
        return self.dilation * (self.taps - 1) + 1

    @property
    def size_out(self) -> int:
        return (self.size_in + self.pad_before + self.pad_after - self.span) // self.stride + 1

    def cells_seen(self, units: range | set[int]) -> range | set[int]:
        """The real input cells (not padding) that the given output units' windows touch."""
        if isinstance(units, range) and self.dilation == 1 and self.stride <= self.taps:
            # contiguous windows that overlap or touch: their union is one run of cells
            low = max(units.start * self.stride - self.pad_before, 0)
            high = min((units.stop - 1) * self.stride - self.pad_before + self.taps, self.size_in)
            return range(low, max(high, low))
        seen: set[int] = set()
        for unit in units:
            start = unit * self.stride - self.pad_before
            end = start + (self.taps - 1) * self.dilation
            lowest = start if start >= 0 else start - (start // self.dilation) * self.dilation
            highest = end if end < self.size_in else end - -((self.size_in - 1 - end) // self.dilation) * self.dilation
            seen.update(range(lowest, highest + 1, self.dilation))  # empty when all taps are padding
        return seen


def geometries(specs: Sequence[LayerSpec], input_shape: Sequence[int]) -> list[Geometry | None]:
    """The receptive-field geometry of every layer in input pixels (None: not spatial, or unknown)."""
    found = _propagate_cached(specs, input_shape, MODEL_INPUT)
    return [found.get(spec.name) for spec in specs]


def unit_box(geometry: Geometry | None, y: int, x: int, input_hw: Sequence[int]) -> Box:
    """The input pixels unit (y, x) sees, clipped to the input (`input_hw` = its height, width).

    A None geometry (dense, flatten, global pooling, unknown layers) sees the whole input. A unit
    whose window lies in zero padding only gets an empty box (height or width 0), clipped.
    """
    height, width = int(input_hw[0]), int(input_hw[1])
    if geometry is None:
        return Box(0, 0, height, width, False)
    top, bottom, cut_y = _axis_span(geometry.offset_y + y * geometry.jump_y, geometry.size_y, height,
                                    geometry.windows_y, y)
    left, right, cut_x = _axis_span(geometry.offset_x + x * geometry.jump_x, geometry.size_x, width,
                                    geometry.windows_x, x)
    return Box(top, left, bottom - top, right - left, cut_y or cut_x)


def feeding_units(specs: Sequence[LayerSpec], input_shape: Sequence[int], layer: int | str, y: int, x: int,
                  earlier_layer: int | str) -> tuple[int, int, int, int]:
    """The block of units of `earlier_layer`'s map that feed unit (y, x) of `layer`.

    Returns (row0, col0, row1, col1) with row1/col1 exclusive (like `Box.bottom`/`right`),
    clipped to the earlier map. Layers are given by index into `specs` or by name;
    `earlier_layer` may also be "input". A non-spatial `layer` (dense...) is fed by the whole map.
    """
    target = layer_index(specs, layer)
    source_name = earlier_layer if earlier_layer == MODEL_INPUT else specs[layer_index(specs, earlier_layer)].name
    if source_name == MODEL_INPUT:
        source_shape = tuple(input_shape)
    else:
        source = layer_index(specs, source_name)
        if source > target:
            raise ValueError(f"{source_name} comes after {specs[target].name}, so it cannot feed it")
        source_shape = specs[source].output_shape
    if len(source_shape) != 3:
        raise ValueError(f"{source_name} is not a stack of maps (shape {source_shape})")
    found = _propagate_cached(specs, input_shape, source_name)
    if specs[target].name not in found:
        raise ValueError(f"{specs[target].name} does not depend on {source_name}")
    box = unit_box(found[specs[target].name], y, x, source_shape[:2])
    return box.top, box.left, box.bottom, box.right


def _axis_span(start: int, size: int, limit: int, windows: tuple | None, unit: int) -> tuple[int, int, bool]:
    """Along one axis: the input cells [low, high) a unit can be changed by, and whether its full field
    [start, start + size) reaches beyond them (into padding). Exact through `windows` when given."""
    if windows:
        cells: range | set[int] = range(unit, unit + 1)
        for window in reversed(windows):
            cells = window.cells_seen(cells)
            if not cells:
                low = min(max(start, 0), limit)
                return low, low, True
        low, high = (cells.start, cells.stop) if isinstance(cells, range) else (min(cells), max(cells) + 1)
        return low, high, (low, high) != (start, start + size)
    low, high = max(start, 0), min(start + size, limit)
    return low, max(high, low), (low, high) != (start, start + size)


def layer_index(specs: Sequence[LayerSpec], layer: int | str) -> int:
    """The position in `specs` of a layer given by name or index (ValueError when there is none)."""
    if isinstance(layer, str):
        for i, spec in enumerate(specs):
            if spec.name == layer:
                return i
        raise ValueError(f"no layer {layer!r}; the layers are {', '.join(spec.name for spec in specs)}")
    if not -len(specs) <= layer < len(specs):
        raise ValueError(f"layer index {layer} is out of range (the network has {len(specs)} layers)")
    return layer % len(specs)


_CACHE: dict[tuple, tuple[Sequence[LayerSpec], dict[str, Geometry | None]]] = {}
_CACHE_SIZE = 64


def _propagate_cached(specs: Sequence[LayerSpec], input_shape: Sequence[int],
                      source: str) -> dict[str, Geometry | None]:
    """`_propagate`, remembered per network, input shape and source: the GUI asks on every mouse move
    about the same network. A tuple of specs is known by identity (it is kept alive in the cache);
    any other sequence by its names, shapes and configs. The result is shared: never change it."""
    if isinstance(specs, tuple):
        key = (id(specs), tuple(input_shape), source)
    else:
        try:
            key = (tuple((spec, tuple(sorted(spec.config.items()))) for spec in specs), tuple(input_shape), source)
            hash(key)
        except TypeError:  # a config value that is not hashable: compute every time
            return _propagate(specs, input_shape, source)
    entry = _CACHE.get(key)
    if entry is not None and (entry[0] is specs or not isinstance(specs, tuple)):
        return entry[1]
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    found = _propagate(specs, input_shape, source)
    _CACHE[key] = (specs, found)
    return found


def _propagate(specs: Sequence[LayerSpec], input_shape: Sequence[int], source: str) -> dict[str, Geometry | None]:
    """Geometry, relative to `source`'s map, of every layer that depends on `source`.

    Layers that do not depend on `source` are left out; a None value means "not spatial or unknown".
    """
    shapes = {MODEL_INPUT: tuple(input_shape)}
    found: dict[str, Geometry | None] = {source: UNIT} if source == MODEL_INPUT else {}
    for spec, inputs in zip(specs, resolved_inputs(specs)):
        shapes[spec.name] = spec.output_shape
        if spec.name == source:
            found[source] = UNIT
            continue
        feeding = [name for name in inputs if name in found]
        if not feeding:
            continue
        if len(spec.output_shape) != 3 or any(found[name] is None for name in feeding):
            found[spec.name] = None
            continue
        if len(inputs) == 1:
            found[spec.name] = _through_layer(spec, found[inputs[0]], shapes[inputs[0]])
        else:
            found[spec.name] = _merge(spec, [found[name] for name in feeding],
                                      [shapes[name] for name in feeding])
    return found


def _through_layer(spec: LayerSpec, geometry: Geometry, input_shape: tuple[int, ...]) -> Geometry | None:
    """The geometry after one single-input layer whose output is spatial; None when unknown."""
    if len(input_shape) != 3 or spec.config.get("data_format", "channels_last") != "channels_last":
        return None
    windows = _windows(spec, input_shape[:2])
    if windows is None:
        return None
    window_y, window_x = windows
    if (window_y.size_out, window_x.size_out) != tuple(spec.output_shape[:2]):
        return None  # the layer does something the window rules do not describe
    if window_y.span == window_x.span == window_y.stride == window_x.stride == 1 \
            and window_y.size_out == window_y.size_in and window_x.size_out == window_x.size_in:
        return geometry  # BatchNormalization, Dropout, Activation...: each unit sees what it saw
    return Geometry(
        geometry.size_y + (window_y.span - 1) * geometry.jump_y,
        geometry.size_x + (window_x.span - 1) * geometry.jump_x,
        geometry.jump_y * window_y.stride,
        geometry.jump_x * window_x.stride,
        geometry.offset_y - window_y.pad_before * geometry.jump_y,
        geometry.offset_x - window_x.pad_before * geometry.jump_x,
        None if geometry.windows_y is None else geometry.windows_y + (window_y,),
        None if geometry.windows_x is None else geometry.windows_x + (window_x,),
    )


def _windows(spec: LayerSpec, input_hw: tuple[int, int]) -> tuple[_Window, _Window] | None:
    """The sliding window a layer applies along rows and along columns (None: not a window)."""
    config = spec.config
    if "kernel_size" in config or "pool_size" in config:
        kernel = as_pair(config.get("kernel_size", config.get("pool_size")))
        dilation = as_pair(config.get("dilation_rate", 1))
        strides = as_pair(config.get("strides") or kernel)
        padding = config.get("padding", "valid")
        return tuple(_Window(k, d, s, *window_padding(d * (k - 1) + 1, s, n, padding), n)
                     for k, d, s, n in zip(kernel, dilation, strides, input_hw))
    if spec.kind.startswith("Global"):  # with keepdims: one window over the whole map
        return tuple(_Window(n, 1, 1, 0, 0, n) for n in input_hw)
    if spec.kind == "ZeroPadding2D":
        (top, bottom), (left, right) = config["padding"]
        return _Window(1, 1, 1, top, bottom, input_hw[0]), _Window(1, 1, 1, left, right, input_hw[1])
    return tuple(_Window(1, 1, 1, 0, 0, n) for n in input_hw)  # the identity, if the shape agrees


def window_padding(kernel: int, stride: int, size_in: int, padding: str) -> tuple[int, int]:
    """Zero cells a sliding window adds (before, after) along one axis of `size_in` cells.

    `kernel` is the effective (dilated) kernel. "valid" adds none; TensorFlow's "same" adds
    enough for ceil(size_in / stride) outputs and puts the odd cell after (bottom/right).
    """
    if str(padding).lower() != "same":
        return 0, 0
    size_out = math.ceil(size_in / stride)
    total = max((size_out - 1) * stride + kernel - size_in, 0)
    return total // 2, total - total // 2


def as_pair(value) -> tuple[int, int]:
    """A Keras size argument (3, or (3, 3), or [3, 3]) as (rows, columns)."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def _merge(spec: LayerSpec, feeding: list[Geometry], shapes: list[tuple[int, ...]]) -> Geometry | None:
    """Add/Concatenate/...: the union of its inputs' fields, when they share one grid (same jumps)."""
    if any(len(shape) != 3 or shape[:2] != spec.output_shape[:2] for shape in shapes):
        return None
    if len({(g.jump_y, g.jump_x) for g in feeding}) != 1:
        return None
    top = min(g.offset_y for g in feeding)
    left = min(g.offset_x for g in feeding)
    bottom = max(g.offset_y + g.size_y for g in feeding)
    right = max(g.offset_x + g.size_x for g in feeding)
    return Geometry(bottom - top, right - left, feeding[0].jump_y, feeding[0].jump_x, top, left, None, None)
