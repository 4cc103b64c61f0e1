"""Every layer's output for one image, from a single compiled forward pass, for any model cnnviz opens."""

from __future__ import annotations

import numpy as np


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities from class scores (logits), computed stably in float64."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = np.exp(scores - scores.max())
    return (shifted / shifted.sum()).astype(np.float32)


class ActivationProbe:
    """Wraps a model; calling it with one image returns each layer's output (no batch axis).

    Layers are the model's own (`model.layers` without the InputLayer), in order, matching
    `cnnviz.core.network.layer_specs`. The forward pass is a `tf.function` traced once for one
    image of the model's input shape (~1 ms for the seed convnet, against ~45 ms for
    `model.predict`). It reads the model's live weights, so it follows training; but call it only
    from the thread that may use the model (not the GUI thread while `fit` runs on a worker).

    `probabilities(image)` are the class probabilities: the output itself for softmax models,
    softmax of it for models that output logits (`outputs_logits` says which).
    """

    def __init__(self, model, info=None):
        import keras
        import tensorflow as tf

        from cnnviz.core.model_files import model_info
        from cnnviz.core.network import model_graph, model_layers

        self.model = model
        self.info = info if info is not None else model_info(model)
        layers = model_layers(model)
        graph = model_graph(model)
        outputs = [graph[layer.name][1] if layer.name in graph else layer.output for layer in layers]
        self.layer_names = [layer.name for layer in layers]
        self.layer_kinds = [type(layer).__name__ for layer in layers]
        self.layer_shapes = [tuple(int(d) for d in output.shape[1:]) for output in outputs]
        self.input_shape = tuple(self.info.input_shape)
        self.outputs_logits = self.info.outputs_logits
        output_name = model.outputs[0]._keras_history.operation.name
        self.output_index = self.layer_names.index(output_name) if output_name in self.layer_names else len(layers) - 1
        extractor = keras.Model(inputs=model.inputs[0], outputs=outputs)
        self._forward = tf.function(
            lambda x: extractor(x, training=False),
            input_signature=[tf.TensorSpec((1, *self.input_shape), tf.float32)],
        )
        self(np.zeros(self.input_shape, np.float32))  # trace now, not on the first stroke

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        """`image`: the model's input shape, (H, W) for grey models accepted; returns one array per layer."""
        image = np.asarray(image, dtype=np.float32)
        if image.size != int(np.prod(self.input_shape)):
            raise ValueError(f"the model takes {'×'.join(map(str, self.input_shape))} images, not {image.shape}")
        batch = image.reshape(1, *self.input_shape)
        return [output.numpy()[0] for output in self._forward(batch)]

    def scores(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The model's output (probabilities or logits) among the per-layer `outputs`."""
        return outputs[self.output_index]

    def probabilities_from(self, outputs: list[np.ndarray]) -> np.ndarray:
        """Class probabilities from the per-layer `outputs` of one call (softmax applied to logits)."""
        scores = self.scores(outputs)
        return softmax(scores) if self.outputs_logits else np.asarray(scores, dtype=np.float32)

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """The class probabilities for `image`."""
        return self.probabilities_from(self(image))

    @property
    def num_layers(self) -> int:
        return len(self.layer_names)

    def spatial_layers(self) -> list[int]:
        """Indices of layers whose output is a stack of 2-D maps (conv, pool, normalisation, …)."""
        return [i for i, shape in enumerate(self.layer_shapes) if len(shape) == 3]
