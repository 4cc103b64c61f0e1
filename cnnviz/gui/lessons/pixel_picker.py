"""A `pick-pixel` question's answer: the learner clicks a place on their own drawing.

While such a question is asked, a see-through layer lies over the canvas: a click there does not draw, it
picks the model-input pixel under the cursor (mapped back through the inspector's public
`current_input_mapping()`, so it is a pixel of the 28×28 input the model sees) and marks it.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from cnnviz.gui.seam.targets import HIGHLIGHT_COLOUR

HINT_HEIGHT = 24


class PixelPicker(QWidget):
    """Lies over `inspector.canvas` when `activate`d; emits `picked(row, column)` of the model input."""

    picked = Signal(int, int)

    def __init__(self, inspector):
        canvas = inspector.views.canvas
        super().__init__(canvas)
        self._inspector = inspector
        self._canvas = canvas
        self._hint = ""
        self._pick: tuple[int, int] | None = None
        self.setObjectName("lesson_pixel_picker")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Click the pixel of your digit you choose (it does not draw)")
        canvas.installEventFilter(self)
        self.hide()

    def activate(self, hint: str) -> None:
        """Lie over the canvas and take clicks as picks; `hint` is shown along its top."""
        self._hint, self._pick = hint, None
        self.setGeometry(self._canvas.rect())
        self.show()
        self.raise_()
        self.update()

    def deactivate(self) -> None:
        self.hide()

    def is_active(self) -> bool:
        return self.isVisible()

    def pick(self) -> tuple[int, int] | None:
        return self._pick

    def pixel_at(self, position: QPointF) -> tuple[int, int] | None:
        """The model-input pixel (row, column) under `position` (canvas coordinates), None off the input."""
        mapping, model = self._inspector.current_input_mapping(), self._inspector.model()
        if mapping is None or model is None:
            return None
        target = self._canvas.target_rect()
        scale = self._canvas.canvas_size / target.width()
        source_row, source_col = (position.y() - target.y()) * scale, (position.x() - target.x()) * scale
        row = math.floor((source_row - mapping.origin[0]) / mapping.scale[0])
        col = math.floor((source_col - mapping.origin[1]) / mapping.scale[1])
        height, width = model.input_shape[:2]
        return (row, col) if 0 <= row < height and 0 <= col < width else None

    def pixel_rect(self, row: int, col: int) -> QRectF | None:
        """Where model-input pixel (row, col) lies on the canvas (its coordinates); None with no input."""
        mapping = self._inspector.current_input_mapping()
        if mapping is None:
            return None
        target = self._canvas.target_rect()
        scale = target.width() / self._canvas.canvas_size
        top, left, bottom, right = mapping.box_to_source(row, col, row + 1, col + 1)
        return QRectF(target.x() + left * scale, target.y() + top * scale, (right - left) * scale,
                      (bottom - top) * scale)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self._canvas and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self._canvas.rect())
        return False

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pixel = self.pixel_at(event.position())
        if pixel is None:
            self._inspector.status_message.emit("That is outside the 28 × 28 input: click on the digit's square.")
            return
        self._pick = pixel
        self.update()
        self.picked.emit(*pixel)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._hint:
            band = QRectF(0, 0, self.width(), HINT_HEIGHT)
            painter.fillRect(band, QColor(0, 0, 0, 170))
            font = QFont(self.font())
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(HIGHLIGHT_COLOUR)
            painter.drawText(band.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             painter.fontMetrics().elidedText(self._hint, Qt.TextElideMode.ElideRight,
                                                              int(band.width() - 12)))
        cell = None if self._pick is None else self.pixel_rect(*self._pick)
        if cell is not None:
            painter.setPen(QPen(HIGHLIGHT_COLOUR, 2))
            painter.setBrush(QColor(255, 140, 0, 90))
            painter.drawRect(cell)
            centre = cell.center()
            reach = max(cell.width() * 1.5, 8.0)
            painter.drawLine(QPointF(centre.x() - reach, centre.y()), QPointF(cell.left(), centre.y()))
            painter.drawLine(QPointF(cell.right(), centre.y()), QPointF(centre.x() + reach, centre.y()))
            painter.drawLine(QPointF(centre.x(), centre.y() - reach), QPointF(centre.x(), cell.top()))
            painter.drawLine(QPointF(centre.x(), cell.bottom()), QPointF(centre.x(), centre.y() + reach))
