"""The model: load, restore after a crash, save, describe, probe, and find its test-set mistakes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnnviz.compute.protocol import ModelInfo
from cnnviz.compute.registry import handler
from cnnviz.compute.state import set_layer_weights
from cnnviz.core.training import history_path_for, read_history_csv, write_history_csv

MISTAKES_BATCH = 1000


@handler("ping")
def ping(state) -> dict:
    """The process id and whether a model is loaded (a cheap round trip)."""
    return {"pid": os.getpid(), "generation": state.generation}


@handler("load_model", kind="task")
def load_model(state, task, path) -> ModelInfo:
    """Load a `.keras` file (raises ModelFileError with a readable message) and make it current."""
    from cnnviz.core.model import load_model as load

    path = Path(path)
    model = load(path)
    task.check_cancelled()
    return state.set_model(model, path, read_history_csv(history_path_for(path)))


@handler("restore_model", kind="task")
def restore_model(state, task, architecture: str, weights: list, path=None, history=(),
                  class_names=None) -> ModelInfo:
    """Rebuild a model from its Keras JSON and per-layer weights (the GUI's copy, after a crash)."""
    import keras

    from cnnviz.core.model import compile_model

    model = keras.models.model_from_json(architecture)
    set_layer_weights(model, weights)
    compile_model(model)
    return state.set_model(model, Path(path) if path else None, list(history), class_names)


@handler("model_info")
def model_info(state, include_weights: bool = True) -> ModelInfo:
    """The current model as a ModelInfo."""
    return state.info(include_weights)


@handler("probe")
def probe(state, image) -> dict:
    """Every layer's output for one image (the serving copy's weights, fresh while training:
    `weights_age_s` says how fresh, None when no run is going)."""
    outputs = state.probe(image)
    return {"outputs": outputs, "generation": state.generation, "weights_age_s": state.serving_weights_age()}


@handler("save_model", kind="task")
def save_model(state, task, path) -> dict:
    """Save the current model atomically, with its history CSV beside it; it now comes from `path`."""
    from cnnviz.core.model import save_model as save

    path = Path(path)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    save(state.require_model(), path)
    if state.history:
        write_history_csv(state.history, history_path_for(path))
    state.path = path
    return {"path": path}


@handler("test_mistakes", kind="task")
def test_mistakes(state, task, batch_size: int = MISTAKES_BATCH) -> dict:
    """Indices of the MNIST test digits the current model gets wrong (one batched pass)."""
    model = state.require_model()
    generation = state.generation
    data = test_set(state)
    guesses = []
    for start in range(0, len(data.x_test), batch_size):
        task.check_cancelled()
        batch = data.x_test[start:start + batch_size, :, :, None].astype(np.float32) / 255.0
        guesses.append(np.argmax(np.asarray(model(batch, training=False)), axis=1))
    wrong = np.flatnonzero(np.concatenate(guesses) != data.y_test)
    return {"indices": wrong, "generation": generation}


def test_set(state):
    """MNIST from the local cache (raises DataError when it is not here)."""
    return mnist(state)


def mnist(state, path=None):
    """MNIST (a file the user named, else the local cache), loaded once per process and path."""
    from cnnviz.core.data import load_mnist

    key = ("mnist", str(path or ""))
    if key not in state.features:
        state.features[key] = load_mnist(path, allow_download=False)
    return state.features[key]
