"""The Lab's results table: one row per variant, the columns of `cnnviz compare`'s CSV.

The shape columns (parameters, last conv output, what one of its units sees) are known before any
training, from the variant's layers; the measured ones (s/epoch, train and test accuracy, gap,
epochs) fill in when the variant has results, with where they came from (shipped or yours).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from cnnviz.core.architectures import ARCHITECTURES, recipe_for
from cnnviz.gui.lab.data import SHIPPED, VARIANT_COLOURS, VariantResult, variant_shape

# (header, tooltip) per column; the CSV's columns in its order, then where the row came from.
COLUMNS = (
    ("variant", "The architecture variant (hover a name for its layers)"),
    ("parameters", "Weights the variant learns; most sit in the first Dense layer, one per number of the last map"),
    ("last conv", "Output shape of the last convolution: height × width × channels"),
    ("one unit sees", "Receptive field of one unit of the last convolution, in input pixels"),
    ("s/epoch", "Median time to train one epoch, the test pass excluded (on the machine that trained it)"),
    ("train acc", "The final model's accuracy on the digits it trained on"),
    ("test acc", "Accuracy on the 10,000 MNIST test digits it never saw"),
    ("gap", "Train accuracy minus test accuracy: the larger, the more it memorised (overfitting)"),
    ("epochs", "Passes over the training digits"),
    ("from", "shipped: the full run that comes with cnnviz; yours: trained in this Lab"),
)
NO_VALUE = "—"


class ResultsTable(QTableWidget):
    """Six rows, ARCHITECTURES order; `variant_activated(name)` on a double click."""

    variant_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(len(ARCHITECTURES), len(COLUMNS), parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        for column, (title, tip) in enumerate(COLUMNS):
            header = QTableWidgetItem(title)
            header.setToolTip(tip)
            self.setHorizontalHeaderItem(column, header)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        for row, name in enumerate(ARCHITECTURES):
            self._fill(row, VariantResult(name))
        self.cellDoubleClicked.connect(lambda row, _column: self.variant_activated.emit(ARCHITECTURES[row]))

    def set_results(self, results: dict[str, VariantResult]) -> None:
        """Show every variant's results (a variant missing from `results` shows its shapes only)."""
        for row, name in enumerate(ARCHITECTURES):
            self._fill(row, results.get(name) or VariantResult(name))

    def selected_variant(self) -> str | None:
        rows = self.selectionModel().selectedRows()
        return ARCHITECTURES[rows[0].row()] if rows else None

    def select_variant(self, name: str) -> None:
        self.selectRow(ARCHITECTURES.index(name))

    def row_texts(self, name: str) -> list[str]:
        """What the variant's row shows, column by column (tests and tools)."""
        row = ARCHITECTURES.index(name)
        return [self.item(row, column).text() for column in range(self.columnCount())]

    def _fill(self, row: int, result: VariantResult) -> None:
        shape = variant_shape(result.name)
        cells = [result.name, f"{shape.params:,}", "×".join(map(str, shape.last_conv_shape)),
                 f"{shape.last_conv_receptive_field}×{shape.last_conv_receptive_field} px"]
        measured = result.row
        if measured is None:
            cells += [NO_VALUE] * 5 + ["not trained yet"]
        else:
            cells += [f"{measured.seconds_per_epoch:.1f}", f"{measured.train_accuracy:.2%}",
                      f"{measured.test_accuracy:.2%}", f"{100 * measured.train_test_gap:+.2f} pts",
                      str(measured.epochs), "shipped" if result.source == SHIPPED else "yours"]
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if measured is None and column >= 4:
                item.setForeground(QColor(140, 140, 140))
            self.setItem(row, column, item)
        name_item = self.item(row, 0)
        name_item.setIcon(colour_icon(result.name))
        recipe = recipe_for(result.name)
        name_item.setToolTip(f"<b>{recipe.name}</b>: {recipe.stack_text}<br>{recipe.description}"
                             + ("" if result.model_path is None else f"<br><i>{result.model_path}</i>"))


def colour_icon(name: str, size: int = 12) -> QIcon:
    """A small square of the variant's colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*VARIANT_COLOURS.get(name, (200, 200, 200))))
    return QIcon(pixmap)
