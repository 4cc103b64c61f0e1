"""The main window: the inspector in the middle, the capabilities' panels in docks around it.

The window composes; it does no capability's work. It builds the inspector, the model session (the
current model, held in the compute process through `self.client`, a ComputeClient started once the
window is shown or injected by tests), the menus, toolbar and status bar, then installs every
capability of `shell/capabilities.py` through one `CapabilityContext` (`self.context`): training,
export, the unit panel, attribution, history, the lab and the any-model banner all arrive that way.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QMessageBox, QVBoxLayout, QWidget

from cnnviz import __version__
from cnnviz.core.data import Dataset
from cnnviz.gui.inspector.inspector_widget import InspectorWidget
from cnnviz.gui.inspector.named_parts import register_parts
from cnnviz.gui.remote.compute_client import ComputeClient
from cnnviz.gui.seam.context import CapabilityContext
from cnnviz.gui.seam.training_status import TrainingStatus
from cnnviz.gui.shell.capabilities import install_capabilities
from cnnviz.gui.shell.compute_banner import ComputeBanner
from cnnviz.gui.shell.model_file_actions import ModelFileActions
from cnnviz.gui.shell.model_session import ModelSession
from cnnviz.gui.shell.status_bar import StatusBar
from cnnviz.gui.widgets.front_tab import FrontTab
from cnnviz.gui.widgets.qt_helpers import app_settings, make_action, show_message_box

DEFAULT_SIZE = (1280, 800)
CLOSE_TIMEOUT_S = 1.5   # closing waits this long for the compute process to exit, then kills it
LEADING_MENUS = ("File", "Input", "Train", "View")   # in this order; the capabilities' own menus follow, Help last
# The first time (no saved layout): the Training panel 360 wide, above the Curves, in front of its tabs.
DEFAULT_DOCKS = {"training_dock": 330, "curves_dock": 420}
DEFAULT_DOCK_WIDTH = 360


class MainWindow(QMainWindow):
    """cnnviz's main window. `dataset` may be injected (tests: it is sent with each training request;
    otherwise the compute process loads MNIST); `client` too (tests share one compute process)."""

    closed = Signal()   # closing was accepted: capabilities stop what runs (before the compute process ends)

    def __init__(self, dataset: Dataset | None = None, parent: QWidget | None = None,
                 client: ComputeClient | None = None):
        super().__init__(parent)
        self.client = client or ComputeClient(self)
        self._owns_client = client is None
        self._detached = False
        self.last_message_box: QMessageBox | None = None
        self.remember_settings = True  # False for throwaway runs (the autotest)
        # Closing with an unsaved trained model asks Save / Discard / Cancel. On by default in the app
        # (the window owns its compute process); off for windows on a shared client (tests) and the autotest.
        self.ask_to_save = client is None
        self._docks: dict[str, QDockWidget] = {}
        self._settings_hooks: list = []
        self.banner = ComputeBanner()
        self.inspector = InspectorWidget(self, client=self.client)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.inspector, 1)
        self.setCentralWidget(central)
        self.setAcceptDrops(True)   # a file dropped on a panel or the toolbar opens as on the inspector
        self.setStatusBar(StatusBar())
        self.training_status = TrainingStatus(self)
        self.session = ModelSession(self.client, self.inspector, self.training_status, self.banner, self,
                                    self._owns_client)
        self.files = ModelFileActions(self.session, self)
        self._create_menus_and_toolbar()
        self.context = CapabilityContext(self, self.client, self.inspector, self.session, self.training_status)
        self.context.dataset = dataset
        self._register_targets()
        register_parts(self.inspector, self.context.operations, self.context.targets)
        self.capabilities = install_capabilities(self.context)
        self.menu("File").addSeparator()
        self.menu("File").addAction(self.quit_action)
        self.inspector.status_message.connect(lambda text: self.show_status(text, 5000))
        self.session.changed.connect(self._update_chrome)
        self.training_status.started.connect(self._update_chrome)
        self.training_status.ended.connect(self._update_chrome)
        self._restore_settings()
        self._update_chrome()

    # --- what the capabilities get (through self.context) ---------------------------------------------
    def add_panel(self, title: str, widget: QWidget, name: str,
                  area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
                  tabify_with: str | None = None, visible: bool = True) -> QDockWidget:
        """A dock for `widget` with a Show/Hide toggle in the View menu; its place and visibility are
        remembered with the window's layout (`name` must be unique and stable). Tabbed with panel
        `tabify_with`, it goes behind the panel in front there."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        for front in widget.findChildren(FrontTab):   # a panel that works only while seen follows its dock's tab
            front.follow(dock)
        if tabify_with in self._docks:
            self.tabifyDockWidget(self._docks[tabify_with], dock)
            self._docks[tabify_with].raise_()
        dock.setVisible(visible)
        self._docks[name] = dock
        toggle = dock.toggleViewAction()
        toggle.setToolTip(f"Show or hide the {title.lower()} panel")
        self._view_menu.insertAction(self._panels_end, toggle)
        return dock

    def add_banner(self, banner: QWidget) -> None:
        layout = self.centralWidget().layout()
        layout.insertWidget(layout.indexOf(self.inspector), banner)

    def menu(self, title: str) -> QMenu:
        """The menu-bar menu called `title` (File, Input, Train and View in that order, then the capabilities'
        menus as they are made, Help last)."""
        wanted = title.replace("&", "")
        menus = {action.text().replace("&", ""): action for action in self.menuBar().actions() if action.menu()}
        if wanted in menus:
            return menus[wanted].menu()
        before = self._help_menu.menuAction()
        if wanted in LEADING_MENUS:
            later = [menus[name] for name in LEADING_MENUS[LEADING_MENUS.index(wanted) + 1:] if name in menus]
            before = later[0] if later else before
        menu = QMenu(f"&{wanted}", self)
        self.menuBar().insertMenu(before, menu)
        return menu

    def shell_action(self, name: str):
        return {"open_model": self.files.open_action, "save_model": self.files.save_action,
                "quit": self.quit_action, "about": self.about_action}[name]

    def add_toolbar_actions(self, actions, separator: bool = False) -> None:
        if separator:
            self._toolbar.addSeparator()
        self._toolbar.addActions(actions)

    def add_shortcuts(self, actions) -> None:
        self.addActions(actions)

    def show_status(self, text: str, timeout_ms: int = 5000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def set_busy(self, text: str, spinner: bool = True) -> None:
        self.statusBar().set_busy(text, spinner)

    def show_message_box(self, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> None:
        self.last_message_box = show_message_box(self, icon, title, text, details)

    def dialog_parent(self) -> QWidget:
        return self

    def add_settings(self, save, restore) -> None:
        self._settings_hooks.append((save, restore))

    # --- the model (the session's; kept here for the app, scripts and tests) ----------------------------
    model_ready = property(lambda self: self.session.model_ready)
    model_failed = property(lambda self: self.session.model_failed)
    model_saved = property(lambda self: self.session.model_saved)
    recovered = property(lambda self: self.session.recovered)
    training_started = property(lambda self: self.training_status.started)
    training_finished = property(lambda self: self.training_status.finished)
    current = property(lambda self: self.session.current)
    unsaved = property(lambda self: self.session.unsaved, lambda self, value: setattr(self.session, "unsaved", value))

    def start_compute(self) -> None:
        self.session.start_compute()

    def load_model_file(self, path: str | Path | None = None) -> None:
        self.session.load_model_file(path)

    def save_model_file(self, path: str | Path) -> None:
        self.session.save_model_file(path)

    def show_model(self, model) -> None:
        self.session.show_model(model)

    def is_loading(self) -> bool:
        return self.session.is_loading()

    def is_training(self) -> bool:
        return self.training_status.is_training()

    def set_dataset(self, dataset: Dataset | None) -> None:
        """Train on `dataset` instead of MNIST from the compute process's cache (tests)."""
        self.context.dataset = dataset

    def set_data_path(self, path: str | Path | None) -> None:
        """Train on the MNIST file at `path` (a file the user chose) instead of the cache."""
        self.context.data_path = None if path is None else str(path)

    # --- building ---------------------------------------------------------------------------------------
    def _create_menus_and_toolbar(self) -> None:
        self.quit_action = make_action(self, "&Quit", "Quit cnnviz (stops training first)", self.close,
                                       QKeySequence.StandardKey.Quit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.about_action = make_action(self, "&About cnnviz", "Version and what cnnviz shows", self._on_about)
        bar = self.menuBar()
        bar.addMenu("&File").addActions([self.files.open_action, self.files.save_action])
        bar.addMenu("&Input").addActions(self.inspector.input_actions())
        self._view_menu = bar.addMenu("&View")
        self._view_menu.addActions(self.inspector.view_actions())
        self._view_menu.addSeparator()
        self._panels_end = self._view_menu.addSeparator()   # the panels' toggles go before it
        self._help_menu = bar.addMenu("&Help")
        self._help_menu.addAction(self.about_action)
        self._toolbar = self.addToolBar("Main toolbar")
        self._toolbar.setObjectName("main_toolbar")
        self._toolbar.setMovable(False)
        self._toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._toolbar.addActions([self.files.open_action, self.files.save_action])
        toggle = self._toolbar.toggleViewAction()
        toggle.setToolTip("Show or hide the toolbar")
        self._view_menu.addAction(toggle)

    def _register_targets(self) -> None:
        """The window's own parts, by the names the autotest's screenshots and lessons use."""
        targets = self.context.targets
        for name, widget, summary in (
                ("window", self, "the whole window"), ("toolbar", self._toolbar, "the main toolbar"),
                ("menubar", self.menuBar(), "the menu bar"), ("statusbar", self.statusBar(), "the status bar"),
                ("banner", self.banner, "the compute process's banner"),
                ("central", self.centralWidget(), "the inspector and the banners above it")):
            targets.register(name, widget, summary=summary)

    def _on_about(self) -> None:
        """Version and a one-paragraph description."""
        self.show_message_box(QMessageBox.Icon.Information, "About cnnviz", f"cnnviz {__version__}",
                              "Makes the MNIST convnet of Deep Learning with Python (chapter 5) visible: train "
                              "it, draw a digit and follow it through every layer.")

    def _update_chrome(self, *_args) -> None:
        """The title, the model and its accuracy in the status bar, and which file actions are possible."""
        session = self.session
        unsaved = " (unsaved)" if session.unsaved else ""
        # Qt itself appends the application's display name (" — cnnviz") to the title it shows, unless the
        # title ends with it: with no model yet (the first one is loading) the title is "cnnviz" alone.
        self.setWindowTitle(f"{session.model_name()}{unsaved}" if session.current is not None else "cnnviz")
        current = session.current
        self.statusBar().show_model(f"{session.model_name()}{unsaved}", current.path if current else None,
                                    current.test_accuracy if current else None)
        idle = not self.is_training() and not session.is_loading() and not session.is_saving()
        self.files.update(idle, current is not None)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.inspector.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        """A model file dropped anywhere on the window opens as the model, a picture on the canvas."""
        self.inspector.dropEvent(event)

    # --- settings and closing ---------------------------------------------------------------------------
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
        self.files.restore_settings(settings)
        for _, restore in self._settings_hooks:
            restore(settings)
        self.inspector.restore_settings(settings)

    def _apply_default_geometry(self) -> None:
        width, height = DEFAULT_SIZE
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            available = screen.availableGeometry()
            width, height = min(width, available.width()), min(height, available.height())
        self.resize(width, height)
        docks = [self._docks[name] for name in DEFAULT_DOCKS if name in self._docks]
        if docks:
            self.resizeDocks(docks[:1], [DEFAULT_DOCK_WIDTH], Qt.Orientation.Horizontal)
            self.resizeDocks(docks, [DEFAULT_DOCKS[dock.objectName()] for dock in docks], Qt.Orientation.Vertical)
            docks[0].raise_()   # in front of the panels tabbed with it (the last added would be)

    def save_settings(self) -> None:
        settings: QSettings = app_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        self.files.save_settings(settings)
        for save, _ in self._settings_hooks:
            save(settings)
        self.inspector.save_settings(settings)
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Remember the settings, stop what runs, end the compute process (within CLOSE_TIMEOUT_S, mid-epoch
        included), then close. An unsaved trained model is not lost without asking."""
        if not self.files.may_close(self.ask_to_save, self.is_training()):
            event.ignore()
            return
        if self.remember_settings:
            self.save_settings()
        self.closed.emit()
        if self._owns_client:
            self.client.shutdown(CLOSE_TIMEOUT_S)
        elif not self._detached:  # a shared client (tests) outlives this window: stop reacting to it
            self._detached = True
            self.session.detach()
        event.accept()
