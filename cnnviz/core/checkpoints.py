"""Checkpoints: the weights at the start of training, inside the first epoch and after every epoch.

A Keras callback (`make_checkpoint_callback`, for `Trainer(extra_callbacks=...)`) records them
into sinks: `MemorySink` keeps the weights as numpy arrays (the app), `FolderSink` writes
`epoch_00.keras`, `epoch_00_batch_00010.keras`, ..., `epoch_01.keras`, ... and `checkpoints.json`
(the command line). Every file is written atomically and the index is rewritten after each
checkpoint, so a stopped or killed run keeps what it wrote. `read_checkpoints(folder)` reads it back.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from cnnviz.core.atomic import write_text_atomic
from cnnviz.core.limits import LimitError, dumps_strict, read_json_file

# Log-spaced batches inside the first epoch: that is where most of the learning happens.
INNER_BATCHES = (10, 30, 100, 300)
INDEX_FILE = "checkpoints.json"
INDEX_FORMAT = "cnnviz-checkpoints"
INDEX_VERSION = 1
_FILE_PATTERN = re.compile(r"epoch_\d+(_batch_\d+)?\.keras")


class CheckpointError(Exception):
    """A checkpoint folder is missing, corrupt or not a cnnviz checkpoint folder."""


@dataclass
class Checkpoint:
    """The weights at one point of training and what was measured there.

    `epoch` counts the epochs finished before this point and `batch` the batches done in the next
    one: (0, 0) is the start (random weights), (0, 30) thirty batches in, (1, 0) after epoch 1.
    """

    epoch: int
    batch: int
    digits_seen: int  # training images the weights have learned from
    position: float  # epochs of training behind these weights (epoch + batch / batches per epoch)
    train_loss: float | None = None  # inside an epoch: running mean over the epoch so far
    train_accuracy: float | None = None
    test_loss: float | None = None  # measured after each epoch only
    test_accuracy: float | None = None
    file: str | None = None  # file name inside the checkpoint folder
    path: Path | None = None  # set when read from a folder
    weights: list[np.ndarray] | None = field(default=None, repr=False)  # kept in memory

    @property
    def label(self) -> str:
        """Short text for a slider or a table: "epoch 0 (random weights)", "epoch 0 + 30 batches", "epoch 2"."""
        if self.batch:
            return f"epoch {self.epoch} + {self.batch} batches"
        return "epoch 0 (random weights)" if self.epoch == 0 else f"epoch {self.epoch}"

    def to_json(self) -> dict:
        """The index entry: every figure, no weights; null where not measured."""
        return {"file": self.file, "epoch": self.epoch, "batch": self.batch, "digits_seen": self.digits_seen,
                "position": self.position, "train_loss": self.train_loss, "train_accuracy": self.train_accuracy,
                "test_loss": self.test_loss, "test_accuracy": self.test_accuracy}


@dataclass
class CheckpointIndex:
    """What `checkpoints.json` holds."""

    folder: Path
    status: str  # "running" (or killed), "finished" or "stopped"
    training: dict  # how the run was set up (epochs, batch size, optimizer, ...)
    checkpoints: list[Checkpoint]


def checkpoint_file_name(epoch: int, batch: int = 0, epoch_digits: int = 2) -> str:
    """`epoch_01.keras`, or `epoch_00_batch_00030.keras`: sorts by name in training order."""
    name = f"epoch_{epoch:0{epoch_digits}d}"
    return f"{name}_batch_{batch:05d}.keras" if batch else f"{name}.keras"


def checkpoints_folder_for(model_path: Path) -> Path:
    """The checkpoints kept beside a model: `net.keras` -> `net_checkpoints/`."""
    model_path = Path(model_path)
    return model_path.with_name(f"{model_path.stem}_checkpoints")


class CheckpointSink(Protocol):
    def add(self, checkpoint: Checkpoint, weights: list[np.ndarray], model) -> None: ...
    def finish(self, status: str) -> None: ...


class MemorySink:
    """Keeps every checkpoint with its weights; `on_added(checkpoint)` is called after each one."""

    def __init__(self, on_added: Callable[[Checkpoint], None] | None = None):
        self.checkpoints: list[Checkpoint] = []
        self.status = "running"
        self.on_added = on_added

    def add(self, checkpoint: Checkpoint, weights: list[np.ndarray], model) -> None:
        checkpoint = replace(checkpoint, weights=weights)
        self.checkpoints.append(checkpoint)
        if self.on_added is not None:
            self.on_added(checkpoint)

    def finish(self, status: str) -> None:
        self.status = status


class FolderSink:
    """Writes each checkpoint as a `.keras` file without optimizer state, then rewrites the index."""

    def __init__(self, folder: Path, training: dict | None = None):
        self.folder = Path(folder)
        self.training = dict(training or {})
        self.checkpoints: list[Checkpoint] = []
        self._copy = None  # an uncompiled clone of the model: saving it leaves the optimizer out

    def add(self, checkpoint: Checkpoint, weights: list[np.ndarray], model) -> None:
        from cnnviz.core.model import save_model

        if self._copy is None:  # keras.models.clone_model would copy the compile state too
            self._copy = type(model).from_config(model.get_config())
        self._copy.set_weights(weights)
        digits = max(2, len(str(self.training.get("epochs", 0))))
        checkpoint = replace(checkpoint, file=checkpoint_file_name(checkpoint.epoch, checkpoint.batch, digits))
        save_model(self._copy, self.folder / checkpoint.file)
        self.checkpoints.append(checkpoint)
        self._write_index("running")

    def finish(self, status: str) -> None:
        self._write_index(status)

    def _write_index(self, status: str) -> None:
        from cnnviz import __version__

        index = {"format": INDEX_FORMAT, "version": INDEX_VERSION, "cnnviz_version": __version__,
                 "status": status, "training": self.training,
                 "checkpoints": [c.to_json() for c in self.checkpoints]}
        write_text_atomic(self.folder / INDEX_FILE, dumps_strict(index, indent=2) + "\n")


def prepare_checkpoint_folder(folder: Path) -> None:
    """Make `folder` ready for a new run: create it, or empty an earlier run's checkpoints from it.

    Refuses (CheckpointError) a folder that holds anything but cnnviz checkpoints, so no other
    file is ever deleted.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(f"{folder} is a file, not a folder.")
    folder.mkdir(parents=True, exist_ok=True)
    ours = [p for p in folder.iterdir() if p.name == INDEX_FILE or _FILE_PATTERN.fullmatch(p.name)]
    others = sorted(p.name for p in folder.iterdir() if p not in ours)
    if others:
        listed = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise CheckpointError(f"{folder} holds other files ({listed}); "
                              "choose an empty folder or an earlier checkpoint folder.")
    for path in ours:
        if path.is_dir():
            raise CheckpointError(f"{path} is a folder, not a checkpoint file.")
    for path in ours:
        path.unlink()


