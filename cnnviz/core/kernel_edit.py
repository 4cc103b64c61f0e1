"""Kernel surgery: edit one conv filter or one dense unit by hand and see what every later layer does.

An edit names a filter: output filter C of a Conv2D layer is its kernel slice `kernel[..., C]`
(kh × kw × input channels) and its bias `bias[C]`; unit C of a Dense layer is `kernel[:, C]` and
`bias[C]`. What an edit does to it:

- `zero`: kernel slice and bias set to 0 (the filter's map is 0 before its activation);
- `scale:F`: kernel slice and bias multiplied by F (`scale:-1` negates the filter);
- the 3×3 shape presets (Conv2D layers with 3×3 kernels only) set every input channel's 3×3 slice to
  the numbers below and the bias to 0. Keras convolutions are cross-correlations: the value at (y, x)
  is the sum of kernel[i, j] · input[y + i, x + j], so

      vertical-edge     horizontal-edge    blur              identity
      -1  0  1          -1 -1 -1           1/9 1/9 1/9       0 0 0
      -1  0  1           0  0  0           1/9 1/9 1/9       0 1 0
      -1  0  1           1  1  1           1/9 1/9 1/9       0 0 0

  vertical-edge is the right column minus the left one (Prewitt): positive where the input gets
  brighter to the right, the left edge of a white stroke; after a ReLU only those edges remain (the
  right edges come back with `scale:-1`). horizontal-edge is the bottom row minus the top one: the
  top edges of strokes. blur is the mean of the 3×3 neighbourhood; identity passes the input through
  (with one input channel, the map is the input cropped by one pixel on each side);
- `paint` (the app's painter): one input channel's kh×kw slice (conv) or the unit's whole weight
  vector (dense) set to given values, and optionally the bias.

Edits are a layer over the model: `KernelEditor(model)` keeps the ordered list of edits and the
original weights of every layer it touched (its *base*), and keeps the model's weights equal to the
base with the edits applied in order. Undo, reset one filter and reset all rewrite the list and put
the base back where nothing is edited any more; nothing is ever saved into a model file (the caller
edits a copy: the CLI its own loaded model, the compute process its serving copy). Numpy does the
arithmetic; Keras is only touched to read and assign a layer's variables.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from cnnviz.core.layer_choice import LayerChoiceError

SHAPE_PRESETS: dict[str, np.ndarray] = {
    "vertical-edge": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], np.float32),
    "horizontal-edge": np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], np.float32),
    "blur": np.full((3, 3), 1 / 9, np.float32),
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float32),
}
ZERO = "zero"
SCALE = "scale"
PAINT = "paint"
PRESETS = (*SHAPE_PRESETS, ZERO, f"{SCALE}:F")   # as the command line spells them
EDITABLE_KINDS = ("Conv2D", "Dense")


class KernelEditError(LayerChoiceError):
    """An edit that cannot be read or does not fit the model (unknown layer, filter, preset)."""


@dataclass(frozen=True)
class KernelEdit:
    """One edit of filter (or unit) `channel` of layer `layer`.

    `preset` is one of SHAPE_PRESETS, ZERO, SCALE (with `factor`) or PAINT (with `values`: the
    kh×kw slice of input channel `input_channel` for a conv filter, the whole weight vector of a
    dense unit; and `bias`, None to keep it).
    """

    layer: str
    channel: int
    preset: str
    factor: float = 1.0
    input_channel: int | None = None
    values: np.ndarray | None = field(default=None, compare=False)
    bias: float | None = None

    @property
    def label(self) -> str:
        """How the command line writes it: 'conv2d_1:5=vertical-edge', 'dense_1:3=scale:0.5'."""
        what = f"{SCALE}:{self.factor:g}" if self.preset == SCALE else self.preset
        if self.preset == PAINT and self.input_channel is not None:
            what = f"{PAINT}[{self.input_channel}]"
        return f"{self.layer}:{self.channel}={what}"


@dataclass(frozen=True)
class FilterWeights:
    """The weights one filter has now: its kernel slice `kernel[..., C]` and its bias (None: no bias)."""

    layer: str
    channel: int
    kernel: np.ndarray        # (kh, kw, in) for a conv filter, (in,) for a dense unit
    bias: float | None


_EDIT_SYNTAX = re.compile(r"^\s*([^:=\s]+)\s*:\s*(-?\d+)\s*=\s*(\S+)\s*$")


def parse_edit(text: str) -> KernelEdit:
    """A KernelEdit from 'LAYER:C=PRESET' (PRESET: vertical-edge, horizontal-edge, blur, identity,
    zero or scale:F); KernelEditError naming the text otherwise. The layer and channel are checked
    against a model by `check_edit`."""
    match = _EDIT_SYNTAX.match(text)
    if not match:
        raise KernelEditError(f"cannot read {text!r}: write LAYER:C=PRESET, e.g. conv2d_1:5=vertical-edge "
                              f"(PRESET: {', '.join(PRESETS)})")
    layer, channel, preset = match.group(1), int(match.group(2)), match.group(3)
    if preset in SHAPE_PRESETS or preset == ZERO:
        return KernelEdit(layer, channel, preset)
    if preset.startswith(f"{SCALE}:"):
        number = preset[len(SCALE) + 1:]
        try:
            factor = float(number)
        except ValueError:
            factor = math.nan
        if not math.isfinite(factor):
            raise KernelEditError(f"{text!r}: the factor of scale:F must be a finite number, e.g. scale:0.5 or "
                                  f"scale:-1, not {number!r}")
        return KernelEdit(layer, channel, SCALE, factor)
    raise KernelEditError(f"{text!r}: no preset {preset!r}; choose one of {', '.join(PRESETS)}")


def editable_layer(model, name: str):
    """The Keras layer `name` if its filters can be edited (Conv2D, Dense); KernelEditError otherwise."""
    layers = {layer.name: layer for layer in model.layers}
    editable = ", ".join(n for n, layer in layers.items() if type(layer).__name__ in EDITABLE_KINDS) or "none"
    layer = layers.get(name)
    if layer is None:
        raise KernelEditError(f"no layer named {name!r}; layers with filters to edit: {editable}")
    kind = type(layer).__name__
    if kind not in EDITABLE_KINDS:
        raise KernelEditError(f"{name} is a {kind} layer: kernel edits work on Conv2D filters and Dense units "
                              f"({editable})")
    return layer


def check_edit(model, edit: KernelEdit) -> None:
    """KernelEditError unless `edit` fits `model`: the layer, the filter, the preset's shape, painted values."""
    layer = editable_layer(model, edit.layer)
    kernel_shape = tuple(int(d) for d in layer.kernel.shape)
    count = kernel_shape[-1]
    noun = "filters" if len(kernel_shape) == 4 else "units"
    if not 0 <= edit.channel < count:
        raise KernelEditError(f"{edit.layer} has {noun} 0 to {count - 1}; there is no {noun[:-1]} {edit.channel}")
    if edit.preset in SHAPE_PRESETS:
        if len(kernel_shape) != 4:
            raise KernelEditError(f"{edit.layer} is a Dense layer: the 3×3 preset {edit.preset} fits Conv2D "
                                  "filters; a dense unit takes zero or scale:F")
        if kernel_shape[:2] != (3, 3):
            raise KernelEditError(f"{edit.layer} has {kernel_shape[0]}×{kernel_shape[1]} kernels: the preset "
                                  f"{edit.preset} is 3×3; use zero or scale:F")
    elif edit.preset == SCALE:
        if not math.isfinite(edit.factor):
            raise KernelEditError(f"the factor of scale:F must be a finite number, not {edit.factor}")
    elif edit.preset == PAINT:
        _check_paint(edit, kernel_shape)
    elif edit.preset != ZERO:
        raise KernelEditError(f"no preset {edit.preset!r}; choose one of {', '.join(PRESETS)} or {PAINT}")


