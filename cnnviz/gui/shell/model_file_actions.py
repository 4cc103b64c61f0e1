"""File → Open model… and Save model…, the folder they remember, and "save the trained model?" on closing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from cnnviz.core.model_files import MODEL_SUFFIXES
from cnnviz.gui.widgets.qt_helpers import Icon, make_action

# Every suffix cnnviz opens first (Keras, legacy HDF5, ONNX as PyTorch exports it), then each kind alone.
MODEL_FILTER = (f"Image classifiers ({' '.join('*' + suffix for suffix in MODEL_SUFFIXES)});;"
                "Keras models (*.keras *.h5 *.hdf5);;ONNX models, e.g. exported from PyTorch (*.onnx);;All files (*)")
SAVE_FILTER = "Keras models (*.keras)"
SAVED_SUFFIX = ".keras"   # what Save writes, whatever the model was opened from (the session saves .keras)
LAST_DIR_KEY = "paths/last_dir"


class ModelFileActions(QObject):
    """The Open and Save actions of one window and their dialogs (the folder last used is remembered)."""

    def __init__(self, session, window):
        super().__init__(window)
        self._session = session
        self._window = window
        self.last_dir = str(Path.home())
        self.open_action = make_action(window, "&Open model…", "Open an image classifier: a Keras model (.keras, "
                                       ".h5) or an ONNX model (.onnx, e.g. exported from PyTorch)",
                                       self._on_open, QKeySequence.StandardKey.Open, icon=Icon.SP_DialogOpenButton)
        self.save_action = make_action(window, "&Save model…", "Save the current model as a .keras file",
                                       self._on_save, QKeySequence.StandardKey.Save, icon=Icon.SP_DialogSaveButton)

    def ask_open_path(self, caption: str, file_filter: str) -> str:
        """A file to open (a dialog in the folder last used); "" if the user cancelled."""
        path, _ = QFileDialog.getOpenFileName(self._window, caption, self.last_dir, file_filter)
        if path:
            self.last_dir = str(Path(path).parent)
        return path

    def ask_save_path(self, caption: str, name: str, file_filter: str) -> str:
        """Where to save a file called `name` by default (a dialog in the folder last used); "" if cancelled."""
        path, _ = QFileDialog.getSaveFileName(self._window, caption, str(Path(self.last_dir) / name), file_filter)
        if path:
            self.last_dir = str(Path(path).parent)
        return path

    def update(self, idle: bool, has_model: bool) -> None:
        """Open while nothing loads, saves or trains; Save then too, with a model."""
        self.open_action.setEnabled(idle)
        self.save_action.setEnabled(idle and has_model)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue(LAST_DIR_KEY, self.last_dir)

    def restore_settings(self, settings: QSettings) -> None:
        self.last_dir = str(settings.value(LAST_DIR_KEY, self.last_dir))

    @Slot()
    def _on_open(self) -> None:
        """Ask for a model file and load it."""
        path = self.ask_open_path("Open model", MODEL_FILTER)
        if path:
            self._session.load_model_file(path)

    @Slot()
    def _on_save(self) -> None:
        """Ask where to save the current model, then save it atomically."""
        path = self._ask_model_path()
        if path:
            self._session.save_model_file(path)

    def _ask_model_path(self) -> str:
        """Where to save the current model: a `.keras` file, named after the file it came from (a model opened
        from `net.onnx` or `net.h5` is proposed as `net.keras`, and the dialog's title says why)."""
        name, caption = save_proposal(self._session.current)
        return self.ask_save_path(caption, name, SAVE_FILTER)

    def may_close(self, ask_to_save: bool, training: bool) -> bool:
        """Whether closing may go on. With an unsaved trained model (and `ask_to_save`) ask: Save (the window
        closes once the file is written), Discard, or Cancel."""
        session = self._session
        if session.is_saving() and ask_to_save:
            session.close_after_save = True   # the file is being written: close once it is
            self._window.show_status("Closing once the model is saved…", 0)
            return False
        if not (ask_to_save and session.unsaved and session.current is not None) or training:
            return True
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Warning, "Save the trained model?",
                          f"The trained model ({session.model_name()}) has not been saved.",
                          buttons.Save | buttons.Discard | buttons.Cancel, self._window)
        box.setInformativeText("Save it before closing? Discard loses the training.")
        box.setDefaultButton(buttons.Save)
        self._window.last_message_box = box
        box.exec()
        clicked = box.clickedButton()
        answer = box.standardButton(clicked) if clicked is not None else buttons.Cancel
        self._window.last_message_box = None
        box.deleteLater()
        if answer == buttons.Discard:
            return True
        if answer == buttons.Save:
            path = self._ask_model_path()
            if path:
                session.close_after_save = True
                session.save_model_file(path)
        return False


def save_proposal(current) -> tuple[str, str]:
    """(file name, dialog caption) to propose for saving `current` (a ModelInfo or None). cnnviz saves Keras
    files: a model opened from another format (ONNX, legacy HDF5) is proposed under its name with `.keras`,
    and the caption says so."""
    path = Path(current.path) if current is not None and current.path else None
    if path is None:
        return "cnnviz-model.keras", "Save model"
    if path.suffix.lower() == SAVED_SUFFIX:
        return path.name, "Save model"
    return (path.with_suffix(SAVED_SUFFIX).name,
            f"Save model as a .keras file (cnnviz saves Keras models; {path.name} is left as it is)")
