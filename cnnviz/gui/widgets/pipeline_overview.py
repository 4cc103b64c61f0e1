"""The whole network drawn to scale, left to right, so the maps visibly shrink layer by layer.

The blocks follow the model's graph: for a plain stack every layer in order; for a graph with
branches (a residual block, an Inception-style split) its main path, the longest chain from the
input to the output (`cnnviz.core.network.main_path`), with each branch drawn as an arc from
where it leaves the main path to the merge (Add, Concatenate) it feeds, named after its layers
("shortcut" when it has none). Click an arc to show its first layer.

Spatial blocks are squares whose side is proportional to the map size (28 → 26 → 13 → 11 → 5 →
3), with a stack behind them hinting at the number of channels; the front face shows the layer's
most active map (the input in colour for RGB models). Flat layers are bars. Hover a block for
what it does to the size and how many parameters it has; click a block to show that layer. A
network too long for the window scrolls sideways (`in_scroll_area`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QToolTip, QWidget

from cnnviz.core.colormaps import DEFAULT_COLORMAP, lookup_table, to_unit
from cnnviz.core.inspection import LayerDescription, describe_network
from cnnviz.core.network import main_path
from cnnviz.gui.widgets.model_input_view import display_pixels, to_qimage
from cnnviz.gui.widgets.view_colours import ACCENT, ACCENT_SOFT, FIELD, FRAME, MUTED_TEXT, text_colour

_LABEL_HEIGHT = 44
_MAX_STACK = 5
HEIGHT = 150
MIN_SLOT_WIDTH = 62   # narrower and the labels under the blocks collide: the overview scrolls instead
_ARC_LEVEL_HEIGHT = 13


@dataclass(frozen=True)
class BranchArc:
    """A branch off the main path: from block `start` to block `end` (positions among the blocks),
    through `layers` (layer indices, maybe none: a shortcut)."""

    start: int
    end: int
    layers: tuple[int, ...]
    label: str
    level: int = 0          # arcs over the same blocks are stacked


class PipelineOverview(QWidget):
    """Clickable overview of every layer on the main path with its output shape, branches as arcs."""

    layer_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layers: list[LayerDescription] = describe_network(None)
        self._blocks: list[LayerDescription] = list(self._layers)   # the ones drawn as blocks, in order
        self._arcs: list[BranchArc] = []
        self._faces: dict[int, QImage] = {}
        self._selected = 0
        self._hovered: int | None = None          # layer index under the mouse
        self._lookup_table = lookup_table(DEFAULT_COLORMAP)
        self._input_scale = 1.0
        self._scroll_area: QScrollArea | None = None
        self._unit_marks: dict[int, tuple[int, int, int, int]] = {}   # layer index (-1 input) -> units
        self.setMouseTracking(True)
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(HEIGHT)

    def layers(self) -> list[LayerDescription]:
        """Every layer's description (the input first), branch layers included."""
        return list(self._layers)

    def blocks(self) -> list[LayerDescription]:
        """The layers drawn as blocks: the input, then the main path."""
        return list(self._blocks)

    def arcs(self) -> list[BranchArc]:
        return list(self._arcs)

    def set_layers(self, layers: list[LayerDescription], specs=None, input_scale: float = 1.0) -> None:
        """Describe a new model (the input first, then one entry per layer); `specs` (its LayerSpecs,
        with their `inputs`) give the graph: without them the layers are a plain stack."""
        self._layers = layers
        self._input_scale = float(input_scale)
        self._blocks, self._arcs = _path_and_arcs(layers, list(specs) if specs else None)
        self._faces = {}
        self.setMinimumWidth(len(self._blocks) * MIN_SLOT_WIDTH)
        self.update()

    def set_selected(self, layer: int) -> None:
        self._selected = layer
        self.update()
        if self._scroll_area is not None and self.width() > 0:
            rect = self.block_rect(layer)
            self._scroll_area.ensureVisible(int(rect.center().x()), int(rect.center().y()),
                                            int(rect.width() / 2) + 10, 0)

    def set_lookup_table(self, table: np.ndarray) -> None:
        self._lookup_table = table

    def set_unit_marks(self, marks: dict[int, tuple[int, int, int, int]]) -> None:
        """Outline units on the front faces: layer index (-1: the input) -> (row0, col0, row1, col1),
        ends exclusive: a focused unit's receptive field and the units feeding it. {}: none."""
        if marks == self._unit_marks:
            return
        changed = {index for index in set(marks) | set(self._unit_marks)
                   if marks.get(index) != self._unit_marks.get(index)}
        self._unit_marks = dict(marks)
        self._update_faces(changed)   # only those faces: a hover repaints a few squares, not the whole overview

    def _update_faces(self, indices) -> None:
        """Repaint the front faces of layers `indices` (-1: the input) and nothing else."""
        faces = {layer.index: face for layer, (_, face, _, _) in zip(self._blocks, self._layout())}
        for index in indices:
            if index in faces:
                self.update(faces[index].toAlignedRect().adjusted(-2, -2, 2, 2))

    def unit_marks(self) -> dict[int, tuple[int, int, int, int]]:
        return dict(self._unit_marks)

    def set_activity(self, model_input: np.ndarray | None, outputs: list[np.ndarray] | None) -> None:
        """Front faces: the input itself (grey or colour) and each spatial layer's most active map
        (None: blank). Only the faces are repainted (a stroke changes them at every move, not the rest)."""
        before, self._faces = set(self._faces), {}
        if model_input is not None:
            pixels = display_pixels(model_input, self._input_scale)
            self._faces[-1] = to_qimage(pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2))
        for index, output in enumerate(outputs or []):
            if output.ndim == 3:
                strongest = output[:, :, int(np.argmax(output.sum(axis=(0, 1))))]
                low, high = float(strongest.min()), float(strongest.max())
                indices = np.round(to_unit(strongest, low, max(high, low + 1e-6)) * 255).astype(np.uint8)
                self._faces[index] = to_qimage(self._lookup_table[indices])
        self._update_faces(before | set(self._faces))

    def in_scroll_area(self) -> QScrollArea:
        """This overview inside a frameless area that scrolls sideways when the network is too long to
        fit (the area is what the inspector lays out)."""
        if self._scroll_area is None:
            self._scroll_area = _PipelineScroll(self)
        return self._scroll_area

    # --- geometry ------------------------------------------------------------------------------
    def _arc_band(self) -> float:
        """Height reserved above the blocks for the branch arcs."""
        return 0.0 if not self._arcs else 8 + _ARC_LEVEL_HEIGHT * (1 + max(arc.level for arc in self._arcs))

    def _layout(self) -> list[tuple[QRectF, QRectF, float, int]]:
        """Per block: (slot, front face, stack step, stack count), scaled to fit the widget."""
        slot_width = self.width() / max(len(self._blocks), 1)
        band = self._arc_band()
        area_height = self.height() - _LABEL_HEIGHT - 10 - band
        biggest = max((layer.shape[0] for layer in self._blocks if layer.is_spatial), default=28)
        unit = max(min(area_height - 14, slot_width - 24), 6) / biggest
        blocks = []
        for position, layer in enumerate(self._blocks):
            slot = QRectF(position * slot_width, 0, slot_width, self.height())
            centre_x = slot.center().x()
            base_y = band + 8 + area_height / 2 + 6
            if layer.is_spatial:
                side = max(layer.shape[0] * unit, 2.0)
                channels = layer.shape[2]
                count = min(_MAX_STACK, max(1, int(round(math.log2(channels))) - 1)) if channels > 1 else 1
                step = 3.0 if count > 1 else 0.0
                face = QRectF(centre_x - side / 2 - step * (count - 1) / 2, base_y - side / 2 + step * (count - 1) / 2,
                              side, side)
            else:
                size = layer.shape[0] if layer.shape else 1
                length = (area_height - 10) * (0.2 + 0.8 * min(1.0, math.log(max(size, 2)) / math.log(576)))
                face = QRectF(centre_x - 5, base_y - length / 2, 10, length)
                step, count = 0.0, 1
            blocks.append((slot, face, step, count))
        return blocks

    def _arc_geometry(self, arc: BranchArc, blocks) -> tuple[QPainterPath, QRectF]:
        """The arc's path (up from the start block, across, down into the merge) and its label's box."""
        start_face, end_face = blocks[arc.start][1], blocks[arc.end][1]
        top = 4 + (max(arc.level for arc in self._arcs) - arc.level) * _ARC_LEVEL_HEIGHT + _ARC_LEVEL_HEIGHT / 2
        x0, x1 = start_face.center().x() + 4, end_face.center().x() - 4
        path = QPainterPath(QPointF(x0, start_face.top() - 2))
        path.lineTo(x0, top + 4)
        path.quadTo(x0, top, x0 + 4, top)
        path.lineTo(x1 - 4, top)
        path.quadTo(x1, top, x1, top + 4)
        path.lineTo(x1, end_face.top() - 2)
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.8)
        metrics = QFontMetrics(small)
        text = metrics.elidedText(arc.label, Qt.TextElideMode.ElideRight, int(max(x1 - x0 - 8, 30)))
        width = metrics.horizontalAdvance(text) + 8
        label = QRectF((x0 + x1) / 2 - width / 2, top - metrics.height() / 2, width, metrics.height())
        return path, label

    # --- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        """Paint what lies in the region to repaint: a stroke's new faces do not lay out every label again."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        region = event.region()
        blocks = self._layout()
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        for position, (layer, (slot, face, step, count)) in enumerate(zip(self._blocks, blocks)):
            if not region.intersects(slot.toAlignedRect()):
                continue
            selected = layer.index == self._selected and layer.index >= 0
            if selected or (self._hovered == layer.index and layer.index >= 0):
                painter.setPen(QPen(ACCENT, 1.5) if selected else Qt.PenStyle.NoPen)
                painter.setBrush(ACCENT_SOFT if selected else QColor(128, 128, 128, 30))
                painter.drawRoundedRect(slot.adjusted(3, 2, -3, -2), 6, 6)
            if position + 1 < len(blocks):
                self._paint_arrow(painter, face, blocks[position + 1][1], step, count)
            self._paint_block(painter, layer, face, step, count, selected)
            if region.intersects(self._labels_rect(slot).toAlignedRect()):
                self._paint_labels(painter, layer, slot, small, selected)
        for arc in self._arcs:
            self._paint_arc(painter, arc, blocks)

    def _paint_arc(self, painter: QPainter, arc: BranchArc, blocks) -> None:
        """A branch: a line over the blocks it skips, its layers named on it."""
        path, label = self._arc_geometry(arc, blocks)
        active = self._selected in arc.layers
        hovered = arc.layers and self._hovered in arc.layers
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(ACCENT if active else MUTED_TEXT, 1.5 if active else 1))
        painter.drawPath(path)
        end = path.currentPosition()
        head = QPainterPath(end)
        head.lineTo(end + QPointF(-3, -5))
        head.lineTo(end + QPointF(3, -5))
        head.closeSubpath()
        painter.fillPath(head, ACCENT if active else MUTED_TEXT)
        painter.setPen(QPen(ACCENT if active or hovered else FRAME, 1))
        painter.setBrush(ACCENT_SOFT if active else self.palette().window())
        painter.drawRoundedRect(label, 4, 4)
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.8)
        painter.setFont(small)
        painter.setPen(ACCENT if active else text_colour(self))
        metrics = QFontMetrics(small)
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter,
                         metrics.elidedText(arc.label, Qt.TextElideMode.ElideRight, int(label.width() - 6)))

    def _paint_block(self, painter: QPainter, layer: LayerDescription, face: QRectF, step: float, count: int,
                     selected: bool) -> None:
        """A stack of squares (spatial) or a bar (flat), the front face filled with real values. Upright
        rectangles need no antialiasing (with it they were most of the overview's paint at every stroke)."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
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
        self._paint_unit_mark(painter, layer, face)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def _paint_unit_mark(self, painter: QPainter, layer: LayerDescription, face: QRectF) -> None:
        """The units of this layer that feed the focused unit (or the unit itself), on its face."""
        block = self._unit_marks.get(layer.index)
        if block is None or not layer.is_spatial:
            return
        row0, col0, row1, col1 = block
        cell_y, cell_x = face.height() / layer.shape[0], face.width() / layer.shape[1]
        painter.save()
        painter.setPen(QPen(FIELD, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(face.x() + col0 * cell_x, face.y() + row0 * cell_y,
                                (col1 - col0) * cell_x, (row1 - row0) * cell_y))
        painter.restore()

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

    def _labels_rect(self, slot: QRectF) -> QRectF:
        return QRectF(slot.x() + 2, self.height() - _LABEL_HEIGHT - 4, slot.width() - 4, _LABEL_HEIGHT)

    def _paint_labels(self, painter: QPainter, layer: LayerDescription, slot: QRectF, small: QFont,
                      selected: bool) -> None:
        """Output shape and kind under the block (elided to the slot)."""
        labels = self._labels_rect(slot)
        painter.setFont(self.font())
        painter.setPen(ACCENT if selected else text_colour(self))
        elide = Qt.TextElideMode.ElideRight
        painter.drawText(labels, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         QFontMetrics(self.font()).elidedText(layer.shape_text, elide, int(labels.width())))
        painter.setFont(small)
        painter.setPen(MUTED_TEXT)
        painter.drawText(labels.adjusted(0, 16, 0, 0), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         QFontMetrics(small).elidedText(_short_kind(layer), elide, int(labels.width())))

    def labels_rect(self) -> QRectF:
        """Where the shape and kind labels under the blocks are drawn (a lesson covers them while it asks
        for a size)."""
        return QRectF(0, self.height() - _LABEL_HEIGHT - 4, self.width(), _LABEL_HEIGHT + 4)

    def block_rect(self, layer_index: int) -> QRectF:
        """Where layer `layer_index` (-1: the input) is drawn, in widget coordinates: its slot, or for a
        layer on a branch the label of its arc."""
        blocks = self._layout()
        for position, layer in enumerate(self._blocks):
            if layer.index == layer_index:
                return blocks[position][0]
        for arc in self._arcs:
            if layer_index in arc.layers:
                return self._arc_geometry(arc, blocks)[1]
        raise ValueError(f"no layer {layer_index} in the overview")

    # --- mouse ---------------------------------------------------------------------------------
    def _layer_at(self, position: QPointF) -> int | None:
        """The layer index under `position` (-1: the input): an arc's label (its first layer) or a block."""
        blocks = self._layout()
        for arc in self._arcs:
            if arc.layers and self._arc_geometry(arc, blocks)[1].adjusted(-2, -2, 2, 2).contains(position):
                return arc.layers[0]
        for layer, (slot, *_) in zip(self._blocks, blocks):
            if slot.contains(position):
                return layer.index
        return None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        hovered = self._layer_at(event.position())
        if hovered != self._hovered:
            self._hovered = hovered
            self.update()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hovered = None
        self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = self._layer_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and index is not None and index >= 0:
            self.layer_clicked.emit(index)

    def event(self, event) -> bool:
        """Tooltips: the layer's explanation for learners (for an arc, every layer on the branch)."""
        if event.type() == event.Type.ToolTip:
            index = self._layer_at(QPointF(event.pos()))
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self._tooltip(index), self)
            return True
        return super().event(event)

    def _tooltip(self, index: int) -> str:
        arc = next((arc for arc in self._arcs if index in arc.layers), None)
        if arc is None:
            return tooltip_html(self._layers[index + 1])
        names = ", ".join(self._layers[i + 1].name for i in arc.layers)
        return (f"<p><b>Branch</b>: {names} — it leaves the main path after "
                f"<b>{self._blocks[arc.start].name}</b> and joins it at <b>{self._blocks[arc.end].name}</b>. "
                f"Click to show {self._layers[arc.layers[0] + 1].name}; ← and → step through every layer.</p>"
                + tooltip_html(self._layers[arc.layers[0] + 1]))


