"""A horizontal colour bar: the colormap from the low to the high display level, with both values."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.core.colormaps import DEFAULT_COLORMAP, lookup_table
from cnnviz.gui.widgets.view_colours import FRAME, MUTED_TEXT, text_colour


class ColorBar(QWidget):
    """Gradient of the current colormap labelled with the value range it stands for."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._levels: tuple[float, float] | None = None
        self._caption = ""
        self._gradient = QImage()
        self.set_colormap(DEFAULT_COLORMAP)
        self.setFixedHeight(38)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_colormap(self, name: str) -> None:
        rgb = np.ascontiguousarray(lookup_table(name)[None, :, :])
        self._gradient = QImage(rgb.data, 256, 1, 256 * 3, QImage.Format.Format_RGB888).copy()
        self.update()

    def set_levels(self, levels: tuple[float, float] | None, caption: str = "") -> None:
        """The values at the two ends (None hides the numbers) and what they are, e.g. "per map"."""
        self._levels = None if levels is None else (float(levels[0]), float(levels[1]))
        self._caption = caption
        self.update()

    def levels(self) -> tuple[float, float] | None:
        return self._levels

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        bar = QRectF(0, 2, self.width() - 1, 14)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(bar, self._gradient)
        painter.setPen(FRAME)
        painter.drawRect(bar)
        text = QRectF(0, 18, self.width(), 18)
        painter.setPen(text_colour(self))
        if self._levels is not None:
            painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, _format(self._levels[0]))
            painter.drawText(text, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             _format(self._levels[1]))
        painter.setPen(MUTED_TEXT)
        painter.drawText(text, Qt.AlignmentFlag.AlignCenter, self._caption)


def _format(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
