"""Run a Keras model layer by layer on a tensor, seeing (and optionally changing) every layer's output.

Grad-CAM needs a layer's maps and the logits from one connected computation (so a gradient tape
links them); ablation multiplies some layers' outputs by a mask before later layers see them; filter
patterns and top digits read a layer's output. All of them call the model's own layers on tensors
inside a traced function: no weights are copied and the model is not changed (no new layers or
nodes are added to it). TensorFlow/Keras are imported inside functions only.
"""

from __future__ import annotations

from typing import Callable

# visit(layer, layer_input, layer_output) -> the output later layers see
Visitor = Callable[[object, object, object], object]


def run_layers(model, inputs, visit: Visitor):
    """Run `model` on the tensor `inputs` in inference mode, calling `visit` after every layer.

    `layer_input` is the tensor the layer was called with (a list for layers with several inputs).
    Returns the model's output as computed from the visited (possibly changed) outputs.
    """
    import keras

    if isinstance(model, keras.Sequential):
        x = inputs
        for layer in model.layers:
            x = visit(layer, x, layer(x, training=False))
        return x

    def wrap(operation):
        def call(*args, **kwargs):
            if isinstance(operation, keras.layers.Layer):
                kwargs.setdefault("training", False)
            output = operation(*args, **kwargs)
            return visit(operation, args[0] if len(args) == 1 else list(args), output)
        return call

    outputs = model._run_through_graph(inputs, operation_fn=wrap)  # Keras's own graph walk (Functional)
    return outputs[0] if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else outputs


def collect_outputs(model, inputs, names=None, change: Visitor | None = None) -> dict:
    """Run `model` on `inputs`; a dict layer name -> output (after `change`, if given) for `names` (default all)."""
    wanted = None if names is None else set(names)
    seen = {}

    def visit(layer, layer_input, output):
        if change is not None:
            output = change(layer, layer_input, output)
        if wanted is None or layer.name in wanted:
            seen[layer.name] = output
        return output

    run_layers(model, inputs, visit)
    return seen
