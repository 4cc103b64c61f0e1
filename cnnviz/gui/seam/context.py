"""The narrow seam between the window and a capability: what `install(context)` gets, and nothing else.

A capability (one folder under `cnnviz/gui/`, listed in `shell/capabilities.py`) never sees the main
window. It gets a `CapabilityContext`: the compute client, the inspector's public API, the model
session, the training status, the named operations and targets, and the window's chrome as a few
methods (`add_panel`, `menu`, `add_toolbar_actions`, `status`, …). docs/ARCHITECTURE.md ("Adding a
capability") has a worked example; tests get a context from a real window with only their capability
installed (`tests/conftest.py`'s `capability_window("NAME")`, then `window.context`).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QMessageBox, QWidget

from cnnviz.gui.seam.operations import Operations
from cnnviz.gui.seam.targets import Targets
from cnnviz.gui.seam.training_status import TrainingStatus

RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


class CapabilityContext:
    """What a capability may use of the window (see the module docstring and docs/ARCHITECTURE.md).

    Fields:
      client      the ComputeClient (`gui/remote/compute_client.py`): `request(...)`, or a `LatestRequest`
      inspector   the InspectorWidget, through its public API only (docs/ARCHITECTURE.md lists it)
      session     the ModelSession (`gui/shell/model_session.py`): `current`, `load_model_file(path)`,
                  `is_loading()`, `unsaved`, …
      training    the TrainingStatus: `is_training()`, `run()`, signals started / ended / finished
      operations  the named Operations every capability offers and calls
      targets     the named Targets (parts of the window) that `highlight` outlines
      dataset     the Dataset training requests send (tests inject small ones), None: the compute
      data_path   process's MNIST cache, or `data_path` (an MNIST file the user chose)
    Signals (attributes, connect to them): model_ready, model_loaded(ModelInfo), model_failed(str),
    model_saved(Path), recovered(float), training_started(run), training_ended, training_finished(result),
    closed (the window closes: stop what runs).
    """

    def __init__(self, host, client, inspector, session, training: TrainingStatus | None = None,
                 operations: Operations | None = None, targets: Targets | None = None):
        self._host = host
        self.client = client
        self.inspector = inspector
        self.session = session
        self.training = training or TrainingStatus()
        self.operations = operations or Operations()
        self.targets = targets or Targets()
        self.dataset = None
        self.data_path: str | None = None
        self.model_ready = session.model_ready
        self.model_loaded = session.model_loaded
        self.model_failed = session.model_failed
        self.model_saved = session.model_saved
        self.recovered = session.recovered
        self.training_started = self.training.started
        self.training_ended = self.training.ended
        self.training_finished = self.training.finished
        self.closed = host.closed

    # --- the window's chrome -----------------------------------------------------------------------
    def add_panel(self, title: str, widget: QWidget, name: str, area: Qt.DockWidgetArea = RIGHT,
                  tabify_with: str | None = None, visible: bool = True) -> QDockWidget:
        """A dockable panel (a dock named `name`, unique and stable: the window remembers its place) with a
        Show/Hide toggle in the View menu, tabbed with panel `tabify_with` if given; also a target `name`."""
        dock = self._host.add_panel(title, widget, name, area, tabify_with, visible)
        self.targets.register(name, dock, summary=f"the {title} panel")
        return dock

    def add_banner(self, banner: QWidget) -> None:
        """A strip across the window under the compute process's banner (above the inspector)."""
        self._host.add_banner(banner)

    def menu(self, title: str) -> QMenu:
        """The menu-bar menu `title` ("File", "Input", "Train", "View", "Help", or a new one, made on first
        use: File, Input, Train and View keep that order, new menus go before Help)."""
        return self._host.menu(title)

    def shell_action(self, name: str) -> QAction:
        """One of the window's own actions, to place entries beside or follow: "open_model", "save_model",
        "quit", "about"."""
        return self._host.shell_action(name)

    def add_toolbar_actions(self, actions: list[QAction], separator: bool = False) -> None:
        """Append `actions` to the main toolbar (after a separator if asked)."""
        self._host.add_toolbar_actions(actions, separator)

    def add_shortcuts(self, actions: list[QAction]) -> None:
        """Make `actions`' shortcuts work wherever the keyboard focus is in the window."""
        self._host.add_shortcuts(actions)

    def status(self, text: str, timeout_ms: int = 5000) -> None:
        """A short message in the status bar (absolute paths are shown as ~/… or a name)."""
        self._host.show_status(text, timeout_ms)

    def set_busy(self, text: str, spinner: bool = True) -> None:
        """What the window is busy with, in the status bar ("" when nothing); `spinner` animates it."""
        self._host.set_busy(text, spinner)

    def highlight(self, name: str, **where) -> bool:
        """Outline target `name` for a moment (a dock it is in comes forward); False if there is none."""
        return self.targets.highlight(name, **where)

    def message_box(self, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> None:
        """A message box over the window that does not block (the window keeps it: `last_message_box`)."""
        self._host.show_message_box(icon, title, text, details)

    def ask_open_path(self, caption: str, file_filter: str) -> str:
        """A file to open, asked in the folder the window last used; "" if the user cancelled."""
        return self._host.files.ask_open_path(caption, file_filter)

    def ask_save_path(self, caption: str, name: str, file_filter: str) -> str:
        """Where to save a file called `name` by default, asked in the folder last used; "" if cancelled."""
        return self._host.files.ask_save_path(caption, name, file_filter)

    def dialog_parent(self) -> QWidget:
        """The widget to parent dialogs and message boxes on (and to place a floating panel by)."""
        return self._host.dialog_parent()

    def add_settings(self, save: Callable[[QSettings], None], restore: Callable[[QSettings], None]) -> None:
        """`restore(settings)` once every capability is installed (with the window's own settings) and
        `save(settings)` whenever the window saves its own (on close, unless `remember_settings()` is False)."""
        self._host.add_settings(save, restore)

    def remember_settings(self) -> bool:
        """False for throwaway windows (the autotest): do not write settings then."""
        return self._host.remember_settings

    # --- state -----------------------------------------------------------------------------------
    def is_training(self) -> bool:
        return self.training.is_training()

    def current_model(self):
        """The ModelInfo of the window's current model (None while the first one loads)."""
        return self.session.current
