"""The arithmetic that made one unit's value, recomputed in numpy from the layer's own weights.

Qt-free and TensorFlow-free: everything starts from the previous layer's output (or the model
input) and the layer's weights (`layer.get_weights()`: kernel, then bias), so the GUI can call it
on every mouse move with arrays it already has.

- A conv unit is the window of the previous map its kernel meets (zeros where the window hangs
  over a "same"-padded edge), times the kernel, summed, plus the bias: the pre-activation; then
  the activation. Per input channel, window[:, :, c] · kernel[:, :, c] is that channel's signed
  contribution; the strongest few are listed and the rest summed.
- A pooling unit is the window of the same channel of the previous map: the largest value
  (max pooling, its position marked) or the mean (average pooling; TensorFlow leaves padded
  cells out of the mean).
- A dense unit is Σ input × weight + bias; the largest signed products are listed.

`explain(specs, input_shape, layer, previous_output, weights, channel, y, x)` picks the kind,
checks the unit exists and adds the receptive field. Each result has `to_json()` with the keys of
`cnnviz unit --json` (issue 10).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cnnviz.core.network import LayerSpec
from cnnviz.core.receptive_field import (MODEL_INPUT, Box, as_pair, geometries, layer_index, unit_box,
                                        window_padding)

TOP_CONTRIBUTIONS = 8
POOLING_MODES = {"MaxPooling2D": "max", "AveragePooling2D": "average"}


class UnitError(ValueError):
    """The unit does not exist (layer, channel or position out of range) or cannot be explained."""


@dataclass(frozen=True)
class Contribution:
    """One signed share of a pre-activation: an input channel (conv) or an input position (dense)."""

    index: int
    value: float


@dataclass(frozen=True, eq=False)
class ConvUnit:
    """One unit of a conv layer: pre_activation = Σ window × kernel + bias; value = activation of it."""

    layer: str
    source: str                 # the layer (or "input") whose output the window is cut from
    channel: int
    y: int
    x: int
    window: np.ndarray          # (kh, kw, C_in) input values met by the kernel, 0 in the padding
    kernel: np.ndarray          # (kh, kw, C_in) this filter's weights
    inside: np.ndarray          # (kh, kw) bool: False where the window lies in the zero padding
    origin: tuple[int, int]     # row, column of window[0, 0] in the source map (negative in padding)
    step: tuple[int, int]       # rows, columns between window cells (the dilation)
    bias: float
    pre_activation: float
    activation: str
    value: float
    receptive_field: Box | None = None
    kind = "conv"

    @property
    def products(self) -> np.ndarray:
        """(kh, kw, C_in) window × kernel, the terms of the sum."""
        return self.window * self.kernel

    @property
    def channel_contributions(self) -> np.ndarray:
        """(C_in,) each input channel's signed share: window[:, :, c] · kernel[:, :, c]."""
        return self.products.sum(axis=(0, 1))

    def top_contributions(self, count: int = TOP_CONTRIBUTIONS) -> tuple[list[Contribution], float, int]:
        """The `count` input channels with the largest |share| (largest first), the sum of the
        others and how many they are."""
        return _strongest(self.channel_contributions, count)

    def to_json(self, top: int = TOP_CONTRIBUTIONS) -> dict:
        shown, rest, num_rest = self.top_contributions(top)
        return _json_safe({**_head(self), "source": self.source,
                "window": self.window.tolist(), "kernel": self.kernel.tolist(), "bias": self.bias,
                "products": self.products.tolist(), "window_origin": list(self.origin),
                "window_step": list(self.step), "inside": self.inside.tolist(),
                "pre_activation": self.pre_activation, "activation": self.activation,
                "contributions": [{"channel": c.index, "value": c.value} for c in shown],
                "rest": {"channels": num_rest, "value": rest}})


