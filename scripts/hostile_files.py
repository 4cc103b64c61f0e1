"""Hostile model, JSON and cache files for the bad-input sweep (scripts/bad_input_sweep.py) and the tests.

Every file that would run code if cnnviz ever ran it does something visible: it creates the file named
by the environment variable MARKER_VARIABLE (each sweep case has its own), by a shell command, by
Python code marshalled into a model, or by importing the module `PAYLOAD_MODULE` (written by
`write_payload_module` into a folder the case puts on PYTHONPATH).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

MARKER_VARIABLE = "CNNVIZ_SWEEP_MARKER"
PAYLOAD_MODULE = "sweep_payload"
TOUCH_MARKER = f'import os; open(os.environ.get("{MARKER_VARIABLE}") or os.devnull, "w").close()'


def write_payload_module(folder: Path) -> Path:
    """`folder/sweep_payload.py`: importing it, or calling anything in it, creates the case's marker."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{PAYLOAD_MODULE}.py"
    path.write_text(f"{TOUCH_MARKER}\n\n\ndef run(*args, **kwargs):\n    {TOUCH_MARKER}\n"
                    "    return args[0] if args else None\n\n\n"
                    "class Layer:\n    def __init__(self, *args, **kwargs):\n        run()\n")
    return path


def archive_members(model_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(model_path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def keras_archive(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def keras_with_config(path: Path, source: Path, config) -> Path:
    """A copy of the `.keras` archive `source` whose config.json is `config` (a dict, or raw bytes)."""
    members = archive_members(source)
    members["config.json"] = config if isinstance(config, bytes) else json.dumps(config).encode()
    return keras_archive(path, members)


def stored_config(source: Path) -> dict:
    return json.loads(archive_members(source)["config.json"])


def nested_json(depth: int, leaf: bytes = b"1") -> bytes:
    """`[[[…1…]]]`, `depth` levels deep (Python's parser recurses once a level)."""
    return b"[" * depth + leaf + b"]" * depth


def nested_config(depth: int) -> bytes:
    """A model configuration whose one layer's config holds `depth` nested lists."""
    return (b'{"class_name": "Sequential", "config": {"name": "deep", "layers": [{"class_name": "Dense", '
            b'"config": {"name": "d", "units": ' + nested_json(depth) + b"}}]}}")


def first_layer(config: dict, class_name: str) -> dict:
    return next(layer for layer in config["config"]["layers"] if layer["class_name"] == class_name)


def with_dense_units(source: Path, units: int) -> dict:
    """The stored configuration of `source` with its first Dense layer at `units` units."""
    config = stored_config(source)
    first_layer(config, "Dense")["config"]["units"] = units
    return config


def with_many_layers(source: Path, count: int) -> dict:
    """The stored configuration of `source` with `count` extra identity (Activation 'linear') layers."""
    config = stored_config(source)
    layers = config["config"]["layers"]
    extra = [{"module": "keras.layers", "class_name": "Activation", "registered_name": None,
              "config": {"name": f"identity_{i}", "trainable": True, "dtype": "float32", "activation": "linear"}}
             for i in range(count)]
    config["config"]["layers"] = layers[:-1] + extra + layers[-1:]
    return config


def naming_module(source: Path, where: str) -> dict:
    """The stored configuration of `source` naming the payload module: as a layer's module ("layer"), as
    an activation function ("activation"), as a registered custom class ("registered"), or as an
    initializer inside a nested sub-model ("nested")."""
    config = stored_config(source)
    layer = first_layer(config, "Dense")
    if where == "layer":
        layer.update(module=PAYLOAD_MODULE, class_name="Layer", registered_name=None)
    elif where == "activation":
        layer["config"]["activation"] = {"module": PAYLOAD_MODULE, "class_name": "function", "config": "run",
                                         "registered_name": "function"}
    elif where == "registered":
        layer["registered_name"] = f"{PAYLOAD_MODULE}>Layer"
    elif where == "nested":
        inner = {"module": "keras", "class_name": "Sequential", "registered_name": None,
                 "config": {"name": "inner", "layers": [
                     {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
                      "config": {"name": "inner_dense", "units": 4,
                                 "kernel_initializer": {"module": PAYLOAD_MODULE, "class_name": "run",
                                                        "config": {}, "registered_name": None}}}]}}
        config["config"]["layers"].insert(-1, inner)
    return config


def with_lambda_in_nested_model(source: Path) -> dict:
    """The stored configuration of `source` with a Sequential sub-model that holds a Keras-serialised lambda."""
    config = stored_config(source)
    inner = {"module": "keras", "class_name": "Sequential", "registered_name": None,
             "config": {"name": "inner", "layers": [
                 {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                  "config": {"name": "hidden_lambda", "function": {"class_name": "__lambda__", "config": {
                      "code": "", "defaults": None, "closure": None}}}}]}}
    config["config"]["layers"].insert(-1, inner)
    return config


def keras_with_member(path: Path, source: Path, name: str, data: bytes = b"x") -> Path:
    """A copy of `source` with one more member `name` (e.g. `../../evil.txt`)."""
    members = archive_members(source)
    members[name] = data
    return keras_archive(path, members)


def keras_weights_bomb(path: Path, source: Path, gigabytes: float = 1.0) -> Path:
    """A copy of `source` whose model.weights.h5 is `gigabytes` of zeros, deflated to about a thousandth."""
    members = archive_members(source)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("config.json", "metadata.json"):
            archive.writestr(name, members[name])
        with archive.open("model.weights.h5", "w", force_zip64=True) as stream:
            block = b"\0" * 2**24
            for _ in range(int(gigabytes * 64)):
                stream.write(block)
    return path


# --- legacy .h5 ----------------------------------------------------------------------------------

def h5_model(path: Path, source_h5: Path, edit) -> Path:
    """A copy of the legacy `.h5` model `source_h5`, then `edit(h5py.File)` applied to it."""
    import shutil

    import h5py

    shutil.copy(source_h5, path)
    with h5py.File(path, "r+") as h5:
        edit(h5)
    return path


def h5_set_config(config_bytes: bytes):
    def edit(h5):
        h5.attrs["model_config"] = config_bytes
    return edit


def h5_external_link(target: str):
    """Replace the first weight dataset by a link into another file."""
    import h5py

    def edit(h5):
        names = _dataset_names(h5["model_weights"])
        del h5["model_weights"][names[0]]
        h5["model_weights"][names[0]] = h5py.ExternalLink(target, "/data")
    return edit


def h5_huge_dataset(shape=(400_000, 1_600)):
    """Replace the first weight dataset by an unallocated one that declares `shape` float32 (2.4 GB)."""
    def edit(h5):
        names = _dataset_names(h5["model_weights"])
        del h5["model_weights"][names[0]]
        h5["model_weights"].create_dataset(names[0], shape=shape, dtype="float32", chunks=(1_000, 1_600))
    return edit


def _dataset_names(group) -> list[str]:
    import h5py

    names = []
    group.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
    return names


def lambda_touching_marker():
    """A Python function for a Lambda layer: calling it creates the case's marker (then returns its input)."""
    def touch(tensor):
        import os as _os

        open(_os.environ.get("CNNVIZ_SWEEP_MARKER") or _os.devnull, "w").close()
        return tensor
    return touch


# --- caches ----------------------------------------------------------------------------------------

def npz_declaring(path: Path, name: str, shape: tuple, dtype: str = "<f4") -> Path:
    """An `.npz` whose member `name` declares `shape` but stores a few bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.npy", header.getvalue() + b"\0" * 16)
    return path


def npz_of(path: Path, **arrays) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


def sparse_file(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space (a 2 GB `--data` file)."""
    with open(path, "wb") as stream:
        stream.truncate(size)
    return path

