"""Where cnnviz keeps its data, models and the shipped resources."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

DEFAULT_MODEL_NAME = "mnist_convnet.keras"


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
