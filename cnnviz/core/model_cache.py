"""Results computed from a model's weights, kept on disk so they come back instantly (filter patterns, top digits).

A result's key is the sha256 of the model's weights (every weight's bytes, in order) together with
the settings that produced it, so retraining or other settings never reuse a stale result. Files are
`.npz` (no pickles) under `user_cache_dir()/<kind>/`, written atomically; an unreadable, oversized
or malformed file counts as missing (`load_arrays` verifies an entry before it is used).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from cnnviz.core.atomic import write_bytes_atomic
from cnnviz.core.dataset_files import npy_header
from cnnviz.core.limits import check_declared_bytes
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


MAX_ENTRY_BYTES = 256 * 2**20   # one cached result (a layer's patterns, a test set's top digits: a few MB)


def load_arrays(path: Path, expected: dict[str, tuple[tuple, str]] | None = None,
                valid: Callable[[dict[str, np.ndarray]], bool] | None = None) -> dict[str, np.ndarray] | None:
    """The arrays saved at `path`, or None when there is no usable entry (then the result is recomputed).

    A cache file is verified before it is trusted: its size and every member's declared size are
    bounded before anything is read; with `expected` ({name: (shape, dtype)}, None in a shape for any
    length) the members must be exactly those names, shapes and dtypes, and floats finite;
    `valid(arrays)` may check the values too (indices in range…). A poisoned or corrupted entry is
    therefore recomputed, never used (it would declare gigabytes, or end in a KeyError/IndexError).
    """
    try:
        if os.stat(path).st_size > MAX_ENTRY_BYTES:
            return None
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if expected is not None and set(members) != {f"{name}.npy" for name in expected}:
                return None
            for name, info in members.items():
                if info.file_size > MAX_ENTRY_BYTES:
                    return None
                with archive.open(info) as member:
                    shape, dtype = npy_header(member)
                check_declared_bytes(shape, dtype.itemsize, MAX_ENTRY_BYTES, name)
                if expected is not None and not _fits(shape, dtype, *expected[name.removesuffix(".npy")]):
                    return None
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError):
        return None
    if expected is not None and not all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f"):
        return None
    if valid is not None and not valid(arrays):
        return None
    return arrays


def _fits(shape: tuple, dtype: np.dtype, wanted_shape: tuple, wanted_dtype: str) -> bool:
    return (dtype == np.dtype(wanted_dtype) and len(shape) == len(wanted_shape)
            and all(w is None or int(w) == s for s, w in zip(shape, wanted_shape)))


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save `arrays` to `path` atomically (a cache that cannot be written is skipped silently)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        write_bytes_atomic(path, buffer.getvalue())
    except OSError:
        pass
