"""What teaching did: accuracy on the user's digits and on the MNIST test set before and after, and the
user's digits whose prediction changed (thumbnails, "1 → 7", green when it is now right, red when it
was right before)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from cnnviz.gui.handwriting.digit_gallery import MISTAKE, RIGHT, THUMB, read_thumbnail, thumbnail_icon


class TeachResults(QWidget):
    """Hidden until `show_result(result, count)`."""

    show_requested = Signal(object)   # the Path of a changed digit to show in the inspector

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        self.cells: dict[tuple[str, str], QLabel] = {}
        for column, heading in enumerate(("", "before", "after")):
            label = QLabel(f"<i>{heading}</i>")
            grid.addWidget(label, 0, column, alignment=Qt.AlignmentFlag.AlignRight if column else
                           Qt.AlignmentFlag.AlignLeft)
        for row, (key, words) in enumerate((("own", "your digits"), ("mnist", "MNIST test digits")), 1):
            self.cells[key, "name"] = QLabel(words)
            grid.addWidget(self.cells[key, "name"], row, 0)
            for column, when in enumerate(("before", "after"), 1):
                cell = QLabel()
                cell.setAlignment(Qt.AlignmentFlag.AlignRight)
                self.cells[key, when] = cell
                grid.addWidget(cell, row, column)
        grid.setColumnStretch(0, 1)
        self.changed_title = QLabel()
        self.changed_title.setWordWrap(True)
        self.changed = QListWidget()
        self.changed.setViewMode(QListView.ViewMode.IconMode)
        self.changed.setIconSize(QSize(THUMB - 12, THUMB - 12))
        self.changed.setGridSize(QSize(THUMB + 4, THUMB + 14))
        self.changed.setFlow(QListView.Flow.LeftToRight)
        self.changed.setWrapping(False)
        self.changed.setFixedHeight(THUMB + 22)
        self.changed.setMovement(QListView.Movement.Static)
        self.changed.setToolTip("Your digits whose prediction teaching changed: green, read right now; red, read "
                                "right before and wrong now. Double-click one to show it.")
        self.changed.itemDoubleClicked.connect(
            lambda item: self.show_requested.emit(item.data(Qt.ItemDataRole.UserRole)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(grid)
        layout.addWidget(self.changed_title)
        layout.addWidget(self.changed)
        self._result = None
        self.hide()

    def result(self):
        """The FineTuneResult shown (None: none yet)."""
        return self._result

    def show_result(self, result, count: int, epochs: int) -> None:
        """Show a FineTuneResult for `count` digits taught over `epochs` epochs."""
        self._result = result
        self.title.setText(f"<b>Taught {epochs} epoch{'s' if epochs != 1 else ''}</b> on your {count:,} digits "
                           f"mixed with MNIST ({result.mix}). The taught model is now the current one: File → Save "
                           "model keeps it.")
        for key, attribute in (("own", "own_accuracy"), ("mnist", "mnist_accuracy")):
            before, after = getattr(result.before, attribute), getattr(result.after, attribute)
            decimals = 1 if key == "own" else 2
            self.cells[key, "before"].setText(f"{before:.{decimals}%}")
            colour = RIGHT if after > before else MISTAKE if after < before else None
            style = f" style='color: {colour.name()}'" if colour is not None else ""
            self.cells[key, "after"].setText(f"<b{style}>{after:.{decimals}%}</b>")
        self.cells["own", "name"].setText(f"your {count:,} digits")
        changed = list(result.changed)
        self.changed_title.setText(f"{len(changed)} of your digits changed their prediction" +
                                   (":" if changed else "."))
        self.changed.clear()
        for digit in changed:
            now_right = digit.after == digit.label
            item = QListWidgetItem(thumbnail_icon(read_thumbnail(Path(digit.path)), not now_right),
                                   f"{digit.before}→{digit.after}")
            item.setForeground(RIGHT if now_right else MISTAKE)
            item.setData(Qt.ItemDataRole.UserRole, Path(digit.path))
            item.setToolTip(f"{Path(digit.path).name}: labelled {digit.label}; read as {digit.before} before, "
                            f"{digit.after} now")
            self.changed.addItem(item)
        self.changed.setVisible(bool(changed))
        self.show()
