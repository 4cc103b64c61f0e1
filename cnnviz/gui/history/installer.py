"""Puts history into the window (issue 12): the test-set panel, checkpoints kept while training, and the
epoch scrubber.

`install(context)` adds the "Test set" panel (tabbed with Training), the "Training history" bar under the
inspector, and a History menu:

    Earlier checkpoint  Alt+←        Later checkpoint           Alt+→
    Epoch 0             Alt+Home     Back to the current weights Alt+End
    Play the training   F7           Go to the confusion matrix  Ctrl+Shift+M

and keeps them in step with the window: a new model (its checkpoints, its matrix), a training run
(its checkpoints arrive as events, the matrix after each epoch with them), a scrubbed checkpoint
(maps, prediction, kernels, matrix and the curves' marker follow it), a test image opened from the
gallery (the inspector shows it). Operations: "history.show_checkpoint", "history.show_current",
"history.focus_matrix".
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QWidget

from cnnviz.gui.history.epoch_scrubber import CheckpointScrubbing, EpochScrubber
from cnnviz.gui.widgets.qt_helpers import make_action
from cnnviz.gui.history.test_set_panel import TestSetPanel


def install(context) -> "HistoryFeature":
    return HistoryFeature(context)


class HistoryFeature(QObject):
    """The panel, the scrubber and their wiring (see the module docstring)."""

    def __init__(self, context):
        super().__init__(context.dialog_parent())
        self.context = context
        self.inspector = context.inspector
        self.client = context.client
        self.training = False
        self._scrubbed_once = False
        self.panel = TestSetPanel(context.client)
        self.panel_dock = context.add_panel("Test set", self.panel, "test_set_dock", tabify_with="training_dock")
        self.panel_dock.setToolTip("The confusion matrix of the model on its test set, and the images behind "
                                   "each cell")
        self.scrubber = EpochScrubber()
        self.scrubber_dock = context.add_panel("Training history", self.scrubber, "history_dock",
                                               area=Qt.DockWidgetArea.BottomDockWidgetArea)
        self.scrubber_dock.setTitleBarWidget(QWidget())   # the bar names itself; keep it one row high
        self.scrubbing = CheckpointScrubbing(self.scrubber, self.inspector, context.client, self)
        self._create_actions()
        self._connect()
        self.panel_dock.raise_()
        context.operations.register("history.show_checkpoint", self.scrubber.go_to, "Show checkpoint `position` "
                                    "of the model's training (0: the weights it started from)")
        context.operations.register("history.show_current", self.scrubber.go_to_end, "Show the model's current "
                                    "weights again")
        context.operations.register("history.focus_matrix", self.focus_matrix)

    def _create_actions(self) -> None:
        window, scrubber = self.context.dialog_parent(), self.scrubber
        self.earlier_action = make_action(window, "&Earlier checkpoint", "Show the checkpoint before this one",
                                          lambda: scrubber.step(-1), "Alt+Left")
        self.later_action = make_action(window, "&Later checkpoint", "Show the checkpoint after this one",
                                        lambda: scrubber.step(1), "Alt+Right")
        self.first_action = make_action(window, "Epoch &0 (random filters)",
                                        "Show the weights training started from", lambda: scrubber.go_to(0),
                                        "Alt+Home")
        self.current_action = make_action(window, "Back to the &current weights",
                                          "Show the model's current weights again", scrubber.go_to_end, "Alt+End")
        self.play_action = make_action(window, "&Play the training", "Animate the checkpoints from epoch 0 to "
                                       "the end", self._on_play_action, "F7")
        self.matrix_action = make_action(window, "Go to the confusion &matrix", "Show the test-set panel and "
                                         "move the keyboard to its matrix", self.focus_matrix, "Ctrl+Shift+M")
        menu = self.context.menu("History")
        menu.addActions([self.earlier_action, self.later_action, self.first_action, self.current_action,
                         self.play_action])
        menu.addSeparator()
        menu.addAction(self.matrix_action)
        self._scrub_actions = [self.earlier_action, self.later_action, self.first_action, self.current_action,
                               self.play_action]
        self._set_scrub_actions(False)

    def _connect(self) -> None:
        self.context.model_ready.connect(self._on_model_ready)
        self.context.training_started.connect(self._on_training_started)
        self.panel.digit_opened.connect(self._on_digit_opened)
        self.panel.shown.connect(self._on_matrix_shown)
        self.panel.status_message.connect(self._show_status)
        self.panel_dock.visibilityChanged.connect(self._on_panel_visibility)
        self.scrubbing.checkpoint_shown.connect(self._on_checkpoint_shown)
        self.scrubbing.marker.connect(self._on_marker)
        self.scrubbing.checkpoints_changed.connect(self._on_checkpoints_changed)
        self.scrubbing.status_message.connect(self._show_status)

    # --- the window ---------------------------------------------------------------------------------
    def _on_model_ready(self) -> None:
        """A model is shown (opened, trained, back after a crash): its checkpoints and matrix."""
        self.training = False
        self._scrubbed_once = False
        model = self.context.current_model()
        generation = model.generation if model is not None else None
        self.scrubbing.load(generation)
        self.panel.show_model(generation)
        self.panel.set_training(False)

    def _on_training_started(self, run) -> None:
        self.training = True
        self._set_scrub_actions(False)
        self.scrubbing.start_training()
        self.panel.set_training(True)
        self.client.request("history_options", {"confusion_while_training": self.panel.front.seen()})
        run.checkpoint_kept.connect(self._on_checkpoint_kept)
        for ended in (run.finished, run.failed, run.cut):
            ended.connect(self._on_training_ended)

    def _on_training_ended(self, *_args) -> None:
        """Training ended without a model being shown (nothing was kept, it failed or was cut): the model
        of before is back (with a trained one, `model_ready` came first)."""
        if self.training:
            self._on_model_ready()

    def _on_checkpoint_kept(self, payload: dict) -> None:
        label = self.scrubbing.add_training_checkpoint(payload)
        if payload.get("confusion") is not None:
            self.panel.show_training_confusion(payload["confusion"], f"Training · after {label}")

    def _on_panel_visibility(self, visible: bool) -> None:
        """Compute each epoch's matrix while training only while someone can see it."""
        if self.training:
            self.client.request("history_options", {"confusion_while_training": bool(visible)})

    # --- scrubbing ------------------------------------------------------------------------------------
    def _on_checkpoints_changed(self, count: int) -> None:
        self._set_scrub_actions(not self.training and count > 0)

    def _set_scrub_actions(self, enabled: bool) -> None:
        for action in self._scrub_actions:
            action.setEnabled(enabled)

    def _on_checkpoint_shown(self, index, label: str) -> None:
        """The maps show checkpoint `index` (None: the current weights): the matrix follows."""
        at_end = self.scrubber.position() == len(self.scrubbing.stops) - 1
        self.panel.show_checkpoint(None if at_end else index, label)
        self._say_checkpoint(label, at_end)
        if not self._scrubbed_once and not at_end:
            self._scrubbed_once = True
            self.panel.prefetch(len(self.scrubbing.records))   # the other checkpoints' matrices, one by one

    def _say_checkpoint(self, label: str, at_end: bool) -> None:
        """The status bar names the weights shown and what they make of the input (an earlier line such as
        "… predicted 9 (99.6%)" was about other weights)."""
        guess = self.inspector.prediction_bars.top_label() if self.inspector.current_outputs() is not None else None
        said = f": the model says {guess[0]} ({guess[1]:.0%})" if guess else ""
        if at_end:
            self._show_status(f"Back to the current weights{said}.")
        else:
            self._show_status(f"Checkpoint {label}{said}. Alt+End: back to the current weights.")

    def _on_matrix_shown(self, reply) -> None:
        if reply.checkpoint is not None and not self.training:
            self.scrubbing.update_record(reply.checkpoint, reply.accuracy)

    def _on_play_action(self) -> None:
        self.scrubber.set_playing(not self.scrubber.is_playing())

    # --- the panel ------------------------------------------------------------------------------------
    def focus_matrix(self) -> None:
        """Show the test-set panel and give its matrix the keyboard."""
        self.panel_dock.show()
        self.panel_dock.raise_()
        self.panel.matrix.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _on_digit_opened(self, index: int, dataset: str) -> None:
        """A test image from the gallery goes to the inspector (canvas, maps, prediction)."""
        self.inspector.show_test_digit(index)

    def _show_status(self, text: str) -> None:
        self.context.status(text, 8000)

    def _on_marker(self, epoch) -> None:
        """The curves mark the checkpoint shown (training's curves: through their operation)."""
        if self.context.operations.has("training.mark_epoch"):
            self.context.operations.call("training.mark_epoch", epoch)
