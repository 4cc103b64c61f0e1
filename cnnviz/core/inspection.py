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
from cnnviz.core.network import SEED_INPUT_SHAPE, SEED_SPECS, LayerSpec, layer_specs, resolved_inputs

INPUT_DESCRIPTION_SHAPE = SEED_INPUT_SHAPE


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


def describe_network(network=None, info=None) -> list[LayerDescription]:
    """The input and every layer explained.

    `network` is a list of LayerSpec, a Keras model, or None for the seed convnet (known before
    TensorFlow has loaded). `info` (a `cnnviz.core.model_files.ModelInfo`) describes the input; by
    default it is read from a Keras model, and a LayerSpec list is taken to be a 28×28 digit model.
    """
    if network is None:
        specs = list(SEED_SPECS)
    elif isinstance(network, (list, tuple)) and all(isinstance(spec, LayerSpec) for spec in network):
        specs = list(network)
    else:
        from cnnviz.core.model_files import model_info

        specs = layer_specs(network)
        info = info if info is not None else model_info(network)
    input_shape = tuple(info.input_shape) if info is not None else INPUT_DESCRIPTION_SHAPE
    digits = info.is_digit_model if info is not None else input_shape == INPUT_DESCRIPTION_SHAPE
    descriptions = [_describe_input(input_shape, digits, info)]
    shapes = {"input": input_shape}
    for index, (spec, feeding) in enumerate(zip(specs, resolved_inputs(specs))):
        before = [shapes.get(name, ()) for name in feeding]
        summary, explanation = _explain(spec, before, feeding)
        descriptions.append(LayerDescription(index, spec.name, spec.kind, spec.output_shape, spec.num_params,
                                             summary, explanation))
        shapes[spec.name] = spec.output_shape
    return descriptions


def _describe_input(shape: tuple, digits: bool, info) -> LayerDescription:
    if digits:
        return LayerDescription(
            -1, "input", "Input", shape, 0, "your digit, 28×28 grey pixels",
            "The digit as MNIST prepared its 70,000: the ink's bounding box scaled to fit 20×20 (keeping "
            "its aspect ratio, anti-aliased), then moved so its centre of mass sits at the centre of a "
            "28×28 field. White ink (1.0) on black (0.0).")
    height, width, channels = shape
    colour = "RGB colour" if channels == 3 else "grey"
    white = "255" if info is not None and info.input_scale == 255 else "1.0"
    return LayerDescription(
        -1, "input", "Input", shape, 0, f"your image, {height}×{width} {colour} pixels",
        f"The image resized to the {height}×{width} pixels this model was built for, "
        f"{'three numbers (red, green, blue)' if channels == 3 else 'one grey level'} per pixel, from 0 (black) "
        f"to {white} (full {'colour' if channels == 3 else 'white'}). Every layer after it sees only these "
        f"{height * width * channels:,} numbers.")


def _pair(value, default=(1, 1)) -> tuple[int, int]:
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return int(value), int(value)
    return tuple(int(v) for v in value)[:2]


def _count(params: int) -> str:
    return f"{params:,} parameters" if params else "no parameters (nothing to learn)"


def _size_rule(before: tuple, after: tuple, kernel: tuple, strides: tuple, padding: str) -> str:
    """Why the map is after[0] tall: the arithmetic of a sliding window."""
    (k, _), (s, _) = kernel, strides
    if padding == "same":
        return (f"with 'same' padding the border is filled with zeros so the window fits everywhere: "
                f"{before[0]}/{s} rounded up = {after[0]}" if s > 1 else
                f"with 'same' padding (zeros around the border) the maps keep their size, {after[0]}×{after[1]}")
    if s == 1:
        return f"a {k}-pixel window fits {before[0]}−{k}+1 = {after[0]} times across"
    return f"a {k}-pixel window stepping {s} pixels fits ({before[0]}−{k})//{s}+1 = {after[0]} times across"


