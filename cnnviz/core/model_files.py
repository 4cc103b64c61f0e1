"""Opening any Keras image classifier safely, and the plain `ModelInfo` that describes it (Qt-free).

cnnviz opens `.keras` files and legacy `.h5` files (Sequential or functional), and `.onnx` image
classifiers, which `cnnviz.core.onnx_import` converts into Keras layers, whose graph has one
image input, H×W×1 or H×W×3 with 8 ≤ H, W ≤ 512, and one output, a vector of class scores
(softmax, or logits: cnnviz then applies softmax itself and says so). Before Keras reads a file,
its stored configuration is scanned: Lambda layers and custom layer classes are refused with one
clear sentence (cnnviz never runs Python code from a model file; Keras's safe mode stays on).

Class names come from `<model>.classes.json` beside the model file (a JSON list, one name per
class), else they are "0" … "N-1". TensorFlow/Keras are imported inside functions only.

What a file must pass before Keras reads it (archive members, HDF5 datasets, configuration walks,
the bound on the weights Keras allocates) lives in `cnnviz.core.model_guards`.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.core.atomic import write_text_atomic
from cnnviz.core.model_file_errors import MAX_SIZE, MIN_SIZE, ModelFileError  # noqa: F401 (re-exported)
from cnnviz.core.model_file_errors import first_line as _first_line
from cnnviz.core.limits import CONFIG_LIMITS, LimitError, dumps_strict, load_json, read_json_file
from cnnviz.core.model_guards import ModelGuardError, budget_exceeded, check_config, weight_budget

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".onnx")
MAX_CLASSES = 10_000
CLASSES_SUFFIX = ".classes.json"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MAX_CONFIG_BYTES = CONFIG_LIMITS.max_bytes
_MODEL_CLASSES = ("Functional", "Sequential", "Model")


@dataclass(frozen=True)
class ModelInfo:
    """What cnnviz needs to know about an image classifier, as plain data (crosses processes)."""

    name: str
    path: str | None                        # the file it came from; None for a model made in memory
    input_shape: tuple[int, int, int]       # height, width, channels (1 grey or 3 RGB)
    class_names: tuple[str, ...]
    output_activation: str                  # the last layer's: "softmax", "linear", "sigmoid", …
    input_scale: float = 1.0                # the value of a white pixel the model expects: 1 or 255
    non_finite_layers: tuple[str, ...] = ()  # layers whose weights hold NaN or ±Inf

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def outputs_logits(self) -> bool:
        """True when the output is not softmax: callers apply softmax to get probabilities."""
        return self.output_activation != "softmax"

    @property
    def channels(self) -> int:
        return self.input_shape[2]

    @property
    def is_digit_model(self) -> bool:
        """28×28 grey input and the classes 0…9: MNIST-style digit preparation fits it."""
        return self.input_shape == (28, 28, 1) and self.class_names == tuple(str(d) for d in range(10))

    @property
    def has_finite_weights(self) -> bool:
        return not self.non_finite_layers

    def describe(self) -> str:
        """One line, e.g. '32×32 RGB input → 10 classes (logits; cnnviz applies softmax)'."""
        height, width, channels = self.input_shape
        colour = "RGB" if channels == 3 else "grey"
        raw = "logits" if self.output_activation == "linear" else f"{self.output_activation} outputs"
        output = "softmax" if not self.outputs_logits else f"{raw}; cnnviz applies softmax"
        return f"{height}×{width} {colour} input → {self.num_classes} classes ({output})"

    def matching_dataset(self) -> str | None:
        """The name of the known dataset (cnnviz.core.data.DATASETS) this model classifies, if any."""
        from cnnviz.core.data import DATASETS

        for spec in DATASETS.values():
            if self.input_shape == (*spec.image_shape, 1) and self.class_names == spec.class_names:
                return spec.name
        return None


def open_model(path: str | os.PathLike):
    """Load a model file and check cnnviz can show it: returns (keras model, ModelInfo).

    Raises ModelFileError with a one-line message for missing, corrupt, unsafe or unsuitable files.
    The model is not compiled.
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise ModelFileError(f"No model file at {path}." if not path.is_dir() else f"{path} is a folder, "
                                 "not a model file.")
        if path.suffix.lower() not in MODEL_SUFFIXES:
            raise ModelFileError(f"{path.name} is not a Keras model file (.keras, .h5) or an ONNX one (.onnx).")
        if path.suffix.lower() == ".onnx":   # converted op by op into Keras layers: cnnviz.core.onnx_import
            from cnnviz.core.onnx_import import open_onnx_model

            model = open_onnx_model(path)
        else:
            config = read_stored_config(path)
            check_layers_are_builtin(config, path.name)
            model = _load_with_keras(path)
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path.name}: {exc.strerror or _first_line(exc)}") from exc
    return model, model_info(model, path)


