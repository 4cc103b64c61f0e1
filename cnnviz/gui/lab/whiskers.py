"""Error bars in the Lab's results table (issue 24): one cell per variant draws its test accuracy over the seeds
on a scale shared by every row, so the rows read as one chart (a forest plot).

In each cell: a small tick per seed, the mean as a dot, and whiskers over the 95 % interval of the mean;
a dashed line marks the `seed` variant's mean in every row. A variant with one run shows its dot only.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

WHISKER_ROLE = Qt.ItemDataRole.UserRole + 24   # a cell's `Whisker`
CELL_WIDTH = 170
_MARGIN = 8                                    # pixels kept free at each end of a cell


@dataclass(frozen=True)
class Whisker:
    """One variant's test accuracy over its seeds: the mean, the interval's ends (None with one run) and every
    seed's value, with the variant's colour (RGB)."""

    mean: float
    low: float | None
    high: float | None
    values: tuple[float, ...]
    colour: tuple[int, int, int]

    def extent(self) -> tuple[float, float]:
        ends = [self.mean, *self.values, *(end for end in (self.low, self.high) if end is not None)]
        return min(ends), max(ends)


@dataclass(frozen=True)
class Scale:
    """The accuracy range every cell shares, and the reference line (the seed variant's mean, or None)."""

    low: float
    high: float
    reference: float | None = None

    def x(self, value: float, rect: QRectF) -> float:
        left, width = rect.left() + _MARGIN, max(rect.width() - 2 * _MARGIN, 1.0)
        return left + width * (value - self.low) / max(self.high - self.low, 1e-12)


def shared_scale(whiskers: list[Whisker], reference: float | None) -> Scale | None:
    """A range that holds every whisker, widened to whole tenths of a point; None without whiskers."""
    if not whiskers:
        return None
    low = min(whisker.extent()[0] for whisker in whiskers)
    high = max(whisker.extent()[1] for whisker in whiskers)
    step = 0.001
    low, high = (int(low / step) * step, (int(high / step) + 1) * step)
    return Scale(low, high, reference)


class WhiskerDelegate(QStyledItemDelegate):
    """Paints the cells that hold a `Whisker` (WHISKER_ROLE) on the table's shared `scale`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.scale: Scale | None = None

    def sizeHint(self, option, index) -> QSize:
        return QSize(CELL_WIDTH, super().sizeHint(option, index).height())

    def paint(self, painter: QPainter, option, index) -> None:
        super().paint(painter, option, index)          # background, selection
        whisker = index.data(WHISKER_ROLE)
        if not isinstance(whisker, Whisker) or self.scale is None:
            return
        rect = QRectF(option.rect)
        middle = rect.center().y()
        scale = self.scale
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if scale.reference is not None:
            painter.setPen(QPen(QColor(120, 120, 120, 160), 1, Qt.PenStyle.DashLine))
            x = scale.x(scale.reference, rect)
            painter.drawLine(QPointF(x, rect.top() + 2), QPointF(x, rect.bottom() - 2))
        colour = QColor(*whisker.colour).darker(115)
        ink = QColor(255, 255, 255) if selected else colour
        if whisker.low is not None and whisker.high is not None:
            left, right = scale.x(whisker.low, rect), scale.x(whisker.high, rect)
            painter.setPen(QPen(ink, 2))
            painter.drawLine(QPointF(left, middle), QPointF(right, middle))
            for x in (left, right):
                painter.drawLine(QPointF(x, middle - 5), QPointF(x, middle + 5))
        faint = QColor(ink)
        faint.setAlpha(200)
        painter.setPen(QPen(faint, 1.5))
        for value in whisker.values:                    # one tick per seed, above the whiskers
            x = scale.x(value, rect)
            painter.drawLine(QPointF(x, middle - 10), QPointF(x, middle - 4))
        painter.setPen(QPen(QColor(40, 40, 40) if not selected else ink, 1))
        painter.setBrush(ink)
        painter.drawEllipse(QPointF(scale.x(whisker.mean, rect), middle), 3.5, 3.5)
        painter.restore()
