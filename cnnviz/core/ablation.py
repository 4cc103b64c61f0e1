"""Switching filters off (ablation): a forward pass with chosen channels set to zero after their activation.

Every later layer sees the zeros, so the maps downstream and the prediction show what the network
does without those filters. `AblatedProbe(model)` traces one function that multiplies every layer's
output by a channel mask (ones where nothing is switched off), so any choice of channels costs one
forward pass (about a millisecond for the seed model), never a retrace. The model's weights and
layers are not changed. Optionally a layer keeps only its k strongest channels (highest mean
activation over space for this input) and zeros the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from cnnviz.core.layer_choice import LayerChoiceError
from cnnviz.core.network import LayerSpec

SwitchedOff = Mapping[str, Iterable[int]]  # layer name -> channels to zero


@dataclass(frozen=True)
class AblationResult:
    """Every layer's output (no batch axis, after switching off) and each layer's channel mask (1 = on)."""

    outputs: list[np.ndarray]
    masks: list[np.ndarray]


def check_switched_off(specs: list[LayerSpec], off: SwitchedOff | None = None,
                       keep_top: Mapping[str, int] | None = None) -> None:
    """LayerChoiceError for an unknown layer, a channel out of range or a k below 1."""
    by_name = {spec.name: spec for spec in specs}
    names = ", ".join(by_name)
    for name, channels in dict(off or {}).items():
        if name not in by_name:
            raise LayerChoiceError(f"no layer named {name!r}; choose one of {names}")
        count = by_name[name].output_shape[-1]
        bad = [c for c in channels if not 0 <= c < count]
        if bad:
            raise LayerChoiceError(f"{name} has channels 0 to {count - 1}; there is no channel {bad[0]}")
    for name, k in dict(keep_top or {}).items():
        if name not in by_name:
            raise LayerChoiceError(f"no layer named {name!r}; choose one of {names}")
        if k < 1:
            raise LayerChoiceError(f"keep at least one channel of {name}, not {k}")


_SWITCH_SYNTAX = re.compile(r"^\s*([^:\s]+)\s*:\s*(\d+(?:\s*,\s*\d+)*)\s*,?\s*$")


def parse_switched_off(texts: Iterable[str]) -> dict[str, list[int]]:
    """{layer: sorted channels} from texts like "conv2d_1:3,7" (a layer may come back: channels add up).

    Raises LayerChoiceError naming the text that does not read as LAYER:C1,C2,...
    """
    off: dict[str, set[int]] = {}
    for text in texts:
        match = _SWITCH_SYNTAX.match(text)
        if not match:
            raise LayerChoiceError(f"cannot read {text!r}: write LAYER:C1,C2,... e.g. conv2d_1:3,7")
        layer, channels = match.groups()
        off.setdefault(layer, set()).update(int(c) for c in channels.split(","))
    return {layer: sorted(channels) for layer, channels in off.items()}


class AblatedProbe:
    """Like `ActivationProbe`, with channels switched off: call it with an image and {layer: channels}."""

    def __init__(self, model):
        import tensorflow as tf

        from cnnviz.core.class_scores import class_head
        from cnnviz.core.layer_graph import run_layers
        from cnnviz.core.network import input_shape_of, layer_specs

        self.specs = layer_specs(model)
        self.layer_names = [spec.name for spec in self.specs]
        self.layer_shapes = [spec.output_shape for spec in self.specs]
        self.input_shape = input_shape_of(model)
        self._outputs_probabilities = class_head(model).outputs_probabilities
        widths = [shape[-1] for shape in self.layer_shapes]
        self._offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        index = {name: i for i, name in enumerate(self.layer_names)}

        def forward(batch, masks, keep_top):
            outputs, used = [None] * len(index), [None] * len(index)

            def visit(layer, layer_input, output):
                i = index.get(layer.name)
                if i is None:
                    return output
                mask = masks[self._offsets[i]:self._offsets[i + 1]]
                output = output * mask
                mask = mask * _strongest_channels(output, keep_top[i])
                output = output * mask
                outputs[i], used[i] = output[0], mask
                return output

            run_layers(model, batch, visit)
            return outputs, used

        self._forward = tf.function(forward, input_signature=[
            tf.TensorSpec((1, *self.input_shape), tf.float32),
            tf.TensorSpec((int(self._offsets[-1]),), tf.float32),
            tf.TensorSpec((len(index),), tf.int32)])
        self.run(np.zeros(self.input_shape, np.float32))  # trace now

    def run(self, image: np.ndarray, off: SwitchedOff | None = None,
            keep_top: Mapping[str, int] | None = None) -> AblationResult:
        """Outputs and masks for `image` with the channels in `off` zeroed and layers in `keep_top` cut to k."""
        check_switched_off(self.specs, off, keep_top)
        masks = np.ones(int(self._offsets[-1]), np.float32)
        for name, channels in dict(off or {}).items():
            start = self._offsets[self.layer_names.index(name)]
            masks[[start + c for c in channels]] = 0.0
        keep = np.zeros(len(self.layer_names), np.int32)  # 0 = keep every channel
        for name, k in dict(keep_top or {}).items():
            keep[self.layer_names.index(name)] = k
        batch = np.asarray(image, dtype=np.float32).reshape(1, *self.input_shape)
        outputs, masks_used = self._forward(batch, masks, keep)
        return AblationResult([o.numpy() for o in outputs], [m.numpy() for m in masks_used])

    def __call__(self, image: np.ndarray, off: SwitchedOff | None = None,
                 keep_top: Mapping[str, int] | None = None) -> list[np.ndarray]:
        """One array per layer (no batch axis), as `ActivationProbe` returns, with channels switched off."""
        return self.run(image, off, keep_top).outputs

    def probabilities(self, image: np.ndarray, off: SwitchedOff | None = None,
                      keep_top: Mapping[str, int] | None = None) -> np.ndarray:
        """The class probabilities with channels switched off (softmax applied for a logits model)."""
        last = self(image, off, keep_top)[-1]
        if self._outputs_probabilities:
            return last
        shifted = np.exp(last - last.max())
        return (shifted / shifted.sum()).astype(np.float32)


def _strongest_channels(output, k):
    """A (C,) 0/1 mask of the k channels with the highest mean activation (all channels when k is 0)."""
    import tensorflow as tf

    count = tf.shape(output)[-1]
    strength = tf.reduce_mean(tf.reshape(output, (-1, count)), axis=0)
    k = tf.where(k > 0, tf.minimum(k, count), count)
    top = tf.math.top_k(strength, k=k).indices
    return tf.scatter_nd(top[:, None], tf.ones_like(top, tf.float32), [count])
