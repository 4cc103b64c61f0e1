"""What the inspector shows, Qt-free: the layers explained for learners, and the current view state.

`describe_network` turns a model (or, before one has loaded, the seed convnet's known shape) into
one `LayerDescription` per block of the pipeline, with the arithmetic of each step spelled out.
`Inspection` holds the current input, every layer's output and the display choices; views
subscribe to its topics and repaint when told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnnviz.core.colormaps import COLORMAPS, DEFAULT_COLORMAP, DEFAULT_NORMALISATION, NORMALISATIONS
from cnnviz.core.network import SEED_SPECS, LayerSpec, layer_specs

INPUT_DESCRIPTION_SHAPE = (28, 28, 1)


@dataclass(frozen=True)
class LayerDescription:
    """One block of the pipeline: what it is, its output shape, and a few lines for learners."""

    index: int                   # layer index in the model; -1 for the input
    name: str
    kind: str                    # Keras class name, or "Input"
    shape: tuple[int, ...]       # output shape without the batch axis
    num_params: int
    summary: str                 # e.g. "3×3 conv, 32 filters, ReLU"
    explanation: str             # a short paragraph: what happens to the size and why

    @property
    def is_spatial(self) -> bool:
        return len(self.shape) == 3

    @property
    def shape_text(self) -> str:
        return "×".join(str(d) for d in self.shape)


def describe_network(network=None) -> list[LayerDescription]:
    """The input and every layer explained; `network` is a list of LayerSpec, a Keras model, or None
    for the seed convnet (known before TensorFlow has loaded)."""
    if network is None:
        specs = list(SEED_SPECS)
    elif isinstance(network, (list, tuple)) and all(isinstance(spec, LayerSpec) for spec in network):
        specs = list(network)
    else:
        specs = layer_specs(network)
    layers = [(spec.name, spec.kind, spec.output_shape, spec.num_params, spec.config) for spec in specs]
    descriptions = [LayerDescription(
        -1, "input", "Input", INPUT_DESCRIPTION_SHAPE, 0, "your digit, 28×28 grey pixels",
        "The digit as MNIST prepared its 70,000: the ink's bounding box scaled to fit 20×20 (keeping "
        "its aspect ratio, anti-aliased), then moved so its centre of mass sits at the centre of a "
        "28×28 field. White ink (1.0) on black (0.0).")]
    previous = INPUT_DESCRIPTION_SHAPE
    for index, (name, kind, shape, params, config) in enumerate(layers):
        summary, explanation = _explain(kind, previous, shape, params, config)
        descriptions.append(LayerDescription(index, name, kind, shape, params, summary, explanation))
        previous = shape
    return descriptions


def _explain(kind: str, before: tuple, after: tuple, params: int, config: dict) -> tuple[str, str]:
    """(summary, explanation) for one layer, from its input and output shapes and its config."""
    count = f"{params:,} parameters" if params else "no parameters (nothing to learn)"
    if kind == "Conv2D" and len(before) == 3:
        kh, kw = config.get("kernel_size", (3, 3))
        filters, activation = after[-1], config.get("activation", "linear")
        padding = config.get("padding", "valid")
        size_rule = (f"{before[0]}−{kh}+1 = {after[0]}" if padding == "valid"
                     else f"{before[0]} → {after[0]} ('{padding}' padding)")
        per_filter = kh * kw * before[-1]
        return (f"{kh}×{kw} conv, {filters} filters, {activation}",
                f"{filters} filters of {kh}×{kw}×{before[-1]} weights slide over the {before[0]}×{before[1]} "
                f"maps without padding: a {kh}×{kw} window fits {size_rule} times across, so each output "
                f"map is {after[0]}×{after[1]}. Each filter gives one map: it lights up where its pattern "
                f"appears. {'ReLU sets negative responses to 0. ' if activation == 'relu' else ''}"
                f"Parameters: ({kh}·{kw}·{before[-1]} weights + 1 bias) × {filters} = "
                f"({per_filter} + 1) × {filters} = {count}.")
    if kind == "MaxPooling2D" and len(before) == 3:
        ph, pw = config.get("pool_size", (2, 2))
        rule = (f"{before[0]}/{ph} = {after[0]}" if before[0] % ph == 0
                else f"{before[0]}//{ph} = {after[0]}, the last row and column are dropped")
        return (f"{ph}×{pw} max-pool",
                f"Keeps the largest value of each {ph}×{pw} window, stepping {ph} pixels: {rule}. The "
                f"{after[-1]} maps keep their meaning at a quarter of the pixels, so later filters see a "
                f"wider part of the digit. {count.capitalize()}.")
    if kind == "Flatten":
        factors = "·".join(str(d) for d in before)
        return ("flatten",
                f"Lays the {'×'.join(map(str, before))} block out as one list of {factors} = {after[0]} "
                f"numbers, so dense layers can weigh every position of every map. {count.capitalize()}.")
    if kind == "Dense" and len(before) == 1:
        activation = config.get("activation", "linear")
        units = after[0]
        tail = ("softmax turns the scores into ten probabilities that add up to 1: the prediction."
                if activation == "softmax" else f"{activation} sets negative sums to 0." if activation == "relu"
                else "")
        return (f"dense {units}, {activation}",
                f"Each of the {units} units adds up all {before[0]} inputs, each with its own weight, plus a "
                f"bias; {tail} Parameters: {before[0]}·{units} + {units} = {count}.")
    return (kind, f"Output {'×'.join(map(str, after))}. {count.capitalize()}.")


Callback = Callable[[], None]
TOPICS = ("input", "outputs", "layer", "channel", "display")


class Inspection:
    """The inspector's state: input, every layer's output, selected layer/channel, display choices.

    Setters notify the callbacks subscribed to their topic ("input", "outputs", "layer",
    "channel", "display") only when the value changes.
    """

    def __init__(self):
        self.source_image: np.ndarray | None = None   # what the user drew/opened, white on black
        self.model_input: np.ndarray | None = None    # (28, 28) float32, None when nothing is drawn
        self.outputs: list[np.ndarray] | None = None  # one array per layer
        self.layer = 0
        self.channel: int | None = None
        self.colormap = DEFAULT_COLORMAP
        self.normalisation = DEFAULT_NORMALISATION
        self._subscribers: dict[str, list[Callback]] = {topic: [] for topic in TOPICS}

    def subscribe(self, topic: str, callback: Callback) -> None:
        self._subscribers[topic].append(callback)

    def _notify(self, topic: str) -> None:
        for callback in self._subscribers[topic]:
            callback()

    def set_input(self, source_image: np.ndarray | None, model_input: np.ndarray | None) -> None:
        self.source_image = source_image
        self.model_input = model_input
        self._notify("input")

    def set_outputs(self, outputs: list[np.ndarray] | None) -> None:
        self.outputs = None if outputs is None else [np.ascontiguousarray(o, dtype=np.float32) for o in outputs]
        self._notify("outputs")

    def set_layer(self, layer: int) -> None:
        if layer != self.layer:
            self.layer = layer
            self.channel = None
            self._notify("layer")

    def set_channel(self, channel: int | None) -> None:
        if channel != self.channel:
            self.channel = channel
            self._notify("channel")

    def set_colormap(self, name: str) -> None:
        if name not in COLORMAPS:
            raise ValueError(f"unknown colormap {name!r}")
        if name != self.colormap:
            self.colormap = name
            self._notify("display")

    def set_normalisation(self, mode: str) -> None:
        if mode not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {mode!r}")
        if mode != self.normalisation:
            self.normalisation = mode
            self._notify("display")

    @property
    def probabilities(self) -> np.ndarray | None:
        """The last layer's output when it is the ten class probabilities."""
        if self.outputs is None or self.outputs[-1].shape != (10,):
            return None
        return self.outputs[-1]
