"""The image the model actually sees, drawn pixel by pixel beside the canvas: grey or in colour.

For digit models it is the 28×28 MNIST-style input, with the 20×20 box the digit is scaled into
and the centre its mass is moved to; other models show their own input size (e.g. 32×32 RGB),
with the right aspect ratio and no digit guides.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.core.preprocess import DIGIT_BOX, FIELD_CENTRE, MODEL_SIZE
from cnnviz.gui.widgets.view_colours import ACCENT, FIELD, FRAME, MUTED_TEXT

DIGIT_TOOLTIP = "What the model sees: your digit scaled into 20×20 and centred by mass in 28×28."


def display_pixels(image: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """A model input ((H, W), (H, W, 1) or (H, W, 3), white = `scale`) as (H, W) or (H, W, 3) uint8."""
    image = np.asarray(image, np.float32)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    return np.ascontiguousarray(np.round(np.clip(image / np.float32(scale), 0, 1) * 255).astype(np.uint8))


def to_qimage(pixels: np.ndarray) -> QImage:
    """(H, W) or (H, W, 3) uint8 -> an owned Grayscale8 or RGB888 QImage."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    kind = QImage.Format.Format_RGB888 if pixels.ndim == 3 else QImage.Format.Format_Grayscale8
    return QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0], kind).copy()


class ModelInputView(QWidget):
    """Shows the model input enlarged with crisp pixels (in colour for RGB models); for digit models
    also the 20×20 box and the field centre. Hovering a pixel shows its position and value."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._heat: QImage | None = None   # a translucent heat overlay (Grad-CAM), RGBA
        self._shape: tuple[int, ...] = (MODEL_SIZE, MODEL_SIZE, 1)
        self._scale = 1.0
        self._digit_guides = True
        self._unit_box: tuple[float, float, float, float] | None = None   # a unit's receptive field
        self.setMinimumSize(84, 84)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMouseTracking(True)
        self.setToolTip(DIGIT_TOOLTIP)

    def image(self) -> np.ndarray | None:
        return self._image

    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model input shown."""
        return int(self._shape[0]), int(self._shape[1])

    def set_input_kind(self, shape: tuple[int, ...], scale: float = 1.0, digit_guides: bool = True) -> None:
        """The model's input (H, W, C), the value of white in it, and whether it is an MNIST-style digit
        (which gets the 20×20 box and centre guides)."""
        self._shape = tuple(int(d) for d in shape)
        self._scale = float(scale)
        self._digit_guides = bool(digit_guides)
        height, width = self.input_size()
        colour = "RGB" if len(self._shape) == 3 and self._shape[2] == 3 else "grey"
        self.setToolTip(DIGIT_TOOLTIP if digit_guides else
                        f"What the model sees: {height}×{width} {colour} pixels, the picture resized as it is.")
        self.update()

    def set_image(self, image: np.ndarray | None) -> None:
        """Show `image` (the model input: (H, W) grey or (H, W, 3) RGB, white = the model's scale), or
        an empty field when None."""
        self._image = None if image is None else np.asarray(image, np.float32)
        self._qimage = None if self._image is None else to_qimage(display_pixels(self._image, self._scale))
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

    def set_unit_box(self, box: tuple[float, float, float, float] | None) -> None:
        """Outline a unit's receptive field: (top, left, bottom, right) in input pixels; None: none."""
        if box != self._unit_box:
            self._unit_box = box
            self.update()

    def unit_box(self) -> tuple[float, float, float, float] | None:
        return self._unit_box

    def _paint_unit_box(self, painter: QPainter, target: QRectF) -> None:
        """The focused unit's receptive field, on pixel edges."""
        if self._unit_box is None:
            return
        top, left, bottom, right = self._unit_box
        height, width = self.input_size()
        row, col = target.height() / height, target.width() / width
        painter.save()
        painter.setPen(QPen(FIELD, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(target.x() + left * col, target.y() + top * row, (right - left) * col,
                                (bottom - top) * row))
        painter.restore()

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    def target_rect(self) -> QRectF:
        """Where the input's pixels are drawn: the largest centred rectangle of its aspect ratio."""
        height, width = self.input_size()
        room = min(self.width() / width, self.height() / height)
        w, h = width * room - 1, height * room - 1
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        target = self.target_rect()
        painter.fillRect(target, QColor(0, 0, 0))
        if self._qimage is not None:
            painter.drawImage(target, self._qimage)  # no smoothing: one square per pixel
        self._paint_heat(painter, target)
        height, width = self.input_size()
        if self._digit_guides:
            pixel = target.width() / MODEL_SIZE
            margin = (MODEL_SIZE - DIGIT_BOX) / 2 * pixel
            painter.setPen(QPen(QColor(255, 170, 40, 90), 1, Qt.PenStyle.DashLine))
            painter.drawRect(target.adjusted(margin, margin, -margin, -margin))
        if self._image is None:
            painter.setPen(MUTED_TEXT)
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter, f"{height}×{width}\ninput")
        elif self._digit_guides:  # where MNIST puts the centre of mass
            pixel = target.width() / MODEL_SIZE
            centre = QPointF(target.x() + (FIELD_CENTRE + 0.5) * pixel, target.y() + (FIELD_CENTRE + 0.5) * pixel)
            painter.setPen(QPen(ACCENT, 1))
            painter.drawLine(centre + QPointF(-4, 0), centre + QPointF(4, 0))
            painter.drawLine(centre + QPointF(0, -4), centre + QPointF(0, 4))
        self._paint_unit_box(painter, target)
        painter.setPen(QPen(FRAME, 1))
        painter.drawRect(target)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        """Tooltip with the pixel under the cursor (its grey level, or red, green, blue)."""
        target = self.target_rect()
        height, width = self.input_size()
        col = int((event.position().x() - target.x()) / target.width() * width)
        row = int((event.position().y() - target.y()) / target.height() * height)
        if self._image is not None and 0 <= row < self._image.shape[0] and 0 <= col < self._image.shape[1]:
            value = np.atleast_1d(self._image[row, col])
            text = f"{value[0]:.3f}" if value.size == 1 else "RGB " + ", ".join(f"{v:.3g}" for v in value)
            self.setToolTip(f"pixel x {col}, y {row}: {text}")
        super().mouseMoveEvent(event)
