"""Data augmentation for training (issue 21, the notes' chapter 5.2): random shifts, turns and zooms.

Keras's own preprocessing layers (RandomTranslation, RandomRotation, RandomZoom) applied on the fly to
each training batch in the tf.data pipeline (`cnnviz.core.training.make_datasets(augment=True)`), so
every epoch sees each digit moved a little differently. They are not part of the model: the test
pass, `predict` and everything the app shows see the digits as they are, and a model trained with
augmentation has exactly the layers of one trained without. Uncovered pixels are filled with the
background (0, black), as the digits are white on black.

The ranges are modest, the variation of real handwriting after MNIST's own centring (a digit read
from a picture is scaled into 20×20 and centred by mass): a shift of up to 10% of the side (2.8 px),
a turn of up to 10° either way, a zoom of up to 10% in or out.
"""

from __future__ import annotations

TRANSLATION = 0.1        # fraction of the height and width: up to ±2.8 px of 28
ROTATION_DEGREES = 10.0  # either way
ZOOM = 0.1               # in or out, the aspect ratio kept
FILL_VALUE = 0.0         # the background of white-on-black digits


def augmentation_layers(seed: int | None = None):
    """A `keras.Sequential` of RandomTranslation, RandomRotation and RandomZoom (active only when
    called with `training=True`); `seed` makes its draws repeatable."""
    import keras
    from keras import layers

    def layer_seed(offset: int) -> int | None:
        return None if seed is None else (seed + offset) % 2**31

    fill = {"fill_mode": "constant", "fill_value": FILL_VALUE, "interpolation": "bilinear"}
    return keras.Sequential([
        layers.RandomTranslation(TRANSLATION, TRANSLATION, seed=layer_seed(1), **fill),
        layers.RandomRotation(ROTATION_DEGREES / 360.0, seed=layer_seed(2), **fill),
        layers.RandomZoom(ZOOM, seed=layer_seed(3), **fill),
    ], name="augmentation")


def augmented(batches, seed: int | None = None):
    """The tf.data pipeline of (images, labels) batches with each batch's images augmented anew."""
    import tensorflow as tf

    augment = augmentation_layers(seed)
    return batches.map(lambda images, labels: (augment(images, training=True), labels),
                       num_parallel_calls=tf.data.AUTOTUNE)
