"""One converter per ONNX operator: each makes one real Keras layer (or, for constants and layout
changes, none) through `cnnviz.core.onnx_import.GraphConverter` (Qt-free; Keras inside functions).

Every function takes (converter, node, attributes). ONNX's semantics are followed per opset where
they changed (Clip's bounds, Dropout's ratio, Softmax's axis). Cases Keras has no layer for are
refused with the reason (MaxPool padding that is not TensorFlow's "same", Clip with a lower bound
other than 0, Gemm with transA, ...).
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core.onnx_values import FLAT, NCHW, NHWC, Value


def _keras():
    import keras

    return keras


# -- layout helpers ------------------------------------------------------------------------------------

def flatten_perm(value: Value) -> np.ndarray | None:
    """For a 4-D Keras tensor (H, W, C): position i of Keras's Flatten holds ONNX's value perm[i]."""
    height, width, channels = (int(d) for d in value.tensor.shape[1:])
    if value.layout == NHWC:
        return None
    return np.arange(channels * height * width).reshape(channels, height, width).transpose(1, 2, 0).ravel()


def keras_constant(array: np.ndarray, value: Value, converter, node) -> np.ndarray:
    """A constant that ONNX broadcasts against `value`, laid out like `value`'s Keras tensor (no batch axis)."""
    array = np.asarray(array, np.float32)
    rank = len(value.tensor.shape)
    if array.ndim > rank:
        converter.refuse(node, "broadcasts a constant of higher rank than the tensor")
    array = array.reshape((1,) * (rank - array.ndim) + array.shape)
    if array.shape[0] != 1:
        converter.refuse(node, "has a constant with a batch axis")
    array = array[0]
    if rank == 4 and value.layout == NCHW:
        array = array.transpose(1, 2, 0)
    elif rank == 2 and value.perm is not None and array.shape[-1] != 1:
        array = array[..., value.perm]
    return array


def _plain(array: np.ndarray):
    """A float or nested lists (what a Keras config can store)."""
    return float(array.reshape(())) if array.size == 1 else array.tolist()


# -- padding -------------------------------------------------------------------------------------------

