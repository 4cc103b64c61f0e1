"""Loading a model file, or restoring one from in-memory weights, in the compute process.

The GUI never holds a Keras model: it gets a `ModelInfo` (layers, weights, history, …) back.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import ComputeError, ModelInfo


class ModelLoader(QObject):
    """One load or restore at a time; emits `loaded(ModelInfo)` or `failed(path, message)`."""

    loaded = Signal(object)
    failed = Signal(str, str)

    def __init__(self, client, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.path: Path | None = None
        self._request: int | None = None

    def load(self, path: str | Path) -> None:
        """Ask the compute process to open `path` (a `.keras` file) and make it current."""
        self.path = Path(path)
        self._send("load_model", {"path": self.path})

    def restore(self, model: ModelInfo) -> None:
        """Rebuild `model` from its architecture and weights (after the compute process restarted)."""
        self.path = model.path
        self._send("restore_model", {"architecture": model.architecture, "weights": model.weights,
                                     "path": model.path, "history": model.history,
                                     "class_names": model.class_names})

    def is_loading(self) -> bool:
        return self._request is not None

    def _send(self, method: str, args: dict) -> None:
        if self._request is not None:
            self.client.forget(self._request)
        self._request = self.client.request(method, args, on_reply=self._on_loaded, on_error=self._on_failed)

    def _on_loaded(self, model: ModelInfo) -> None:
        self._request = None
        self.loaded.emit(model)

    def _on_failed(self, error: ComputeError) -> None:
        """Say why the model could not be opened; a crash is not that (the window reloads after the restart)."""
        self._request = None
        if not error.crashed:
            self.failed.emit(str(self.path or ""), error.message)
