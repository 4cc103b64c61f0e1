"""The confusion matrix as a table: rows the true class, columns the prediction, counts in colour.

Right answers (the diagonal) are blue, deeper the larger the share of the row; mistakes are red,
deeper the more of them (relative to the largest mistake cell, square-root scaled so that single
mistakes still show); empty cells stay blank. A last column gives each class's accuracy. Arrows move
between cells, and the chosen cell (`cell_chosen`) is what the gallery shows; Enter asks to go
to the gallery (`enter_pressed`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QKeyEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QStyledItemDelegate, QTableView

CELL_WIDTH = 28
CELL_HEIGHT = 19
ACCURACY_WIDTH = 42
_RIGHT = QColor(42, 111, 219)
_WRONG = QColor(214, 58, 40)
_BLANK = QColor(255, 255, 255)
_CHOSEN = QColor(255, 170, 0)   # the frame of the chosen cell (the inspector's selection colour)


def blend(base: QColor, colour: QColor, amount: float) -> QColor:
    """`base` moved `amount` (0…1) of the way to `colour`."""
    amount = float(np.clip(amount, 0.0, 1.0))
    return QColor(*(round(a + (b - a) * amount) for a, b in zip(base.getRgb()[:3], colour.getRgb()[:3])))


def cell_colour(count: int, row_total: int, is_diagonal: bool, largest_mistake: int) -> QColor:
    """The background of one cell (see the module docstring)."""
    if count == 0:
        return _BLANK
    if is_diagonal:
        return blend(_BLANK, _RIGHT, 0.15 + 0.85 * count / max(row_total, 1))
    return blend(_BLANK, _WRONG, 0.15 + 0.85 * np.sqrt(count / max(largest_mistake, 1)))


NAVIGATION_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home,
                   Qt.Key.Key_End, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Return, Qt.Key.Key_Enter)


def owns_navigation_key(event) -> bool:
    """True for the ShortcutOverride of a plain arrow (Home, End, Page, Enter) key: an item view that has the
    keyboard uses those itself, before the window's shortcuts (←/→ change the inspector's layer)."""
    return (event.type() == QEvent.Type.ShortcutOverride and event.key() in NAVIGATION_KEYS
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)


def text_colour(background: QColor) -> QColor:
    """Black or white, whichever reads better on `background`."""
    return QColor(Qt.GlobalColor.black) if background.lightnessF() > 0.6 else QColor(Qt.GlobalColor.white)


class ConfusionModel(QAbstractTableModel):
    """A (C, C) count matrix plus a column of per-class accuracies, for `ConfusionView`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.matrix = np.zeros((0, 0), np.int64)
        self.class_names: list[str] = []
        self.item = "digit"
        self.stale = False   # the counts are not yet those of what is chosen (a newer pass is running)
        self._accuracy = np.zeros(0)
        self._totals = np.zeros(0, np.int64)
        self._largest_mistake = 0

    def set_matrix(self, matrix: np.ndarray, class_names: list[str], item: str = "digit") -> None:
        matrix = np.asarray(matrix, dtype=np.int64)
        self.beginResetModel()
        self.matrix = matrix
        self.class_names = [str(name) for name in class_names] or [str(c) for c in range(len(matrix))]
        self.item = item
        self._totals = matrix.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            self._accuracy = np.where(self._totals > 0, np.diag(matrix) / np.maximum(self._totals, 1), np.nan)
        mistakes = matrix - np.diag(np.diag(matrix))
        self._largest_mistake = int(mistakes.max(initial=0))
        self.stale = False
        self.endResetModel()

    def set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            if self.rowCount():
                self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1))

    @property
    def num_classes(self) -> int:
        return len(self.matrix)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else self.num_classes

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() or not self.num_classes else self.num_classes + 1

    def is_accuracy_column(self, column: int) -> bool:
        return column == self.num_classes

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid() or self.is_accuracy_column(index.column()):
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if self.is_accuracy_column(column):
            accuracy = self._accuracy[row]
            if role == Qt.ItemDataRole.DisplayRole:
                return "–" if np.isnan(accuracy) else f"{accuracy:.1%}"
            if role == Qt.ItemDataRole.ToolTipRole:
                return (f"{self.class_names[row]}: {self.matrix[row, row]:,} of {self._totals[row]:,} "
                        f"{self.item}s recognised")
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        count = int(self.matrix[row, column])
        if role == Qt.ItemDataRole.DisplayRole:
            return str(count) if count else ""
        if role == Qt.ItemDataRole.BackgroundRole:
            return cell_colour(count, int(self._totals[row]), row == column, self._largest_mistake)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.describe(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def describe(self, true_class: int, predicted: int) -> str:
        count, total = int(self.matrix[true_class, predicted]), int(self._totals[true_class])
        share = f" ({count / total:.1%} of them)" if total else ""
        names = self.class_names
        if true_class == predicted:
            return f"{count:,} {names[true_class]}s recognised{share}; click for the least sure of them"
        return (f"{count:,} {names[true_class]}s taken for {names[predicted]}{share}"
                + ("; click to see them" if count else ""))

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if section >= len(self.class_names) + (orientation == Qt.Orientation.Horizontal):
            return None
        if orientation == Qt.Orientation.Horizontal and self.is_accuracy_column(section):
            if role == Qt.ItemDataRole.DisplayRole:
                return "acc."
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Accuracy: the share of each true class the model gets right"
            return None
        name = self.class_names[section]
        if role == Qt.ItemDataRole.DisplayRole:   # long class names: their numbers (names in the tooltips)
            return name if len(name) <= 2 else str(section)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"predicted {name}" if orientation == Qt.Orientation.Horizontal else f"true {name}"
        return None


def fitting_font(font: QFont, text: str, width: float, smallest_points: float = 5.5) -> QFont:
    """`font`, made smaller if `text` would not fit in `width` pixels (a diagonal's 1,135 in a narrow
    cell): every count reads whole rather than cut off."""
    needed = QFontMetricsF(font).horizontalAdvance(text)
    if not text or needed <= width or font.pointSizeF() <= 0:
        return font
    smaller = QFont(font)
    smaller.setPointSizeF(max(smallest_points, font.pointSizeF() * width / needed))
    return smaller


class _CellDelegate(QStyledItemDelegate):
    """Paints a cell's colour and count, a frame round the chosen cell, and fades stale counts."""

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        model = index.model()
        painter.save()
        if model.stale:
            painter.setOpacity(0.35)
        rect = option.rect
        background = index.data(Qt.ItemDataRole.BackgroundRole)
        if background is not None:
            painter.fillRect(rect, background)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        colour = text_colour(background) if background is not None else \
            option.palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)   # not greyed: read
        painter.setPen(colour)
        area = rect.adjusted(2, 0, -3, 0)
        painter.setFont(fitting_font(option.font, text, area.width()))
        alignment = index.data(Qt.ItemDataRole.TextAlignmentRole) or int(Qt.AlignmentFlag.AlignCenter)
        painter.drawText(area, Qt.AlignmentFlag(alignment), text)
        painter.restore()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.save()
            painter.setPen(QPen(_CHOSEN, 3))
            painter.drawRect(QRect(rect).adjusted(1, 1, -2, -2))
            painter.restore()