def _check_paint(edit: KernelEdit, kernel_shape: tuple[int, ...]) -> None:
    if edit.values is None:
        raise KernelEditError(f"{edit.label}: painting needs the values to paint")
    values = np.asarray(edit.values)
    if len(kernel_shape) == 4:
        inputs = kernel_shape[2]
        if edit.input_channel is None or not 0 <= edit.input_channel < inputs:
            raise KernelEditError(f"{edit.layer}'s filters see input channels 0 to {inputs - 1}, not "
                                  f"{edit.input_channel}")
        wanted = kernel_shape[:2]
    else:
        wanted = kernel_shape[:1]
    if values.shape != wanted:
        raise KernelEditError(f"{edit.layer}: painted values must be {'×'.join(map(str, wanted))}, not "
                              f"{'×'.join(map(str, values.shape))}")
    if not np.isfinite(values).all() or (edit.bias is not None and not math.isfinite(edit.bias)):
        raise KernelEditError(f"{edit.layer}: painted values must be finite numbers")


def edit_filter(kernel: np.ndarray, bias: np.ndarray | None, edit: KernelEdit):
    """(new kernel, new bias): copies of a layer's arrays with `edit` applied to filter `edit.channel`
    (the arithmetic of the module docstring; `edit` is assumed checked)."""
    kernel = np.array(kernel, np.float32, copy=True)
    bias = None if bias is None else np.array(bias, np.float32, copy=True)
    c = edit.channel
    if edit.preset in SHAPE_PRESETS:
        kernel[..., c] = SHAPE_PRESETS[edit.preset][:, :, None]
        new_bias = 0.0
    elif edit.preset == ZERO:
        kernel[..., c] = 0.0
        new_bias = 0.0
    elif edit.preset == SCALE:
        kernel[..., c] *= np.float32(edit.factor)
        new_bias = None if bias is None else bias[c] * np.float32(edit.factor)
    else:  # PAINT
        if kernel.ndim == 4:
            kernel[:, :, edit.input_channel, c] = edit.values
        else:
            kernel[:, c] = edit.values
        new_bias = edit.bias
    if bias is not None and new_bias is not None:
        bias[c] = new_bias
    return kernel, bias


def _read(layer) -> tuple[np.ndarray, np.ndarray | None]:
    bias = getattr(layer, "bias", None)
    return np.array(layer.kernel.numpy()), (None if bias is None else np.array(bias.numpy()))


