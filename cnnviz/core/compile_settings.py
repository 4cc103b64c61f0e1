"""How cnnviz compiles a model, and the seed network's input and classes: the settings that
`model.py` (the seed, loading) and `architectures.py` (the lab's variants) share.

A leaf module: it imports nothing of cnnviz, so both can use it without importing each other.
"""

from __future__ import annotations

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
OPTIMIZERS = ("rmsprop", "adam", "sgd")


def make_optimizer(name: str = "rmsprop", learning_rate: float | None = None):
    """A Keras optimizer by name; `learning_rate=None` keeps Keras's default."""
    import keras

    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    optimizer = keras.optimizers.get(name)
    if learning_rate is not None:
        optimizer.learning_rate = float(learning_rate)
    return optimizer


def compile_model(model, optimizer: str = "rmsprop", learning_rate: float | None = None,
                  steps_per_execution: int = 1, from_logits: bool = False) -> None:
    """Compile with categorical cross-entropy and accuracy, as the notes do (`from_logits` for
    models whose output is not softmax)."""
    import keras

    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True) if from_logits else "categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