def _load_with_keras(path: Path):
    """Keras's model from a checked file, its variables counted against `model_guards.MAX_WEIGHT_BYTES`
    before they are allocated; `.keras` archives are read from memory (no extraction folder)."""
    import keras

    from cnnviz.core.model_guards import load_keras_archive

    with weight_budget() as budget:
        try:
            if zipfile.is_zipfile(path):
                return load_keras_archive(path)
            return keras.saving.load_model(path, compile=False, safe_mode=True)
        except ModelGuardError as exc:
            raise ModelFileError(f"{path.name} cannot be opened: {exc}.") from exc
        except OSError:
            raise
        except Exception as exc:  # Keras raises many kinds for broken or unsupported files
            if budget_exceeded(budget):   # Keras may wrap the refusal in an error of its own
                raise ModelFileError(f"{path.name} cannot be opened: {budget_exceeded(budget)}.") from exc
            raise ModelFileError(f"Could not load {path.name}: {_first_line(exc)}") from exc


def read_stored_config(path: Path) -> dict:
    """The model configuration stored in a `.keras` archive or an `.h5` file, read as JSON only."""
    with open(path, "rb") as stream:
        head = stream.read(len(_HDF5_SIGNATURE))
    if head == _HDF5_SIGNATURE:
        return _h5_config(path)
    if not zipfile.is_zipfile(path):
        kind = "a .keras archive" if path.suffix == ".keras" else "an HDF5 file"
        raise ModelFileError(f"{path.name} is corrupt or truncated: it is not {kind}.")
    from cnnviz.core.model_guards import checked_keras_archive

    try:
        checked_keras_archive(path)
        with zipfile.ZipFile(path) as archive:
            data = archive.read("config.json")
    except ModelGuardError as exc:
        raise ModelFileError(f"{path.name} cannot be opened: {exc}.") from exc
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelFileError(f"{path.name} is corrupt or truncated: {_first_line(exc)}") from exc
    return _parse_config(data, path)


def _parse_config(data: bytes | str, path: Path) -> dict:
    """The configuration JSON, parsed within CONFIG_LIMITS (no RecursionError, no NaN)."""
    try:
        return load_json(data, "its configuration", CONFIG_LIMITS)
    except LimitError as exc:
        raise ModelFileError(f"{path.name} cannot be opened: {exc}.") from exc


def _h5_config(path: Path) -> dict:
    import h5py

    from cnnviz.core.model_guards import check_h5_file, h5_attribute_bytes

    try:
        with h5py.File(path, "r") as h5:
            h5_attribute_bytes(h5, "model_config", CONFIG_LIMITS.max_bytes)
            check_h5_file(h5)
            text = h5.attrs.get("model_config")
    except ModelGuardError as exc:
        raise ModelFileError(f"{path.name} cannot be opened: {exc}.") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{path.name} is corrupt or truncated: {_first_line(exc)}") from exc
    if text is None:
        raise ModelFileError(f"{path.name} holds weights only, not a model: save the whole model "
                             "(model.save) to open it in cnnviz.")
    if not isinstance(text, (bytes, str)):
        raise ModelFileError(f"{path.name} has an unreadable model configuration.")
    return _parse_config(text, path)


def stored_layers(config: dict):
    """(class_name, layer name, module, registered_name) of every layer in a stored configuration,
    nested models included."""
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    for layer in inner.get("layers") or ():
        if not isinstance(layer, dict):
            continue
        layer_config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        yield (str(layer.get("class_name")), str(layer_config.get("name", "?")), layer.get("module"),
               layer.get("registered_name"))
        if layer.get("class_name") in _MODEL_CLASSES:
            yield from stored_layers(layer)