def _write(layer, kernel: np.ndarray, bias: np.ndarray | None) -> None:
    layer.kernel.assign(kernel)
    if bias is not None:
        layer.bias.assign(bias)


class KernelEditor:
    """Edits as a layer over one model (in place: give it a copy you may change).

        editor = KernelEditor(model)
        editor.push(parse_edit("conv2d_1:5=vertical-edge"))   # the model now computes with the edit
        editor.undo(); editor.reset("conv2d_1", 5); editor.reset_all()

    The model's weights are always its base weights with `edits` applied in order. The base of a
    layer is read when it is first edited; `rebase()` takes the model's current weights as the base
    (someone else set them: a checkpoint, newer training weights) and applies the edits again.
    """

    def __init__(self, model):
        self.model = model
        self._edits: list[KernelEdit] = []
        self._base: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        self._applied: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}

    @property
    def edits(self) -> tuple[KernelEdit, ...]:
        return tuple(self._edits)

    def push(self, edit: KernelEdit) -> None:
        """Apply one more edit (KernelEditError, nothing changed, if it does not fit the model)."""
        check_edit(self.model, edit)
        self._edits.append(edit)
        self._apply()

    def extend(self, edits: Iterable[KernelEdit]) -> None:
        """Apply several edits, all checked before any is applied."""
        edits = list(edits)
        for edit in edits:
            check_edit(self.model, edit)
        self._edits.extend(edits)
        self._apply()

    def replace_last(self, edit: KernelEdit) -> None:
        """Apply `edit` in place of the last edit (one brush stroke is one edit, however many cells it
        crosses); KernelEditError, nothing changed, if it does not fit. With no edit yet, a push."""
        check_edit(self.model, edit)
        if self._edits:
            self._edits.pop()
        self._edits.append(edit)
        self._apply()

    def undo(self) -> KernelEdit | None:
        """Take the last edit back; the edit undone (None when there was none)."""
        if not self._edits:
            return None
        edit = self._edits.pop()
        self._apply()
        return edit

    def reset(self, layer: str, channel: int) -> int:
        """Take back every edit of one filter; how many there were."""
        kept = [e for e in self._edits if (e.layer, e.channel) != (layer, channel)]
        removed = len(self._edits) - len(kept)
        self._edits = kept
        self._apply()
        return removed

    def reset_all(self) -> None:
        """Take back every edit: the model has its base weights again."""
        self._edits = []
        self._apply()

    def edited_filters(self) -> list[tuple[str, int]]:
        """(layer, channel) of every edited filter, in the order they were first edited."""
        return list(dict.fromkeys((e.layer, e.channel) for e in self._edits))

    def filter_weights(self) -> list[FilterWeights]:
        """The weights every edited filter has now."""
        weights = []
        for name, channel in self.edited_filters():
            kernel, bias = _read(self.model.get_layer(name))
            weights.append(FilterWeights(name, channel, kernel[..., channel].copy(),
                                         None if bias is None else float(bias[channel])))
        return weights

    def base_weights(self) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """Every edited layer's (kernel, bias) without the edits (`assign_layer_arrays` puts them back)."""
        return {name: (kernel.copy(), None if bias is None else bias.copy()) for name, (kernel, bias) in
                self._base.items()}

    def is_intact(self) -> bool:
        """True while the edited layers still hold exactly what this editor put there."""
        for name, (kernel, bias) in self._applied.items():
            now_kernel, now_bias = _read(self.model.get_layer(name))
            if not np.array_equal(now_kernel, kernel) or (bias is not None and not np.array_equal(now_bias, bias)):
                return False
        return True

    def rebase(self) -> None:
        """Take the model's current weights of the edited layers as their base, and apply the edits again."""
        self._base = {name: _read(self.model.get_layer(name)) for name in self._base}
        self._apply()

    def _apply(self) -> None:
        """Give every layer that is or was edited its base weights with the current edits applied."""
        for name in {e.layer for e in self._edits} - set(self._base):
            self._base[name] = _read(self.model.get_layer(name))
        applied = {}
        for name, (kernel, bias) in self._base.items():
            for edit in self._edits:
                if edit.layer == name:
                    kernel, bias = edit_filter(kernel, bias, edit)
            _write(self.model.get_layer(name), kernel, bias)
            applied[name] = (kernel, bias)
        edited = {e.layer for e in self._edits}
        self._base = {name: base for name, base in self._base.items() if name in edited}
        self._applied = {name: arrays for name, arrays in applied.items() if name in edited}


def assign_layer_arrays(model, arrays: dict[str, tuple[np.ndarray, np.ndarray | None]]) -> None:
    """Give layers of `model` the (kernel, bias) of `arrays` ({layer name: (kernel, bias or None)})."""
    for name, (kernel, bias) in arrays.items():
        _write(model.get_layer(name), kernel, bias)


def edited_copy(model, edits: Iterable[KernelEdit]):
    """A new model of the same architecture with `model`'s weights and `edits` applied (`model` untouched)."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    KernelEditor(copy).extend(edits)
    return copy