@dataclass(frozen=True, eq=False)
class PoolUnit:
    """One unit of a pooling layer: the max (or mean) of its window in the same channel."""

    layer: str
    source: str
    channel: int
    y: int
    x: int
    window: np.ndarray          # (ph, pw) of that channel; NaN where the window lies in the padding
    origin: tuple[int, int]
    mode: str                   # "max" or "average"
    argmax: tuple[int, int] | None   # (dy, dx) of the winner in the window; None for average pooling
    value: float
    receptive_field: Box | None = None
    kind = "pool"

    def to_json(self, top: int = TOP_CONTRIBUTIONS) -> dict:
        """The `cnnviz unit --json` keys (`top` is accepted for symmetry: a window has no ranking)."""
        return _json_safe({**_head(self), "source": self.source, "mode": self.mode,
                "window": self.window[:, :, None].tolist(), "window_origin": list(self.origin),
                "argmax": None if self.argmax is None else list(self.argmax)})


@dataclass(frozen=True, eq=False)
class DenseUnit:
    """One unit of a dense layer: pre_activation = Σ inputs × weights + bias."""

    layer: str
    source: str
    unit: int
    inputs: np.ndarray          # (N,) the previous layer's output
    weights: np.ndarray         # (N,) this unit's column of the kernel
    bias: float
    pre_activation: float
    activation: str
    value: float
    receptive_field: Box | None = None
    kind = "dense"

    @property
    def channel(self) -> int:
        return self.unit

    @property
    def products(self) -> np.ndarray:
        return self.inputs * self.weights

    def top_contributions(self, count: int = TOP_CONTRIBUTIONS) -> tuple[list[Contribution], float, int]:
        """The `count` inputs whose input × weight is largest in size, the sum of the others, their number."""
        return _strongest(self.products, count)

    def to_json(self, top: int = TOP_CONTRIBUTIONS) -> dict:
        shown, rest, num_rest = self.top_contributions(top)
        return _json_safe({**_head(self), "y": None, "x": None, "unit": self.unit, "source": self.source,
                "contributions": [{"index": c.index, "input": float(self.inputs[c.index]),
                                   "weight": float(self.weights[c.index]), "value": c.value} for c in shown],
                "rest": {"inputs": num_rest, "value": rest},
                "bias": self.bias, "pre_activation": self.pre_activation, "activation": self.activation})


UnitExplanation = ConvUnit | PoolUnit | DenseUnit


def explain(specs: Sequence[LayerSpec], input_shape: Sequence[int], layer: int | str,
            previous_output: np.ndarray, weights: Sequence[np.ndarray], channel: int,
            y: int | None = None, x: int | None = None) -> UnitExplanation:
    """Explain unit (y, x) of `channel` in `layer` (index or name), with its receptive field.

    `previous_output` is what feeds the layer (the model input for the first one), without the
    batch axis; `weights` is the layer's `get_weights()` (empty for pooling). For dense layers
    `channel` is the unit and y, x are ignored. Raises UnitError for units that do not exist.
    """
    index = check_unit(specs, layer, channel, y, x)
    spec = specs[index]
    source = (spec.inputs[0] if spec.inputs else specs[index - 1].name if index else MODEL_INPUT)
    if spec.kind == "Dense":
        unit = explain_dense(spec, previous_output, weights, channel, source)
        return _with_box(unit, None, 0, 0, input_shape)
    if spec.kind == "Conv2D":
        unit = explain_conv(spec, previous_output, weights, channel, y, x, source)
    else:
        unit = explain_pool(spec, previous_output, channel, y, x, source)
    return _with_box(unit, geometries(specs, input_shape)[index], y, x, input_shape)


def check_unit(specs: Sequence[LayerSpec], layer: int | str, channel: int, y: int | None = None,
               x: int | None = None) -> int:
    """The index of `layer` when it is a layer cnnviz explains and has this unit; else UnitError,
    one readable line (no such layer, channel or position; a kind of layer not explained)."""
    try:
        index = layer_index(specs, layer)
    except ValueError as exc:
        raise UnitError(str(exc)) from None
    spec = specs[index]
    if spec.kind == "Dense":
        _check_range("unit", channel, spec.output_shape[-1], spec.name)
        return index
    if spec.kind != "Conv2D" and spec.kind not in POOLING_MODES:
        raise UnitError(f"{spec.name} is a {spec.kind} layer: cnnviz explains Conv2D, pooling and Dense units")
    height, width, num_channels = spec.output_shape
    _check_range("channel", channel, num_channels, spec.name)
    if y is None or x is None:
        raise UnitError(f"{spec.name} is a {height}×{width} map: give the unit's y and x")
    _check_range("y", y, height, spec.name)
    _check_range("x", x, width, spec.name)
    return index