def _explain(spec: LayerSpec, befores: list, feeding: tuple) -> tuple[str, str]:
    """(summary, explanation) for one layer, from its input and output shapes and its config."""
    kind, after, params, config = spec.kind, spec.output_shape, spec.num_params, spec.config
    before = befores[0] if befores else ()
    count = _count(params)
    activation = config.get("activation", "linear")
    relu = {"relu": "ReLU sets negative responses to 0. "}.get(activation, "")
    spatial_in = len(before) == 3
    if kind in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D") and spatial_in:
        kh, kw = _pair(config.get("kernel_size"), (3, 3))
        strides, padding = _pair(config.get("strides")), config.get("padding", "valid")
        rule = _size_rule(before, after, (kh, kw), strides, padding)
        bias = 1 if config.get("use_bias", True) else 0
        channels_in = before[-1]
        if kind == "DepthwiseConv2D":
            multiplier = int(config.get("depth_multiplier", 1))
            return (f"{kh}×{kw} depthwise conv, {activation}",
                    f"Each of the {channels_in} input maps gets its own {kh}×{kw} filter"
                    f"{f's ({multiplier} each)' if multiplier > 1 else ''}: maps are filtered one by one, never "
                    f"mixed, so there are {after[-1]} output maps. {rule[0].upper() + rule[1:]}. {relu}"
                    f"Parameters: {kh}·{kw}·{channels_in}·{multiplier} weights + biases = {count}.")
        if kind == "SeparableConv2D":
            filters = after[-1]
            return (f"{kh}×{kw} separable conv, {filters} filters, {activation}",
                    f"Two steps in one layer: a {kh}×{kw} filter slides over each of the {channels_in} maps on "
                    f"its own (depthwise), then {filters} 1×1 filters mix those maps into {filters} new ones "
                    f"(pointwise). Far fewer weights than a full {kh}×{kw} conv "
                    f"({kh * kw * channels_in * filters + filters:,}). {rule[0].upper() + rule[1:]}. {relu}"
                    f"{count.capitalize()}.")
        filters = after[-1]
        per_filter = kh * kw * channels_in
        return (f"{kh}×{kw} conv, {filters} filters, {activation}",
                f"{filters} filters of {kh}×{kw}×{channels_in} weights slide over the {before[0]}×{before[1]} "
                f"maps: {rule}, so each output map is {after[0]}×{after[1]}. Each filter gives one map: it lights "
                f"up where its pattern appears. {relu}Parameters: ({kh}·{kw}·{channels_in} weights + {bias} bias) "
                f"× {filters} = ({per_filter} + {bias}) × {filters} = {count}.")
    if kind in ("MaxPooling2D", "AveragePooling2D") and spatial_in:
        ph, pw = _pair(config.get("pool_size"), (2, 2))
        strides = _pair(config.get("strides"), (ph, pw))
        padding = config.get("padding", "valid")
        how = "largest" if kind.startswith("Max") else "average"
        if padding == "valid" and strides[0] == ph and before[0] % ph == 0:
            rule = f"{before[0]}/{ph} = {after[0]}"
        elif padding == "valid" and strides[0] == ph:
            rule = f"{before[0]}//{ph} = {after[0]}, the last row and column are dropped"
        else:
            rule = _size_rule(before, after, (ph, pw), strides, padding)
        return (f"{ph}×{pw} {'max' if how == 'largest' else 'average'}-pool",
                f"Keeps the {how} value of each {ph}×{pw} window, stepping {strides[0]} pixels: {rule}. The "
                f"{after[-1]} maps keep their meaning at fewer pixels, so later filters see a wider part of the "
                f"image. {count.capitalize()}.")
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D") and spatial_in:
        how = "average" if "Average" in kind else "largest value"
        return (f"global {'average' if 'Average' in kind else 'max'} pool",
                f"Each of the {before[-1]} maps ({before[0]}×{before[1]}) becomes one number, its {how}: "
                f"{after[-1] if after else before[-1]} numbers that say how strongly each map's pattern appears "
                f"anywhere in the image, whatever its position. {count.capitalize()}.")
    if kind == "BatchNormalization":
        channels = before[-1] if before else after[-1]
        return ("batch normalisation",
                f"Rescales each of the {channels} channels with statistics learnt in training: subtract the "
                f"channel's running mean, divide by its running standard deviation, then multiply by a learnt "
                f"scale and add a learnt offset. Keeps values in a range later layers learn well from; the "
                f"shape does not change. {count.capitalize()} (4 per channel, 2 of them learnt by gradient).")
    if kind == "Dropout":
        rate = config.get("rate", 0)
        return (f"dropout {rate:g}",
                f"While training, sets a random {rate:.0%} of its inputs to 0 (and scales the rest up) so the "
                f"network cannot rely on any single unit. Here, showing a trained model, it passes everything "
                f"through unchanged. {count.capitalize()}.")
    if kind in ("Activation", "ReLU", "Softmax", "LeakyReLU", "ELU", "PReLU"):
        name = {"ReLU": "relu", "Softmax": "softmax"}.get(kind, kind.lower() if kind != "Activation" else activation)
        effect = {"relu": "negative values become 0, positive ones pass unchanged",
                  "softmax": "the scores become probabilities that add up to 1",
                  "sigmoid": "each value is squashed into 0…1"}.get(name, f"the {name} function is applied")
        return (name, f"Applies {name} to every value on its own: {effect}. The shape does not change. "
                      f"{count.capitalize()}.")
    if kind in ("Add", "Concatenate", "Average", "Multiply", "Maximum"):
        sources = " and ".join(feeding)
        if kind == "Concatenate":
            return ("concatenate",
                    f"Stacks the outputs of {sources} side by side: "
                    f"{' + '.join(str(b[-1]) for b in befores if b)} = {after[-1]} channels. {count.capitalize()}.")
        verb = {"Add": "Adds", "Average": "Averages", "Multiply": "Multiplies", "Maximum": "Takes the larger of"}[kind]
        note = (" A residual connection: the block only has to learn a correction to what it was given, which "
                "lets deep networks train." if kind == "Add" else "")
        return (kind.lower(), f"{verb} the outputs of {sources}, value by value (same shape in, same shape "
                              f"out).{note} {count.capitalize()}.")
    if kind == "Rescaling":
        scale, offset = config.get("scale", 1.0), config.get("offset", 0.0)
        if not isinstance(scale, (int, float)) or not isinstance(offset, (int, float)):   # per value (ONNX Add/Mul)
            return ("rescale, per value",
                    "Multiplies each input value by its own constant factor and adds its own constant offset "
                    "(fixed numbers of the model, e.g. a bias or a normalisation, not learnt here); the shape "
                    f"does not change. {count.capitalize()}.")
        return (f"rescale ×{scale:.4g}" + (f" {offset:+g}" if offset else ""),
                f"Multiplies every input value by {scale:.4g}{f' and adds {offset:g}' if offset else ''}, so pixel "
                f"values arrive in the range the model was trained on. {count.capitalize()}.")
    if kind == "Flatten":
        factors = "·".join(str(d) for d in before)
        total = after[0] if after else 0
        return ("flatten",
                f"Lays the {'×'.join(map(str, before))} block out as one list of {factors} = {total} "
                f"numbers, so dense layers can weigh every position of every map. {count.capitalize()}.")
    if kind == "Dense" and len(before) == 1:
        units = after[0]
        tail = ("softmax turns the scores into probabilities that add up to 1: the prediction."
                if activation == "softmax" else f"{activation} sets negative sums to 0." if activation == "relu"
                else "with no activation these are raw scores (logits); cnnviz turns the last layer's into "
                     "probabilities with softmax." if activation == "linear" else "")
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
        self.outputs_logits = False   # the model's output is logits: probabilities are softmax of it
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
        """The class probabilities: the last layer's output (a class vector), or softmax of it when the
        model outputs logits (`outputs_logits`)."""
        if self.outputs is None or self.outputs[-1].ndim != 1:
            return None
        if not self.outputs_logits:
            return self.outputs[-1]
        from cnnviz.core.activations import softmax

        return softmax(self.outputs[-1])
