"""A coloured message strip with a close button (the training panel's messages, the compute banner)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

BANNER_COLOURS = {"error": ("#5c1f1f", "#ffd7d7"), "warning": ("#5c4a12", "#fff0c2"),
                  "info": ("#1f3c5c", "#d7e9ff")}


class MessageBanner(QFrame):
    """Hidden until `show_text(text, kind)`; kind is "info", "warning" or "error"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.kind = ""
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this message")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 4, 6)
        layout.addWidget(self._label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_text(self, text: str, kind: str) -> None:
        background, foreground = BANNER_COLOURS.get(kind, BANNER_COLOURS["info"])
        name = self.objectName()   # "banner", or the name its owner gave it ("model_banner")
        self.setStyleSheet(f"#{name}, #{name} QLabel {{ background: {background}; color: {foreground}; }}"
                           f"#{name} {{ border-radius: 4px; }}")
        self.kind = kind
        self._label.setText(text)
        self.show()

    def text(self) -> str:
        return self._label.text()