def check_layers_are_builtin(config: dict, label: str) -> None:
    """Refuse Lambda layers and layer classes that are not Keras's own, before Keras reads the file
    (the whole configuration is walked first, within limits: `model_guards.check_config`)."""
    import keras

    try:
        check_config(config)
    except ModelGuardError as exc:
        if str(exc).startswith(("it uses a ", "it stores a Python function")):
            raise ModelFileError(f"{label} {str(exc).removeprefix('it ')}.") from exc
        raise ModelFileError(f"{label} cannot be opened: {exc}.") from exc
    for class_name, name, module, registered in stored_layers(config):
        if class_name in ("Lambda", "TFOpLambda"):
            raise ModelFileError(f"{label} uses a Lambda layer ({name}): cnnviz never runs Python code from a "
                                 "model file; rebuild it with Keras's built-in layers.")
        builtin = (class_name in _MODEL_CLASSES or isinstance(getattr(keras.layers, class_name, None), type))
        foreign_module = isinstance(module, str) and not module.startswith("keras")
        foreign_name = registered not in (None, class_name) and not str(registered).startswith("keras")
        if not builtin or foreign_module or foreign_name:
            raise ModelFileError(f"{label} uses a custom layer class {registered or class_name} ({name}): cnnviz "
                                 "opens models made of Keras's built-in layers only (it never runs code from a "
                                 "model file).")


def model_info(model, path: str | os.PathLike | None = None) -> ModelInfo:
    """Check `model` is an image classifier cnnviz can show and describe it; ModelFileError if not.

    Class names come from `<path stem>.classes.json` when `path` is given and that file exists.
    """
    label = Path(path).name if path else f"the model {model.name}"
    input_shape, num_classes = _checked_shapes(model, label)
    names = read_class_names(path, num_classes) if path else None
    return ModelInfo(
        name=model.name, path=str(path) if path else None, input_shape=input_shape,
        class_names=names or tuple(str(i) for i in range(num_classes)),
        output_activation=output_activation(model), input_scale=input_scale(model),
        non_finite_layers=non_finite_layers(model),
    )


def _checked_shapes(model, label: str) -> tuple[tuple[int, int, int], int]:
    inputs, outputs = list(getattr(model, "inputs", None) or []), list(getattr(model, "outputs", None) or [])
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelFileError(f"{label} has {len(inputs)} input(s) and {len(outputs)} output(s); cnnviz shows "
                             "models with one image input and one class output.")
    in_shape, out_shape = tuple(inputs[0].shape[1:]), tuple(outputs[0].shape[1:])
    if len(in_shape) != 3 or in_shape[2] not in (1, 3):
        raise ModelFileError(f"{label} takes inputs of shape {_shape_text(in_shape)}; cnnviz needs images "
                             "(height × width × 1 for grey, or × 3 for RGB).")
    if None in in_shape[:2]:
        raise ModelFileError(f"{label} takes images of any size ({_shape_text(in_shape)}); cnnviz needs a "
                             "fixed input size (build the model with keras.Input((height, width, channels))).")
    if not all(MIN_SIZE <= int(side) <= MAX_SIZE for side in in_shape[:2]):
        raise ModelFileError(f"{label} takes {_shape_text(in_shape)} images; cnnviz shows models whose input "
                             f"is {MIN_SIZE} to {MAX_SIZE} pixels a side.")
    if len(out_shape) != 1 or out_shape[0] is None or not 2 <= int(out_shape[0]) <= MAX_CLASSES:
        raise ModelFileError(f"{label} gives outputs of shape {_shape_text(out_shape)}; cnnviz needs a vector "
                             "of class scores (2 or more classes).")
    return tuple(int(d) for d in in_shape), int(out_shape[0])


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def output_layer(model):
    """The layer that produces the model's (first) output, looking inside nested models."""
    layer = model.outputs[0]._keras_history.operation
    while hasattr(layer, "outputs") and getattr(layer, "layers", None) and layer is not model:
        inner = layer.outputs[0]._keras_history.operation
        if inner is layer:
            break
        layer = inner
    return layer


