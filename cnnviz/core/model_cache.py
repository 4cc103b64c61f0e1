"""Results computed from a model's weights, kept on disk so they come back instantly (filter patterns, top digits).

A result's key is the sha256 of the model's weights (every weight's bytes, in order) together with
the settings that produced it, so retraining or other settings never reuse a stale result. Files are
`.npz` (no pickles) under `user_cache_dir()/<kind>/`, written atomically; an unreadable file counts
as missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from cnnviz.core.atomic import write_bytes_atomic
from cnnviz.core.paths import user_cache_dir


def weights_sha256(model) -> str:
    """sha256 over every weight of `model` (shape, dtype and bytes), in `model.weights` order."""
    digest = hashlib.sha256()
    for weight in model.weights:
        values = np.ascontiguousarray(np.asarray(weight))
        digest.update(f"{weight.path}:{values.dtype}:{values.shape};".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def cache_path(kind: str, weights_key: str, settings: dict) -> Path:
    """Where the result of `kind` for these weights and JSON-able `settings` lives."""
    text = json.dumps(settings, sort_keys=True)
    key = hashlib.sha256(f"{weights_key}\n{text}".encode()).hexdigest()[:32]
    return user_cache_dir() / kind / f"{key}.npz"


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays saved at `path`, or None when there is no readable file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save `arrays` to `path` atomically (a cache that cannot be written is skipped silently)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        write_bytes_atomic(path, buffer.getvalue())
    except OSError:
        pass
