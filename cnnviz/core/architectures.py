"""The architecture lab's six variants of the seed convnet, as one table of layer recipes (issue 13).

Each variant differs from the notes' model only in its convolution/pooling stack; every one ends in
Flatten → Dense(64, relu) → Dense(10, softmax) and is compiled like the seed. Layer names are the same
everywhere (conv2d_1..3, max_pooling2d_1/2 or average_pooling2d_1/2, flatten_1, dense_1, dense_2), so a
layer position means the same thing in every variant.

`architecture_specs(name)` describes a variant as plain `LayerSpec`s (shapes and parameter counts by
arithmetic, no TensorFlow), so views can draw it before or without Keras; `build_architecture(name)`
turns those same specs into a compiled Keras model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnnviz.core.compile_settings import INPUT_SHAPE, NUM_CLASSES, compile_model
from cnnviz.core.network import LayerSpec

KERNEL = (3, 3)
POOL = (2, 2)
DENSE_UNITS = 64
DATA_FORMAT = "channels_last"


@dataclass(frozen=True)
class Conv:
    """A 3×3 ReLU convolution."""

    filters: int
    strides: int = 1
    padding: str = "valid"


@dataclass(frozen=True)
class Pool:
    """A 2×2 pooling with stride 2: "max" or "average"."""

    kind: str = "max"


@dataclass(frozen=True)
class Recipe:
    """One variant: its convolution/pooling stack, what it is, and the notes' question it answers."""

    name: str
    stack: tuple[Conv | Pool, ...]
    description: str
    question: str

    @property
    def model_name(self) -> str:
        return "mnist_convnet" if self.name == "seed" else f"mnist_convnet_{self.name.replace('-', '_')}"

    @property
    def stack_text(self) -> str:
        """The stack in the issue's notation, e.g. "Conv32 → MaxPool → Conv64 → MaxPool → Conv64"."""
        return " → ".join(_step_text(step) for step in self.stack)


_MAX, _AVG = Pool("max"), Pool("average")
_SAME = "same"

RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (
    Recipe("seed", (Conv(32), _MAX, Conv(64), _MAX, Conv(64)),
           "the notes' model: each convolution is followed by 2×2 max pooling",
           "How well does the book's alternating convolution/pooling stack do? (the baseline)"),
    Recipe("conv-conv-pool-pool", (Conv(32), Conv(64), _MAX, _MAX, Conv(64)),
           "the same five layers with both poolings moved after the second convolution",
           "Why must Conv2D and MaxPooling2D alternate: why not conv, conv, pool, pool?"),
    Recipe("no-pooling", (Conv(32), Conv(64), Conv(64)),
           "the three convolutions with no pooling at all",
           "Without max pooling, can the model build a spatial hierarchy, and does it get too many "
           "parameters and overfit?"),
    Recipe("average-pooling", (Conv(32), _AVG, Conv(64), _AVG, Conv(64)),
           "the seed with 2×2 average pooling instead of max pooling",
           "Does max pooling really work better than average pooling?"),
    Recipe("strided", (Conv(32, strides=2), Conv(64, strides=2), Conv(64)),
           "no pooling: the first two convolutions move 2 pixels at a time instead",
           "Does max pooling really work better than downsampling with strided convolutions?"),
    Recipe("same-padding",
           (Conv(32, padding=_SAME), _MAX, Conv(64, padding=_SAME), _MAX, Conv(64, padding=_SAME)),
           "the seed with every convolution zero-padded so it keeps its input's size",
           "What do the border effects cost: what changes when the convolutions do not shrink the maps?"),
)}

ARCHITECTURES: tuple[str, ...] = tuple(RECIPES)


