"""Loading TensorFlow, a model and its activation probe off the GUI thread."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cnnviz.core.training import EpochRecord, history_path_for, read_history_csv
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
