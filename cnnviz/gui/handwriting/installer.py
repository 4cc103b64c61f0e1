"""Puts Your digits into the window (issue 21): a wide panel, hidden until the user opens it (Input → Your
digits… Ctrl+D, View → Your digits; the first time a window of its own under the maps, like the Lab);
Input → Keep the digit as ▸ 0–9, and the keys 0–9 to keep the digit on the canvas while the panel is open.
Target "handwriting_dock"; operations "handwriting.keep" (label → Path or None), "handwriting.set_folder"
(folder), "handwriting.teach" (epochs=5 → bool), "handwriting.show"."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget

from cnnviz.gui.handwriting.collection import DigitCollection
from cnnviz.gui.handwriting.handwriting_panel import HandwritingPanel
from cnnviz.gui.widgets.dock_room import make_room, scrolling
from cnnviz.gui.widgets.qt_helpers import app_settings, make_action

DOCK_NAME = "handwriting_dock"
ROOM = 300                       # docked: the panel's height with three rows of the gallery and the results
PLACED_KEY = "handwriting/placed"   # shown once: the window's layout remembers where it is since
FIRST_SIZE = QSize(960, 380)     # the first, floating size
CANVAS_COLUMN = 320              # what it leaves free on the left the first time: the canvas to draw on


@dataclass
class HandwritingFeature:
    """What `install` made (tests and the autotest reach the pieces through `window.capabilities`)."""

    panel: HandwritingPanel
    collection: DigitCollection
    dock: QDockWidget
    show_action: QAction
    key_actions: list[QAction]    # 0–9: keep the digit on the canvas (enabled while the panel is open)

    @property
    def gallery(self):
        return self.panel.gallery

    def show(self) -> None:
        """Bring the Your digits panel forward, with room for its gallery and the teaching box; the first time ever
        as a wide window of its own under the maps, leaving the canvas free to draw on (it docks like any panel,
        and the window remembers where it was)."""
        settings = app_settings()
        if settings.value(PLACED_KEY, False, type=bool):
            make_room(self.dock, ROOM)
            return
        settings.setValue(PLACED_KEY, True)
        window = self.dock.parentWidget()
        self.dock.setFloating(True)
        frame = window.frameGeometry()
        width, height = min(FIRST_SIZE.width(), frame.width() - CANVAS_COLUMN), FIRST_SIZE.height()
        self.dock.resize(width, height)
        self.dock.move(frame.right() - width, max(frame.bottom() - height - 40, frame.top()))
        self.dock.show()
        self.dock.raise_()


def install(context) -> HandwritingFeature:
    panel = HandwritingPanel()
    dock = context.add_panel("Your digits", scrolling(panel), DOCK_NAME, area=Qt.DockWidgetArea.BottomDockWidgetArea,
                             visible=False)
    dock.setToolTip("Your own digits: collect them, see which the model gets wrong, teach it your handwriting")
    collection = DigitCollection(context, panel, dock)
    key_actions = []
    for digit in range(10):
        action = make_action(dock, f"Keep as {digit}", f"Keep the digit on the canvas as a {digit}",
                             lambda _checked=False, digit=digit: collection.keep(digit), str(digit))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        key_actions.append(action)
    context.add_shortcuts(key_actions)
    show_action = make_action(dock, "Your &digits…", "Collect your own digits, see which ones the model gets wrong "
                              "and teach it your handwriting", None, "Ctrl+D")
    feature = HandwritingFeature(panel, collection, dock, show_action, key_actions)

    def show_and_point() -> None:
        feature.show()
        context.highlight(DOCK_NAME)

    show_action.triggered.connect(show_and_point)
    input_menu = context.menu("Input")
    input_menu.addSeparator()
    input_menu.addAction(show_action)
    keep_menu = input_menu.addMenu("&Keep the digit as")
    keep_menu.setToolTipsVisible(True)
    for digit in range(10):
        keep_menu.addAction(make_action(keep_menu, str(digit), f"Keep the digit on the canvas as a {digit} in your "
                                        "digit folder", lambda _checked=False, digit=digit: _keep(feature, digit)))
    context.add_shortcuts([show_action])

    def follow_visibility(visible: bool) -> None:
        for action in key_actions:
            action.setEnabled(visible)   # the keys 0–9 keep a digit only while the panel can be seen
        if visible:
            collection.schedule_check()

    dock.visibilityChanged.connect(follow_visibility)
    follow_visibility(dock.isVisible() and not dock.visibleRegion().isEmpty())
    def follow_model() -> None:
        collection.gallery.set_readings(None)   # what the old model read
        collection.schedule_check()

    context.model_ready.connect(follow_model)
    context.closed.connect(collection.abandon)
    context.add_settings(collection.save_settings, collection.restore_settings)
    operations = context.operations
    operations.register("handwriting.keep", collection.keep)
    operations.register("handwriting.set_folder", collection.set_folder)
    operations.register("handwriting.teach", lambda epochs=5: collection.teach(epochs),
                        "Teach the current model the digits of the folder for `epochs` epochs (False: it cannot start)")
    operations.register("handwriting.show", feature.show)
    return feature


def _keep(feature: HandwritingFeature, digit: int) -> None:
    """Input → Keep the digit as: keep it, and show the gallery it went into."""
    if feature.collection.keep(digit) is not None:
        feature.show()
