"""The Lab: train the architecture variants side by side and see why convolution and pooling alternate.

Left: the variants to train (what each is, the notes' question it answers), the run's settings
(epochs, training digits, seed, augment and dropout: remembered), Train / Pause / Stop and the progress.
Right: tabs with the overlaid curves, the results table and the help, above two variants' maps side by side.

Training runs in the compute process ("lab_train", one variant at a time, `LabRun`); each finished
variant is saved in the user's lab folder, whose results replace the shipped ones for that variant
(unless "Show" asks for the full run only). "Train extra seeds" (`extra_seeds.py`, `SeedRun`) adds seeds
to the shipped full run's variants: the table's means, error bars and tests and the curves' ± sd bands
then count them. The view itself only reads folders (`lab_data`) and shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.architectures import ARCHITECTURES
from cnnviz.core.data import NUM_TRAIN, Dataset
from cnnviz.core.seed_statistics import REFERENCE
from cnnviz.core.training import MAX_SEED, BatchProgress, EpochRecord, TrainConfig
from cnnviz.gui.lab.curves import LabCurves
from cnnviz.gui.lab.data import (
    RUNS_FILE,
    SHIPPED,
    VariantResult,
    full_run,
    full_run_settings,
    lab_folder,
    lab_results,
    next_seeds,
    shipped_folder,
)
from cnnviz.gui.lab.extra_seeds import ExtraSeedsBox
from cnnviz.gui.lab.help import LabHelp
from cnnviz.gui.lab.lab_settings import (DEFAULT_EPOCHS, DEFAULT_LIMIT, DEFAULT_SEED, restore_lab_settings,
                                         save_lab_settings)
from cnnviz.gui.lab.run import LabRun, SeedRun
from cnnviz.gui.lab.side_by_side import SideBySide
from cnnviz.gui.lab.table import ResultsTable
from cnnviz.gui.lab.variants import VariantList
from cnnviz.gui.widgets.message_banner import MessageBanner
from cnnviz.gui.widgets.qt_helpers import Icon, app_settings, make_action, spin_box  # spin boxes as Training's
from cnnviz.gui.widgets.regularisation import RegularisationOptions, describe_regularisation
from cnnviz.terminal import format_duration

TABS = ("Curves", "Results", "Help")
SHOW_CHOICES = (("your runs, else the full run", True), ("the full run over seeds", False))


class LabDock(QWidget):
    """The Lab panel. `shipped` and `lab` are the folders of trained variants (see `lab_data`)."""

    open_requested = Signal(object)      # the Path of a variant's model, to open in the inspector
    run_finished = Signal()              # a run (all its queued variants) ended

    def __init__(self, client=None, shipped: Path | None = None, lab: Path | None = None,
                 parent: QWidget | None = None, read_results_later: bool = False):
        """`read_results_later`: read the folders in the first idle moment of the event loop (or when the Lab
        is shown or asked for its results, if sooner), not now: the window is built ~0.1 s sooner."""
        super().__init__(parent)
        self.client = client
        self.shipped = Path(shipped) if shipped is not None else shipped_folder()
        self.lab = Path(lab) if lab is not None else lab_folder()
        self.dataset: Dataset | None = None     # tests and the autotest: train on these digits instead of MNIST's
        self.run: LabRun | None = None
        self._results: dict[str, VariantResult] = {}
        self._full: dict[str, VariantResult] | None = None   # the full run with the user's extra seeds
        self._results_read = False              # the folders were read (reload_results)
        self._trained_here: set[str] = set()    # variants whose live per-batch curves are shown
        self._restoring = False
        self.train_action = make_action(self, "&Train", "Train the checked variants one after the other",
                                        self._on_train, icon=Icon.SP_MediaPlay)
        self.pause_action = make_action(self, "&Pause", "Pause the variant training now (Resume goes on)",
                                        self._on_pause, icon=Icon.SP_MediaPause)
        self.stop_action = make_action(self, "S&top", "Stop the variant training now (it is not kept) and "
                                       "drop the ones still waiting", self._on_stop, icon=Icon.SP_MediaStop)
        self.variants = VariantList()
        self.curves = LabCurves()
        self.table = ResultsTable()
        self.help = LabHelp()
        self.extra_seeds = ExtraSeedsBox()
        self.show_choice = QComboBox()
        for text, _ in SHOW_CHOICES:
            self.show_choice.addItem(text)
        self.show_choice.setToolTip("Show your own Lab runs where you have them (the full run for the other "
                                    "variants), or the full run over seeds for every variant")
        self.side_by_side = SideBySide(client)
        self.tabs = QTabWidget()
        for widget, title in zip((self.curves, self.table, self.help), TABS):
            self.tabs.addTab(widget, title)
        self.tabs.setTabToolTip(0, "Every variant's loss and accuracy on the same axes")
        self.tabs.setTabToolTip(1, "One row per variant: shapes, speed, accuracy and overfitting")
        self.tabs.setTabToolTip(2, "What the lab answers, with the numbers of the full run")
        corner = QWidget()
        corner_row = QHBoxLayout(corner)
        corner_row.setContentsMargins(0, 0, 4, 0)
        corner_row.addWidget(QLabel("Show:"))
        corner_row.addWidget(self.show_choice)
        self.tabs.setCornerWidget(corner, Qt.Corner.TopRightCorner)
        self._banner = MessageBanner()
        self._build_layout()
        self._connect()
        self.restore_settings(app_settings())
        self._update_actions()
        if read_results_later:
            QTimer.singleShot(0, self._read_results_once)
        else:
            self.reload_results()

    # --- building -------------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        settings = QGroupBox("Each variant trains")
        form = QFormLayout(settings)
        self.epochs = spin_box(1, 100, DEFAULT_EPOCHS, "Passes over the training digits (the full run used 5)")
        self.limit = spin_box(100, NUM_TRAIN, DEFAULT_LIMIT, "Train on the first N of the 60,000 training digits "
                                                          "(tested on all 10,000); fewer is quicker")
        self.limit.setGroupSeparatorShown(True)
        self.limit.setSingleStep(1000)
        self.seed = spin_box(0, min(MAX_SEED, 2**31 - 1), DEFAULT_SEED,
                          "Random seed shared by every variant: the same digit order, and initial weights drawn "
                          "the same way")
        form.addRow("Epochs", self.epochs)
        form.addRow("Training digits", self.limit)
        form.addRow("Seed", self.seed)
        self.regularisation = RegularisationOptions()   # issue 21: a variant trained with augmentation, dropout
        form.addRow("Regularise", self.regularisation)
        buttons = QHBoxLayout()
        for action in (self.train_action, self.pause_action, self.stop_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFormat("Not started")
        self.progress_bar.setValue(0)
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self._banner)
        heading = QLabel("<b>Variants</b> (all: 3×3 convolutions, 2×2 pooling, then Dense 64 → 10)")
        heading.setWordWrap(True)
        column.addWidget(heading)
        column.addWidget(self.variants, 1)
        column.addWidget(settings)
        column.addLayout(buttons)
        column.addWidget(self.extra_seeds)
        column.addWidget(self.progress_bar)
        column.addWidget(self.progress_label)
        left.setMinimumWidth(230)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(self.tabs)
        self.right_splitter.addWidget(self.side_by_side)
        self.right_splitter.setStretchFactor(0, 1)
        self.right_splitter.setStretchFactor(1, 2)
        self.right_splitter.setSizes([270, 490])   # curves, and room for both variants' maps under them
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.right_splitter)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([290, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _connect(self) -> None:
        self.variants.selection_changed.connect(self._on_selection_changed)
        for spin in (self.epochs, self.limit, self.seed):
            spin.valueChanged.connect(self._on_setting_changed)
        self.regularisation.changed.connect(self._on_setting_changed)
        self.tabs.currentChanged.connect(self._on_setting_changed)
        self.side_by_side.pair_changed.connect(self._on_setting_changed)
        self.side_by_side.open_requested.connect(self.open_variant)
        self.table.variant_activated.connect(self.open_variant)
        self.extra_seeds.requested.connect(self.train_extra_seeds)
        self.show_choice.currentIndexChanged.connect(self._on_show_changed)

    # --- public ---------------------------------------------------------------------------------------
    def set_client(self, client) -> None:
        self.client = client
        self.side_by_side.set_client(client)

    def set_input(self, image: np.ndarray | None) -> None:
        """The user's digit (the inspector's 28×28 model input, None when the canvas is empty)."""
        self.side_by_side.set_input(image)

    def results(self) -> dict[str, VariantResult]:
        self._read_results_once()
        return dict(self._results)

    def _read_results_once(self) -> None:
        if not self._results_read:
            self.reload_results()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._read_results_once()
        super().showEvent(event)

    def reload_results(self) -> None:
        """Read both folders again and show what they hold."""
        self._results_read = True
        self._full = full_run(self.shipped, self.lab)
        self._results = lab_results(self.shipped, self.lab, self.yours_first(), self._full)
        reference = self._full.get(REFERENCE)
        self.table.set_results(self._results, reference.row.test_accuracy if reference and reference.row else None)
        for name, result in self._results.items():
            if name in self._trained_here and self.yours_first():
                continue   # the curves of a run of this session: its per-batch training curve stays
            self._trained_here.discard(name)
            if len(result.seed_histories) >= 2 and result.source == SHIPPED:
                self.curves.set_seed_histories(name, list(result.seed_histories.values()))
            elif result.history:
                self.curves.set_history(name, result.history)
            else:
                self.curves.remove(name)
            if not self.is_running() or (name not in self.run.waiting() and name != self.run.current):
                self.variants.set_status(name, _result_status(result))
        self.side_by_side.set_results(self._results)
        self.help.set_results(full_run(self.shipped))
        self._update_extra_seeds()

    def yours_first(self) -> bool:
        """Whether the user's own Lab runs replace the full run's variants in the table and the curves."""
        return SHOW_CHOICES[self.show_choice.currentIndex()][1]

    def set_yours_first(self, yours_first: bool) -> None:
        self.show_choice.setCurrentIndex(0 if yours_first else 1)

    def train_extra_seeds(self, count: int = 1, names: list[str] | None = None) -> bool:
        """Train `count` more seeds of the full run for `names` (default: the checked variants that are in it),
        every variant's first new seed before any second one; False if there is nothing to train."""
        settings = full_run_settings(self.shipped)
        full = full_run(self.shipped, self.lab)
        names = [name for name in (names if names is not None else self.variants.checked())
                 if name in full and full[name].runs]
        if self.is_running() or settings is None or not names or self.client is None or count < 1:
            return False
        seeds = {name: next_seeds(full[name], count) for name in names}
        pairs = [(name, seeds[name][index]) for index in range(count) for name in names]
        self._banner.hide()
        self.set_yours_first(False)
        self.run = SeedRun(self.client, pairs, settings, self.lab / RUNS_FILE, self.lab, self.dataset, self)
        self._start(names)
        self.tabs.setCurrentWidget(self.table)
        return True

    def config(self) -> TrainConfig:
        limit = self.limit.value()
        return TrainConfig(epochs=self.epochs.value(), limit=None if limit >= NUM_TRAIN else limit,
                           seed=self.seed.value(), augment=self.regularisation.augment(),
                           dropout=self.regularisation.dropout())

    def train(self, names: list[str] | None = None) -> None:
        """Train `names` (default: the checked variants) one after the other."""
        names = list(names if names is not None else self.variants.checked())
        if self.is_running() or not names or self.client is None:
            return
        self._banner.hide()
        self.set_yours_first(True)   # the runs trained now are shown
        self.run = LabRun(self.client, names, self.config(), self.lab, self.dataset, self)
        self._start(names)
        self.tabs.setCurrentIndex(0)

    def _start(self, names: list[str]) -> None:
        self.run.variant_started.connect(self._on_variant_started)
        self.run.preparing.connect(self._on_preparing)
        self.run.progress.connect(self._on_progress)
        self.run.epoch_finished.connect(self._on_epoch)
        self.run.variant_finished.connect(self._on_variant_finished)
        self.run.variant_failed.connect(self._on_variant_failed)
        self.run.finished.connect(self._on_run_finished)
        for name in names:
            self.variants.set_status(name, "queued")
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Waiting for the compute process…")
        self.run.start()
        self._update_actions()

    def is_running(self) -> bool:
        return self.run is not None

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()
            self.progress_bar.setFormat("Stopping…")
            self._update_actions()

    def abandon(self) -> None:
        """The window closes: stop the run and forget it."""
        if self.run is not None:
            self.run.abandon()
            self.run.deleteLater()
            self.run = None

    def open_variant(self, name: str) -> None:
        """Ask to open a trained variant in the inspector."""
        path = self.results().get(name, VariantResult(name)).model_path
        if path is None:
            self._banner.show_text(f"{name} has no trained model yet: train it here first.", "info")
            return
        self.open_requested.emit(path)

    def message(self) -> str:
        return self._banner.text() if self._banner.isVisibleTo(self) else ""

    # --- the run ----------------------------------------------------------------------------------------
    def _seeding(self) -> bool:
        """The run trains extra seeds of the full run (its curves are not drawn live)."""
        return isinstance(self.run, SeedRun)

    def _running_label(self, name: str) -> str:
        return f"{name} (seed {self.run.current_seed})" if self._seeding() else name

    @Slot(str)
    def _on_variant_started(self, name: str) -> None:
        self.variants.set_status(name, "waiting…")
        if not self._seeding():
            self._trained_here.add(name)
            self.curves.start_variant(name, self.run.config.epochs)
        self._show_progress_text(name, "waiting for the compute process (it may be busy with another task)")

    @Slot(str, str)
    def _on_preparing(self, name: str, text: str) -> None:
        self.variants.set_status(name, "preparing…")
        self.progress_bar.setFormat(f"{self._running_label(name)}: {text}")

    @Slot(str, object)
    def _on_progress(self, name: str, progress: BatchProgress) -> None:
        if not self._seeding():
            self.curves.add_progress(name, progress)
        total = progress.num_epochs * progress.num_batches
        done = progress.epoch * progress.num_batches + progress.batch
        self.progress_bar.setValue(round(1000 * done / max(total, 1)))
        paused = " (paused)" if self.run is not None and self.run.paused else ""
        self.progress_bar.setFormat(f"{self._running_label(name)}{_regularised(self.run)}: epoch {progress.epoch + 1}/"
                                    f"{progress.num_epochs} · batch {progress.batch}/{progress.num_batches}{paused}")
        seed = f"seed {self.run.current_seed}, " if self._seeding() else ""
        self.variants.set_status(name, f"{seed}epoch {progress.epoch + 1}/{progress.num_epochs}")
        self._show_progress_text(name, f"{progress.samples_per_second:,.0f} digits/s · "
                                       f"{format_duration(progress.eta_seconds)} left · "
                                       f"loss {progress.loss:.3f} · accuracy {progress.accuracy:.3f}")

    @Slot(str, object)
    def _on_epoch(self, name: str, record: EpochRecord) -> None:
        if not self._seeding():
            self.curves.add_epoch(name, record)

    @Slot(str, object)
    def _on_variant_finished(self, name: str, reply: dict) -> None:
        self.curves.end_variant(name)
        status, message = (reply["status"], reply["message"]) if "seed" in reply else \
            (reply["result"].status, reply["result"].message)
        self.reload_results()
        if reply["row"] is None:
            self.variants.set_status(name, f"{status}, not kept")
        else:
            self.variants.set_status(name, _result_status(self._results[name]))
        if status == "diverged":
            self._banner.show_text(f"{self._running_label(name)}: {message}", "warning")

    @Slot(str, str)
    def _on_variant_failed(self, name: str, message: str) -> None:
        self.curves.end_variant(name)
        self.variants.set_status(name, "failed" if "stopped" not in message else "stopped")
        if "stopped" not in message:
            self._banner.show_text(f"{self._running_label(name)} could not be trained: {message}", "error")

    @Slot()
    def _on_run_finished(self) -> None:
        run, self.run = self.run, None
        stopped = run is not None and run.stopped
        for name in ARCHITECTURES:
            if self.variants.status(name) in ("queued", "waiting…"):
                self.variants.set_status(name, _result_status(self._results.get(name, VariantResult(name))))
        self.progress_bar.setFormat("Stopped" if stopped else "Finished")
        if not stopped:
            self.progress_bar.setValue(1000)
        self.progress_label.setText("")
        if run is not None:
            run.deleteLater()
        self._update_actions()
        self.run_finished.emit()

    def _show_progress_text(self, name: str, text: str) -> None:
        waiting = self.run.waiting() if self.run is not None else []
        self.progress_label.setText(text + (f"<br>then: {self.run.waiting_text()}" if waiting else ""))

    # --- user actions ---------------------------------------------------------------------------------
    @Slot()
    def _on_train(self) -> None:
        if not self.variants.checked():
            self._banner.show_text("Check at least one variant to train.", "info")
            return
        self.train()

    @Slot()
    def _on_pause(self) -> None:
        if self.run is None:
            return
        self.run.set_paused(not self.run.paused)
        text = self.progress_bar.format().replace(" (paused)", "")
        self.progress_bar.setFormat(text + " (paused)" if self.run.paused else text)
        self._update_actions()

    @Slot()
    def _on_stop(self) -> None:
        self.stop()

    @Slot()
    def _on_selection_changed(self) -> None:
        if not self._restoring:
            self._read_results_once()   # what can be done with the checked variants depends on them
        self._update_actions()
        self._on_setting_changed()

    @Slot()
    def _on_show_changed(self) -> None:
        if not self._restoring:
            self.reload_results()
        self._on_setting_changed()

    def _update_extra_seeds(self) -> None:
        if self._full is None:
            return   # before the first reload_results
        self.extra_seeds.show_full_run(full_run_settings(self.shipped),
                                       [self._full[name] for name in self.variants.checked() if name in self._full])
        if self.is_running() or self.client is None:
            self.extra_seeds.action.setEnabled(False)

    def _update_actions(self) -> None:
        running = self.is_running()
        self.train_action.setEnabled(not running and bool(self.variants.checked()) and self.client is not None)
        self.pause_action.setEnabled(running and not self.run.stopped)
        self.stop_action.setEnabled(running and not self.run.stopped)
        paused = running and self.run.paused
        self.pause_action.setText("&Resume" if paused else "&Pause")
        self.pause_action.setIcon(self.style().standardIcon(Icon.SP_MediaPlay if paused else Icon.SP_MediaPause))
        self.variants.set_editable(not running)
        for spin in (self.epochs, self.limit, self.seed, self.extra_seeds.count):
            spin.setEnabled(not running)
        self._update_extra_seeds()

    # --- settings -------------------------------------------------------------------------------------
    @Slot()
    def _on_setting_changed(self) -> None:
        if not self._restoring:
            self.save_settings(app_settings())

    def save_settings(self, settings: QSettings) -> None:
        save_lab_settings(self, settings)

    def restore_settings(self, settings: QSettings) -> None:
        self._restoring = True
        try:
            restore_lab_settings(self, settings)
        finally:
            self._restoring = False


def _regularised(run: LabRun | None) -> str:
    """" (augmented, dropout 0.5)" for a run with either, else ""."""
    words = "" if run is None else describe_regularisation(run.config.augment, run.config.dropout)
    return f" ({words})" if words else ""


def _result_status(result: VariantResult) -> str:
    if result.row is None:
        return ""
    return f"{'shipped' if result.source == SHIPPED else 'yours'} · {result.row.test_accuracy:.1%}"
