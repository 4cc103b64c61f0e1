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
INPUT_NAME = "input"   # how LayerSpec.inputs names the model's input


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


def model_graph(model) -> dict[str, tuple[tuple[str, ...], object]]:
    """For every layer in the model's own graph: (names of the layers feeding it, its output tensor).

    Found by walking back from the model's output through the nodes of *this* graph, so a layer that
    was also called elsewhere (Keras keeps every call as a node) is read at the right call. The input
    layer is named INPUT_NAME.
    """
    graph: dict[str, tuple[tuple[str, ...], object]] = {}
    stack = list(model.outputs)
    while stack:
        tensor = stack.pop()
        operation, node_index, tensor_index = tensor._keras_history
        if operation.name in graph:
            continue
        node = operation._inbound_nodes[node_index]
        parents = tuple(_graph_name(t._keras_history.operation) for t in node.input_tensors)
        graph[operation.name] = (parents, node.output_tensors[tensor_index])
        stack.extend(node.input_tensors)
    return graph


def _graph_name(operation) -> str:
    return INPUT_NAME if type(operation).__name__ == "InputLayer" else operation.name


def model_layers(model) -> list:
    """The model's layers in order, without its InputLayer (functional models list it as a layer)."""
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def layer_specs(model) -> list[LayerSpec]:
    """One LayerSpec per layer of a built Keras model (InputLayers left out), in `model.layers` order.

    `inputs` is filled only where a layer is not fed by just the layer before it (branches, merges),
    so a plain stack has empty `inputs` everywhere, like SEED_SPECS.
    """
    graph = model_graph(model)
    specs = []
    previous = INPUT_NAME
    for layer in model_layers(model):
        feeding, output = graph.get(layer.name, ((), layer.output))
        shape = tuple(-1 if d is None else int(d) for d in output.shape[1:])
        specs.append(LayerSpec(layer.name, type(layer).__name__, shape, int(layer.count_params()),
                               plain_config(layer.get_config()),
                               () if feeding in ((previous,), ()) else feeding))
        previous = layer.name
    return specs


def resolved_inputs(specs) -> list[tuple[str, ...]]:
    """The names feeding each spec, with "the layer before" spelled out (INPUT_NAME for the first)."""
    resolved = []
    previous = INPUT_NAME
    for spec in specs:
        resolved.append(spec.inputs or (previous,))
        previous = spec.name
    return resolved


@dataclass(frozen=True)
class Branch:
    """Layers off the main path that feed a merge: they leave the main path after `start`."""

    start: int                   # index (into the specs) of the main-path layer it leaves from; -1 = the input
    layers: tuple[int, ...]      # indices of the branch's own layers, in order; () for a plain shortcut


@dataclass(frozen=True)
class PathStep:
    """One layer of the main path, with the side branches that merge into it (Add, Concatenate)."""

    index: int
    branches: tuple[Branch, ...] = ()


def main_path(specs) -> list[PathStep]:
    """The longest chain of layers from the input to the last layer, with the branches that join it.

    For a plain stack that is every layer; for a residual block the convolutions are on the main
    path and the shortcut is a Branch of the Add.
    """
    specs = list(specs)
    if not specs:
        return []
    position = {spec.name: i for i, spec in enumerate(specs)}
    inputs = resolved_inputs(specs)
    feeds = [[position[name] for name in names if name in position] for names in inputs]
    depth: dict[int, int] = {}

    def longest(i: int) -> int:  # layers on the longest chain ending at i (iterative, no recursion limit)
        stack = [i]
        while stack:
            top = stack[-1]
            pending = [j for j in feeds[top] if j not in depth]
            if pending:
                stack.extend(pending)
                continue
            depth[top] = 1 + max((depth[j] for j in feeds[top]), default=0)
            stack.pop()
        return depth[i]

    chain = [len(specs) - 1]
    while feeds[chain[-1]]:
        chain.append(max(feeds[chain[-1]], key=longest))
    chain.reverse()
    on_path = set(chain)
    steps = []
    for i in chain:
        main_feed = max(feeds[i], key=longest) if feeds[i] else None
        branches = []
        for j in feeds[i]:
            if j == main_feed:
                continue
            layers = []
            while j not in on_path and feeds[j]:
                layers.append(j)
                j = max(feeds[j], key=longest)
            start = j if j in on_path else -1
            if j not in on_path:
                layers.append(j)
            branches.append(Branch(start, tuple(reversed(layers))))
        if feeds[i] and INPUT_NAME in inputs[i]:  # a shortcut straight from the model input
            branches.append(Branch(-1, ()))
        steps.append(PathStep(i, tuple(branches)))
    return steps


def branch_layers(specs) -> list[int]:
    """Indices of the layers that are not on the main path."""
    on_path = {step.index for step in main_path(specs)}
    return [i for i in range(len(specs)) if i not in on_path]


def input_shape_of(model) -> tuple[int, ...]:
    """The model's input shape without the batch axis, e.g. (28, 28, 1)."""
    return tuple(int(d) for d in model.inputs[0].shape[1:])