def output_activation(model) -> str:
    """The activation of the layer making the output: "softmax", "linear", "sigmoid", …"""
    layer = output_layer(model)
    kind = type(layer).__name__
    if kind == "Softmax":
        return "softmax"
    config = layer.get_config() if hasattr(layer, "get_config") else {}
    activation = config.get("activation")
    if isinstance(activation, dict):  # a serialised activation object
        activation = activation.get("config", {}).get("name") or activation.get("class_name")
    if activation is None:
        return "linear"
    return str(activation).lower()


def input_scale(model) -> float:
    """255 when the model's first step rescales its input by about 1/255 (it expects 0…255), else 1."""
    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"), None)
    if type(first).__name__ == "Rescaling":
        scale = first.get_config().get("scale")
        if isinstance(scale, (int, float)) and 0 < scale < 0.05:
            return 255.0
    return 1.0


def non_finite_layers(model) -> tuple[str, ...]:
    """Names of the layers whose weights hold NaN or ±Inf."""
    bad = []
    for layer in model.layers:
        if any(not np.isfinite(np.asarray(weight)).all() for weight in layer.get_weights()):
            bad.append(layer.name)
    return tuple(bad)


def class_names_path(model_path: str | os.PathLike) -> Path:
    """`<folder>/<stem>.classes.json` beside a model file."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + CLASSES_SUFFIX)


def read_class_names(model_path: str | os.PathLike, num_classes: int) -> tuple[str, ...] | None:
    """The class names beside a model (`<stem>.classes.json` or `<name>.classes.json`), or None.

    Raises ModelFileError when the file exists but is not a list of `num_classes` names.
    """
    model_path = Path(model_path)
    for candidate in (class_names_path(model_path), model_path.with_name(model_path.name + CLASSES_SUFFIX)):
        if candidate.is_file():
            break
    else:
        return None
    try:
        names = read_json_file(candidate)
    except OSError as exc:
        raise ModelFileError(f"cannot read {candidate.name}: {exc.strerror or _first_line(exc)}") from exc
    except LimitError as exc:
        raise ModelFileError(f"{candidate.name} is not a list of class names: {exc}") from exc
    if not isinstance(names, list) or not all(isinstance(n, (str, int)) for n in names):
        raise ModelFileError(f"{candidate.name} must be a JSON list of class names, e.g. [\"cat\", \"dog\"].")
    if len(names) != num_classes:
        raise ModelFileError(f"{candidate.name} lists {len(names)} class names, but the model has "
                             f"{num_classes} classes.")
    return tuple(str(n) for n in names)


def write_class_names(model_path: str | os.PathLike, names, always: bool = False) -> Path | None:
    """Write `<stem>.classes.json` beside a model, atomically.

    Unless `always`, only when the names are not the default "0"…"N-1" or a classes file is
    already there (so it never goes stale). Returns the file written, or None.
    """
    names = [str(n) for n in names]
    target = class_names_path(model_path)
    if not always and names == [str(i) for i in range(len(names))] and not target.exists():
        return None
    write_text_atomic(target, dumps_strict(names, ensure_ascii=False) + "\n")
    return target


def dataset_for_model(info: ModelInfo, requested: str | None = None) -> str:
    """The known dataset to test a model on: `requested` when the model fits it, else the one whose
    input and class names the model has. ModelFileError when there is none."""
    from cnnviz.core.data import DATASETS, dataset_spec

    label = Path(info.path).name if info.path else info.name
    if requested:
        spec = dataset_spec(requested)
        if info.input_shape != (*spec.image_shape, 1) or info.num_classes != spec.num_classes:
            raise ModelFileError(f"{label} takes {info.describe()}; {spec.title} is 28×28 grey images in "
                                 f"{spec.num_classes} classes, so the model cannot be tested on it.")
        return spec.name
    found = info.matching_dataset()
    if found is None:
        known = ", ".join(spec.title for spec in DATASETS.values())
        raise ModelFileError(f"{label} ({info.describe()}) does not match a dataset cnnviz knows ({known}: "
                             "28×28 grey, 10 classes, with their class names); pass --dataset to choose one.")
    return found
