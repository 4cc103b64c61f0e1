"""The seed convnet of *Deep Learning with Python*, chapter 5, and loading/saving it."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cnnviz.core.atomic import atomic_path

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
OPTIMIZERS = ("rmsprop", "adam", "sgd")


class ModelFileError(Exception):
    """A model file is missing, corrupt, truncated or not a model cnnviz can show."""


@dataclass(frozen=True)
class LayerInfo:
    """One row of the layer table."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    num_params: int


def build_seed_model(optimizer: str = "rmsprop", learning_rate: float | None = None):
    """Conv(32)-Pool-Conv(64)-Pool-Conv(64)-Flatten-Dense(64)-Dense(10), compiled as in the notes.

    The `seed` row of the architecture lab's table (`cnnviz.core.architectures`).
    """
    from cnnviz.core.architectures import build_architecture

    return build_architecture("seed", optimizer, learning_rate)


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
                  steps_per_execution: int = 1) -> None:
    """Compile with categorical cross-entropy and accuracy, as the notes do."""
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def layer_table(model) -> list[LayerInfo]:
    """Name, type, output shape (without the batch axis) and parameter count of each layer."""
    rows = []
    for layer in model.layers:
        shape = tuple(int(d) for d in layer.output.shape[1:])
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
    """Load a `.keras` model and check it takes 28×28×1 digits and gives 10 classes.

    Raises ModelFileError with a readable message for missing, corrupt or unsuitable files.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"No model file at {path}.")
    if path.suffix != ".keras":
        raise ModelFileError(f"{path.name} is not a .keras model file (cnnviz reads Keras 3 '.keras' files).")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path.name} is corrupt or truncated: it is not a valid .keras archive.")
    import keras

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many kinds for broken archives
        raise ModelFileError(f"Could not load {path.name}: {_first_line(exc)}") from exc
    check_model_fits_mnist(model, path.name)
    compile_model(model)  # a fresh optimizer: training in cnnviz always starts its own run
    return model


def check_model_fits_mnist(model, label: str = "the model") -> None:
    """Raise ModelFileError unless `model` maps (28, 28, 1) images to 10 probabilities."""
    try:
        in_shape = tuple(model.inputs[0].shape[1:])
        out_shape = tuple(model.outputs[0].shape[1:])
    except (AttributeError, IndexError, ValueError) as exc:
        raise ModelFileError(f"{label} has no defined input: {_first_line(exc)}") from exc
    if in_shape != INPUT_SHAPE or out_shape != (NUM_CLASSES,):
        raise ModelFileError(
            f"{label} is incompatible: it maps {in_shape} to {out_shape}, "
            f"cnnviz needs {INPUT_SHAPE} to ({NUM_CLASSES},)."
        )


def save_model(model, path: str | os.PathLike) -> Path:
    """Save `model` as a `.keras` file atomically (temporary file, then rename)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras, not {path.suffix or 'nothing'} ({path})")
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