class _PipelineScroll(QScrollArea):
    """Holds the overview; scrolls sideways only when the network does not fit, and only then makes
    room for the scroll bar."""

    def __init__(self, overview: PipelineOverview):
        super().__init__()
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setWidget(overview)
        self._fit_height()

    def _fit_height(self) -> None:
        widget = self.widget()
        needs_bar = widget is not None and widget.minimumWidth() > self.viewport().width()
        bar = self.horizontalScrollBar().sizeHint().height() if needs_bar else 0
        self.setFixedHeight(HEIGHT + bar)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_height()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.widget() and event.type() == event.Type.Resize:
            self._fit_height()
        return super().eventFilter(watched, event)


def _path_and_arcs(layers: list[LayerDescription], specs) -> tuple[list[LayerDescription], list[BranchArc]]:
    """The blocks to draw (input, then the main path) and the branches as arcs between them."""
    if not specs or len(specs) != len(layers) - 1:
        return list(layers), []
    steps = main_path(specs)
    blocks = [layers[0]] + [layers[step.index + 1] for step in steps]
    position = {step.index: p + 1 for p, step in enumerate(steps)}
    arcs: list[BranchArc] = []
    for step in steps:
        for branch in step.branches:
            start = 0 if branch.start < 0 else position.get(branch.start, 0)
            label = " → ".join(specs[i].name for i in branch.layers) if branch.layers else "shortcut"
            span = range(start, position[step.index])
            level = sum(1 for arc in arcs if arc.start < span.stop and span.start < arc.end)
            arcs.append(BranchArc(start, position[step.index], tuple(branch.layers), label, min(level, 2)))
    return blocks, arcs


def tooltip_html(layer: LayerDescription) -> str:
    """Rich-text tooltip: name, shape, parameter count and the explanation."""
    params = f"{layer.num_params:,} parameters" if layer.num_params else "no parameters"
    return (f"<p style='white-space:pre'><b>{layer.name}</b> — {layer.summary}<br>"
            f"output {layer.shape_text} · {params}</p><p>{layer.explanation}</p>")


def _short_kind(layer: LayerDescription) -> str:
    """A few words under the block: "3×3 conv", "2×2 max-pool", "dense relu"…"""
    if layer.kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "SeparableConv2D", "DepthwiseConv2D"):
        return layer.summary.split(",")[0]
    if layer.kind == "Dense":
        return "dense " + layer.summary.rsplit(", ", 1)[-1]
    short = {"Input": "input", "Flatten": "flatten", "BatchNormalization": "batch norm", "Add": "add",
             "Concatenate": "concat", "GlobalAveragePooling2D": "global avg", "GlobalMaxPooling2D": "global max",
             "Dropout": "dropout", "Rescaling": "rescale", "ReLU": "relu", "Activation": layer.summary}
    return short.get(layer.kind, layer.kind)
