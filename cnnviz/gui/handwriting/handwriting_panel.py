"""The Your digits panel (issue 21): the folder, Keep as 0–9, the gallery (left), and Teach it my handwriting
(right), laid out for the wide dock area under the inspector.

A view: it shows what it is told and says what the user asks (`keep_requested`, `choose_folder_requested`,
`teach_requested`, `cancel_requested`, and the gallery's own signals); `own_digits.py` does it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from cnnviz.gui.handwriting.digit_gallery import DigitGallery
from cnnviz.gui.handwriting.teach_results import TeachResults
from cnnviz.gui.widgets.message_banner import MessageBanner
from cnnviz.gui.widgets.qt_helpers import Icon, make_action, spin_box

DEFAULT_EPOCHS = 5   # `cnnviz train --data-dir`'s


class PathLabel(QLabel):
    """A path shortened in its middle to the width it is given (at least MIN_WIDTH), never cut at the end."""

    MIN_WIDTH = 110

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._path = ""
        self.setMinimumWidth(self.MIN_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def set_path(self, path: str) -> None:
        self._path = path
        self._elide()

    def path(self) -> str:
        return self._path

    def resizeEvent(self, event) -> None:   # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._path, Qt.TextElideMode.ElideMiddle, max(self.width(), 20)))


class HandwritingPanel(QWidget):
    """Folder row, keep buttons, gallery with its summary, and the teaching box."""

    keep_requested = Signal(int)          # keep the digit on the canvas as this label
    choose_folder_requested = Signal()
    open_folder_requested = Signal()
    teach_requested = Signal(int)         # epochs
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.banner = MessageBanner()
        self.folder_label = PathLabel()
        self.choose_action = make_action(self, "Folder…", "Keep your digits in another folder (one subfolder per "
                                         "digit, 0 to 9: cnnviz evaluate --data-dir and train --data-dir read it)",
                                         self.choose_folder_requested.emit)
        self.open_action = make_action(self, "Show", "Open the folder in the file manager",
                                       self.open_folder_requested.emit, icon=Icon.SP_DirOpenIcon)
        self.keep_buttons = []
        for digit in range(10):
            button = QToolButton()
            button.setText(str(digit))
            button.setToolTip(f"Keep the digit on the canvas as a {digit} (key {digit} while this panel is open)")
            button.setFixedWidth(22)
            button.clicked.connect(lambda _checked=False, digit=digit: self.keep_requested.emit(digit))
            self.keep_buttons.append(button)
        self.gallery = DigitGallery()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.teach_action = make_action(self, "Teach it", "Teach it my handwriting: fine-tune the current model on "
                                        "your digits, mixed with MNIST so that it does not forget everyone else's "
                                        "writing; the taught model becomes the current one (not saved)",
                                        self._on_teach, icon=Icon.SP_MediaPlay)
        self.cancel_action = make_action(self, "Cancel", "Stop teaching within a batch: the model stays as it was",
                                         self.cancel_requested.emit, icon=Icon.SP_MediaStop)
        self.epochs = spin_box(1, 50, DEFAULT_EPOCHS, "Passes over your digits (each with six times as many MNIST "
                                                   "digits)")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("")
        self.progress.setVisible(False)
        self.results = TeachResults()
        self._build_layout()
        self.set_teaching(False)

    def _build_layout(self) -> None:
        """Left: the folder, Keep as 0–9, the gallery and what the model reads; right: teaching."""
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Folder:"))
        folder_row.addWidget(self.folder_label, 1)
        for action in (self.choose_action, self.open_action):
            button = QToolButton()
            button.setDefaultAction(action)
            folder_row.addWidget(button)
        folder_row.addSpacing(12)
        keep_label = QLabel("Keep as")
        keep_label.setToolTip("Keep the digit on the canvas in your folder as the digit you press (or click)")
        folder_row.addWidget(keep_label)
        for button in self.keep_buttons:
            folder_row.addWidget(button)
        left = QVBoxLayout()
        left.setSpacing(4)
        left.addLayout(folder_row)
        left.addWidget(self.gallery, 1)
        left.addWidget(self.summary)
        teach_box = QGroupBox("Teach it my handwriting")
        teach = QVBoxLayout(teach_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Epochs"))
        row.addWidget(self.epochs)
        for action in (self.teach_action, self.cancel_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            row.addWidget(button)
        row.addStretch(1)
        teach.addLayout(row)
        teach.addWidget(self.progress)
        teach.addWidget(self.results)
        teach.addStretch(1)
        teach_box.setMinimumWidth(330)
        teach_box.setMaximumWidth(460)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addWidget(teach_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.banner)
        layout.addLayout(columns, 1)

    # --- what it is told ------------------------------------------------------------------------------------
    def show_folder(self, folder: Path, shown: str) -> None:
        """The folder in use (`shown`: its path as the user reads it, ~/… ), with its full path as tooltip."""
        self.folder_label.set_path(shown)
        self.folder_label.setToolTip(str(folder))

    def set_summary(self, text: str) -> None:
        self.summary.setText(text)

    def set_teaching(self, teaching: bool, can_teach: bool = True) -> None:
        """While teaching: the progress and Cancel; otherwise Teach (when there is something to teach)."""
        self.teach_action.setEnabled(not teaching and can_teach)
        self.cancel_action.setEnabled(teaching)
        self.epochs.setEnabled(not teaching)
        self.progress.setVisible(teaching or bool(self.progress.format()))

    def show_progress(self, fraction: float, text: str) -> None:
        """Teaching's progress (fraction < 0: a busy bar) and what it is doing."""
        self.progress.setVisible(True)
        if fraction < 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * min(fraction, 1.0)))
        self.progress.setFormat(text)

    def end_progress(self, text: str) -> None:
        """Teaching ended: the bar says how (finished, cancelled, failed)."""
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000 if text.startswith("Finished") else 0)
        self.progress.setFormat(text)

    def show_message(self, text: str, kind: str = "info") -> None:
        if text:
            self.banner.show_text(text, kind)
        else:
            self.banner.hide()

    def message(self) -> str:
        return self.banner.text() if self.banner.isVisibleTo(self) else ""

    def _on_teach(self) -> None:
        self.teach_requested.emit(self.epochs.value())
