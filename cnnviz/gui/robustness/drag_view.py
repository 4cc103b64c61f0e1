"""The 28×28 input you can drag: the moved digit, pixel by pixel, with where it was drawn outlined.

A drag moves the digit by whole input pixels (the grab point stays under the cursor); the arrow keys move
it one pixel when the view has the keyboard focus. It only says where the user wants the digit (`dragged`):
the panel moves it.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QWidget

from cnnviz.gui.widgets.model_input_view import ModelInputView
from cnnviz.gui.widgets.view_colours import ACCENT

ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
TIP = ("Drag the digit (or use the arrow keys here) to move it by whole pixels: the maps and the prediction "
       "follow. The dashed box is where it was drawn.")


class DragInputView(ModelInputView):
    """A ModelInputView the user drags; `dragged(dx, dy)` is the whole shift asked for (from where it was drawn)."""

    dragged = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._shift = (0, 0)
        self._home: tuple[int, int, int, int] | None = None   # the drawn digit's ink box (top, left, bottom, right)
        self._grab: tuple[QPointF, tuple[int, int]] | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setToolTip(TIP)

    def set_shift(self, dx: int, dy: int) -> None:
        """The shift shown now (the outline of where the digit was drawn stays put)."""
        self._shift = (int(dx), int(dy))
        self.update()

    def set_home(self, box: tuple[int, int, int, int] | None) -> None:
        """The drawn digit's ink box in input pixels (top, left, bottom, right: exclusive), or None."""
        self._home = box
        self.update()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (a fixed square here: the panel's height does not follow)
        return False

    def pixel_size(self) -> float:
        return self.target_rect().width() / max(self.input_size()[1], 1)

    # --- the mouse and the keys -------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.image() is not None:
            self._grab = (event.position(), self._shift)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            self.setFocus()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._grab is not None and event.buttons() & Qt.MouseButton.LeftButton:
            start, (dx, dy) = self._grab
            pixel = max(self.pixel_size(), 1e-6)
            moved = event.position() - start
            wanted = (dx + round(moved.x() / pixel), dy + round(moved.y() / pixel))
            if wanted != self._shift:
                self.dragged.emit(*wanted)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._grab = None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        step = ARROWS.get(event.key())
        if step is None or self.image() is None:
            super().keyPressEvent(event)
            return
        self.dragged.emit(self._shift[0] + step[0], self._shift[1] + step[1])

    # --- painting ----------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self._home is None or self.image() is None:
            return
        top, left, bottom, right = self._home
        target, pixel = self.target_rect(), self.pixel_size()
        painter = QPainter(self)
        painter.setPen(QPen(ACCENT, 1, Qt.PenStyle.DashLine))
        painter.drawRect(QRectF(target.x() + left * pixel, target.y() + top * pixel, (right - left) * pixel,
                                (bottom - top) * pixel))
        painter.end()
