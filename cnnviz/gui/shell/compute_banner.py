"""A strip across the top of the window that says what happened to the compute process.

"The compute process was killed (SIGKILL). Restarting it…", then "… the model is back." (which
fades after a few seconds), or, when it cannot be restarted, a message that stays.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from cnnviz.gui.widgets.message_banner import MessageBanner

HIDE_AFTER_MS = 8000


class ComputeBanner(MessageBanner):
    """Hidden until the compute process needs explaining."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.timeout.connect(self.hide)

    def show_crashed(self, what: str) -> None:
        """The process died: say what happened and that it is restarting."""
        self._hide_timer.stop()
        self.show_text(f"{what} Restarting it and reloading the model…", "warning")

    def show_recovered(self, text: str) -> None:
        """The model is back; the message fades after a few seconds."""
        self.show_text(text, "info")
        self._hide_timer.start(HIDE_AFTER_MS)

    def show_error(self, text: str) -> None:
        """Something the user must act on; stays until closed."""
        self._hide_timer.stop()
        self.show_text(text, "error")
