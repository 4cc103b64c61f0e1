"""All channels of one conv or pool layer as a grid of small maps, drawn as one mosaic image.

pyqtgraph renders each ImageItem separately (with a LUT it also rebuilds a 256-entry colour
table per item and frame), so 32–64 items cost ~10 ms a frame here. Instead the maps are
coloured in numpy with the shared colormap code (`to_unit` + the uint8 lookup table, exactly as
`colormaps.colorize` and the exporter do) into one C-contiguous RGB mosaic that is built once
per layer shape and refilled in place; the single ImageItem gets it with `autoLevels=False`.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsRectItem

from cnnviz.core.colormaps import DEFAULT_COLORMAP, lookup_table, to_unit
from cnnviz.gui.view_colours import ACCENT, PANEL

MARK_COLOUR = (235, 70, 70)   # the cross over a switched-off filter's cell


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
        self._image = pg.ImageItem(axisOrder="row-major")
        self._view.addItem(self._image)
        self._maps: np.ndarray | None = None
        self._levels: np.ndarray | None = None
        self._mosaic: np.ndarray | None = None
        self._shape: tuple[int, int, int] | None = None
        self._columns = 0
        self._gap = 1
        self._selected: int | None = None
        self._lookup_table = lookup_table(DEFAULT_COLORMAP)
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
        self._marked: frozenset[int] = frozenset()   # channels crossed out (filters switched off)
        self._marks = pg.QtWidgets.QGraphicsPathItem()
        self._marks.setPen(pg.mkPen(MARK_COLOUR, width=2, cosmetic=True))
        self._marks.setBrush(pg.mkBrush(0, 0, 0, 120))
        self._marks.setZValue(8)
        self._view.addItem(self._marks, ignoreBounds=True)
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.scene().sigMouseMoved.connect(self._on_scene_moved)

    # --- building and updating ---------------------------------------------------------------
    def image_item(self) -> pg.ImageItem:
        """The one ImageItem showing the mosaic."""
        return self._image

    def maps(self) -> np.ndarray | None:
        """The (C, H, W) values shown, as last given to `set_maps`."""
        return self._maps

    def levels(self) -> np.ndarray | None:
        """The (C, 2) display levels of the maps shown."""
        return self._levels

    def mosaic(self) -> np.ndarray | None:
        """The RGB image on screen (rows × columns of maps with gaps)."""
        return self._mosaic

    def cell_pixels(self, channel: int) -> np.ndarray:
        """The RGB pixels of map `channel` inside the mosaic."""
        rect = self._cell_rect(channel)
        top, left = int(rect.y()), int(rect.x())
        return self._mosaic[top:top + int(rect.height()), left:left + int(rect.width())]

    def num_maps(self) -> int:
        return 0 if self._shape is None else self._shape[0]

    def set_lookup_table(self, table: np.ndarray) -> None:
        self._lookup_table = np.asarray(table, np.uint8)
        self._render()

    def set_maps(self, maps: np.ndarray, levels: np.ndarray) -> None:
        """Show `maps` (C, H, W) float32 with (C, 2) display levels (low, high) per map."""
        if maps.shape != self._shape:
            self._shape = maps.shape
            self._gap = max(1, round(maps.shape[2] * 0.08))
            self._columns = 0
            self._maps, self._levels = maps, levels
            self._arrange()
        self._maps, self._levels = maps, levels
        self._render()

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
        rows = math.ceil(channels / columns)
        size = (rows * (height + self._gap) - self._gap, columns * (width + self._gap) - self._gap)
        self._mosaic = np.empty((*size, 3), np.uint8)
        self._mosaic[:] = (PANEL.red(), PANEL.green(), PANEL.blue())
        self._view.setRange(QRectF(0, 0, size[1], size[0]), padding=0.01)
        self.set_selected(self._selected)
        self._hover.hide()
        self._render()

    def _render(self) -> None:
        """Colour every map through the lookup table into its place in the mosaic."""
        if self._maps is None or self._mosaic is None:
            return
        low, high = self._levels[:, 0, None, None], self._levels[:, 1, None, None]
        indices = np.round(to_unit(self._maps, low, high) * 255).astype(np.uint8)
        coloured = self._lookup_table[indices]
        _, height, width = self._shape
        for channel, pixels in enumerate(coloured):
            row, column = divmod(channel, self._columns)
            top, left = row * (height + self._gap), column * (width + self._gap)
            self._mosaic[top:top + height, left:left + width] = pixels
        self._image.setImage(self._mosaic, autoLevels=False)
        self._place_marks()

    def set_marked(self, channels) -> None:
        """Cross out these channels (filters switched off): their cells dimmed, with a red cross."""
        self._marked = frozenset(int(c) for c in channels)
        self._place_marks()

    def marked(self) -> frozenset[int]:
        return self._marked

    def _place_marks(self) -> None:
        """One path: a dimmed square and a cross on each marked cell on screen."""
        path = pg.QtGui.QPainterPath()
        if self._mosaic is not None and self._columns:
            for channel in sorted(self._marked):
                rect = self._cell_rect(channel)
                if 0 <= channel < len(self._maps) and rect.top() >= 0 and rect.bottom() <= self._mosaic.shape[0]:
                    path.addRect(rect)
                    path.moveTo(rect.topLeft())
                    path.lineTo(rect.bottomRight())
                    path.moveTo(rect.topRight())
                    path.lineTo(rect.bottomLeft())
        self._marks.setPath(path)

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
