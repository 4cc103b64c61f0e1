"""A classifier's class scores: the pre-softmax logits and the probabilities, whatever its head.

Grad-CAM needs the score *before* the softmax (a 100 %-sure softmax has near-zero gradients);
occlusion and ablation need probabilities. A classifier's output layer is one of:

- a `Dense` layer with an activation (the seed model: softmax): logits = its input · kernel + bias,
  computed from the layer's own weights, with nothing copied or changed;
- a `Softmax` layer or an `Activation` layer: the logits are that layer's input;
- a layer without activation: its output already is the logits.

Probabilities are the output for softmax models; for every other model softmax is applied to the
output, as `cnnviz.core.model_files.ModelInfo.outputs_logits` says. TensorFlow/Keras are imported
inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass

DENSE = "dense"
ACTIVATION_LAYER = "activation_layer"
LOGITS = "logits"


@dataclass(frozen=True)
class ClassHead:
    """Where a model's logits are: `kind` (one of the constants above) and the layer making the output."""

    kind: str
    layer: object               # the Keras layer that makes the model's output
    outputs_probabilities: bool  # True for a softmax output; else softmax is applied to the output

    def logits(self, layer_input, layer_output):
        """Logits from the output layer's input and output tensors (inside a traced function)."""
        from keras import ops

        if self.kind == LOGITS:
            return layer_output
        if self.kind == ACTIVATION_LAYER:
            return layer_input
        logits = ops.matmul(layer_input, self.layer.kernel)
        return logits + self.layer.bias if self.layer.use_bias else logits


def class_head(model) -> ClassHead:
    """How to read `model`'s logits; ValueError when the output layer's scores cannot be recovered."""
    from cnnviz.core.model_files import output_activation, output_layer

    layer = output_layer(model)
    if layer not in model.layers:
        raise ValueError(f"the output layer {layer.name} sits inside a nested model; cnnviz needs it at the "
                         "top level to read the class scores")
    kind = type(layer).__name__
    activation = output_activation(model)
    probabilities = activation == "softmax"
    if kind in ("Softmax", "Activation"):
        return ClassHead(ACTIVATION_LAYER, layer, probabilities)
    if activation == "linear":
        return ClassHead(LOGITS, layer, probabilities)
    if kind == "Dense":
        return ClassHead(DENSE, layer, probabilities)
    raise ValueError(f"the output layer {layer.name} ({kind}) applies {activation}, which cnnviz cannot undo; "
                     "end the model with a Dense layer, a Softmax layer or logits")


def batch_probabilities(model, batch, head: ClassHead | None = None):
    """Class probabilities (numpy, (N, K)) of a batch, applying a softmax for logits models."""
    import numpy as np
    from keras import ops

    head = head or class_head(model)
    outputs = model(np.asarray(batch, dtype=np.float32), training=False)
    if not head.outputs_probabilities:
        outputs = ops.softmax(outputs, axis=-1)
    return np.asarray(ops.convert_to_numpy(outputs), dtype=np.float32)


def batch_logits(model, batch, head: ClassHead | None = None):
    """The class logits (a tensor, (N, K)) of a batch tensor, through the model's own layers (traced or eager)."""
    from cnnviz.core.layer_graph import run_layers

    head = head or class_head(model)
    seen = {}

    def visit(layer, layer_input, output):
        if layer is head.layer:
            seen["logits"] = head.logits(layer_input, output)
        return output

    run_layers(model, batch, visit)
    return seen["logits"]
