"""The window's status bar: short messages, what the window is busy with, the model shown and its accuracy.

Messages never show absolute paths (issue 16), whoever writes them: `shown_path` turns a path into
"~/…" inside the home folder, else its name.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar


def shown_path(path: str | Path | None, full: bool = False) -> str:
    """A path as the status bar shows it, never absolute: inside the home folder "~/…", elsewhere only
    its name (`full`: the whole path outside the home folder, for tooltips)."""
    if path is None:
        return ""
    path = Path(path)
    try:
        return str(Path("~") / path.absolute().relative_to(Path.home().absolute()))
    except ValueError:
        return str(path.absolute()) if full else path.name


# An absolute path in a message: a "/" that starts a word (not "1/255", not "https://"), up to a space or
# punctuation; a full stop that ends the sentence is not part of it.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/:])/[^\s:;,'\"()<>]+(?<!\.)")


def without_absolute_paths(text: str) -> str:
    """`text` with every absolute path in it shown as `shown_path` shows it (~/… or its name)."""
    return _ABSOLUTE_PATH.sub(lambda match: shown_path(match.group(0)), text)


class StatusBar(QStatusBar):
    """Messages on the left; on the right what the window is busy with, the model and its test accuracy."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.busy_label = QLabel()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.setTextVisible(False)
        self.model_label = QLabel("No model")
        self.model_label.setToolTip("The model shown and trained")
        self.accuracy_label = QLabel()
        self.accuracy_label.setToolTip("Accuracy on the 10,000 MNIST test digits, when known")
        for label in (self.busy_label, self.busy_bar, self.model_label, self.accuracy_label):
            self.addPermanentWidget(label)
        self.set_busy("")

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 (Qt's name)
        super().showMessage(without_absolute_paths(text), timeout)

    def set_busy(self, text: str, spinner: bool = True) -> None:
        """Show `text`; `spinner` adds the animated bar (not while training: the panel has a real progress
        bar, and an animation repaints the window all the time)."""
        self.busy_label.setText(text)
        self.busy_label.setVisible(bool(text))
        self.busy_bar.setVisible(bool(text) and spinner)

    def show_model(self, name: str, path: Path | None, accuracy: float | None) -> None:
        """The model shown ("Model: name", its path in the tooltip) and its test accuracy, if known."""
        self.model_label.setText(f"Model: {name}")
        self.model_label.setToolTip(f"The model shown and trained: {shown_path(path, full=True)}" if path
                                    else "The model shown and trained")
        self.accuracy_label.setText("" if accuracy is None else f"Test accuracy: {accuracy:.2%}")
        self.accuracy_label.setVisible(accuracy is not None)
