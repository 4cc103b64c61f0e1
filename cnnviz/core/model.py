"""The seed convnet of *Deep Learning with Python*, chapter 5, and loading/saving models.

`load_model` opens any Keras image classifier cnnviz can show (see `cnnviz.core.model_files`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cnnviz.core.atomic import atomic_path
from cnnviz.core.compile_settings import (INPUT_SHAPE, NUM_CLASSES, OPTIMIZERS,  # noqa: F401 (re-exported)
                                          compile_model, make_optimizer)
from cnnviz.core.model_files import ModelFileError, ModelInfo, model_info, open_model  # noqa: F401 (re-exported)


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
    """Save `model` as a `.keras` file atomically (temporary file, then rename).

    `include_optimizer=False` leaves the optimizer's state out (RMSprop keeps a slot per weight: half of
    a trained file); the file keeps the compile settings, and loads like any other.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras, not {path.suffix or 'nothing'} ({path})")
    if not include_optimizer:
        model = without_optimizer_state(model)
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def without_optimizer_state(model):
    """A copy of a compiled `model` with the same weights, compiled the same way, whose optimizer has not
    stepped yet (Keras's `.keras` format saves every optimizer variable and has no option to leave them out)."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    # (not `compile_from_config`: it builds the optimizer's variables, the very state to leave out)
    copy.compile(**keras.saving.deserialize_keras_object(model.get_compile_config()))
    return copy
