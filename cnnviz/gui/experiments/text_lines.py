"""One-line messages that take no room while they say nothing (a panel that scrolls keeps its place)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel


def message_label() -> QLabel:
    """A word-wrapped label, hidden until `show_text` gives it something to say."""
    label = QLabel()
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def show_text(label: QLabel, text: str) -> None:
    """Say `text` ("" hides the label)."""
    label.setText(text)
    label.setVisible(bool(text))
