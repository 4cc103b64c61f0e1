"""What a model file must pass before Keras reads it, and the bound on what Keras may allocate (Qt-free).

cnnviz reads a model file's parts itself, within limits, before handing it to Keras:

- `.keras` archives (`checked_keras_archive`): only the members Keras writes (`config.json`,
  `metadata.json`, `model.weights.h5`), no `../` or absolute names, each member's declared size
  against a bound and its compression ratio against a bomb's; Keras then reads the archive from
  memory (`load_keras_archive`), so it never extracts anything to disk;
- legacy `.h5` files (`check_h5_file`): no external or soft links, no external or virtual datasets,
  the `model_config` attribute and every dataset's declared size against bounds (metadata only);
- the stored configuration (`check_config`): walked iteratively with depth/count limits and a time
  budget (`cnnviz.core.limits.walk_json`); Lambda layers, serialised Python functions and anything
  naming a module outside Keras are refused, nested models and wrappers included; at most
  MAX_LAYERS layers;
- while Keras builds the model (`weight_budget`): every variable's declared size is counted before
  it is allocated, and building stops at MAX_WEIGHT_BYTES (a config edited to 400,000 dense units
  asks for gigabytes).

Every refusal is a `ModelGuardError` (a ValueError) with one line; `model_files` turns it into a
ModelFileError naming the file.
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
import zipfile
from pathlib import Path

import numpy as np

from cnnviz.core.limits import CONFIG_LIMITS, MB, LimitError, check_declared_bytes, size_text, walk_json

MAX_WEIGHT_BYTES = 600 * MB          # VGG16 (138 M float32 weights, 528 MB) still opens
MAX_ARCHIVE_BYTES = MAX_WEIGHT_BYTES + 64 * MB
MAX_LAYERS = 1_000                   # ResNet-152 has 517; the lab's variants about 10
MAX_EXPANSION = 200                  # uncompressed ÷ compressed of one member (DEFLATE tops out near 1032)
KERAS_MEMBERS = {"config.json": CONFIG_LIMITS.max_bytes, "metadata.json": 1 * MB, "model.weights.h5": MAX_ARCHIVE_BYTES}
_MODEL_CLASSES = ("Functional", "Sequential", "Model")
_CODE_CLASSES = ("Lambda", "TFOpLambda", "__lambda__")


class ModelGuardError(ValueError):
    """A model file fails a check made before Keras reads it (the message says which)."""


# --- .keras archives -------------------------------------------------------------------------------

def checked_keras_archive(path: Path) -> dict[str, zipfile.ZipInfo]:
    """The members of a `.keras` archive, each checked (names, declared sizes, compression ratio)."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    found = {}
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
            raise ModelGuardError(f"it holds a member named {name[:80]!r} that points outside the archive")
        if name not in KERAS_MEMBERS:
            raise ModelGuardError(f"it holds {name[:80]!r}, which a Keras model archive does not (only "
                                  f"{', '.join(KERAS_MEMBERS)})")
        if name in found:
            raise ModelGuardError(f"it holds {name} twice")
        if info.file_size > KERAS_MEMBERS[name]:
            raise ModelGuardError(f"its {name} declares {size_text(info.file_size)}; cnnviz reads at most "
                                  f"{size_text(KERAS_MEMBERS[name])}")
        if info.file_size > 1 * MB and info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
            raise ModelGuardError(f"its {name} unpacks from {size_text(info.compress_size)} to "
                                  f"{size_text(info.file_size)}: a compression bomb, not a model")
        found[name] = info
    if "config.json" not in found:
        raise ModelGuardError("it has no config.json: it is not a Keras model archive")
    return found


def load_keras_archive(path: Path, safe_mode: bool = True):
    """Keras's model from a checked `.keras` archive, read from memory (nothing is extracted to disk)."""
    checked_keras_archive(path)
    data = io.BytesIO(path.read_bytes())
    try:
        from keras.src.saving import saving_lib
    except ImportError:   # a Keras without this module: its public loader (which may extract to disk)
        import keras

        return keras.saving.load_model(path, compile=False, safe_mode=safe_mode)
    return saving_lib.load_model(data, compile=False, safe_mode=safe_mode)


# --- legacy .h5 ------------------------------------------------------------------------------------

def check_h5_file(h5, limit: int = MAX_WEIGHT_BYTES) -> None:
    """An open h5py.File: no external/soft links, no external or virtual datasets, datasets within `limit`."""
    import h5py

    total = 0
    problems = []

    def visit(name, link):
        nonlocal total
        if isinstance(link, h5py.ExternalLink):
            problems.append(f"it links to another file ({name} → {link.filename})")
        elif isinstance(link, h5py.SoftLink):
            problems.append(f"it holds a soft link ({name})")
        elif isinstance(link, h5py.HardLink):
            item = h5.get(name)
            if isinstance(item, h5py.Dataset):
                if item.is_virtual or item.external:
                    problems.append(f"its dataset {name} keeps its data in other files")
                elif item.shape is not None:
                    try:   # (nothing may be raised inside h5py's visit: it would become a SystemError)
                        total += check_declared_bytes(item.shape, item.dtype.itemsize, limit, f"its dataset {name}")
                    except LimitError as exc:
                        problems.append(str(exc))
                    if total > limit:
                        problems.append(f"its datasets declare more than {size_text(limit)} in all")
        return True if problems else None   # a non-None value stops the visit

    h5.visititems_links(visit)
    if problems:
        raise ModelGuardError(problems[0])


