"""The Lab's variant picker: a checkbox per variant with what it is and the notes' question it answers."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from cnnviz.core.architectures import ARCHITECTURES, recipe_for
from cnnviz.gui.lab.data import VARIANT_COLOURS
from cnnviz.gui.widgets.view_colours import MUTED_TEXT


class VariantList(QScrollArea):
    """Check the variants to train; each shows its status ("queued", "training", "trained"…)."""

    selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(6)
        self._boxes: dict[str, QCheckBox] = {}
        self._status: dict[str, QLabel] = {}
        for name in ARCHITECTURES:
            layout.addWidget(self._variant_row(name))
        layout.addStretch(1)
        self.setWidget(inner)

    def _variant_row(self, name: str) -> QWidget:
        recipe = recipe_for(name)
        row = QWidget()
        grid = QGridLayout(row)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(0)
        box = QCheckBox(name)
        red, green, blue = VARIANT_COLOURS[name]
        box.setStyleSheet(f"QCheckBox {{ font-weight: bold; color: rgb({red}, {green}, {blue}); }}")
        box.setToolTip(f"{recipe.stack_text}\n\nTrain {name} when you press Train")
        box.toggled.connect(self.selection_changed)
        status = QLabel("")
        status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        status.setStyleSheet(f"color: {MUTED_TEXT.name()};")
        about = QLabel(f"{recipe.stack_text}: {recipe.description}.<br><i>{recipe.question}</i>")
        about.setWordWrap(True)
        about.setTextFormat(Qt.TextFormat.RichText)
        about.setStyleSheet(f"color: {MUTED_TEXT.name()}; margin-left: 22px;")
        about.setToolTip(recipe.question)
        grid.addWidget(box, 0, 0)
        grid.addWidget(status, 0, 1)
        grid.addWidget(about, 1, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        self._boxes[name] = box
        self._status[name] = status
        return row

    def checked(self) -> list[str]:
        """The checked variants, in ARCHITECTURES order."""
        return [name for name in ARCHITECTURES if self._boxes[name].isChecked()]

    def set_checked(self, names) -> None:
        wanted = set(names)
        for name, box in self._boxes.items():
            box.setChecked(name in wanted)

    def checkbox(self, name: str) -> QCheckBox:
        return self._boxes[name]

    def set_status(self, name: str, text: str) -> None:
        self._status[name].setText(text)

    def status(self, name: str) -> str:
        return self._status[name].text()

    def set_editable(self, editable: bool) -> None:
        """While a run goes on the choice is fixed."""
        for box in self._boxes.values():
            box.setEnabled(editable)
