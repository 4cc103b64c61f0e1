"""Loading TensorFlow, a model and its activation probe off the GUI thread."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cnnviz.core.training import EpochRecord
from cnnviz.gui.qt_helpers import BackgroundTask


@dataclass
class LoadedModel:
    """A model ready to show: the Keras model, its probe, where it came from and its history if known."""

    model: object
    probe: object
    path: Path | None
    history: list[EpochRecord] = field(default_factory=list)

    @property
    def test_accuracy(self) -> float | None:
        if self.history and math.isfinite(self.history[-1].test_accuracy):
            return self.history[-1].test_accuracy
        return None


def history_path_for(model_path: Path) -> Path:
    """The history CSV kept beside a model: `net.keras` -> `net_history.csv`."""
    return model_path.with_name(f"{model_path.stem}_history.csv")


def read_history_csv(path: Path) -> list[EpochRecord]:
    """Read a history CSV written by `write_history_csv`; [] when missing or unreadable."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [EpochRecord(int(r["epoch"]), *(float(r[k]) for k in (
            "loss", "accuracy", "test_loss", "test_accuracy", "seconds", "samples_per_second"))) for r in rows]
    except (OSError, KeyError, ValueError, TypeError):
        return []


def load_model_and_probe(path: Path) -> LoadedModel:
    """Import TensorFlow, load and check the model, trace its probe (slow: call off the GUI thread)."""
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.model import load_model

    model = load_model(path)
    probe = ActivationProbe(model)
    return LoadedModel(model, probe, Path(path), read_history_csv(history_path_for(Path(path))))


class ModelLoader(QObject):
    """Loads one model file in the background; emits `loaded(LoadedModel)` or `failed(path, message)`."""

    loaded = Signal(object)
    failed = Signal(str, str)

    def __init__(self, path: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.path = Path(path)
        self._task = BackgroundTask(self._load, self)
        self._task.done.connect(self._on_done)
        self._task.failed.connect(self._on_failed)

    def start(self) -> None:
        self._task.start()

    def is_running(self) -> bool:
        return self._task.is_running()

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._task.wait(timeout_ms)

    def _load(self) -> LoadedModel:
        return load_model_and_probe(self.path)

    @Slot(object)
    def _on_done(self, loaded: LoadedModel) -> None:
        """Pass the loaded model on."""
        self.loaded.emit(loaded)

    @Slot(object)
    def _on_failed(self, exc: Exception) -> None:
        """Turn the exception into a readable message."""
        from cnnviz.core.model import ModelFileError

        message = str(exc) if isinstance(exc, ModelFileError) else f"{type(exc).__name__}: {exc}"
        self.failed.emit(str(self.path), message)
