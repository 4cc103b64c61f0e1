"""All channels of one conv or pool layer as a grid of small maps, one ImageItem per channel.

The grid is built once per layer shape; after that an update only calls `setImage` on each cell
with explicit levels (no autoLevels) and the shared uint8 lookup table, as pyqtgraph's
ImageItem performance notes advise.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsRectItem

from cnnviz.gui.view_colours import ACCENT, PANEL


class LayerGrid(pg.GraphicsLayoutWidget):
    """Small maps of every channel; click one to select it, right-click for the export menu."""

    channel_clicked = Signal(int)
    channel_hovered = Signal(int, int, int)            # channel, column, row (-1s when off the maps)
    context_menu_requested = Signal(int, QPoint)       # channel (-1 = between maps), global position

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(PANEL)
        self.ci.setContentsMargins(4, 4, 4, 4)
        self._view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self._view.setDefaultPadding(0.01)
        self._cells: list[pg.ImageItem] = []
        self._shape: tuple[int, int, int] | None = None
        self._columns = 1
        self._gap = 1.0
        self._selected: int | None = None
        self._lookup_table: np.ndarray | None = None
        self._selection = QGraphicsRectItem()
        self._selection.setPen(pg.mkPen(ACCENT, width=2, cosmetic=True))
        self._selection.setZValue(10)
        self._selection.hide()
        self._hover = QGraphicsRectItem()
        hover_pen = QPen(pg.mkColor(255, 255, 255, 150), 1)
        hover_pen.setCosmetic(True)
        self._hover.setPen(hover_pen)
        self._hover.setZValue(9)
        self._hover.hide()
        self._view.addItem(self._selection, ignoreBounds=True)
        self._view.addItem(self._hover, ignoreBounds=True)
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.scene().sigMouseMoved.connect(self._on_scene_moved)

    # --- building and updating ---------------------------------------------------------------
    def cells(self) -> list[pg.ImageItem]:
        """The ImageItems, one per channel, in channel order."""
        return list(self._cells)

    def set_lookup_table(self, table: np.ndarray) -> None:
        self._lookup_table = table
        for cell in self._cells:
            cell.setLookupTable(table)

    def set_maps(self, maps: np.ndarray, levels: np.ndarray) -> None:
        """Show `maps` (C, H, W) float32, channel-first and C-contiguous, with (C, 2) display levels."""
        if maps.shape != self._shape:
            self._build(maps.shape)
        for cell, image, (low, high) in zip(self._cells, maps, levels):
            cell.setImage(image, autoLevels=False, levels=(float(low), float(high)))

    def _build(self, shape: tuple[int, int, int]) -> None:
        """Create one ImageItem per channel (then `_arrange` lays them out)."""
        for cell in self._cells:
            self._view.removeItem(cell)
        self._shape = shape
        self._gap = max(1.0, round(shape[2] * 0.08))
        self._cells = []
        for _ in range(shape[0]):
            cell = pg.ImageItem(axisOrder="row-major")
            if self._lookup_table is not None:
                cell.setLookupTable(self._lookup_table)
            self._view.addItem(cell)
            self._cells.append(cell)
        self._columns = 0
        self._arrange()
        self._hover.hide()

    def _arrange(self) -> None:
        """Rows and columns that make the maps largest in the widget's current shape."""
        if getattr(self, "_shape", None) is None:  # also called while GraphicsView initialises
            return
        channels, height, width = self._shape
        aspect = max(self.width(), 1) / max(self.height(), 1) * (height + self._gap) / (width + self._gap)
        columns = _best_columns(channels, aspect)
        if columns == self._columns:
            return
        self._columns = columns
        for channel, cell in enumerate(self._cells):
            cell.setPos(self._cell_rect(channel).topLeft())  # one map pixel = one scene unit
        rows = math.ceil(channels / columns)
        self._view.setRange(QRectF(0, 0, columns * (width + self._gap) - self._gap,
                                   rows * (height + self._gap) - self._gap), padding=0.01)
        self.set_selected(self._selected)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._arrange()

    def cell_centre(self, channel: int) -> QPoint:
        """Where map `channel` is shown, in viewport coordinates (for clicks in tests and tools)."""
        scene_point = self._view.mapViewToScene(self._cell_rect(channel).center())
        return self.mapFromScene(scene_point)

    def _cell_rect(self, channel: int) -> QRectF:
        _, height, width = self._shape
        row, column = divmod(channel, self._columns)
        return QRectF(column * (width + self._gap), row * (height + self._gap), width, height)

    def set_selected(self, channel: int | None) -> None:
        """Outline the selected channel (None: no outline)."""
        self._selected = channel
        if channel is None or self._shape is None or not 0 <= channel < self._shape[0]:
            self._selection.hide()
            return
        self._selection.setRect(self._cell_rect(channel))
        self._selection.show()

    def clear_maps(self) -> None:
        """Remove every cell (no outputs to show)."""
        for cell in self._cells:
            self._view.removeItem(cell)
        self._cells, self._shape = [], None
        self._selection.hide()
        self._hover.hide()

    # --- mouse ---------------------------------------------------------------------------------
    def _hit(self, scene_pos) -> tuple[int, int, int]:
        """(channel, column, row) of the map pixel at `scene_pos`, or (-1, -1, -1)."""
        if self._shape is None or not self._view.sceneBoundingRect().contains(scene_pos):
            return -1, -1, -1
        point = self._view.mapSceneToView(scene_pos)
        channels, height, width = self._shape
        column, x = divmod(point.x(), width + self._gap)
        row, y = divmod(point.y(), height + self._gap)
        channel = int(row) * self._columns + int(column)
        if point.x() < 0 or point.y() < 0 or column >= self._columns or x >= width or y >= height \
                or channel >= channels:
            return -1, -1, -1
        return channel, int(x), int(y)

    def _on_scene_clicked(self, event) -> None:
        """Left click selects a channel; right click asks for the export menu."""
        channel, _, _ = self._hit(event.scenePos())
        if event.button() == Qt.MouseButton.LeftButton and channel >= 0:
            self.channel_clicked.emit(channel)
        elif event.button() == Qt.MouseButton.RightButton:
            self.context_menu_requested.emit(channel, event.screenPos().toPoint())

    def _on_scene_moved(self, scene_pos) -> None:
        """Outline the map under the cursor and report the pixel."""
        channel, x, y = self._hit(scene_pos)
        if channel >= 0:
            self._hover.setRect(self._cell_rect(channel))
            self._hover.show()
        else:
            self._hover.hide()
        self.channel_hovered.emit(channel, x, y)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hover.hide()
        self.channel_hovered.emit(-1, -1, -1)
        super().leaveEvent(event)


def _best_columns(count: int, aspect: float) -> int:
    """Columns that make square cells largest in an area of width/height `aspect`."""
    best, best_size = 1, 0.0
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        size = min(aspect / columns, 1.0 / rows)
        if size > best_size + 1e-9:
            best, best_size = columns, size
    return best
