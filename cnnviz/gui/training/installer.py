"""Puts training into the window: the Training panel and the Curves (docks on the right), the Train menu
and toolbar buttons, File → Save curves / Save history, and the operations "training.start",
"training.stop", "training.is_running" and "training.mark_epoch"."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from PySide6.QtWidgets import QDockWidget, QMessageBox

from cnnviz.core.training import write_history_csv
from cnnviz.gui.training.training_controller import TrainingController
from cnnviz.gui.training.training_curves import TrainingCurves
from cnnviz.gui.training.training_panel import START_CURRENT, START_FRESH, TrainingPanel
from cnnviz.gui.widgets.qt_helpers import make_action


@dataclass
class TrainingFeature:
    """What `install` made (tests and the autotest reach the pieces through `window.capabilities`)."""

    controller: TrainingController
    panel: TrainingPanel
    curves: TrainingCurves
    dock: QDockWidget
    curves_dock: QDockWidget

    @property
    def run(self):
        """The TrainingRun going on, or None."""
        return self.controller.run

    @property
    def fetch(self):
        return self.controller.fetch


def install(context) -> TrainingFeature:
    panel, curves = TrainingPanel(), TrainingCurves()
    dock = context.add_panel("Training", panel, "training_dock")
    curves_dock = context.add_panel("Curves", curves, "curves_dock")
    controller = TrainingController(context, panel, curves, dock, panel)
    context.menu("Train").addActions(panel.actions())
    context.add_toolbar_actions(panel.actions(), separator=True)
    file_menu = context.menu("File")
    file_menu.addSeparator()
    file_menu.addAction(make_action(file_menu, "Save &curves as PNG…", "Save the loss and accuracy plots",
                                    lambda: _save(context, "Save curves", "curves.png", "PNG images (*.png)",
                                                  curves.save_png, "curves")))
    file_menu.addAction(make_action(file_menu, "Save &history as CSV…", "Save the per-epoch training and test figures",
                                    lambda: _save(context, "Save history", "history.csv", "CSV files (*.csv)",
                                                  lambda path: write_history_csv(curves.history(), path), "history")))
    context.add_settings(panel.save_settings, panel.restore_settings)
    context.model_loaded.connect(lambda model: _show_saved_history(context, curves, model))
    context.model_ready.connect(lambda: _follow_dataset(context, panel))
    context.closed.connect(controller.abandon)
    context.operations.register("training.start", functools.partial(_start, controller))
    context.operations.register("training.stop", controller.stop, "Stop the run after its current batch (it keeps "
                                "its weights)")
    context.operations.register("training.is_running", controller.is_training, "Whether a run is going on")
    context.operations.register("training.mark_epoch", curves.set_marker, "Mark epoch `epoch` (a float) on the "
                                "curves; None: no mark")
    return TrainingFeature(controller, panel, curves, dock, curves_dock)


def _start(controller: TrainingController, epochs: int | None = None, limit: int | None = None,
           from_scratch: bool | None = None, seed: int | None = None, batch_size: int | None = None,
           optimizer: str | None = None, learning_rate: float | str | None = None,
           dataset: str | None = None) -> bool:
    """Start a run with the panel's settings, changed first by `epochs`, `limit` (training images),
    `from_scratch` (False: go on from the current model), `batch_size`, `optimizer`, `learning_rate` ("":
    the optimizer's default) and `dataset` ("mnist", "fashion-mnist") if given; `seed` seeds this run only.
    False if it did not start."""
    panel = controller.panel
    if epochs is not None:
        panel.epochs.setValue(int(epochs))
    if limit is not None:
        panel.limit.setValue(int(limit))
    if from_scratch is not None:
        panel.start_from.setCurrentIndex(panel.start_from.findData(START_FRESH if from_scratch else START_CURRENT))
    if batch_size is not None:
        panel.batch_size.setValue(int(batch_size))
    if optimizer is not None:
        panel.optimizer.setCurrentText(optimizer)
    if learning_rate is not None:
        panel.learning_rate.setText(f"{learning_rate:g}" if isinstance(learning_rate, (int, float)) else "")
    if dataset is not None:
        panel.set_dataset(dataset)
    return controller.start(seed)


def _show_saved_history(context, curves: TrainingCurves, model) -> None:
    """A model opened from a file: its saved history on the curves (none: clear them), unless a run trains."""
    if context.is_training():
        return
    if model.history:
        curves.show_history(model.history)
    else:
        curves.clear()   # a model without a history: not the previous model's curves


def _follow_dataset(context, panel: TrainingPanel) -> None:
    """A model of a known dataset goes on training on it (a Fashion-MNIST model on Fashion-MNIST)."""
    model = context.current_model()
    if model is not None and model.dataset is not None and not context.is_training():
        panel.set_dataset(model.dataset)


def _save(context, caption: str, name: str, file_filter: str, write, what: str) -> None:
    """Ask where (in the folder last used) and write the file; say where it went, or why not."""
    path = context.ask_save_path(caption, name, file_filter)
    if not path:
        return
    try:
        write(path)
    except OSError as exc:
        context.message_box(QMessageBox.Icon.Critical, f"Could not save {what}", str(exc))
        return
    context.status(f"Saved {path}", 5000)
