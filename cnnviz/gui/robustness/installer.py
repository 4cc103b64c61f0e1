"""Puts the Move it panel into the window (issue 21): a panel tabbed with Training, Input → Move it (Ctrl+M) and
Input → Put the digit back (Ctrl+0); the target "move-it" (the panel, for the lessons); the operations
"robustness.shift" (dx, dy: absolute), "robustness.reset", "robustness.show" and "robustness.follow_moves"
(callback(dx, dy) whenever the learner moves the digit: the lessons' "moved-digit" event)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget

from cnnviz.gui.robustness.move_panel import MovePanel
from cnnviz.gui.widgets.dock_room import make_room, scrolling
from cnnviz.gui.widgets.qt_helpers import make_action

DOCK_NAME = "move_it_dock"
TARGET = "move-it"
ROOM = 560   # the panel's height with everything in view (it scrolls in less)


@dataclass
class MoveItFeature:
    """What `install` made (tests and the autotest reach the pieces through `window.capabilities`)."""

    panel: MovePanel
    dock: QDockWidget
    show_action: QAction
    reset_action: QAction

    def show(self) -> None:
        """Bring the Move it panel forward, with room for its plot and bars."""
        make_room(self.dock, ROOM)
        self.panel.controls.view.setFocus()


def install(context) -> MoveItFeature:
    def variant_model(name: str) -> Path | None:
        """The Lab's trained model of variant `name` (None without the Lab or a trained model)."""
        operations = context.operations
        return operations.call("lab.variant_model", name) if operations.has("lab.variant_model") else None

    panel = MovePanel(context.inspector, context.client, variant_model)
    dock = context.add_panel("Move it", scrolling(panel), DOCK_NAME, tabify_with="training_dock")
    dock.setToolTip("Move the digit and watch what stays: translation invariance")
    context.targets.register(TARGET, dock, summary="the Move it panel: the prediction as the digit moves")
    show_action = make_action(dock, "&Move it: shift, turn, scale the digit",
                              "Move the digit and watch the maps and the prediction follow", shortcut="Ctrl+M")
    reset_action = make_action(dock, "Put the digit &back", "The digit as it was drawn, unmoved", panel.reset, "Ctrl+0")
    feature = MoveItFeature(panel, dock, show_action, reset_action)

    def show_and_point() -> None:
        feature.show()
        context.highlight(DOCK_NAME)

    show_action.triggered.connect(show_and_point)
    input_menu = context.menu("Input")
    input_menu.addSeparator()
    input_menu.addActions([feature.show_action, feature.reset_action])
    context.add_shortcuts([feature.show_action, feature.reset_action])
    context.model_ready.connect(lambda: panel.model_changed(context.current_model()))
    context.client.restarted.connect(panel.compute_restarted)
    context.add_settings(panel.save_settings, panel.restore_settings)
    operations = context.operations
    operations.register("robustness.shift", panel.shift)
    operations.register("robustness.reset", panel.reset)
    operations.register("robustness.show", feature.show)
    operations.register("robustness.follow_moves", lambda callback: panel.moved.connect(callback),
                        "Call `callback(dx, dy)` whenever the learner moves the digit in the Move it panel (the "
                        "lessons' moved-digit event)")
    return feature
