"""Small Keras models with other shapes than the seed, for tests of code that must work on any classifier."""

from __future__ import annotations


def branched_model(head: str = "softmax", seed: int = 3):
    """A functional model with a branch and a merge: 12×12×1 input, two paths of conv layers added,
    pooling, Dense(5) ending in `head`: "softmax" (Dense activation), "logits" (no activation) or
    "softmax_layer" (a separate Softmax layer)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 1), name="picture")
    a = layers.Conv2D(4, 3, activation="relu", name="conv_a")(inputs)
    b = layers.Conv2D(6, 3, activation="relu", padding="same", name="conv_b")(a)
    c = layers.Conv2D(6, 3, activation="relu", name="conv_c")(inputs)
    merged = layers.Add(name="add")([b, c])
    pooled = layers.MaxPooling2D(2, name="pool")(merged)
    flat = layers.Flatten(name="flat")(pooled)
    if head == "softmax_layer":
        outputs = layers.Softmax(name="probabilities")(layers.Dense(5, name="scores")(flat))
    else:
        outputs = layers.Dense(5, activation=None if head == "logits" else "softmax", name="scores")(flat)
    return keras.Model(inputs, outputs, name=f"branched_{head}")