class ConfusionView(QTableView):
    """The matrix; `cell_chosen(true, predicted)` when the user clicks or moves to a cell."""

    cell_chosen = Signal(int, int)
    enter_pressed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.confusion = ConfusionModel(self)
        self.setModel(self.confusion)
        self.setItemDelegate(_CellDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(True)
        self.setGridStyle(Qt.PenStyle.SolidLine)
        self.setStyleSheet("QTableView { gridline-color: #d8d8d8; }")
        self.setCornerButtonEnabled(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.setFont(font)
        for header, size in ((self.horizontalHeader(), CELL_WIDTH), (self.verticalHeader(), CELL_HEIGHT)):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setDefaultSectionSize(size)
            header.setMinimumSectionSize(12)
            header.setHighlightSections(True)
            header.setFont(font)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip("Rows: the true class. Columns: what the model predicted. Click a cell (or move with the "
                        "arrow keys) to see its test images; Enter goes to them.")
        self.confusion.modelReset.connect(self._on_reset)

    def set_matrix(self, matrix: np.ndarray, class_names: list[str], item: str = "digit") -> None:
        """Show `matrix`, keeping the chosen cell (without announcing it again)."""
        chosen = self.chosen_cell()
        self.blockSignals(True)
        self.confusion.set_matrix(matrix, class_names, item)
        if chosen is not None and max(chosen) < self.confusion.num_classes:
            self.choose_cell(*chosen, announce=False)
        self.blockSignals(False)

    def set_stale(self, stale: bool) -> None:
        self.confusion.set_stale(stale)

    def chosen_cell(self) -> tuple[int, int] | None:
        index = self.currentIndex()
        if not index.isValid() or not self.selectionModel().isSelected(index):
            return None
        return index.row(), index.column()

    def choose_cell(self, true_class: int, predicted: int, announce: bool = True) -> None:
        """Select cell (true, predicted) as a click would (`cell_chosen` unless `announce` is False)."""
        index = self.confusion.index(true_class, predicted)
        blocked = self.blockSignals(not announce)
        self.setCurrentIndex(index)
        self.scrollTo(index)
        self.blockSignals(blocked)

    def cell_rect(self, true_class: int, predicted: int) -> QRect:
        """Where cell (true, predicted) is, in viewport coordinates."""
        return self.visualRect(self.confusion.index(true_class, predicted))

    def currentChanged(self, current: QModelIndex, previous: QModelIndex) -> None:  # noqa: N802
        super().currentChanged(current, previous)
        if current.isValid() and not self.confusion.is_accuracy_column(current.column()):
            if not self.signalsBlocked():
                self.cell_chosen.emit(current.row(), current.column())

    def mousePressEvent(self, event) -> None:  # noqa: N802
        """A click on the chosen cell chooses it again (the gallery comes back after a digit was opened)."""
        index = self.indexAt(event.position().toPoint())
        again = index.isValid() and index == self.currentIndex()
        super().mousePressEvent(event)
        if again and not self.confusion.is_accuracy_column(index.column()):
            self.cell_chosen.emit(index.row(), index.column())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter_pressed.emit()
            return
        super().keyPressEvent(event)

    def event(self, event) -> bool:  # noqa: D102
        if owns_navigation_key(event):
            event.accept()   # the arrows move between cells here, not between the inspector's layers
            return True
        return super().event(event)

    def sizeHint(self):  # noqa: D102
        hint = super().sizeHint()
        columns = self.confusion.columnCount() or 11
        header = max(self.verticalHeader().sizeHint().width(), self.fontMetrics().horizontalAdvance("00") + 10)
        hint.setWidth(header + CELL_WIDTH * (columns - 1) + ACCURACY_WIDTH + 2 * self.frameWidth())
        header_height = max(self.horizontalHeader().sizeHint().height(), self.fontMetrics().height() + 8)
        hint.setHeight(header_height + CELL_HEIGHT * (self.confusion.rowCount() or 10) + 2 * self.frameWidth())
        return hint

    def _on_reset(self) -> None:
        """New counts: the accuracy column is a little wider than the count cells; the whole matrix
        shows, never a scrolled part of it."""
        if self.confusion.num_classes:
            self.horizontalHeader().resizeSection(self.confusion.num_classes, ACCURACY_WIDTH)
        self.setFixedSize(self.sizeHint())
