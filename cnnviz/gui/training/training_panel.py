"""The training controls: settings, Start / Pause / Stop, progress, and an inline message banner."""

from __future__ import annotations

import time

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QDoubleValidator
from PySide6.QtWidgets import (QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from cnnviz.core.data import DATASETS, NUM_TRAIN, dataset_spec
from cnnviz.core.model import OPTIMIZERS
from cnnviz.core.training import BatchProgress, EpochRecord, TrainConfig, TrainResult
from cnnviz.gui.widgets.message_banner import MessageBanner
from cnnviz.gui.widgets.qt_helpers import Icon, make_action, spin_box
from cnnviz.gui.widgets.regularisation import RegularisationOptions
from cnnviz.terminal import format_duration

# Keras's default learning rate of each optimizer, shown when the field is blank.
DEFAULT_LEARNING_RATES = {"rmsprop": 0.001, "adam": 0.001, "sgd": 0.01}
START_FRESH, START_CURRENT = "fresh", "current"
PROGRESS_INTERVAL_MS = 200  # the progress read-out changes at most 5 times a second (a repaint of the bar costs ~2 ms)


class TrainingPanel(QWidget):
    """Training settings with the notes' defaults (MNIST, 5 epochs, batch 64, rmsprop, all 60,000
    digits, no augmentation, no dropout); the dataset can be Fashion-MNIST instead.

    `start_action`, `pause_action` and `stop_action` are shared with the menu and toolbar;
    the panel only emits what the user asked for and shows what it is told.
    """

    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._state = "idle"
        self.start_action = make_action(self, "&Start training", "Train on MNIST with these settings",
                                        self._on_start, "F5", icon=Icon.SP_MediaPlay)
        self.pause_action = make_action(self, "&Pause", "Pause training after this batch (Resume goes on)",
                                        self._on_pause, "F6", icon=Icon.SP_MediaPause)
        self.stop_action = make_action(self, "S&top", "Stop training after this batch and keep its weights",
                                       self._on_stop, "Shift+F5", icon=Icon.SP_MediaStop)
        self._build_settings()
        self._build_progress()
        self._banner = MessageBanner(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._banner)
        layout.addWidget(self._settings_box)
        layout.addLayout(self._buttons)
        layout.addWidget(self._progress_box)
        layout.addStretch(1)
        self.set_state("idle")

    def actions(self) -> list[QAction]:
        return [self.start_action, self.pause_action, self.stop_action]

    # settings
    def _build_settings(self) -> None:
        self._settings_box = QGroupBox("Settings")
        grid = QGridLayout(self._settings_box)
        self.start_from = QComboBox()
        self.start_from.addItem("A fresh seed model", START_FRESH)
        self.start_from.addItem("The current model's weights", START_CURRENT)
        self.start_from.setToolTip("Train a newly initialised convnet, or go on training the model shown now")
        self.dataset = QComboBox()
        for spec in DATASETS.values():
            self.dataset.addItem(spec.title, spec.name)
        self.dataset.setToolTip("What to train and test on: MNIST's handwritten digits, or Fashion-MNIST's "
                                "pictures of clothes (both 28×28 grey, 10 classes, 60,000 + 10,000 images)")
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.epochs = spin_box(1, 100, 5, "Passes over the training digits (the notes use 5)")
        self.batch_size = spin_box(1, 4096, 64, "Digits per gradient step (the notes use 64)")
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.optimizer.setToolTip("How the weights follow the gradient (the notes use rmsprop)")
        self.optimizer.currentTextChanged.connect(self._on_optimizer_changed)
        self.learning_rate = QLineEdit()
        self.learning_rate.setValidator(QDoubleValidator(0.0, 1e9, 12, self.learning_rate))
        self.learning_rate.setToolTip("Step size; leave blank for the optimizer's default (shown in grey)")
        self.limit = spin_box(1, NUM_TRAIN, NUM_TRAIN, "Train on the first N of the 60,000 training digits "
                                                    "(the test set is always all 10,000)")
        self.limit.setGroupSeparatorShown(True)
        self.limit.setSingleStep(1000)
        self.regularisation = RegularisationOptions()   # Augment, Dropout (issue 21)
        self.start_from.currentIndexChanged.connect(self._on_start_from_changed)
        # Short settings share a row, so the panel leaves the curves below it room on a 800-pixel screen.
        rows = (("Dataset", self.dataset), ("Start from", self.start_from),
                ("Epochs", self.epochs, "Batch size", self.batch_size),
                ("Optimizer", self.optimizer, "Learning rate", self.learning_rate),
                ("Training images", self.limit), ("Regularise", self.regularisation))
        for row, cells in enumerate(rows):
            for column in range(0, len(cells), 2):
                label = QLabel(cells[column])
                label.setBuddy(cells[column + 1])
                grid.addWidget(label, row, column)
                grid.addWidget(cells[column + 1], row, column + 1, 1, 1 if len(cells) > 2 else 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self._on_optimizer_changed(self.optimizer.currentText())
        self._on_dataset_changed()
        self._on_start_from_changed()

        self._buttons = QHBoxLayout()
        for action in self.actions():
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self._buttons.addWidget(button)

    def config(self) -> TrainConfig:
        """The settings as a TrainConfig; ValueError with a readable message when one is invalid."""
        text = self.learning_rate.text().strip().replace(",", ".")
        try:
            learning_rate = float(text) if text else None
        except ValueError:
            raise ValueError(f"The learning rate {text!r} is not a number.") from None
        limit = self.limit.value()
        return TrainConfig(epochs=self.epochs.value(), batch_size=self.batch_size.value(),
                           optimizer=self.optimizer.currentText(), learning_rate=learning_rate,
                           limit=None if limit >= NUM_TRAIN else limit, steps_per_execution=1,
                           augment=self.regularisation.augment(), dropout=self.regularisation.dropout())

    def set_config(self, config: TrainConfig, start_from: str = START_FRESH) -> None:
        self.epochs.setValue(config.epochs)
        self.batch_size.setValue(config.batch_size)
        self.optimizer.setCurrentText(config.optimizer)
        self.learning_rate.setText("" if config.learning_rate is None else f"{config.learning_rate:g}")
        self.limit.setValue(config.limit or NUM_TRAIN)
        self.regularisation.set_values(config.augment, config.dropout)
        self.start_from.setCurrentIndex(max(self.start_from.findData(start_from), 0))

    def start_from_choice(self) -> str:
        return self.start_from.currentData()

    def dataset_choice(self) -> str:
        """The dataset to train on: "mnist" or "fashion-mnist"."""
        return self.dataset.currentData()

    def set_dataset(self, name: str) -> None:
        """Choose dataset `name` (ignored when unknown)."""
        index = self.dataset.findData(name)
        if index >= 0:
            self.dataset.setCurrentIndex(index)

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup("training")
        settings.setValue("epochs", self.epochs.value())
        settings.setValue("batch_size", self.batch_size.value())
        settings.setValue("optimizer", self.optimizer.currentText())
        settings.setValue("learning_rate", self.learning_rate.text())
        settings.setValue("limit", self.limit.value())
        settings.setValue("start_from", self.start_from_choice())
        settings.setValue("dataset", self.dataset_choice())
        self.regularisation.save_settings(settings)
        settings.endGroup()

    def restore_settings(self, settings: QSettings) -> None:
        settings.beginGroup("training")
        try:
            self.epochs.setValue(int(settings.value("epochs", self.epochs.value())))
            self.batch_size.setValue(int(settings.value("batch_size", self.batch_size.value())))
            optimizer = str(settings.value("optimizer", self.optimizer.currentText()))
            if optimizer in OPTIMIZERS:
                self.optimizer.setCurrentText(optimizer)
            self.learning_rate.setText(str(settings.value("learning_rate", "") or ""))
            self.limit.setValue(int(settings.value("limit", self.limit.value())))
            index = self.start_from.findData(settings.value("start_from", START_FRESH))
            self.start_from.setCurrentIndex(max(index, 0))
            self.set_dataset(str(settings.value("dataset", self.dataset_choice())))
            self.regularisation.restore_settings(settings)
        except (TypeError, ValueError):
            pass  # a damaged settings file keeps the defaults
        finally:
            settings.endGroup()

    # progress
    def _build_progress(self) -> None:
        self._progress_box = QGroupBox("Progress")
        layout = QVBoxLayout(self._progress_box)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Not started")
        self.progress_bar.setToolTip("Progress over all epochs of this run")
        self.rate_label = QLabel("")
        self.rate_label.setToolTip("Training speed and estimated time left")
        self.metrics_label = QLabel("")
        self.metrics_label.setToolTip("Running mean of this epoch's training loss and accuracy")
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setToolTip("Test loss and accuracy on the 10,000 test digits after each epoch")
        for widget in (self.progress_bar, self.rate_label, self.metrics_label, self.result_label):
            layout.addWidget(widget)
        for label in (self.rate_label, self.metrics_label):
            # Text that changes 10 times a second must not re-lay-out (and repaint) the whole panel.
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._pending_progress: BatchProgress | None = None
        self._last_progress_shown = 0.0
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.timeout.connect(self._on_progress_timer)

    def show_progress(self, progress: BatchProgress) -> None:
        """Show a progress report, at most 10 times a second (later reports replace pending ones)."""
        self._pending_progress = progress
        wait_ms = PROGRESS_INTERVAL_MS - 1000 * (time.perf_counter() - self._last_progress_shown)
        if wait_ms <= 0:
            self._on_progress_timer()
        elif not self._progress_timer.isActive():
            self._progress_timer.start(int(wait_ms) + 1)

    @Slot()
    def _on_progress_timer(self) -> None:
        """Display the newest pending progress report."""
        progress, self._pending_progress = self._pending_progress, None
        if progress is None:
            return
        self._last_progress_shown = time.perf_counter()
        total = progress.num_epochs * progress.num_batches
        done = progress.epoch * progress.num_batches + progress.batch
        if self.progress_bar.maximum() == 0:  # the busy indicator of show_preparing animates all the time
            self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(round(1000 * done / max(total, 1)))
        self.progress_bar.setFormat(f"Epoch {progress.epoch + 1}/{progress.num_epochs} · "
                                    f"batch {progress.batch}/{progress.num_batches}")
        self.rate_label.setText(f"{progress.samples_per_second:,.0f} digits/s · "
                                f"{format_duration(progress.eta_seconds)} left")
        self.metrics_label.setText(f"loss {progress.loss:.4f} · accuracy {progress.accuracy:.4f}")

    def show_epoch(self, record: EpochRecord) -> None:
        self.result_label.setText(f"After epoch {record.epoch}: test loss {record.test_loss:.4f}, "
                                  f"test accuracy {record.test_accuracy:.4f}")

    def show_preparing(self, text: str) -> None:
        """Before the first batch: loading MNIST, building the model."""
        self._drop_pending_progress()
        self.progress_bar.setRange(0, 0)  # busy indicator
        self.progress_bar.setFormat(text)
        self.rate_label.setText(text)
        self.metrics_label.setText("")

    def reset_progress(self) -> None:
        """Back to "Not started" (a start was cancelled before training began)."""
        self._drop_pending_progress()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Not started")
        self.rate_label.setText("")

    def _drop_pending_progress(self) -> None:
        self._pending_progress = None
        self._progress_timer.stop()

    def show_result(self, result: TrainResult) -> None:
        self._drop_pending_progress()
        self.progress_bar.setRange(0, 1000)
        if result.status == "finished":
            self.progress_bar.setValue(1000)
            self.progress_bar.setFormat("Finished")
        else:
            self.progress_bar.setFormat(result.status.capitalize())
        self.rate_label.setText(f"{result.samples_per_second:,.0f} digits/s over finished epochs"
                                if result.samples_per_second else "")
        if result.status == "diverged":
            self.show_message(result.message, "error")
        elif result.status == "stopped":
            self.show_message(result.message, "info")

    def show_message(self, text: str, kind: str = "info") -> None:
        """Show an inline banner above the settings (no modal dialog)."""
        self._banner.show_text(text, kind)

    def message(self) -> str:
        """The banner's text, or "" when it is hidden."""
        return self._banner.text() if self._banner.isVisibleTo(self) else ""

    def clear_message(self) -> None:
        self._banner.hide()

    # state
    def state(self) -> str:
        return self._state

    def set_state(self, state: str) -> None:
        """"idle", "blocked" (no model yet), "preparing", "running", "paused" or "stopping"."""
        self._state = state
        busy = state in ("preparing", "running", "paused", "stopping")
        self._settings_box.setEnabled(not busy)
        self.start_action.setEnabled(state == "idle")
        self.pause_action.setEnabled(state in ("running", "paused"))
        self.pause_action.setText("&Resume" if state == "paused" else "&Pause")
        self.pause_action.setIcon(self.style().standardIcon(Icon.SP_MediaPlay if state == "paused"
                                                            else Icon.SP_MediaPause))
        self.stop_action.setEnabled(state in ("preparing", "running", "paused"))
        if state == "paused":
            self.progress_bar.setFormat(self.progress_bar.format().split(" (paused)")[0] + " (paused)")

    @Slot()
    def _on_start(self) -> None:
        """Ask to start."""
        self.start_requested.emit()

    @Slot()
    def _on_pause(self) -> None:
        """Pause, or resume when paused."""
        if self._state == "paused":
            self.resume_requested.emit()
        else:
            self.pause_requested.emit()

    @Slot()
    def _on_stop(self) -> None:
        """Ask to stop."""
        self.stop_requested.emit()

    @Slot()
    def _on_dataset_changed(self) -> None:
        """Say what Start trains on, and what the training images are."""
        spec = dataset_spec(self.dataset_choice())
        items = f"{spec.item}s"
        tip = f"Train on {spec.title} with these settings"
        self.start_action.setToolTip(f"{tip} (F5)")
        self.start_action.setStatusTip(tip)
        self.limit.setToolTip(f"Train on the first N of the {NUM_TRAIN:,} {spec.title} training {items} "
                              "(the test set is always all 10,000)")

    @Slot()
    def _on_start_from_changed(self) -> None:
        """Dropout is a layer of a model built new: off for a model that goes on training."""
        self.regularisation.set_dropout_allowed(self.start_from_choice() != START_CURRENT)

    @Slot(str)
    def _on_optimizer_changed(self, name: str) -> None:
        """Show the optimizer's default learning rate as the placeholder."""
        self.learning_rate.setPlaceholderText(f"{DEFAULT_LEARNING_RATES.get(name, 0.001):g}")   # grey: the default

