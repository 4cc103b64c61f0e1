"""A small picture with crisp pixels and a caption: a digit, an attacked digit, a perturbation in
diverging colours, a saliency map. `pixels_of` turns arrays into what it shows."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.core.colormaps import colorize
from cnnviz.gui.widgets.model_input_view import display_pixels, to_qimage
from cnnviz.gui.widgets.view_colours import FRAME, MUTED_TEXT, PANEL, text_colour

CAPTION_LINES = 2


def pixels_of(array: np.ndarray, colormap: str | None = None, levels: tuple[float, float] | None = None,
              scale: float = 1.0) -> np.ndarray:
    """(H, W[, 3]) uint8 to show `array`: grey (or RGB) pixels with white = `scale` when `colormap` is None,
    else the channel mean through `colormap` between `levels` (default: its own min and max)."""
    array = np.asarray(array, np.float32)
    if colormap is None:
        return display_pixels(array, scale)
    if array.ndim == 3:
        array = array.mean(axis=2)
    finite = array[np.isfinite(array)]
    if levels is None:
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        levels = (low, high if high > low else low + 1.0)
    return colorize(np.nan_to_num(array), levels[0], levels[1], colormap)


class ImageTile(QWidget):
    """Pixels drawn as big squares (no smoothing), a caption under them; clickable."""

    clicked = Signal()

    def __init__(self, caption: str = "", parent: QWidget | None = None, size: int = 96):
        super().__init__(parent)
        self._image: QImage | None = None
        self._caption = caption
        self._empty_text = ""
        self._size = size
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumSize(48, 48 + self._caption_height())

    def set_pixels(self, pixels: np.ndarray | None, caption: str | None = None) -> None:
        """Show (H, W[, 3]) uint8 `pixels` (None: nothing) and, if given, a new caption."""
        self._image = None if pixels is None else to_qimage(pixels)
        if caption is not None:
            self._caption = caption
        self.update()

    def set_empty_text(self, text: str) -> None:
        """What the tile says while it has no picture."""
        self._empty_text = text
        self.update()

    def caption(self) -> str:
        return self._caption

    def has_image(self) -> bool:
        return self._image is not None

    def image_rect(self) -> QRectF:
        """Where the picture is drawn (square cells, centred above the caption)."""
        width, height = self.width(), self.height() - self._caption_height()
        columns, rows = (self._image.width(), self._image.height()) if self._image is not None else (1, 1)
        side = max(1.0, min(width / columns, height / rows))
        return QRectF((width - side * columns) / 2, (height - side * rows) / 2, side * columns, side * rows)

    def _caption_height(self) -> int:
        return self.fontMetrics().lineSpacing() * CAPTION_LINES + 2

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return min(width, self._size * 2) + self._caption_height()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._size, self._size + self._caption_height())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        target = self.image_rect()
        if self._image is None:
            painter.fillRect(target, PANEL)
            painter.setPen(MUTED_TEXT)
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._empty_text)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(target, self._image)
        painter.setPen(FRAME)
        painter.drawRect(target.adjusted(0, 0, -1, -1))
        painter.setPen(text_colour(self))
        caption = QRectF(0, self.height() - self._caption_height(), self.width(), self._caption_height())
        painter.drawText(caption, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                         | Qt.TextFlag.TextWordWrap, self._caption)
