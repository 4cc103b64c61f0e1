"""ONNX image classifiers as Keras models: one real Keras layer per ONNX node (Qt-free).

`open_onnx_model(path)` reads an `.onnx` file safely (`cnnviz.core.onnx_file`) and rebuilds its graph
op by op (`cnnviz.core.onnx_ops`) as a functional Keras model, so every view, command and
explanation of cnnviz works on it as on a `.keras` file: Conv becomes Conv2D, MaxPool MaxPooling2D,
Gemm Dense, and so on, each named after its ONNX node (`/conv1/Conv` → `conv1_Conv`).

Layout. ONNX images are NCHW, Keras's NHWC: the image is taken NHWC once at the input and every 4-D
tensor stays NHWC inside (an NHWC input followed by a Transpose, as tf2onnx writes, needs none).
Flattening an NHWC map orders its values (h, w, c) where ONNX orders them (c, h, w), so a flattened
tensor carries the permutation between the two, and the Gemm/MatMul/BatchNormalization/Add after it
have their weights permuted to match: the numbers are the same as ONNX's, only listed in Keras's
order (which is how cnnviz's views expect a Flatten). `Origin` says, for each Keras layer, which ONNX
tensor it computes and how to compare the two (`as_keras_layout`).

A model with an operator this converter does not know is refused in one line naming the operator
and the node. Every converted layer's output shape is checked against ONNX's shape inference, so a
case the converter does not render faithfully is refused rather than shown wrong.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.core.model_file_errors import MAX_SIZE, MIN_SIZE, ModelFileError, first_line
from cnnviz.core.onnx_values import (FLAT, NCHW, NHWC, Origin, Value,  # noqa: F401 (re-exported)
                                    as_keras_layout)

ONNX_SUFFIX = ".onnx"


@dataclass
class ConvertedModel:
    """A Keras model made from an ONNX graph, with the ONNX origin of each of its layers."""

    model: object
    origins: dict[str, Origin]
    input_layout: str = NCHW   # how the ONNX graph takes its image: NCHW, or NHWC (the Keras model's own)


def open_onnx_model(path: str | os.PathLike):
    """The Keras model converted from the `.onnx` file at `path` (not compiled); ModelFileError if the
    file is unsafe, malformed, not an image classifier or uses an operator cnnviz cannot convert."""
    return convert_onnx_file(path).model


def convert_onnx_file(path: str | os.PathLike) -> ConvertedModel:
    """`open_onnx_model`, with the ONNX origin of every layer (what the fidelity tests compare)."""
    from cnnviz.core.onnx_file import read_onnx

    path = Path(path)
    proto = read_onnx(path)
    # Named after the file: exporters name every graph alike ("main_graph", "torch_jit", "tf2onnx").
    try:
        return GraphConverter(proto, path.name, keras_name(path.stem)).convert()
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # a malformed graph the checks above did not foresee (a missing attribute, weights of another
        # shape than the node says, ...): still one line, never a traceback
        raise ModelFileError(f"{path.name} cannot be converted: {first_line(exc)}") from exc


def keras_name(text: str) -> str:
    """A Keras layer name from an ONNX name: `/features/conv1/Conv` → `features_conv1_Conv`."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.-")
    return name[:120] or "layer"


