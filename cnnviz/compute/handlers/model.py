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
    """Open a `.keras` or `.h5` model file (raises ModelFileError with a readable message: unsafe or
    unsuitable models are refused before Keras runs anything) and make it current, with its class
    names from `<model>.classes.json` beside it."""
    path = Path(path)
    loaded = _take_preloaded(state, path) or _open(path)
    task.check_cancelled()
    model, info, serving = loaded
    return state.set_model(model, path, read_history_csv(history_path_for(path)), info.class_names, serving)


def _open(path: Path) -> tuple:
    """(model, its core ModelInfo, its serving copy or None)."""
    from cnnviz.core.model import compile_model
    from cnnviz.core.model_files import open_model

    model, info = open_model(path)
    compile_model(model, from_logits=info.outputs_logits)   # a fresh optimizer: training starts its own run
    return model, info, None


def _file_key(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def begin_preload(state, path):
    """Announce that `path` is being opened ahead of the app's first `load_model` (which then waits for it);
    returns the function that opens it (TensorFlow's import, the model, its serving copy), for a thread."""
    import threading

    path = Path(path)
    entry = state.features["preloaded"] = {"key": _file_key(path), "done": threading.Event(), "loaded": None}

    def preload() -> None:
        try:
            from cnnviz.compute.state import make_serving

            model, info, _ = _open(path)
            entry["loaded"] = (model, info, make_serving(model))
        except Exception:  # noqa: BLE001 the load_model request opens it again and says what is wrong
            pass
        finally:
            entry["done"].set()

    return preload


def _take_preloaded(state, path: Path) -> tuple | None:
    """The preloaded model of `path` if that file is unchanged since (once); waits for a preload under way."""
    preloaded = state.features.pop("preloaded", None)
    if preloaded is None or preloaded["key"] != _file_key(path):
        return None
    preloaded["done"].wait()
    return preloaded["loaded"]


@handler("restore_model", kind="task")
def restore_model(state, task, architecture: str, weights: list, path=None, history=(),
                  class_names=None) -> ModelInfo:
    """Rebuild a model from its Keras JSON and per-layer weights (the GUI's copy, after a crash)."""
    import keras

    from cnnviz.core.model import compile_model
    from cnnviz.core.model_files import output_activation

    model = keras.models.model_from_json(architecture)
    set_layer_weights(model, weights)
    compile_model(model, from_logits=output_activation(model) != "softmax")
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
    """Save the current model atomically, with its history CSV and (unless they are 0…N-1) its class
    names beside it; it now comes from `path`."""
    from cnnviz.core.model import save_model as save
    from cnnviz.core.model_files import write_class_names

    path = Path(path)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    save(state.require_model(), path)
    if state.history:
        write_history_csv(state.history, history_path_for(path))
    write_class_names(path, state.class_names)
    state.path = path
    return {"path": path}


@handler("test_mistakes", kind="task")
def test_mistakes(state, task, batch_size: int = MISTAKES_BATCH, dataset: str | None = None) -> dict:
    """Indices of the test images of `dataset` (default: the one the model classifies, MNIST or
    Fashion-MNIST) the current model gets wrong (one batched pass). ModelFileError when the model
    matches no known dataset."""
    from cnnviz.core.model_files import dataset_for_model, input_scale

    model = state.require_model()
    generation = state.generation
    name = dataset_for_model(state.info(include_weights=False).description(), dataset)
    data = test_set(state, name)
    white = np.float32(input_scale(model))
    guesses = []
    for start in range(0, len(data.x_test), batch_size):
        task.check_cancelled()
        batch = data.x_test[start:start + batch_size, :, :, None].astype(np.float32) * (white / 255.0)
        guesses.append(np.argmax(np.asarray(model(batch, training=False)), axis=1))
    wrong = np.flatnonzero(np.concatenate(guesses) != data.y_test)
    return {"indices": wrong, "generation": generation, "dataset": name}


def test_set(state, name: str | None = None):
    """Dataset `name` from the local sources (raises DataError when it is not here); by default the
    one the current model classifies (Fashion-MNIST for a Fashion-MNIST model), else MNIST."""
    if name is None:
        name = state.info(include_weights=False).dataset if state.model is not None else None
    return dataset(state, name or "mnist")


def mnist(state, path=None):
    """MNIST (a file the user named, else the local cache), loaded once per process and path."""
    return dataset(state, "mnist", path)


def dataset(state, name: str = "mnist", path=None):
    """Dataset `name` (a file the user named, else the local sources), loaded once per process and path."""
    from cnnviz.core.data import load_dataset

    key = (name, str(path or ""))
    if key not in state.features:
        state.features[key] = load_dataset(name, path, allow_download=False)
    return state.features[key]