def explain_conv(spec: LayerSpec, previous_output: np.ndarray, weights: Sequence[np.ndarray], channel: int,
                 y: int, x: int, source: str = "") -> ConvUnit:
    """Unit (y, x) of filter `channel` of a Conv2D layer (weights: kernel (kh, kw, C_in, C_out)[, bias])."""
    config = spec.config
    kernel = np.asarray(weights[0])
    biases = np.asarray(weights[1], np.float64) if len(weights) > 1 else np.zeros(kernel.shape[-1])
    previous = _as_maps(previous_output)
    if int(config.get("groups", 1)) != 1 or kernel.shape[2] != previous.shape[2]:
        raise UnitError(f"{spec.name}: grouped convolutions are not explained")
    window, inside, origin, step = _cut_window(spec, previous, kernel.shape[:2], y, x, fill=0.0)
    pre_all = None
    activation = _activation_name(config)
    if activation == "softmax":  # over the channels at this position: every filter's sum is needed
        pre_all = np.einsum("ijc,ijco->o", window, kernel.astype(np.float64)) + biases
    filter_weights = kernel[:, :, :, channel].astype(np.float64)
    pre_activation = float((window * filter_weights).sum() + biases[channel])
    return ConvUnit(spec.name, source, channel, y, x, window, filter_weights, inside, origin, step,
                    float(biases[channel]), pre_activation, activation,
                    _activate(activation, pre_activation, pre_all, channel))


def explain_pool(spec: LayerSpec, previous_output: np.ndarray, channel: int, y: int, x: int,
                 source: str = "") -> PoolUnit:
    """Unit (y, x) of `channel` of a MaxPooling2D or AveragePooling2D layer."""
    mode = POOLING_MODES[spec.kind]
    previous = _as_maps(previous_output)[:, :, channel:channel + 1]
    window, inside, origin, _ = _cut_window(spec, previous, as_pair(spec.config["pool_size"]), y, x, fill=np.nan)
    window = window[:, :, 0]
    if mode == "max":
        candidates = np.where(inside, window, -np.inf)   # padding never wins (a NaN output would)
        flat = int(np.argmax(candidates))
        argmax = divmod(flat, window.shape[1])
        value = float(candidates.flat[flat])
    else:
        argmax = None
        value = float(window[inside].mean())
    return PoolUnit(spec.name, source, channel, y, x, window, origin, mode, argmax, value)


def explain_dense(spec: LayerSpec, previous_output: np.ndarray, weights: Sequence[np.ndarray], unit: int,
                  source: str = "") -> DenseUnit:
    """Unit `unit` of a Dense layer on a flat input (weights: kernel (N, units)[, bias])."""
    inputs = np.asarray(previous_output, np.float64).reshape(-1)
    kernel = np.asarray(weights[0])
    biases = np.asarray(weights[1], np.float64) if len(weights) > 1 else np.zeros(kernel.shape[-1])
    if kernel.shape[0] != inputs.size:
        raise UnitError(f"{spec.name} takes {kernel.shape[0]} inputs, not {inputs.size}")
    activation = _activation_name(spec.config)
    pre_all = inputs @ kernel.astype(np.float64) + biases if activation == "softmax" else None
    column = kernel[:, unit].astype(np.float64)
    pre_activation = float(inputs @ column + biases[unit])
    return DenseUnit(spec.name, source, unit, inputs, column, float(biases[unit]), pre_activation, activation,
                     _activate(activation, pre_activation, pre_all, unit))


def _with_box(unit, geometry, y: int, x: int, input_shape: Sequence[int]):
    """A copy of `unit` with its receptive field in input pixels."""
    return replace(unit, receptive_field=unit_box(geometry, y, x, input_shape[:2]))