@dataclass
class GraphConverter:
    """Walks the ONNX graph in order and builds the Keras layers (the op converters call back here)."""

    proto: object
    label: str
    name: str
    values: dict[str, Value] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    onnx_shapes: dict[str, tuple] = field(default_factory=dict)
    opset: int = 13
    input_name: str = ""   # the Keras name of the image input

    def convert(self) -> ConvertedModel:
        import keras

        from cnnviz.core.onnx_file import tensor_array
        from cnnviz.core.onnx_ops import CONVERTERS, SUPPORTED_OPS

        graph = self.proto.graph
        self.opset = next((entry.version for entry in self.proto.opset_import if entry.domain in ("", "ai.onnx")),
                          13)
        self.onnx_shapes = _inferred_shapes(self.proto)
        for initializer in graph.initializer:
            self.values[initializer.name] = Value(array=tensor_array(initializer))
        image, image_name = self._image_input()
        for number, node in enumerate(graph.node):
            if node.domain not in ("", "ai.onnx") or node.op_type not in CONVERTERS:
                op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
                raise ModelFileError(f"{self.label}: node {node.name or f'#{number}'} uses the ONNX operator {op}, "
                                     f"which cnnviz cannot convert (it converts {', '.join(SUPPORTED_OPS)}).")
            for name in node.input:
                if name and name not in self.values:
                    raise ModelFileError(f"{self.label}: node {node.name or f'#{number}'} reads {name!r}, which no "
                                         "earlier node computes (the graph is not in order or is incomplete).")
            CONVERTERS[node.op_type](self, node, _attributes(node))
        outputs = [self._output(output.name) for output in graph.output]
        model = keras.Model(image, outputs[0] if len(outputs) == 1 else outputs, name=self.name)
        return ConvertedModel(model, self.origins, self.values[image_name].layout)

    def _image_input(self):
        """The Keras input for the graph's one image input (NCHW or NHWC), recorded as its Value; and its name."""
        import keras

        initializers = {initializer.name for initializer in self.proto.graph.initializer}
        inputs = [value for value in self.proto.graph.input if value.name not in initializers]
        if len(inputs) != 1:
            raise ModelFileError(f"{self.label} has {len(inputs)} inputs; cnnviz shows models with one image input.")
        shape = _declared_shape(inputs[0])
        if shape is None or len(shape) != 4:
            raise ModelFileError(f"{self.label} takes inputs of shape {_shape_text(shape)}; cnnviz needs images, "
                                 "N×C×H×W or N×H×W×C.")
        channels_first = shape[1] in (1, 3) and shape[3] not in (1, 3)
        height, width, channels = (shape[2], shape[3], shape[1]) if channels_first else (shape[1], shape[2], shape[3])
        if channels not in (1, 3):
            raise ModelFileError(f"{self.label} takes inputs of shape {_shape_text(shape)}; cnnviz needs images with "
                                 "1 (grey) or 3 (RGB) channels, N×C×H×W or N×H×W×C.")
        if not all(isinstance(side, int) for side in (height, width)):
            raise ModelFileError(f"{self.label} takes images of any size ({_shape_text(shape)}); cnnviz needs a fixed "
                                 "input size (export with a fixed height and width).")
        if not all(MIN_SIZE <= side <= MAX_SIZE for side in (height, width)):
            raise ModelFileError(f"{self.label} takes {height}×{width} images; cnnviz shows models whose input is "
                                 f"{MIN_SIZE} to {MAX_SIZE} pixels a side.")
        self.input_name = keras_name(inputs[0].name)
        image = keras.Input((height, width, channels), name=self.input_name)
        self.values[inputs[0].name] = Value(image, NCHW if channels_first else NHWC)
        return image, inputs[0].name

    def _output(self, name: str):
        value = self.values.get(name)
        if value is None or value.is_constant:
            raise ModelFileError(f"{self.label}: its output {name!r} is not computed from the image.")
        if value.layout == FLAT and value.perm is not None:
            raise ModelFileError(f"{self.label}: its output {name!r} is a flattened map, not class scores.")
        return value.tensor

    # -- called by the op converters --------------------------------------------------------------

    def constant(self, node, index: int, what: str, required: bool = True) -> np.ndarray | None:
        """Input `index` of `node` as a numpy array; ModelFileError when it is computed from the image."""
        if index >= len(node.input) or not node.input[index]:
            if required:
                self.refuse(node, f"has no {what}")
            return None
        value = self.values[node.input[index]]
        if not value.is_constant:
            self.refuse(node, f"computes its {what} from the image (cnnviz needs it fixed in the file)")
        return value.array

    def computed(self, node, index: int = 0) -> Value:
        """Input `index` of `node`, which must be computed from the image."""
        value = self.values[node.input[index]]
        if value.is_constant:
            self.refuse(node, "works on constants only, not on the image")
        return value

    def set_constant(self, node, array: np.ndarray) -> None:
        """A node whose output is a constant (Constant, or an op on constants): no layer."""
        self.values[node.output[0]] = Value(array=np.asarray(array))

    def alias(self, node, value: Value) -> None:
        """A node that changes only how the tensor is described (Transpose to/from NHWC): no layer."""
        self.values[node.output[0]] = value

    def add_layer(self, node, layer, inputs, layout: str, perm: np.ndarray | None = None, weights=None) -> None:
        """Apply a new Keras `layer` to `inputs` (Keras tensors) for `node`, set its weights, check its
        output shape against ONNX's, and record the result as the node's first output."""
        tensor = layer(inputs)
        if weights is not None:
            layer.set_weights([np.asarray(w, np.float32) for w in weights])
        if perm is not None and np.array_equal(perm, np.arange(len(perm))):
            perm = None
        self._check_shape(node, tensor, layout)
        self.values[node.output[0]] = Value(tensor, layout, perm)
        self.origins[layer.name] = Origin(node.name, node.output[0], layout,
                                          None if perm is None else tuple(int(i) for i in perm))

    def layer_name(self, node, suffix: str = "") -> str:
        """A unique Keras name for the layer made from `node` (its ONNX name, made Keras-safe)."""
        base = keras_name((node.name or f"{node.op_type.lower()}_{len(self.origins)}") + suffix)
        taken = set(self.origins) | {self.name, self.input_name}
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        return name

    def refuse(self, node, why: str):
        raise ModelFileError(f"{self.label}: node {node.name or node.output[0]} ({node.op_type}) {why}; cnnviz "
                             "cannot convert it.")

    def _check_shape(self, node, tensor, layout: str) -> None:
        expected = self.onnx_shapes.get(node.output[0])
        got = tuple(tensor.shape[1:])
        if expected is None or len(expected) != len(got) + 1:
            if expected is not None:
                self.refuse(node, f"gives a tensor of rank {len(expected)} where the conversion has {len(got) + 1}")
            return
        onnx_dims = expected[1:]
        if layout == NCHW and len(onnx_dims) == 3:
            onnx_dims = (onnx_dims[1], onnx_dims[2], onnx_dims[0])
        for mine, theirs in zip(got, onnx_dims):
            if isinstance(theirs, int) and mine is not None and mine != theirs:
                self.refuse(node, f"gives shape {_shape_text(expected)} in ONNX but {_shape_text(got)} as converted "
                                  "(a padding or rounding mode Keras does not have)")


def _attributes(node) -> dict:
    from onnx import helper

    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


def _declared_shape(value_info) -> tuple | None:
    """A ValueInfo's shape: ints for fixed dims, None for symbolic ones; None when it has no shape."""
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    return tuple(dim.dim_value if dim.HasField("dim_value") else None for dim in tensor_type.shape.dim)


def _inferred_shapes(proto) -> dict[str, tuple]:
    """ONNX's own shape inference: every tensor's shape (None for unknown dims); {} if it fails."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(proto, check_type=False, strict_mode=False)
    except Exception:  # inference is a safety net only: the converter's own checks still apply
        return {}
    graph = inferred.graph
    shapes = {}
    for value in (*graph.value_info, *graph.output, *graph.input):
        shape = _declared_shape(value)
        if shape is not None:
            shapes[value.name] = shape
    return shapes


def _shape_text(shape) -> str:
    if shape is None:
        return "(unknown)"
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
