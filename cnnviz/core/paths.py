"""Where cnnviz keeps its data, models and the shipped resources."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

DEFAULT_MODEL_NAME = "mnist_convnet.keras"
AUGMENTED_MODEL_NAME = "mnist_convnet_augmented.keras"
# The shipped models by short name (`--model augmented`): the notes' model, the same network trained with
# data augmentation (issue 21), and the Fashion-MNIST model.
SHIPPED_MODELS = {"plain": DEFAULT_MODEL_NAME, "augmented": AUGMENTED_MODEL_NAME,
                  "fashion": "fashion_mnist_convnet.keras"}
# Which model reads a picture the user opens or drops (issue 21): "augmented" (the default: on
# scripts/bench_real_digits.py's styles it reads better than the notes' model in every style, by 0.03 to
# 0.67 points on 3,000 digits a style, and it keeps reading digits shifted by 4 px, turned or scaled, where
# the notes' model fails: scripts/robustness_figure.py) or "current" (whatever model is loaded). Drawing,
# the lessons and the lab keep the notes' model.
PICTURE_MODEL_SETTINGS = ("augmented", "current")
DEFAULT_PICTURE_MODEL = "augmented"


def user_cache_dir() -> Path:
    """The per-user cache folder (`$CNNVIZ_CACHE_DIR`, else `$XDG_CACHE_HOME/cnnviz`)."""
    override = os.environ.get("CNNVIZ_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cnnviz"


def resources_dir() -> Path:
    """The folder of files shipped with cnnviz (the default model among them)."""
    return Path(str(resources.files("cnnviz.resources")))


def default_model_path() -> Path:
    """The shipped, pre-trained seed convnet."""
    return resources_dir() / DEFAULT_MODEL_NAME


def shipped_model_path(name: str) -> Path:
    """The shipped model called `name` in SHIPPED_MODELS ("plain", "augmented", "fashion"); KeyError otherwise."""
    return resources_dir() / SHIPPED_MODELS[name]


def model_path_for(text: str | os.PathLike) -> Path:
    """What `--model TEXT` names: a file or folder at that path if there is one, else the shipped model
    of that short name (`SHIPPED_MODELS`), else the path as given (the loader then says what is wrong)."""
    path = Path(text)
    if str(text) in SHIPPED_MODELS and not (path.exists() or path.is_symlink()):
        return shipped_model_path(str(text))
    return path


def picture_model_path(setting: str, current_path: str | os.PathLike | None) -> Path | None:
    """The model to read a picture with under the picture-model `setting`, or None to keep the current one.

    "augmented" swaps only the notes' shipped model (loaded from its file, `current_path`) for the
    augmented one: a model the user chose, trained or changed (no path) is never replaced.
    """
    if setting not in PICTURE_MODEL_SETTINGS:
        raise ValueError(f"unknown picture model setting {setting!r}; "
                         f"choose one of {', '.join(PICTURE_MODEL_SETTINGS)}")
    if setting == "current" or current_path is None:
        return None
    augmented = shipped_model_path("augmented")
    if Path(current_path).resolve() != default_model_path().resolve() or not augmented.is_file():
        return None
    return augmented
