"""A network described in plain data: what the GUI, the receptive-field arithmetic and the compute
process exchange instead of a Keras model (Qt-free, TensorFlow-free).

`layer_specs(model)` reads a Keras model (in the process that holds TensorFlow); everything else
works on the resulting `LayerSpec` list, which pickles and crosses the process boundary cheaply.
`SEED_SPECS` is the book's convnet, so views can be drawn before TensorFlow has loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The parts of a layer's Keras config that describe its geometry and arithmetic (JSON-able values).
CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "dilation_rate", "pool_size", "activation",
               "units", "depth_multiplier", "data_format", "axis", "rate", "scale", "offset",
               "keepdims", "use_bias")
SEED_INPUT_SHAPE = (28, 28, 1)


@dataclass(frozen=True)
class LayerSpec:
    """One layer: name, Keras class, output shape (no batch axis), parameter count and geometry config.

    `inputs` names the layers that feed this one ("input" is the model input); empty means
    "the previous layer in the list" (a plain stack).
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    num_params: int
    config: dict = field(default_factory=dict, compare=False, hash=False)
    inputs: tuple[str, ...] = ()

    @property
    def is_spatial(self) -> bool:
        """True for layers whose output is a stack of 2-D maps (H, W, C)."""
        return len(self.output_shape) == 3


def _conv(name, filters, shape, params):
    return LayerSpec(name, "Conv2D", shape, params, {"filters": filters, "kernel_size": (3, 3), "strides": (1, 1),
                                                     "padding": "valid", "dilation_rate": (1, 1),
                                                     "activation": "relu", "use_bias": True})


def _pool(name, shape):
    return LayerSpec(name, "MaxPooling2D", shape, 0, {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"})


SEED_SPECS: tuple[LayerSpec, ...] = (
    _conv("conv2d_1", 32, (26, 26, 32), 320),
    _pool("max_pooling2d_1", (13, 13, 32)),
    _conv("conv2d_2", 64, (11, 11, 64), 18496),
    _pool("max_pooling2d_2", (5, 5, 64)),
    _conv("conv2d_3", 64, (3, 3, 64), 36928),
    LayerSpec("flatten_1", "Flatten", (576,), 0, {}),
    LayerSpec("dense_1", "Dense", (64,), 36928, {"units": 64, "activation": "relu", "use_bias": True}),
    LayerSpec("dense_2", "Dense", (10,), 650, {"units": 10, "activation": "softmax", "use_bias": True}),
)


def plain_config(config: dict) -> dict:
    """The geometry keys of a Keras layer config, with lists turned into tuples."""
    plain = {}
    for key in CONFIG_KEYS:
        if key in config:
            value = config[key]
            plain[key] = tuple(value) if isinstance(value, list) else value
    return plain


def layer_specs(model) -> list[LayerSpec]:
    """One LayerSpec per layer of a built Keras model (InputLayers left out), in `model.layers` order."""
    specs = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        shape = tuple(int(d) for d in layer.output.shape[1:])
        specs.append(LayerSpec(layer.name, type(layer).__name__, shape, int(layer.count_params()),
                               plain_config(layer.get_config())))
    return specs


def input_shape_of(model) -> tuple[int, ...]:
    """The model's input shape without the batch axis, e.g. (28, 28, 1)."""
    return tuple(int(d) for d in model.inputs[0].shape[1:])