def make_checkpoint_callback(sinks: Sequence[CheckpointSink], batch_size: int, num_train: int,
                             inner_batches: Iterable[int] = INNER_BATCHES):
    """A Keras callback recording checkpoints into `sinks` during `fit`.

    Start of training, the first callback at or after each of `inner_batches` in the first epoch
    (with steps_per_execution > 1 Keras reports every K batches: the real batch number is kept),
    and the end of every finished epoch (an interrupted or diverged epoch is not recorded).
    """
    return _checkpoint_callback_class()(list(sinks), batch_size, num_train, tuple(sorted(inner_batches)))


@functools.cache
def _checkpoint_callback_class():
    """The callback class, built on first use so that importing this module stays cheap."""
    import keras

    class CheckpointCallback(keras.callbacks.Callback):
        def __init__(self, sinks, batch_size, num_train, inner_batches):
            super().__init__()
            self.sinks = sinks
            self.batch_size = batch_size
            self.num_train = num_train
            self.inner_batches = inner_batches
            self.finished_epochs = 0

        def on_train_begin(self, logs=None):
            self.num_batches = self.params.get("steps") or math.ceil(self.num_train / self.batch_size)
            self.finished_epochs = 0
            self._record(0, 0, {})

        def on_epoch_begin(self, epoch, logs=None):
            self.batches_done = 0
            self.targets = [b for b in self.inner_batches if b < self.num_batches] if epoch == 0 else []

        def on_train_batch_end(self, batch, logs=None):
            self.batches_done = batch + 1
            if not self.targets or self.batches_done < self.targets[0] or self.batches_done >= self.num_batches:
                return
            while self.targets and self.targets[0] <= self.batches_done:
                self.targets.pop(0)
            if _finite(logs, "loss"):
                self._record(0, self.batches_done, logs)

        def on_epoch_end(self, epoch, logs=None):
            if self.batches_done < self.num_batches or not _finite(logs, "loss"):
                return  # stopped inside the epoch, or diverged
            self.finished_epochs = epoch + 1
            self._record(epoch + 1, 0, logs)

        def on_train_end(self, logs=None):
            status = "finished" if self.finished_epochs == self.params.get("epochs") else "stopped"
            for sink in self.sinks:
                sink.finish(status)

        def _record(self, epoch, batch, logs):
            logs = logs or {}
            digits = epoch * self.num_train + min(batch * self.batch_size, self.num_train)
            checkpoint = Checkpoint(epoch, batch, digits, epoch + min(batch / self.num_batches, 1.0),
                                    _figure(logs, "loss"), _figure(logs, "accuracy"),
                                    _figure(logs, "val_loss"), _figure(logs, "val_accuracy"))
            weights = self.model.get_weights()
            for sink in self.sinks:
                sink.add(checkpoint, weights, self.model)

    return CheckpointCallback


def _figure(logs: dict, key: str) -> float | None:
    """A finite float from Keras logs, or None (JSON null) when absent or not finite."""
    value = logs.get(key)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _finite(logs, key: str) -> bool:
    return _figure(logs or {}, key) is not None