def recipe_for(name: str) -> Recipe:
    """The recipe called `name`; ValueError listing the valid names otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; choose from {', '.join(ARCHITECTURES)}") from None


def parse_architecture_names(text: str) -> tuple[str, ...]:
    """"seed,no-pooling" -> ("seed", "no-pooling"); "all" -> every variant. ValueError on bad or repeated names."""
    if text.strip() == "all":
        return ARCHITECTURES
    names = tuple(part.strip() for part in text.split(","))
    for name in names:
        recipe_for(name)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"architecture {repeated[0]!r} is named twice")
    return names


def architecture_specs(name: str, input_shape: tuple[int, int, int] = INPUT_SHAPE,
                       dropout: float = 0.0) -> tuple[LayerSpec, ...]:
    """The variant's layers as plain data: names, Keras classes, output shapes, parameters and config.

    `dropout` > 0 puts a Dropout layer of that rate (`dropout_1`) between Flatten and the dense layers,
    where the notes' chapter 5.2 puts it.
    """
    height, width, channels = input_shape
    specs = []
    counts = {"conv": 0, "max": 0, "average": 0}
    for step in recipe_for(name).stack:
        if isinstance(step, Conv):
            counts["conv"] += 1
            height, width = (_out_size(n, KERNEL[0], step.strides, step.padding) for n in (height, width))
            num_params = (KERNEL[0] * KERNEL[1] * channels + 1) * step.filters
            channels = step.filters
            config = {"filters": step.filters, "kernel_size": KERNEL, "strides": (step.strides, step.strides),
                      "padding": step.padding, "dilation_rate": (1, 1), "activation": "relu",
                      "data_format": DATA_FORMAT, "use_bias": True}
            specs.append(LayerSpec(f"conv2d_{counts['conv']}", "Conv2D", (height, width, channels), num_params,
                                   config))
        else:
            counts[step.kind] += 1
            height, width = (_out_size(n, POOL[0], POOL[0], "valid") for n in (height, width))
            config = {"strides": POOL, "padding": "valid", "pool_size": POOL, "data_format": DATA_FORMAT}
            kind = "MaxPooling2D" if step.kind == "max" else "AveragePooling2D"
            specs.append(LayerSpec(f"{step.kind}_pooling2d_{counts[step.kind]}", kind, (height, width, channels),
                                   0, config))
    flat = height * width * channels
    specs.append(LayerSpec("flatten_1", "Flatten", (flat,), 0, {"data_format": DATA_FORMAT}))
    if dropout:
        specs.append(LayerSpec("dropout_1", "Dropout", (flat,), 0, {"rate": float(dropout)}))
    specs.append(LayerSpec("dense_1", "Dense", (DENSE_UNITS,), (flat + 1) * DENSE_UNITS,
                           {"activation": "relu", "units": DENSE_UNITS, "use_bias": True}))
    specs.append(LayerSpec("dense_2", "Dense", (NUM_CLASSES,), (DENSE_UNITS + 1) * NUM_CLASSES,
                           {"activation": "softmax", "units": NUM_CLASSES, "use_bias": True}))
    return tuple(specs)


def build_architecture(name: str, optimizer: str = "rmsprop", learning_rate: float | None = None,
                       dropout: float = 0.0):
    """The variant as a Keras model, compiled like the seed (categorical cross-entropy, accuracy);
    `dropout` > 0 adds a Dropout layer before the dense layers (`architecture_specs`)."""
    specs = architecture_specs(name, dropout=dropout)  # checks the name before TensorFlow loads
    import keras
    from keras import layers

    model = keras.Sequential(
        [keras.Input(shape=INPUT_SHAPE, name="digit"),
         *(getattr(layers, spec.kind)(name=spec.name, **spec.config) for spec in specs)],
        name=recipe_for(name).model_name,
    )
    compile_model(model, optimizer, learning_rate)
    return model


def architecture_of(specs) -> str | None:
    """Which variant a network is (by layer kinds, shapes and parameters), or None for any other network."""
    shape = [(spec.kind, tuple(spec.output_shape), spec.num_params) for spec in specs]
    for name in ARCHITECTURES:
        if shape == [(spec.kind, spec.output_shape, spec.num_params) for spec in architecture_specs(name)]:
            return name
    return None


def last_conv_spec(specs) -> LayerSpec:
    """The last Conv2D layer of a network: where its spatial hierarchy ends."""
    convs = [spec for spec in specs if spec.kind == "Conv2D"]
    if not convs:
        raise ValueError("the network has no Conv2D layer")
    return convs[-1]


def _out_size(size: int, window: int, stride: int, padding: str) -> int:
    """Keras's output length of a window sliding over `size` pixels."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


def _step_text(step: Conv | Pool) -> str:
    if isinstance(step, Pool):
        return "MaxPool" if step.kind == "max" else "AvgPool"
    extras = [f"stride {step.strides}"] * (step.strides != 1)
    extras += [f'padding="{step.padding}"'] * (step.padding != "valid")
    return f"Conv{step.filters}" + (f" ({', '.join(extras)})" if extras else "")
