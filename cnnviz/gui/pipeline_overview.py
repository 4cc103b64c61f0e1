"""The whole network drawn to scale, left to right, so the maps visibly shrink layer by layer.

Conv and pool blocks are squares whose side is proportional to the map size (28 → 26 → 13 → 11 →
5 → 3), with a stack behind them hinting at the number of channels; the front face shows the
layer's most active map. Flat layers are bars. Hover a block for what it does to the size and how
many parameters it has; click a block to show that layer.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from cnnviz.core.colormaps import DEFAULT_COLORMAP, lookup_table, to_unit
from cnnviz.core.inspection import LayerDescription, describe_network
from cnnviz.gui.view_colours import ACCENT, ACCENT_SOFT, FRAME, MUTED_TEXT, text_colour

_LABEL_HEIGHT = 44
_MAX_STACK = 5


class PipelineOverview(QWidget):
    """Clickable overview of every layer with its output shape."""

    layer_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layers: list[LayerDescription] = describe_network(None)
        self._faces: dict[int, QImage] = {}
        self._selected = 0
        self._hovered: int | None = None
        self._lookup_table = lookup_table(DEFAULT_COLORMAP)
        self._block_rects: list[QRectF] = []
        self.setMouseTracking(True)
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(150)

    def layers(self) -> list[LayerDescription]:
        return list(self._layers)

    def set_layers(self, layers: list[LayerDescription]) -> None:
        """Describe a new model (the input first, then one entry per layer)."""
        self._layers = layers
        self._faces = {}
        self._block_rects = []
        self.update()

    def set_selected(self, layer: int) -> None:
        self._selected = layer
        self.update()

    def set_lookup_table(self, table: np.ndarray) -> None:
        self._lookup_table = table

    def set_activity(self, model_input: np.ndarray | None, outputs: list[np.ndarray] | None) -> None:
        """Front faces: the input itself and each spatial layer's most active map (None: blank)."""
        self._faces = {}
        if model_input is not None:
            grey = np.repeat(np.round(np.clip(model_input, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
            self._faces[-1] = _to_qimage(grey)
        for index, output in enumerate(outputs or []):
            if output.ndim == 3:
                strongest = output[:, :, int(np.argmax(output.sum(axis=(0, 1))))]
                low, high = float(strongest.min()), float(strongest.max())
                indices = np.round(to_unit(strongest, low, max(high, low + 1e-6)) * 255).astype(np.uint8)
                self._faces[index] = _to_qimage(self._lookup_table[indices])
        self.update()

    # --- geometry ------------------------------------------------------------------------------
    def _layout(self) -> list[tuple[QRectF, QRectF, float, int]]:
        """Per block: (slot, front face, stack step, stack count), scaled to fit the widget."""
        slot_width = self.width() / max(len(self._layers), 1)
        area_height = self.height() - _LABEL_HEIGHT - 10
        biggest = max((layer.shape[0] for layer in self._layers if layer.is_spatial), default=28)
        unit = min(area_height - 14, slot_width - 30) / biggest
        blocks = []
        for position, layer in enumerate(self._layers):
            slot = QRectF(position * slot_width, 0, slot_width, self.height())
            centre_x = slot.center().x()
            base_y = 8 + area_height / 2 + 6
            if layer.is_spatial:
                side = layer.shape[0] * unit
                count = min(_MAX_STACK, max(1, int(round(math.log2(layer.shape[2]))) - 1)) if layer.shape[2] > 1 else 1
                step = 3.0 if count > 1 else 0.0
                face = QRectF(centre_x - side / 2 - step * (count - 1) / 2, base_y - side / 2 + step * (count - 1) / 2,
                              side, side)
            else:
                length = (area_height - 10) * (0.2 + 0.8 * math.log(max(layer.shape[0], 2)) / math.log(576))
                face = QRectF(centre_x - 5, base_y - length / 2, 10, length)
                step, count = 0.0, 1
            blocks.append((slot, face, step, count))
        return blocks

    # --- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        blocks = self._layout()
        self._block_rects = [slot for slot, *_ in blocks]
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        for position, (layer, (slot, face, step, count)) in enumerate(zip(self._layers, blocks)):
            selected = layer.index == self._selected and layer.index >= 0
            if selected or (self._hovered == position and layer.index >= 0):
                painter.setPen(QPen(ACCENT, 1.5) if selected else Qt.PenStyle.NoPen)
                painter.setBrush(ACCENT_SOFT if selected else QColor(128, 128, 128, 30))
                painter.drawRoundedRect(slot.adjusted(3, 2, -3, -2), 6, 6)
            if position + 1 < len(blocks):
                self._paint_arrow(painter, face, blocks[position + 1][1], step, count)
            self._paint_block(painter, layer, face, step, count, selected)
            self._paint_labels(painter, layer, slot, small, selected)

    def _paint_block(self, painter: QPainter, layer: LayerDescription, face: QRectF, step: float, count: int,
                     selected: bool) -> None:
        """A stack of squares (spatial) or a bar (flat), the front face filled with real values."""
        outline = QPen(ACCENT if selected else FRAME, 1)
        for k in range(count - 1, 0, -1):
            painter.setPen(outline)
            painter.setBrush(QColor(45, 48, 58))
            painter.drawRect(face.translated(k * step, -k * step))
        painter.setPen(outline)
        image = self._faces.get(layer.index)
        if image is not None:
            painter.drawImage(face, image)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        else:
            painter.setBrush(QColor(60, 64, 78) if layer.is_spatial else QColor(70, 90, 130))
        painter.drawRect(face)

    def _paint_arrow(self, painter: QPainter, face: QRectF, next_face: QRectF, step: float, count: int) -> None:
        start = QPointF(face.right() + step * (count - 1) + 4, face.center().y() - step * (count - 1) / 2)
        end = QPointF(next_face.left() - 5, start.y())
        if end.x() - start.x() < 6:
            return
        painter.setPen(QPen(MUTED_TEXT, 1))
        painter.drawLine(start, end)
        head = QPainterPath(end)
        head.lineTo(end + QPointF(-5, -3))
        head.lineTo(end + QPointF(-5, 3))
        head.closeSubpath()
        painter.fillPath(head, MUTED_TEXT)

    def _paint_labels(self, painter: QPainter, layer: LayerDescription, slot: QRectF, small: QFont,
                      selected: bool) -> None:
        """Name, output shape and kind under the block."""
        labels = QRectF(slot.x() + 2, self.height() - _LABEL_HEIGHT - 4, slot.width() - 4, _LABEL_HEIGHT)
        painter.setFont(self.font())
        painter.setPen(ACCENT if selected else text_colour(self))
        painter.drawText(labels, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, layer.shape_text)
        painter.setFont(small)
        painter.setPen(MUTED_TEXT)
        painter.drawText(labels.adjusted(0, 16, 0, 0), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         _short_kind(layer))

    def block_rect(self, layer_index: int) -> QRectF:
        """Where layer `layer_index` (-1: the input) is drawn, in widget coordinates."""
        position = next(i for i, layer in enumerate(self._layers) if layer.index == layer_index)
        return self._layout()[position][0]

    # --- mouse ---------------------------------------------------------------------------------
    def _block_at(self, position: QPointF) -> int | None:
        for index, rect in enumerate(self._block_rects or [slot for slot, *_ in self._layout()]):
            if rect.contains(position):
                return index
        return None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        hovered = self._block_at(event.position())
        if hovered != self._hovered:
            self._hovered = hovered
            self.update()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hovered = None
        self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        position = self._block_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and position is not None:
            index = self._layers[position].index
            if index >= 0:
                self.layer_clicked.emit(index)

    def event(self, event) -> bool:
        """Tooltips: the layer's explanation for learners."""
        if event.type() == event.Type.ToolTip:
            position = self._block_at(QPointF(event.pos()))
            if position is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), tooltip_html(self._layers[position]), self)
            return True
        return super().event(event)


def tooltip_html(layer: LayerDescription) -> str:
    """Rich-text tooltip: name, shape, parameter count and the explanation."""
    params = f"{layer.num_params:,} parameters" if layer.num_params else "no parameters"
    return (f"<p style='white-space:pre'><b>{layer.name}</b> — {layer.summary}<br>"
            f"output {layer.shape_text} · {params}</p><p>{layer.explanation}</p>")


def _short_kind(layer: LayerDescription) -> str:
    """A few words under the block: "3×3 conv", "2×2 max-pool", "dense relu"…"""
    if layer.kind in ("Conv2D", "MaxPooling2D"):
        return layer.summary.split(",")[0]
    if layer.kind == "Dense":
        return "dense " + layer.summary.rsplit(", ", 1)[-1]
    return {"Input": "input", "Flatten": "flatten"}.get(layer.kind, layer.kind)


def _to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    return QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888).copy()
