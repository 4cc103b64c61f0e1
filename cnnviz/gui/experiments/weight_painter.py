"""The kernel painter: one input channel's weights as a grid of cells in diverging colours (blue < 0 <
red), painted by clicking or dragging with the brush's value (the right button paints its negative).

The painter only shows and reports: `painted(grid)` on every cell a stroke changes, `stroke_started()`
when a button goes down; the kernel-surgery view turns strokes into edits and sends them.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.core.colormaps import DIVERGING_COLORMAP, colorize
from cnnviz.gui.widgets.view_colours import ACCENT, FRAME, MUTED_TEXT

MAX_CELL = 48          # pixels: a 3×3 kernel stays a compact square
MIN_TEXT_CELL = 30     # cells at least this big show their value


class WeightPainter(QWidget):
    """A grid of weights to paint (see the module docstring)."""

    painted = Signal(object)      # the whole grid (rows, cols) after a cell changed
    stroke_started = Signal()     # a mouse button went down on a cell
    cell_hovered = Signal(object)  # (row, col, value) under the mouse, or None

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._grid = np.zeros((3, 3), np.float32)
        self._level = 1.0
        self._brush = 1.0
        self._editable = False
        self._hover: tuple[int, int] | None = None
        self._painting: float | None = None     # the value this stroke paints
        self.setMouseTracking(True)
        self.setMinimumSize(120, 120)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setToolTip("Click or drag to paint weights with the brush value (right button: its negative).\n"
                        "Red cells add where the input is bright, blue cells subtract.")

    # --- state ------------------------------------------------------------------------------------
    def set_grid(self, grid: np.ndarray, level: float | None = None, editable: bool = True) -> None:
        """Show `grid` (rows, cols; NaN: no weight there) with colours reaching full at ±`level`."""
        self._grid = np.array(grid, np.float32, copy=True)
        finite = np.abs(self._grid[np.isfinite(self._grid)])
        self._level = float(level) if level else float(max(finite.max(initial=0.0), abs(self._brush), 1e-3))
        self._editable = editable
        if self._hover is not None and not self._inside(*self._hover):
            self._hover = None
        self.updateGeometry()
        self.update()

    def grid(self) -> np.ndarray:
        return self._grid.copy()

    def level(self) -> float:
        return self._level

    def set_brush(self, value: float) -> None:
        self._brush = float(value)

    def brush(self) -> float:
        return self._brush

    def is_editable(self) -> bool:
        return self._editable

    # --- geometry ---------------------------------------------------------------------------------
    def cell_size(self) -> float:
        rows, cols = self._grid.shape
        return max(2.0, min(MAX_CELL, (self.width() - 2) / cols, (self.height() - 2) / rows))

    def cell_rect(self, row: int, col: int) -> QRectF:
        """Where cell (row, col) is drawn, in this widget's coordinates."""
        size = self.cell_size()
        rows, cols = self._grid.shape
        left = (self.width() - cols * size) / 2
        top = (self.height() - rows * size) / 2
        return QRectF(left + col * size, top + row * size, size, size)

    def cell_at(self, point: QPointF) -> tuple[int, int] | None:
        rows, cols = self._grid.shape
        corner = self.cell_rect(0, 0)
        size = self.cell_size()
        row = int((point.y() - corner.top()) // size)
        col = int((point.x() - corner.left()) // size)
        return (row, col) if self._inside(row, col) else None

    def _inside(self, row: int, col: int) -> bool:
        rows, cols = self._grid.shape
        return 0 <= row < rows and 0 <= col < cols and bool(np.isfinite(self._grid[row, col]))

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        rows, cols = self._grid.shape
        return int(min(MAX_CELL, max(4.0, (width - 2) / cols)) * rows) + 2

    def sizeHint(self) -> QSize:  # noqa: N802
        rows, cols = self._grid.shape
        return QSize(min(MAX_CELL * cols, 260) + 2, min(MAX_CELL * rows, 260) + 2)

    # --- painting by mouse --------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        cell = self.cell_at(event.position())
        if not self._editable or cell is None or event.button() not in (Qt.MouseButton.LeftButton,
                                                                       Qt.MouseButton.RightButton):
            return
        self._painting = self._brush if event.button() == Qt.MouseButton.LeftButton else -self._brush
        self.stroke_started.emit()
        self._paint(cell)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        cell = self.cell_at(event.position())
        if cell != self._hover:
            self._hover = cell
            self.cell_hovered.emit(None if cell is None else (*cell, float(self._grid[cell])))
            self.update()
        if self._painting is not None and cell is not None:
            self._paint(cell)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._painting = None

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hover = None
        self.cell_hovered.emit(None)
        self.update()

    def _paint(self, cell: tuple[int, int]) -> None:
        if self._grid[cell] == np.float32(self._painting):
            return
        self._grid[cell] = self._painting
        self._level = max(self._level, abs(self._painting))
        self.update()
        self.painted.emit(self._grid.copy())

    # --- drawing ----------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        rows, cols = self._grid.shape
        values = np.nan_to_num(self._grid, nan=0.0)
        colours = colorize(values, -self._level, self._level, DIVERGING_COLORMAP)
        size = self.cell_size()
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, min(10.0, size / 5.2)))
        painter.setFont(font)
        for row in range(rows):
            for col in range(cols):
                rect = self.cell_rect(row, col)
                if not np.isfinite(self._grid[row, col]):
                    continue
                red, green, blue = (int(v) for v in colours[row, col])
                painter.fillRect(rect, QColor(red, green, blue))
                if size >= MIN_TEXT_CELL:
                    dark = (0.299 * red + 0.587 * green + 0.114 * blue) < 140
                    painter.setPen(QColor(255, 255, 255) if dark else QColor(20, 20, 24))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{self._grid[row, col]:+.2f}")
        painter.setPen(QPen(FRAME if self._editable else MUTED_TEXT, 1))
        for row in range(rows + 1):
            left, right = self.cell_rect(row, 0).topLeft(), self.cell_rect(row, cols - 1).topRight()
            painter.drawLine(left, right)
        for col in range(cols + 1):
            top, bottom = self.cell_rect(0, col).topLeft(), self.cell_rect(rows - 1, col).bottomLeft()
            painter.drawLine(top, bottom)
        if self._hover is not None and self._editable:
            painter.setPen(QPen(ACCENT, 2))
            painter.drawRect(self.cell_rect(*self._hover).adjusted(1, 1, -1, -1))