def h5_attribute_bytes(h5, name: str, limit: int) -> None:
    """ModelGuardError when the attribute `name` of an open h5py object declares more than `limit` bytes."""
    if name not in h5.attrs:
        return
    attribute = h5.attrs.get_id(name)
    size = attribute.get_storage_size()
    if size > limit:
        raise ModelGuardError(f"its {name} declares {size_text(size)}; cnnviz reads at most {size_text(limit)}")


# --- the stored configuration ------------------------------------------------------------------------

def check_config(config) -> None:
    """Refuse a configuration that would run code or take unbounded work, before Keras reads it."""
    if not isinstance(config, dict):
        raise ModelGuardError(f"its configuration is a JSON {type(config).__name__}, not a model")
    if config.get("class_name") not in _MODEL_CLASSES:
        raise ModelGuardError(f"it does not hold a Keras model (it stores a {str(config.get('class_name'))[:60]})")
    layers = [0]

    def visit(node: dict, depth: int) -> None:
        inner = node.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
            layers[0] += len(inner["layers"])
            if layers[0] > MAX_LAYERS:
                raise ModelGuardError(f"it has more than {MAX_LAYERS:,} layers; cnnviz opens models of at most "
                                      f"{MAX_LAYERS:,}")
        class_name = node.get("class_name")
        name = str(inner.get("name", "?") if isinstance(inner, dict) else node.get("name", "?"))[:60]
        if class_name in _CODE_CLASSES[:2]:
            raise ModelGuardError(f"it uses a Lambda layer ({name}): cnnviz never runs Python code from a model "
                                  "file; rebuild it with Keras's built-in layers")
        if class_name in _CODE_CLASSES[2:] or node.get("function_type") is not None:
            raise ModelGuardError(f"it stores a Python function ({name}): cnnviz never runs Python code from a "
                                  "model file; rebuild it with Keras's built-in layers")
        module = node.get("module")
        registered = node.get("registered_name")
        foreign_module = module is not None and not (isinstance(module, str) and (module == "keras"
                                                                                  or module.startswith("keras.")))
        if foreign_module or (isinstance(registered, str) and ">" in registered):
            what = str(registered if isinstance(registered, str) else class_name)[:60]
            where = f" from the Python module {str(module)[:60]!r}" if foreign_module else ""
            kind = "layer class" if isinstance(inner, dict) and "name" in inner else "class"
            named = f" ({name})" if name != "?" else ""
            raise ModelGuardError(f"it uses a custom {kind} {what}{named}{where}: cnnviz opens models made of "
                                  "Keras's built-in layers only (it never runs code from a model file)")

    try:
        walk_json(config, visit, CONFIG_LIMITS, "its configuration")
    except LimitError as exc:
        raise ModelGuardError(str(exc)) from None


# --- what Keras may allocate -----------------------------------------------------------------------

_budget = threading.local()


@contextlib.contextmanager
def weight_budget(limit: int = MAX_WEIGHT_BYTES):
    """While inside (this thread), Keras variables are counted before they are allocated; one that takes the
    total over `limit` bytes raises ModelGuardError instead of being made."""
    _install_variable_hook()
    _budget.state = {"left": limit, "limit": limit, "exceeded": None}
    try:
        yield _budget.state
    finally:
        _budget.state = None


def budget_exceeded(state: dict) -> str | None:
    """The message of a `weight_budget` that was exceeded, else None."""
    return state.get("exceeded")


def _install_variable_hook() -> None:
    """Wrap Keras's variable shape check (it runs before every variable is allocated) once per process."""
    from keras.src.backend.common import variables

    variable_class = variables.Variable
    if getattr(variable_class._validate_shape, "_cnnviz_budget", False):
        return
    original = variable_class._validate_shape

    def validate_shape(self, shape):
        shape = original(self, shape)
        state = getattr(_budget, "state", None)
        if state is not None:
            try:
                itemsize = np.dtype(str(self._dtype)).itemsize
            except TypeError:
                itemsize = 8
            size = math.prod(int(side) for side in shape) * itemsize
            state["left"] -= size
            if state["left"] < 0:
                state["exceeded"] = (f"its layers ask for more than {size_text(state['limit'])} of weights (the "
                                     f"variable {self.path} alone is {size_text(size)}, shape "
                                     f"{'×'.join(str(int(s)) for s in shape)}); cnnviz opens models of at most "
                                     f"{size_text(state['limit'])}")
                raise ModelGuardError(state["exceeded"])
        return shape

    validate_shape._cnnviz_budget = True
    variable_class._validate_shape = validate_shape
