"""A long computation's place holder: what is being computed, a progress bar and Cancel (or a button to
start it again). Shown where its result will appear (the grid, the top-digits strip)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget


class TaskProgress(QWidget):
    """"Finding each filter's pattern… [=====    ] [Cancel]", or a message with a button to start."""

    cancel_clicked = Signal()
    start_clicked = Signal()

    def __init__(self, parent: QWidget | None = None, compact: bool = False):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setMaximumWidth(360)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this computation (nothing is kept)")
        self.start_button = QPushButton()
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.start_button.clicked.connect(self.start_clicked)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.bar, 4)
        row.addWidget(self.cancel_button)
        row.addWidget(self.start_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        if not compact:
            layout.addStretch(1)
        layout.addWidget(self.label)
        layout.addLayout(row)
        if not compact:
            layout.addStretch(1)
        self.show_idle("", "")

    def show_running(self, text: str, fraction: float | None) -> None:
        """A computation runs: its progress (None: not started yet, e.g. waiting for another task)."""
        self.label.setText(text)
        self.bar.setVisible(True)
        if fraction is None:
            self.bar.setRange(0, 0)   # busy, without a fraction
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
            self.bar.setFormat(f"{fraction:.0%}")
        self.cancel_button.setVisible(True)
        self.start_button.setVisible(False)

    def show_idle(self, text: str, button_text: str) -> None:
        """Nothing runs: say `text`, and offer `button_text` to start (no button when empty)."""
        self.label.setText(text)
        self.bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.start_button.setText(button_text)
        self.start_button.setVisible(bool(button_text))

    def fraction(self) -> float:
        return self.bar.value() / 1000 if self.bar.maximum() else 0.0

    def is_running(self) -> bool:
        return not self.cancel_button.isHidden()
