"""Puts the Lab into the main window (listed in `main_window.FEATURE_MODULES`).

The Lab is a panel (View → Lab), opened with Train → Architecture lab (Ctrl+L), and the first time
as a window of its own, big enough for its curves and maps (it docks like any panel, and the
window remembers where it was). The user's digit reaches it from the inspector; "Open in the
inspector" loads a trained variant as the window's model; closing the window stops a Lab run.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Slot
from PySide6.QtWidgets import QDockWidget

from cnnviz.gui.lab.dock import LabDock
from cnnviz.gui.widgets.qt_helpers import app_settings, make_action

DOCK_NAME = "lab_dock"
PLACED_KEY = "lab/placed"            # the Lab was shown once: the window's layout remembers it since
FIRST_SIZE = QSize(1240, 760)        # the first, floating size (fits a 1280×800 screen)


class LabFeature(QObject):
    """The Lab dock of one main window and what connects it to the window."""

    def __init__(self, window, dock: LabDock | None = None):
        super().__init__(window)
        self.window = window
        self.lab = dock or LabDock(window.client)
        self.dock: QDockWidget = window.add_panel("Lab", self.lab, DOCK_NAME,
                                                  area=Qt.DockWidgetArea.BottomDockWidgetArea, visible=False)
        self.dock.setToolTip("The architecture lab: why alternate convolution and pooling?")
        self.show_action = make_action(self, "Architecture &lab", "Train the architecture variants side by side "
                                       "and compare their curves, results and maps", self.show_lab, "Ctrl+L")
        self.help_action = make_action(self, "The architecture &lab: why alternate conv and pool?",
                                       "The Lab's help, with the results of the full run", self.show_help)
        train_menu = window.menu("Train")
        train_menu.addSeparator()
        train_menu.addAction(self.show_action)
        window.menu("Help").insertAction(window.menu("Help").actions()[0], self.help_action)
        window.inspector.input_changed.connect(self.lab.set_input)
        self.lab.open_requested.connect(self._on_open_requested)
        window.client.restarted.connect(self._on_compute_restarted)
        window.installEventFilter(self)
        self.lab.set_input(window.inspector.current_input())

    @Slot()
    def show_lab(self) -> None:
        """Show and raise the Lab; the first time ever as a big floating window over the main one."""
        settings = app_settings()
        if not settings.value(PLACED_KEY, False, type=bool):
            settings.setValue(PLACED_KEY, True)
            self.dock.setFloating(True)
            size = FIRST_SIZE.boundedTo(self.window.screen().availableSize()) if self.window.screen() else FIRST_SIZE
            self.dock.resize(size)
            centre = self.window.frameGeometry().center()
            self.dock.move(centre.x() - size.width() // 2, max(centre.y() - size.height() // 2, 0))
        self.dock.show()
        self.dock.raise_()
        self.lab.setFocus()

    @Slot()
    def show_help(self) -> None:
        self.show_lab()
        self.lab.tabs.setCurrentWidget(self.lab.help)

    @Slot(object)
    def _on_open_requested(self, path: Path) -> None:
        """Load a trained variant as the window's model (not while the window trains or loads)."""
        if self.window.is_training() or self.window.is_loading():
            self.window.statusBar().showMessage("Wait until the current training or loading has finished, "
                                                "then open the variant again.", 6000)
            return
        if self.lab.is_running():
            self.window.statusBar().showMessage(f"{path.stem} opens after the Lab's variant in training "
                                                "(one task at a time in the compute process).", 6000)
        self.window.load_model_file(path)

    @Slot()
    def _on_compute_restarted(self) -> None:
        """The restarted compute process has no variants loaded: show the maps again (they reload)."""
        self.lab.reload_results()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            QTimer.singleShot(0, self, self._after_close)   # the window may still refuse to close
        return False

    @Slot()
    def _after_close(self) -> None:
        """The window closed: stop the Lab's run (it asked nothing; finished variants are saved already)."""
        if not self.window.isVisible():
            self.lab.abandon()


def install(window) -> LabFeature:
    """Add the Lab to `window` (see the module docstring)."""
    return LabFeature(window)
