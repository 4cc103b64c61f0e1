"""The 28×28 image the model actually sees, drawn pixel by pixel beside the canvas."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.core.preprocess import DIGIT_BOX, FIELD_CENTRE, MODEL_SIZE
from cnnviz.gui.view_colours import ACCENT, FRAME, MUTED_TEXT


class ModelInputView(QWidget):
    """Shows the (28, 28) model input enlarged with crisp pixels, the 20×20 box and the field centre.

    Hovering a pixel shows its position and value as a tooltip.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._heat: QImage | None = None   # a translucent heat overlay (Grad-CAM), RGBA
        self.setMinimumSize(84, 84)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMouseTracking(True)
        self.setToolTip("What the model sees: your digit scaled into 20×20 and centred by mass in 28×28.")

    def image(self) -> np.ndarray | None:
        return self._image

    def set_image(self, image: np.ndarray | None) -> None:
        """Show `image` ((28, 28) floats in [0, 1]) or an empty field when None."""
        self._image = None if image is None else np.asarray(image, np.float32)
        if self._image is None:
            self._qimage = None
        else:
            grey = np.ascontiguousarray(np.round(np.clip(self._image, 0, 1) * 255).astype(np.uint8))
            self._qimage = QImage(grey.data, MODEL_SIZE, MODEL_SIZE, MODEL_SIZE,
                                  QImage.Format.Format_Grayscale8).copy()
        self.update()

    def set_heat_overlay(self, heat: QImage | None) -> None:
        """Lay a translucent heat map (RGBA, any size: it covers the whole input) over the input; None: none."""
        self._heat = heat
        self.update()

    def heat_overlay(self) -> QImage | None:
        return self._heat

    def _paint_heat(self, painter: QPainter, target: QRectF) -> None:
        """The heat overlay, smoothly scaled over the input's pixels."""
        if self._heat is None or self._image is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self._heat)
        painter.restore()

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    def _target_rect(self) -> QRectF:
        side = min(self.width(), self.height()) - 1
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        target = self._target_rect()
        painter.fillRect(target, QColor(0, 0, 0))
        if self._qimage is not None:
            painter.drawImage(target, self._qimage)  # no smoothing: one square per pixel
        self._paint_heat(painter, target)
        pixel = target.width() / MODEL_SIZE
        margin = (MODEL_SIZE - DIGIT_BOX) / 2 * pixel
        painter.setPen(QPen(QColor(255, 170, 40, 90), 1, Qt.PenStyle.DashLine))
        painter.drawRect(target.adjusted(margin, margin, -margin, -margin))
        if self._image is None:
            painter.setPen(MUTED_TEXT)
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter, "28×28\ninput")
        else:  # where MNIST puts the centre of mass
            centre = QPointF(target.x() + (FIELD_CENTRE + 0.5) * pixel, target.y() + (FIELD_CENTRE + 0.5) * pixel)
            painter.setPen(QPen(ACCENT, 1))
            painter.drawLine(centre + QPointF(-4, 0), centre + QPointF(4, 0))
            painter.drawLine(centre + QPointF(0, -4), centre + QPointF(0, 4))
        painter.setPen(QPen(FRAME, 1))
        painter.drawRect(target)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        """Tooltip with the pixel under the cursor."""
        target = self._target_rect()
        col = int((event.position().x() - target.x()) / target.width() * MODEL_SIZE)
        row = int((event.position().y() - target.y()) / target.height() * MODEL_SIZE)
        if self._image is not None and 0 <= row < MODEL_SIZE and 0 <= col < MODEL_SIZE:
            self.setToolTip(f"pixel x {col}, y {row}: {self._image[row, col]:.3f}")
        super().mouseMoveEvent(event)