def read_checkpoint_index(folder: Path) -> CheckpointIndex:
    """Read and check `folder/checkpoints.json` and that every file it lists is there."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"No checkpoint folder at {folder}.")
    index_path = folder / INDEX_FILE
    if not index_path.is_file():
        raise CheckpointError(f"{folder} has no {INDEX_FILE}: it is not a cnnviz checkpoint folder.")
    try:
        index = read_json_file(index_path, INDEX_FILE)
    except OSError as exc:
        raise CheckpointError(f"cannot read {index_path}: {exc.strerror or exc}") from exc
    except LimitError as exc:   # too large, too deep, NaN or Infinity, not JSON
        raise CheckpointError(f"{index_path} is corrupt: {exc}") from exc
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT:
        raise CheckpointError(f"{index_path} is not a cnnviz checkpoint index.")
    if index.get("version") != INDEX_VERSION:
        raise CheckpointError(f"{index_path} has version {index.get('version')!r}; this cnnviz reads "
                              f"version {INDEX_VERSION}.")
    entries = index.get("checkpoints")
    if not isinstance(entries, list):
        raise CheckpointError(f"{index_path} is corrupt: it has no list of checkpoints.")
    checkpoints = [_checkpoint_from_json(entry, number, folder, index_path) for number, entry in enumerate(entries, 1)]
    training = index.get("training") if isinstance(index.get("training"), dict) else {}
    return CheckpointIndex(folder, str(index.get("status", "unknown")), training, checkpoints)


def read_checkpoints(folder: Path) -> list[Checkpoint]:
    """The checkpoints listed in `folder/checkpoints.json`, in training order, each with its `path`."""
    return read_checkpoint_index(folder).checkpoints


_INT_FIELDS = ("epoch", "batch", "digits_seen")
_FLOAT_FIELDS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def _checkpoint_from_json(entry, number: int, folder: Path, index_path: Path) -> Checkpoint:
    def corrupt(what: str) -> CheckpointError:
        return CheckpointError(f"{index_path} is corrupt: checkpoint {number} {what}.")

    if not isinstance(entry, dict):
        raise corrupt("is not an object")
    name = entry.get("file")
    if not isinstance(name, str) or not _FILE_PATTERN.fullmatch(name):
        raise corrupt(f"names no checkpoint file ({name!r})")
    for key in _INT_FIELDS:
        if not isinstance(entry.get(key), int) or isinstance(entry.get(key), bool) or entry[key] < 0:
            raise corrupt(f"has no whole number {key!r}")
    position = entry.get("position")
    if not isinstance(position, (int, float)) or isinstance(position, bool) or not math.isfinite(position):
        raise corrupt("has no number 'position'")
    figures = {}
    for key in _FLOAT_FIELDS:
        value = entry.get(key)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise corrupt(f"has a {key!r} that is not a number")
        figures[key] = None if value is None else float(value)
    path = folder / name
    if not path.is_file():
        raise CheckpointError(f"{path} is missing (listed in {index_path}).")
    return Checkpoint(entry["epoch"], entry["batch"], entry["digits_seen"], float(position), file=name, path=path,
                      **figures)


def load_checkpoint_model(checkpoint: Checkpoint):
    """The checkpoint's model (compiled, as `cnnviz.core.model.load_model` gives it)."""
    from cnnviz.core.model import ModelFileError, load_model

    if checkpoint.path is None:
        raise CheckpointError(f"{checkpoint.label} has no file.")
    try:
        return load_model(checkpoint.path)
    except ModelFileError as exc:
        raise CheckpointError(str(exc)) from exc


def checkpoint_weights(checkpoint: Checkpoint) -> list[np.ndarray]:
    """The checkpoint's weights: from memory when kept there, else from its file."""
    if checkpoint.weights is not None:
        return checkpoint.weights
    return load_checkpoint_model(checkpoint).get_weights()


def evaluate_checkpoints(checkpoints: Sequence[Checkpoint], images: np.ndarray, labels: np.ndarray,
                         model=None, progress: Callable[[int, int], None] | None = None) -> list:
    """The `ConfusionResult` of every checkpoint on `images`/`labels`, swapping weights in one model.

    The model is the first checkpoint's, or `model` (whose weights are then left at the last
    checkpoint's). `progress(done, total)` counts checkpoints; raise in it to cancel.
    """
    from cnnviz.core.confusion import compute_confusion

    results = []
    for number, checkpoint in enumerate(checkpoints, 1):
        if model is None:
            model = load_checkpoint_model(checkpoint)
        else:
            try:
                model.set_weights(checkpoint_weights(checkpoint))
            except ValueError as exc:
                raise CheckpointError(f"{checkpoint.path or checkpoint.label} does not fit the first "
                                      f"checkpoint's model: {exc}") from exc
        results.append(compute_confusion(model, images, labels))
        if progress is not None:
            progress(number, len(checkpoints))
    return results
