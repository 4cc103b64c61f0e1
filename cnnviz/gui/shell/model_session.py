"""The window's current model, held in the compute process: loading, saving, and getting it back after a crash.

The window holds no Keras model: the compute process does, and the session keeps its `ModelInfo`
(`current`) and whether it changed since it was loaded or saved (`unsaved`). If the compute process
dies, the banner says so, the client restarts it and the session reloads the model: the saved file
when nothing changed since, else the weights it holds (a training run keeps its last finished epoch).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox

from cnnviz.compute.protocol import ComputeError, ModelInfo
from cnnviz.core.paths import default_model_path
from cnnviz.gui.remote.model_loader import ModelLoader
from cnnviz.gui.shell.status_bar import shown_path


class ModelSession(QObject):
    """The current model of one window (see the module docstring); `window` shows what happens."""

    model_ready = Signal()           # a model (loaded, restored or trained) is shown
    model_loaded = Signal(object)    # a model was opened from a file (ModelInfo), just before it is shown
    model_failed = Signal(str)       # a model file could not be opened (the message)
    model_saved = Signal(object)     # the Path the current model was saved to
    recovered = Signal(float)        # the model is back after a crash of the compute process (seconds)
    changed = Signal()               # current, unsaved, loading or saving changed: the title and actions follow

    def __init__(self, client, inspector, training, banner, window, owns_client: bool):
        super().__init__(window)
        self.client = client
        self.current: ModelInfo | None = None
        self.unsaved = False
        self.close_after_save = False   # the window closes once the save under way is done
        self._inspector = inspector
        self._training = training
        self._banner = banner
        self._window = window
        self._owns_client = owns_client
        self._loader = ModelLoader(client, self)
        self._first_path: Path | None = None
        self._crashed_at: float | None = None
        self._saving = False
        self._loader.loaded.connect(self._on_model_loaded)
        self._loader.failed.connect(self._on_model_failed)
        client.crashed.connect(self._on_compute_crashed)
        client.restarted.connect(self._on_compute_restarted)
        client.gave_up.connect(self._on_compute_gave_up)

    # --- the compute process -----------------------------------------------------------------------
    def start_compute(self) -> None:
        """Start the compute process (the app calls this once the window is shown)."""
        if self._owns_client and not self.client.is_running():
            self.client.start()

    def detach(self) -> None:
        """Stop following a shared client (tests) that outlives this window."""
        self.client.crashed.disconnect(self._on_compute_crashed)
        self.client.restarted.disconnect(self._on_compute_restarted)
        self.client.gave_up.disconnect(self._on_compute_gave_up)

    # --- loading, saving, showing ------------------------------------------------------------------
    def load_model_file(self, path: str | Path | None = None) -> None:
        """Load `path` (default: the shipped model) in the compute process; the current model stays until
        it is ready."""
        if self._loader.is_loading() or self._training.is_training():
            return
        path = Path(path) if path else default_model_path()
        if self.current is None:
            self._first_path = path
            self._inspector.set_no_model_text(None)   # "Loading the model…"
        self.start_compute()
        self._loader.load(path)
        self._window.set_busy(f"Loading {path.name}…" if self.current else f"Loading TensorFlow and {path.name}…")
        self.changed.emit()

    def is_loading(self) -> bool:
        return self._loader.is_loading()

    def is_saving(self) -> bool:
        return self._saving

    def save_model_file(self, path: str | Path) -> None:
        """Save the current model atomically, with its history beside it (in the compute process);
        `model_saved(path)` when done, an error box if it failed."""
        path = Path(path)
        if path.suffix != ".keras":
            path = path.with_suffix(".keras")
        self._saving = True
        self._window.set_busy(f"Saving {path.name}…")
        self.changed.emit()
        self.client.request("save_model", {"path": path}, on_reply=self._on_model_file_saved,
                            on_error=self._on_save_failed)

    def show_model(self, model: ModelInfo, unsaved: bool | None = None) -> None:
        """Make `model` the current model (`unsaved`: it differs from its file) and show it in the inspector."""
        self.current = model
        if unsaved is not None:
            self.unsaved = unsaved
        self._inspector.set_model(model)
        self.changed.emit()
        self.model_ready.emit()

    def keep_model(self, model: ModelInfo) -> None:
        """Hold `model` (not saved anywhere) as the current one without showing it yet: a cut training run's
        last epoch, restored into the restarted compute process next."""
        self.current = model
        self.unsaved = True
        self.changed.emit()

    def model_name(self) -> str:
        if self.current is None:
            return "no model"
        if self.current.path is None:
            return "new model"
        return self.current.path.name

    def _on_model_file_saved(self, result: dict) -> None:
        """The file is written: the model now comes from it."""
        path = Path(result["path"])
        self._saving = False
        self._window.set_busy("")
        if self.current is not None:
            self.current.path = path
        self.unsaved = False
        self.changed.emit()
        self._window.show_status(f"Saved {shown_path(path)}", 5000)
        self.model_saved.emit(path)
        if self.close_after_save:
            self.close_after_save = False
            QTimer.singleShot(0, self._window.close)

    def _on_save_failed(self, error: ComputeError) -> None:
        self._saving = False
        self.close_after_save = False
        self._window.set_busy("")
        self.changed.emit()
        self._window.show_message_box(QMessageBox.Icon.Critical, "Could not save model", error.message)

    @Slot(object)
    def _on_model_loaded(self, model: ModelInfo) -> None:
        """Show the loaded (or, after a crash, restored) model and its saved history."""
        self._window.set_busy("")
        if self._crashed_at is not None:
            seconds = time.monotonic() - self._crashed_at
            self._crashed_at = None
            name = model.path.name if model.path else "the model"
            self._banner.show_recovered(f"The compute process was restarted: {name} is back ({seconds:.1f} s).")
            self.show_model(model)
            self.recovered.emit(seconds)
            return
        self.unsaved = False
        self.model_loaded.emit(model)
        self.show_model(model)
        self._window.show_status(f"Loaded {shown_path(model.path)}", 5000)

    @Slot(str, str)
    def _on_model_failed(self, path: str, message: str) -> None:
        """Say why the file could not be opened; keep the current model."""
        self._window.set_busy("")
        self.changed.emit()
        if self._crashed_at is not None:
            self._crashed_at = None
            self._banner.show_error(f"The compute process was restarted, but the model could not be reloaded: "
                                    f"{message}")
            return
        keep = f"cnnviz keeps showing {self.model_name()}." if self.current else \
            "Open another model, or train a fresh one (Train → Start)."
        if self.current is None:
            self._inspector.set_no_model_text(f"No model: {Path(path).name} could not be opened. {keep}")
        self._window.show_message_box(QMessageBox.Icon.Critical, "Could not open model", message, keep)
        self._window.show_status(f"Could not open {Path(path).name}", 8000)
        self.model_failed.emit(message)

    # --- a crash of the compute process ------------------------------------------------------------
    @Slot(str)
    def _on_compute_crashed(self, what: str) -> None:
        """The compute process died: say so (the client restarts it; pending requests fail first)."""
        self._crashed_at = time.monotonic()
        self._banner.show_crashed(what)
        self._window.show_status(what, 10000)

    @Slot()
    def _on_compute_restarted(self) -> None:
        """A new compute process runs: reload the saved file, or restore the weights held here."""
        self._saving = False
        if self.current is None:
            self._loader.load(self._first_path or default_model_path())
        elif self.unsaved or self.current.path is None:
            self._loader.restore(self.current)
        else:
            self._loader.load(self.current.path)
        self._window.set_busy("Reloading the model…")
        self.changed.emit()

    @Slot(str)
    def _on_compute_gave_up(self, text: str) -> None:
        self._crashed_at = None
        self._window.set_busy("")
        self._banner.show_error(text)