def _cut_window(spec: LayerSpec, previous: np.ndarray, kernel_hw: tuple[int, int], y: int, x: int,
                fill: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int], tuple[int, int]]:
    """The cells of `previous` (H, W, C) a sliding window meets for output (y, x), with `fill` in the
    padding; also the inside mask, the window's origin and its step (dilation)."""
    config = spec.config
    kernel_hw = as_pair(kernel_hw)
    step = as_pair(config.get("dilation_rate", 1))
    strides = as_pair(config.get("strides") or kernel_hw)
    padding = config.get("padding", "valid")
    origin = tuple(position * stride - window_padding(step_ * (k - 1) + 1, stride, size, padding)[0]
                   for position, stride, step_, k, size in zip((y, x), strides, step, kernel_hw, previous.shape[:2]))
    last = (origin[0] + step[0] * (kernel_hw[0] - 1), origin[1] + step[1] * (kernel_hw[1] - 1))
    if min(origin) >= 0 and last[0] < previous.shape[0] and last[1] < previous.shape[1]:  # no padding met
        window = previous[origin[0]:last[0] + 1:step[0], origin[1]:last[1] + 1:step[1]].astype(np.float64)
        return window, np.ones(kernel_hw, bool), origin, step
    rows = origin[0] + step[0] * np.arange(kernel_hw[0])
    cols = origin[1] + step[1] * np.arange(kernel_hw[1])
    rows_inside = (rows >= 0) & (rows < previous.shape[0])
    cols_inside = (cols >= 0) & (cols < previous.shape[1])
    inside = rows_inside[:, None] & cols_inside[None, :]
    window = np.full((*kernel_hw, previous.shape[2]), fill, np.float64)
    cut = previous[np.clip(rows, 0, previous.shape[0] - 1)][:, np.clip(cols, 0, previous.shape[1] - 1)]
    window[inside] = cut[inside]
    return window, inside, origin, step


def _as_maps(previous_output: np.ndarray) -> np.ndarray:
    maps = np.asarray(previous_output)
    if maps.ndim == 2:  # a (28, 28) image: one channel
        maps = maps[:, :, None]
    if maps.ndim != 3:
        raise UnitError(f"expected a stack of maps (H, W, C), got shape {maps.shape}")
    return maps


def _strongest(shares: np.ndarray, count: int) -> tuple[list[Contribution], float, int]:
    order = np.argsort(-np.abs(shares), kind="stable")
    shown, others = order[:count], order[count:]
    return ([Contribution(int(i), float(shares[i])) for i in shown], float(shares[others].sum()), int(others.size))


def _check_range(what: str, value: int, limit: int, layer: str) -> None:
    if not 0 <= value < limit:
        raise UnitError(f"{what} {value} is out of range for {layer} (0 to {limit - 1})")


def _activation_name(config: dict) -> str:
    name = config.get("activation", "linear")
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        raise UnitError(f"the activation {name!r} is not one cnnviz can explain")
    return name


def _activate(name: str, pre_activation: float, pre_all: np.ndarray | None, index: int) -> float:
    if name == "softmax":
        shifted = np.exp(pre_all - pre_all.max())
        return float(shifted[index] / shifted.sum())
    return float(_ACTIVATIONS[name](pre_activation))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


# Keras 3's definitions (leaky_relu's default slope is 0.2, gelu is the exact erf form).
_ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: max(z, 0.0),
    "relu6": lambda z: min(max(z, 0.0), 6.0),
    "leaky_relu": lambda z: z if z >= 0 else 0.2 * z,
    "sigmoid": _sigmoid,
    "tanh": math.tanh,
    "softmax": None,
    "softplus": lambda z: max(z, 0.0) + math.log1p(math.exp(-abs(z))),
    "softsign": lambda z: z / (1.0 + abs(z)),
    "elu": lambda z: z if z > 0 else math.expm1(z),
    "selu": lambda z: 1.0507009873554805 * (z if z > 0 else 1.6732632423543772 * math.expm1(z)),
    "silu": lambda z: z * _sigmoid(z),
    "swish": lambda z: z * _sigmoid(z),
    "gelu": lambda z: 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0))),
}


def _head(unit) -> dict:
    """The keys every explanation shares."""
    return {"layer": unit.layer, "kind": unit.kind, "channel": unit.channel, "y": getattr(unit, "y", None),
            "x": getattr(unit, "x", None), "value": unit.value,
            "receptive_field": None if unit.receptive_field is None else unit.receptive_field.to_json()}


def _json_safe(value):
    """`value` with every NaN or infinite float as None (null): JSON has no NaN; padding cells are NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value
