"""Reading dataset files safely: `.npz`, the original idx files, and the MNIST pickle (Qt-free, TF-free).

Every reader checks what a file declares (array headers, idx dimensions, pickle contents) against
what it expects before it reads the bulk of the data, so a small file that declares gigabytes is
refused at once. Nothing here ever runs code from a file: `.npz` members load with
`allow_pickle=False`, and the pickle reader accepts only numpy arrays and tuples (no other class
can even be named inside it).
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

# The four arrays of a dataset, as Keras's `.npz` files and cnnviz name them.
ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
# The original file names (LeCun's MNIST, Zalando's Fashion-MNIST), with or without `.gz`.
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IDX_UBYTE = 0x08
# What the MNIST pickle may name: numpy's own array and dtype reconstructors, nothing else.
PICKLE_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
})
MAX_PICKLE_BYTES = 512 * 2**20  # the MNIST pickle is ~220 MB unpacked


class DatasetFileError(Exception):
    """A file is unreadable, or it does not hold what it should (the message says what)."""


def expected_shapes(num_train: int, num_test: int, image_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """The shape of each array of a dataset with these sizes."""
    return {"x_train": (num_train, *image_shape), "y_train": (num_train,),
            "x_test": (num_test, *image_shape), "y_test": (num_test,)}


def read_npz(path: str | os.PathLike, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The arrays of an `.npz` in Keras's layout, each header checked before its data is read.

    Images must be uint8; labels may be any integer type (returned as uint8 when 0…255).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [key for key in shapes if f"{key}.npy" not in names]
            if missing:
                raise DatasetFileError(f"it has no {', '.join(missing)} (expected the arrays {', '.join(shapes)})")
            for key, shape in shapes.items():
                with archive.open(f"{key}.npy") as member:
                    found_shape, dtype = npy_header(member)
                _check_array(key, found_shape, dtype, shape)
        with np.load(path, allow_pickle=False) as npz:
            return {key: _as_uint8(key, npz[key]) for key in shapes}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetFileError(f"not a readable .npz file ({_short(exc)})") from exc


def npy_header(member) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the header of a `.npy` stream, reading nothing else."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    return tuple(int(d) for d in shape), np.dtype(dtype)


def _check_array(key: str, shape: tuple[int, ...], dtype: np.dtype, expected: tuple[int, ...]) -> None:
    images = key.startswith("x")
    dtype_ok = dtype == np.uint8 if images else dtype.kind in "iu"
    if shape != tuple(expected) or not dtype_ok:
        wanted = "uint8" if images else "integer"
        raise DatasetFileError(f"{key} is {dtype}{list(shape)}, expected {wanted}{list(expected)}")


def _as_uint8(key: str, array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.size and (array.min() < 0 or array.max() > 255):
        raise DatasetFileError(f"{key} has values outside 0…255")
    return array.astype(np.uint8)


def idx_files(folder: str | os.PathLike) -> dict[str, Path] | None:
    """The four idx files in `folder` (plain or `.gz`), or None when any is missing."""
    folder = Path(folder)
    found = {}
    for key, stem in IDX_NAMES.items():
        for name in (f"{stem}.gz", stem):
            if (folder / name).is_file():
                found[key] = folder / name
                break
        else:
            return None
    return found


def read_idx_folder(folder: str | os.PathLike, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The four arrays from the original idx files in `folder`."""
    files = idx_files(folder)
    if files is None:
        names = ", ".join(f"{stem}.gz" for stem in IDX_NAMES.values())
        raise DatasetFileError(f"{folder} does not have the four idx files ({names})")
    return {key: read_idx_file(files[key], shapes[key]) for key in ARRAY_KEYS}


def read_idx_file(path: str | os.PathLike, shape: tuple[int, ...]) -> np.ndarray:
    """One idx file (gzip or plain) of unsigned bytes; its declared dimensions are checked first."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            magic = stream.read(4)
            if len(magic) != 4 or magic[:2] != b"\0\0" or magic[2] != IDX_UBYTE:
                raise DatasetFileError(f"{path.name} is not an idx file of unsigned bytes")
            dims = np.frombuffer(stream.read(4 * magic[3]), dtype=">u4")
            if tuple(int(d) for d in dims) != tuple(shape):
                raise DatasetFileError(f"{path.name} holds {list(map(int, dims))}, expected {list(shape)}")
            size = int(np.prod(shape))
            data = stream.read(size)
            if len(data) != size or stream.read(1):
                raise DatasetFileError(f"{path.name} is truncated or has extra bytes")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetFileError(f"{path.name} is corrupt: {_short(exc)}") from exc
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays and tuples and nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("_codecs", "encode"):   # how protocol-2 pickles from Python 3 store bytes
            return _latin1_encode
        if (module, name) not in PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which is not a numpy array")
        return super().find_class(module, name)


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    if encoding.lower().replace("-", "") != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"it asks for the {encoding!r} codec, which numpy arrays never use")
    return text.encode("latin-1", errors="strict")


def load_arrays_pickle(compressed: bytes, label: str = "the file") -> object:
    """Unpickle gzip-compressed `compressed`, allowing only numpy arrays, tuples and lists.

    Refuses (DatasetFileError) anything that names another class or function, object arrays,
    and data that unpacks to more than MAX_PICKLE_BYTES.
    """
    try:
        raw = gzip.GzipFile(fileobj=io.BytesIO(compressed)).read(MAX_PICKLE_BYTES + 1)
        if len(raw) > MAX_PICKLE_BYTES:
            raise DatasetFileError(f"{label} unpacks to more than {MAX_PICKLE_BYTES // 2**20} MB")
        value = _ArraysOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except DatasetFileError:
        raise
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError,
            IndexError, MemoryError, gzip.BadGzipFile) as exc:
        raise DatasetFileError(f"{label} is not a plain pickle of arrays: {_short(exc)}") from exc
    _refuse_object_arrays(value, label)
    return value


def _refuse_object_arrays(value, label: str) -> None:
    if isinstance(value, (tuple, list)):
        for item in value:
            _refuse_object_arrays(item, label)
    elif isinstance(value, np.ndarray) and value.dtype.hasobject:
        raise DatasetFileError(f"{label} holds Python objects, not numbers")


def mnist_pickle_arrays(value, label: str = "the file") -> dict[str, np.ndarray]:
    """The mnist.pkl layout ((train), (validation), (test)) of float images value/256 -> uint8 arrays."""
    try:
        (x_a, y_a), (x_b, y_b), (x_c, y_c) = value
        images = [np.asarray(x, dtype=np.float64) for x in (x_a, x_b, x_c)]
        labels = [np.asarray(y) for y in (y_a, y_b, y_c)]
    except (TypeError, ValueError) as exc:
        raise DatasetFileError(f"{label} does not have the mnist.pkl layout "
                               "((train images, labels), (validation…), (test…))") from exc
    for array in images:
        if array.ndim != 2 or array.shape[1] != 28 * 28:
            raise DatasetFileError(f"{label}: images are {list(array.shape)}, expected rows of 784 values")

    def to_uint8(x):
        return np.round(x * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "x_train": to_uint8(np.concatenate(images[:2])),
        "y_train": _as_uint8("y_train", np.concatenate(labels[:2]).astype(np.int64)),
        "x_test": to_uint8(images[2]),
        "y_test": _as_uint8("y_test", labels[2].astype(np.int64)),
    }


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
