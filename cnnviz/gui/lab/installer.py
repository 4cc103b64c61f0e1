"""Puts the Lab into the window (issue 13): a panel (View → Lab), opened with Train → Architecture lab
(Ctrl+L), and the first time as a window of its own, big enough for its curves and maps (it docks like
any panel, and the window remembers where it was). The user's digit reaches it from the inspector;
"Open in the inspector" loads a trained variant as the window's model; closing the window stops a Lab
run. Operations: "lab.show", "lab.show_help", "lab.show_results", "lab.show_curves", "lab.show_variant",
"lab.train", "lab.variant_model"; targets "lab_results", "lab_curves", "lab_side_by_side" (parts of the Lab).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Slot
from PySide6.QtWidgets import QDockWidget

from cnnviz.core.architectures import ARCHITECTURES
from cnnviz.gui.lab.dock import LabDock
from cnnviz.gui.widgets.qt_helpers import app_settings, make_action

DOCK_NAME = "lab_dock"
PLACED_KEY = "lab/placed"            # the Lab was shown once: the window's layout remembers it since
FIRST_SIZE = QSize(1240, 760)        # the first, floating size (fits a 1280×800 screen)


class LabFeature(QObject):
    """The Lab dock of one window and what connects it to the window."""

    def __init__(self, context, dock: LabDock | None = None):
        super().__init__(context.dialog_parent())
        self._context = context
        self.lab = dock or LabDock(context.client, read_results_later=True)
        self.dock: QDockWidget = context.add_panel("Lab", self.lab, DOCK_NAME,
                                                   area=Qt.DockWidgetArea.BottomDockWidgetArea, visible=False)
        self.dock.setToolTip("The architecture lab: why alternate convolution and pooling?")
        self.show_action = make_action(self, "Architecture &lab", "Train the architecture variants side by side "
                                       "and compare their curves, results and maps", self.show_lab, "Ctrl+L")
        self.help_action = make_action(self, "The architecture &lab: why alternate conv and pool?",
                                       "The Lab's help, with the results of the full run", self.show_help)
        train_menu = context.menu("Train")
        train_menu.addSeparator()
        train_menu.addAction(self.show_action)
        help_menu = context.menu("Help")
        help_menu.insertAction(help_menu.actions()[0], self.help_action)
        context.inspector.input_changed.connect(self.lab.set_input)
        self.lab.open_requested.connect(self._on_open_requested)
        context.client.restarted.connect(self._on_compute_restarted)
        context.closed.connect(self.lab.abandon)   # its finished variants are saved already
        self.lab.set_input(context.inspector.current_input())
        operations = context.operations
        operations.register("lab.show", self.show_lab)
        operations.register("lab.show_help", self.show_help)
        operations.register("lab.show_variant", self.show_variant)
        operations.register("lab.show_results", self.show_results)
        operations.register("lab.show_curves", self.show_curves)
        for name, widget, summary in (("lab_results", self.lab.table, "the Lab's results table"),
                                      ("lab_curves", self.lab.curves, "the Lab's curves of every variant"),
                                      ("lab_side_by_side", self.lab.side_by_side, "the Lab's maps of two variants")):
            context.targets.register(name, widget, summary=summary)
        operations.register("lab.train", self.lab.train, "Train variants `names` (default: the checked ones) one "
                            "after the other")
        operations.register("lab.variant_model", self.variant_model)

    @Slot()
    def show_lab(self) -> None:
        """Show and raise the Lab; the first time ever as a big floating window over the main one."""
        settings = app_settings()
        window = self._context.dialog_parent()
        if not settings.value(PLACED_KEY, False, type=bool):
            settings.setValue(PLACED_KEY, True)
            self.dock.setFloating(True)
            size = FIRST_SIZE.boundedTo(window.screen().availableSize()) if window.screen() else FIRST_SIZE
            self.dock.resize(size)
            centre = window.frameGeometry().center()
            self.dock.move(centre.x() - size.width() // 2, max(centre.y() - size.height() // 2, 0))
        self.dock.show()
        self.dock.raise_()
        self.lab.setFocus()

    @Slot()
    def show_help(self) -> None:
        """Show the Lab at its help: what it answers, with the results of the full run."""
        self.show_lab()
        self.lab.tabs.setCurrentWidget(self.lab.help)

    @Slot()
    def show_results(self) -> None:
        """Show the Lab at its Results tab: one row per variant (the shipped full run, and yours)."""
        self.show_lab()
        self.lab.tabs.setCurrentWidget(self.lab.table)

    @Slot()
    def show_curves(self) -> None:
        """Show the Lab at its Curves tab: every variant's loss and accuracy on the same axes."""
        self.show_lab()
        self.lab.tabs.setCurrentWidget(self.lab.curves)

    def show_variant(self, name: str, beside: str = "seed", position: str | None = None) -> bool:
        """Show the Lab with variant `name`'s maps beside variant `beside`'s (at layer position `position`, e.g.
        "conv2d_3"); False if there is no such variant."""
        if name not in ARCHITECTURES or beside not in ARCHITECTURES:
            return False
        self.show_lab()
        self.lab.side_by_side.set_pair(beside, name, position)
        return True

    def variant_model(self, name: str) -> Path | None:
        """The trained model file the Lab shows for variant `name` (yours, else the shipped one); None if none."""
        result = self.lab.results().get(name)
        return None if result is None else result.model_path

    @Slot(object)
    def _on_open_requested(self, path: Path) -> None:
        """Load a trained variant as the window's model (not while the window trains or loads)."""
        context = self._context
        if context.is_training() or context.session.is_loading():
            context.status("Wait until the current training or loading has finished, then open the variant "
                           "again.", 6000)
            return
        if self.lab.is_running():
            context.status(f"{path.stem} opens after the Lab's variant in training (one task at a time in the "
                           "compute process).", 6000)
        context.session.load_model_file(path)

    @Slot()
    def _on_compute_restarted(self) -> None:
        """The restarted compute process has no variants loaded: show the maps again (they reload)."""
        self.lab.reload_results()


def install(context) -> LabFeature:
    """Add the Lab to the window of `context` (see the module docstring)."""
    return LabFeature(context)
