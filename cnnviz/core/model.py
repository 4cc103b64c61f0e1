"""The seed convnet of *Deep Learning with Python*, chapter 5, and loading/saving models.

`load_model` opens any Keras image classifier cnnviz can show (see `cnnviz.core.model_files`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cnnviz.core.atomic import atomic_path
from cnnviz.core.model_files import ModelFileError, ModelInfo, model_info, open_model  # noqa: F401 (re-exported)

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
OPTIMIZERS = ("rmsprop", "adam", "sgd")


@dataclass(frozen=True)
class LayerInfo:
    """One row of the layer table."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    num_params: int


def build_seed_model(optimizer: str = "rmsprop", learning_rate: float | None = None, dropout: float = 0.0):
    """Conv(32)-Pool-Conv(64)-Pool-Conv(64)-Flatten-Dense(64)-Dense(10), compiled as in the notes
    (`dropout` > 0: a Dropout layer after Flatten).

    The `seed` row of the architecture lab's table (`cnnviz.core.architectures`).
    """
    from cnnviz.core.architectures import build_architecture

    return build_architecture("seed", optimizer, learning_rate, dropout)


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


def layer_table(model) -> list[LayerInfo]:
    """Name, type, output shape (without the batch axis) and parameter count of each layer."""
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":  # functional models list their input as a layer
            continue
        shape = tuple(-1 if d is None else int(d) for d in layer.output.shape[1:])
        rows.append(LayerInfo(layer.name, type(layer).__name__, shape, int(layer.count_params())))
    return rows


def format_layer_table(model) -> str:
    """The layer table as text, like Keras's `model.summary()`."""
    rows = layer_table(model)
    header = ("Layer", "Type", "Output shape", "Params")
    cells = [(r.name, r.kind, " × ".join(map(str, r.output_shape)), f"{r.num_params:,}") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    rule = "  ".join("-" * w for w in widths)

    def line(values):
        return "  ".join(v.rjust(w) if i == 3 else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))

    total = sum(r.num_params for r in rows)
    return "\n".join([line(header), rule, *map(line, cells), rule, f"Total params: {total:,}"])


def load_model(path: str | os.PathLike):
    """Open a model file (`.keras` or `.h5`, see `cnnviz.core.model_files.open_model`), compiled.

    Raises ModelFileError with a readable message for missing, corrupt, unsafe or unsuitable files.
    """
    model, info = open_model(path)
    # A fresh optimizer: training in cnnviz always starts its own run.
    compile_model(model, from_logits=info.outputs_logits)
    return model


def save_model(model, path: str | os.PathLike, include_optimizer: bool = True) -> Path:
    """Save `model` as a `.keras` file atomically (temporary file, then rename); without
    `include_optimizer` an uncompiled copy is saved (half the size: no optimizer state)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras, not {path.suffix or 'nothing'} ({path})")
    if not include_optimizer:  # keras.models.clone_model would copy the compile state too
        weights = model.get_weights()
        model = type(model).from_config(model.get_config())
        model.set_weights(weights)
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path
