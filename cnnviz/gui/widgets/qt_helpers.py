"""Small Qt helpers shared by the app shell: settings, actions, and one-off background tasks."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QMimeData, QObject, QSettings, Qt, QThread, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QSpinBox, QStyle

Icon = QStyle.StandardPixmap
ORGANISATION = "cnnviz"
APPLICATION = "cnnviz"


def app_settings() -> QSettings:
    """The app's settings store (organisation "cnnviz", application "cnnviz", the default format)."""
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def make_action(parent: QObject, text: str, tip: str, slot: Callable | None = None,
                shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
                checkable: bool = False, icon: QStyle.StandardPixmap | None = None) -> QAction:
    """A QAction with a status/tool tip that names its shortcut, and optionally a standard icon."""
    action = QAction(text, parent)
    if icon is not None:
        action.setIcon(QApplication.style().standardIcon(icon))
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip} ({keys})" if keys else tip)
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    if slot is not None:
        action.triggered.connect(slot)
    return action


def spin_box(low: int, high: int, value: int, tip: str) -> QSpinBox:
    """A spin box from `low` to `high` showing `value`, with a tooltip (the settings of Training and the Lab)."""
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


class _CallWorker(QObject):
    """Calls one function on the thread it was moved to."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, function: Callable[[], object]):
        super().__init__()
        self._function = function

    @Slot()
    def run(self) -> None:
        try:
            result = self._function()
        except Exception as exc:  # reported to the GUI thread, which shows it
            self.failed.emit(exc)
            return
        self.done.emit(result)


class BackgroundTask(QObject):
    """Runs `function()` once on its own QThread; `done(result)` or `failed(exception)` arrive
    on the thread that owns this object (the GUI thread), after the worker thread has ended."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, function: Callable[[], object], parent: QObject | None = None):
        super().__init__(parent)
        self._thread = QThread()
        self._worker = _CallWorker(function)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)

    def start(self) -> None:
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the function has returned (True) or the timeout passed (False)."""
        self._thread.quit()
        return self._thread.wait() if timeout_ms < 0 else self._thread.wait(timeout_ms)

    def _finish_thread(self) -> None:
        self._thread.quit()
        self._thread.wait()

    @Slot(object)
    def _on_done(self, result: object) -> None:
        """Join the worker thread, then pass the result on."""
        self._finish_thread()
        self.done.emit(result)

    @Slot(object)
    def _on_failed(self, exc: object) -> None:
        """Join the worker thread, then pass the exception on."""
        self._finish_thread()
        self.failed.emit(exc)


def show_message_box(parent, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> QMessageBox:
    """A window-modal message box that does not block the caller (opened with `open()`)."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setInformativeText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def dropped_file(mime: QMimeData) -> str | None:
    """The first local file among the URLs dragged in `mime` (a drag from a file manager); None if none."""
    files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    return files[0] if files else None