def onnx_pads(converter, node, attributes, kernel, strides, dilations, input_hw) -> tuple[tuple[int, int], ...]:
    """(before, after) zero cells along rows and columns, from `pads` or `auto_pad`."""
    auto_pad = attributes.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for k, s, d, n in zip(kernel, strides, dilations, input_hw):
            total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)
            small, large = total // 2, total - total // 2
            pads.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
        return tuple(pads)
    if auto_pad == "VALID":
        return ((0, 0), (0, 0))
    pads = list(attributes.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4 or any(p < 0 for p in pads):
        converter.refuse(node, f"has pads {pads} (cnnviz converts 2-D windows with padding ≥ 0)")
    return (pads[0], pads[2]), (pads[1], pads[3])


def tensorflow_same(kernel, strides, dilations, input_hw) -> tuple[tuple[int, int], ...]:
    """What TensorFlow's "same" pads: enough for ceil(n / s) outputs, the odd cell after."""
    pads = []
    for k, s, d, n in zip(kernel, strides, dilations, input_hw):
        total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _window(converter, node, attributes, kernel):
    """(strides, dilations, pads, input_hw, input Value) of a 2-D sliding window node."""
    value = converter.computed(node)
    if len(value.tensor.shape) != 4 or value.layout != NCHW:
        converter.refuse(node, "slides over a tensor that is not an N×C×H×W map")
    if len(kernel) != 2:
        converter.refuse(node, f"has a {len(kernel)}-D kernel (cnnviz converts 2-D)")
    strides = tuple(attributes.get("strides", (1, 1)))
    dilations = tuple(attributes.get("dilations", (1, 1)))
    input_hw = tuple(int(d) for d in value.tensor.shape[1:3])
    pads = onnx_pads(converter, node, attributes, kernel, strides, dilations, input_hw)
    return strides, dilations, pads, input_hw, value


def _padding_mode(pads, kernel, strides, dilations, input_hw) -> str | None:
    """"valid", "same" (TensorFlow's), or None when neither describes `pads`."""
    if all(p == (0, 0) for p in pads):
        return "valid"
    if tuple(pads) == tensorflow_same(kernel, strides, dilations, input_hw):
        return "same"
    return None


def _zero_pad(converter, node, pads, value: Value):
    """A ZeroPadding2D layer (named `<node>_pad`) in front of a window whose padding is not "same"."""
    keras = _keras()
    layer = keras.layers.ZeroPadding2D(tuple(pads), name=converter.layer_name(node, "_pad"))
    padding_node = _PadNode(node)
    converter.add_layer(padding_node, layer, value.tensor, NCHW)
    return converter.values[padding_node.output[0]]


class _PadNode:
    """The padding step of a node, as a node of its own (its output is not an ONNX tensor)."""

    def __init__(self, node):
        self.name = f"{node.name}_pad" if node.name else ""
        self.op_type = node.op_type
        self.output = [f"{node.output[0]}#pad"]


# -- converters ------------------------------------------------------------------------------------------

def conv(converter, node, attributes) -> None:
    keras = _keras()
    weight = converter.constant(node, 1, "weights")
    bias = converter.constant(node, 2, "bias", required=False)
    if weight.ndim != 4:
        converter.refuse(node, f"has {weight.ndim - 2}-D kernels (cnnviz converts 2-D convolutions)")
    kernel = tuple(attributes.get("kernel_shape", weight.shape[2:]))
    strides, dilations, pads, input_hw, value = _window(converter, node, attributes, kernel)
    if kernel != weight.shape[2:]:
        converter.refuse(node, f"declares kernel_shape {list(kernel)} but its weights are {list(weight.shape)}")
    channels_in, group = int(value.tensor.shape[-1]), int(attributes.get("group", 1))
    if group < 1 or channels_in % group or weight.shape[1] * group != channels_in or weight.shape[0] % group:
        converter.refuse(node, f"has weights {list(weight.shape)} that do not fit {channels_in} input channels in "
                               f"{group} group(s)")
    padding = _padding_mode(pads, kernel, strides, dilations, input_hw)
    if padding is None:
        value, padding = _zero_pad(converter, node, pads, value), "valid"
    common = dict(kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilations,
                  use_bias=bias is not None, name=converter.layer_name(node))
    if group == 1:
        layer = keras.layers.Conv2D(weight.shape[0], **common)
        weights = [weight.transpose(2, 3, 1, 0)]
    elif group == channels_in:
        if max(strides) > 1 and max(dilations) > 1:
            converter.refuse(node, "is a depthwise convolution with both strides and dilations")
        multiplier = weight.shape[0] // channels_in
        layer = keras.layers.DepthwiseConv2D(depth_multiplier=multiplier, **common)
        weights = [weight.reshape(channels_in, multiplier, *kernel).transpose(2, 3, 0, 1)]
    else:
        layer = keras.layers.Conv2D(weight.shape[0], groups=group, **common)
        weights = [weight.transpose(2, 3, 1, 0)]
    converter.add_layer(node, layer, value.tensor, NCHW, weights=weights + ([bias] if bias is not None else []))


def _pool(converter, node, attributes, kind: str) -> None:
    keras = _keras()
    kernel = tuple(attributes.get("kernel_shape", ()))
    strides, dilations, pads, input_hw, value = _window(converter, node, attributes, kernel)
    if dilations != (1, 1):
        converter.refuse(node, f"has dilations {list(dilations)} (Keras pooling has none)")
    if attributes.get("ceil_mode", 0):   # fine when rounding up gives the same sizes as rounding down
        ceil_hw = [math.ceil((n + b + a - k) / s) + 1 for k, s, (b, a), n in zip(kernel, strides, pads, input_hw)]
        floor_hw = [(n + b + a - k) // s + 1 for k, s, (b, a), n in zip(kernel, strides, pads, input_hw)]
        if ceil_hw != floor_hw:
            converter.refuse(node, "rounds its output size up (ceil_mode) where Keras rounds down")
    padding = _padding_mode(pads, kernel, strides, dilations, input_hw)
    if padding is None:
        if kind == "max":
            converter.refuse(node, f"pads {pads} in a way TensorFlow's \"same\" does not (a max pool cannot be "
                                   "padded with zeros)")
        if not attributes.get("count_include_pad", 0):
            converter.refuse(node, f"pads {pads} in a way TensorFlow's \"same\" does not, without counting the "
                                   "padding (count_include_pad=0)")
        value, padding = _zero_pad(converter, node, pads, value), "valid"
    elif padding == "same" and kind == "average" and attributes.get("count_include_pad", 0):
        value, padding = _zero_pad(converter, node, pads, value), "valid"
    cls = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
    layer = cls(pool_size=kernel, strides=strides, padding=padding, name=converter.layer_name(node))
    converter.add_layer(node, layer, value.tensor, NCHW)


def max_pool(converter, node, attributes) -> None:
    if len(node.output) > 1 and node.output[1]:
        converter.refuse(node, "also returns the indices of the maxima")
    _pool(converter, node, attributes, "max")


def average_pool(converter, node, attributes) -> None:
    _pool(converter, node, attributes, "average")


def _global_pool(converter, node, cls_name: str) -> None:
    value = converter.computed(node)
    if len(value.tensor.shape) != 4 or value.layout != NCHW:
        converter.refuse(node, "pools a tensor that is not an N×C×H×W map")
    layer = getattr(_keras().layers, cls_name)(keepdims=True, name=converter.layer_name(node))
    converter.add_layer(node, layer, value.tensor, NCHW)


def global_average_pool(converter, node, attributes) -> None:
    _global_pool(converter, node, "GlobalAveragePooling2D")


def global_max_pool(converter, node, attributes) -> None:
    _global_pool(converter, node, "GlobalMaxPooling2D")


def _same_shape_layer(converter, node, layer) -> None:
    """An elementwise layer: the output is laid out as the input."""
    value = converter.computed(node)
    converter.add_layer(node, layer, value.tensor, value.layout, value.perm)


def relu(converter, node, attributes) -> None:
    _same_shape_layer(converter, node, _keras().layers.ReLU(name=converter.layer_name(node)))


def leaky_relu(converter, node, attributes) -> None:
    layer = _keras().layers.LeakyReLU(negative_slope=float(attributes.get("alpha", 0.01)),
                                      name=converter.layer_name(node))
    _same_shape_layer(converter, node, layer)


def clip(converter, node, attributes) -> None:
    if converter.opset < 11:
        low, high = attributes.get("min", -np.inf), attributes.get("max", np.inf)
    else:
        low = converter.constant(node, 1, "lower bound", required=False)
        high = converter.constant(node, 2, "upper bound", required=False)
        low = -np.inf if low is None else float(np.asarray(low).reshape(-1)[0])
        high = np.inf if high is None else float(np.asarray(high).reshape(-1)[0])
    if low != 0:
        converter.refuse(node, f"clips below at {low} (cnnviz converts Clip(0, max), ReLU and ReLU6)")
    layer = _keras().layers.ReLU(max_value=None if np.isinf(high) else float(high), name=converter.layer_name(node))
    _same_shape_layer(converter, node, layer)


def sigmoid(converter, node, attributes) -> None:
    _same_shape_layer(converter, node, _keras().layers.Activation("sigmoid", name=converter.layer_name(node)))


def tanh(converter, node, attributes) -> None:
    _same_shape_layer(converter, node, _keras().layers.Activation("tanh", name=converter.layer_name(node)))


def softmax(converter, node, attributes) -> None:
    value = converter.computed(node)
    rank = len(value.tensor.shape)
    axis = int(attributes.get("axis", 1 if converter.opset < 13 else -1)) % rank
    if rank == 2 and axis == 1:
        keras_axis = -1
    elif rank == 4 and axis == 1 and converter.opset >= 13 and value.layout == NCHW:
        keras_axis = -1
    else:
        converter.refuse(node, f"takes softmax over axis {axis} of a rank-{rank} tensor (cnnviz converts the "
                               "class axis)")
    _same_shape_layer(converter, node, _keras().layers.Softmax(axis=keras_axis, name=converter.layer_name(node)))


def dropout(converter, node, attributes) -> None:
    if converter.opset < 12:
        rate = float(attributes.get("ratio", 0.5))
    else:
        ratio = converter.constant(node, 1, "ratio", required=False)
        rate = 0.5 if ratio is None else float(np.asarray(ratio).reshape(-1)[0])
    if not 0 <= rate < 1:
        converter.refuse(node, f"has a dropout ratio of {rate}")
    _same_shape_layer(converter, node, _keras().layers.Dropout(rate, name=converter.layer_name(node)))


def identity(converter, node, attributes) -> None:
    value = converter.values[node.input[0]]
    if value.is_constant:
        converter.set_constant(node, value.array)
        return
    _same_shape_layer(converter, node, _keras().layers.Identity(name=converter.layer_name(node)))


def batch_normalization(converter, node, attributes) -> None:
    value = converter.computed(node)
    if attributes.get("training_mode", 0) or any(node.output[1:]):
        converter.refuse(node, "is in training mode")
    scale, shift, mean, variance = (np.asarray(converter.constant(node, i, what), np.float32).reshape(-1)
                                    for i, what in enumerate(("scale", "bias", "mean", "variance"), start=1))
    if value.layout == FLAT and value.perm is not None:
        scale, shift, mean, variance = (w[value.perm] for w in (scale, shift, mean, variance))
    if len(value.tensor.shape) not in (2, 4) or (len(value.tensor.shape) == 4 and value.layout != NCHW):
        converter.refuse(node, "normalises a tensor that is neither N×C×H×W nor N×C")
    layer = _keras().layers.BatchNormalization(epsilon=float(attributes.get("epsilon", 1e-5)),
                                               momentum=float(attributes.get("momentum", 0.9)),
                                               name=converter.layer_name(node))
    converter.add_layer(node, layer, value.tensor, value.layout, value.perm, weights=[scale, shift, mean, variance])


def gemm(converter, node, attributes) -> None:
    if attributes.get("transA", 0):
        converter.refuse(node, "transposes its input (transA)")
    weight = converter.constant(node, 1, "weights")
    if attributes.get("transB", 0):
        weight = weight.T
    bias = converter.constant(node, 2, "bias", required=False)
    if bias is not None:
        bias = np.broadcast_to(np.asarray(bias, np.float32).reshape(-1) if bias.size > 1 else bias.reshape(()),
                               (weight.shape[1],)) * float(attributes.get("beta", 1.0))
    _dense(converter, node, weight * float(attributes.get("alpha", 1.0)), bias)


def mat_mul(converter, node, attributes) -> None:
    _dense(converter, node, converter.constant(node, 1, "second factor (weights)"), None)


def _dense(converter, node, weight: np.ndarray, bias: np.ndarray | None) -> None:
    value = converter.computed(node)
    if len(value.tensor.shape) != 2 or weight.ndim != 2 or weight.shape[0] != value.tensor.shape[-1]:
        converter.refuse(node, f"multiplies a tensor of shape {tuple(value.tensor.shape)} by weights of shape "
                               f"{weight.shape} (cnnviz converts N×K times K×M)")
    if value.perm is not None:
        weight = weight[value.perm]   # row i of Keras's kernel meets Keras's input i = ONNX's input perm[i]
    layer = _keras().layers.Dense(weight.shape[1], use_bias=bias is not None, name=converter.layer_name(node))
    converter.add_layer(node, layer, value.tensor, FLAT, weights=[weight] + ([bias] if bias is not None else []))


def _flatten_layer(converter, node, value: Value) -> None:
    layer = _keras().layers.Flatten(name=converter.layer_name(node))
    if len(value.tensor.shape) == 4:
        converter.add_layer(node, layer, value.tensor, FLAT, flatten_perm(value))
    else:
        converter.add_layer(node, layer, value.tensor, FLAT, value.perm)


def flatten(converter, node, attributes) -> None:
    value = converter.computed(node)
    if int(attributes.get("axis", 1)) != 1:
        converter.refuse(node, f"flattens from axis {attributes.get('axis')} (cnnviz converts axis 1)")
    _flatten_layer(converter, node, value)


def reshape(converter, node, attributes) -> None:
    value = converter.values[node.input[0]]
    target = [int(d) for d in converter.constant(node, 1, "shape").reshape(-1)]
    if value.is_constant:
        converter.set_constant(node, value.array.reshape(target))
        return
    shape = [int(d) for d in value.tensor.shape[1:]]
    size = math.prod(shape)
    if len(target) == 2 and target[0] in (-1, 0, 1) and target[1] in (-1, size):
        _flatten_layer(converter, node, value)
        return
    converter.refuse(node, f"reshapes {shape} to {target} (cnnviz converts the Reshape that flattens a map)")


def transpose(converter, node, attributes) -> None:
    value = converter.values[node.input[0]]
    perm = tuple(attributes.get("perm", ()))
    if value.is_constant:
        converter.set_constant(node, value.array.transpose(perm or None))
    elif len(value.tensor.shape) == 4 and value.layout == NHWC and perm == (0, 3, 1, 2):
        converter.alias(node, Value(value.tensor, NCHW))
    elif len(value.tensor.shape) == 4 and value.layout == NCHW and perm == (0, 2, 3, 1):
        converter.alias(node, Value(value.tensor, NHWC))
    else:
        converter.refuse(node, f"transposes with perm {list(perm)} (cnnviz converts NHWC ↔ NCHW only)")


def constant(converter, node, attributes) -> None:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in attributes:
            found = attributes[key]
            if key == "value":
                from cnnviz.core.onnx_file import tensor_array

                found = tensor_array(found)
            converter.set_constant(node, np.asarray(found, np.float32 if "float" in key else found.dtype
                                                    if isinstance(found, np.ndarray) else np.int64))
            return
    converter.refuse(node, "holds a kind of constant cnnviz does not read")


def _elementwise(converter, node, attributes, op: str) -> None:
    """Add, Sub, Mul, Div: two computed tensors of one shape (Add, Multiply layers), or a tensor and a
    constant (a Rescaling layer: x * scale + offset)."""
    keras = _keras()
    first, second = (converter.values[name] for name in node.input[:2])
    if first.is_constant and second.is_constant:
        results = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}
        converter.set_constant(node, results[op](first.array, second.array))
        return
    name = converter.layer_name(node)
    if not first.is_constant and not second.is_constant:
        if op not in ("Add", "Mul") or tuple(first.tensor.shape) != tuple(second.tensor.shape) \
                or (first.layout, _perm_key(first)) != (second.layout, _perm_key(second)):
            converter.refuse(node, f"combines two computed tensors of shapes {tuple(first.tensor.shape)} and "
                                   f"{tuple(second.tensor.shape)} (cnnviz converts Add and Mul of equal shapes)")
        layer = keras.layers.Add(name=name) if op == "Add" else keras.layers.Multiply(name=name)
        converter.add_layer(node, layer, [first.tensor, second.tensor], first.layout, first.perm)
        return
    tensor_first = not first.is_constant
    value, const = (first, second.array) if tensor_first else (second, first.array)
    const = keras_constant(const, value, converter, node)
    if op == "Div" and not tensor_first:
        converter.refuse(node, "divides a constant by the image's values")
    if op == "Div" and np.any(const == 0):
        converter.refuse(node, "divides by zero")
    scale, offset = {"Add": (1.0, const), "Mul": (const, 0.0), "Div": (1.0 / const, 0.0),
                     "Sub": (1.0, -const) if tensor_first else (-1.0, const)}[op]
    layer = keras.layers.Rescaling(scale=_plain(np.asarray(scale, np.float32)),
                                   offset=_plain(np.asarray(offset, np.float32)), name=name)
    converter.add_layer(node, layer, value.tensor, value.layout, value.perm)


def _perm_key(value: Value):
    return None if value.perm is None else tuple(value.perm)


def add(converter, node, attributes) -> None:
    _elementwise(converter, node, attributes, "Add")


def sub(converter, node, attributes) -> None:
    _elementwise(converter, node, attributes, "Sub")


def mul(converter, node, attributes) -> None:
    _elementwise(converter, node, attributes, "Mul")


def div(converter, node, attributes) -> None:
    _elementwise(converter, node, attributes, "Div")


def concat(converter, node, attributes) -> None:
    values = [converter.values[name] for name in node.input]
    if all(value.is_constant for value in values):
        converter.set_constant(node, np.concatenate([value.array for value in values], axis=int(attributes["axis"])))
        return
    values = [converter.computed(node, i) for i in range(len(node.input))]
    rank = len(values[0].tensor.shape)
    axis = int(attributes.get("axis", 1)) % rank
    layouts = {value.layout for value in values}
    if len(layouts) != 1 or any(len(value.tensor.shape) != rank for value in values) or rank not in (2, 4):
        converter.refuse(node, "joins tensors of different kinds")
    perm = None
    if rank == 4:
        keras_axis = {NCHW: {1: 3, 2: 1, 3: 2}, NHWC: {1: 1, 2: 2, 3: 3}}[layouts.pop()].get(axis)
    else:
        keras_axis = 1 if axis == 1 else None
        if any(value.perm is not None for value in values):
            parts, start = [], 0
            for value in values:
                width = int(value.tensor.shape[-1])
                parts.append((np.arange(width) if value.perm is None else value.perm) + start)
                start += width
            perm = np.concatenate(parts)
    if keras_axis is None:
        converter.refuse(node, f"joins along axis {axis}, the batch axis")
    layer = _keras().layers.Concatenate(axis=keras_axis, name=converter.layer_name(node))
    converter.add_layer(node, layer, [value.tensor for value in values], values[0].layout, perm)


CONVERTERS = {
    "Conv": conv, "Relu": relu, "LeakyRelu": leaky_relu, "Clip": clip, "Sigmoid": sigmoid, "Tanh": tanh,
    "MaxPool": max_pool, "AveragePool": average_pool, "GlobalAveragePool": global_average_pool,
    "GlobalMaxPool": global_max_pool, "Gemm": gemm, "MatMul": mat_mul, "Add": add, "Sub": sub, "Mul": mul,
    "Div": div, "Flatten": flatten, "Reshape": reshape, "Concat": concat, "BatchNormalization": batch_normalization,
    "Dropout": dropout, "Identity": identity, "Softmax": softmax, "Transpose": transpose, "Constant": constant,
}
SUPPORTED_OPS = tuple(sorted(CONVERTERS))
