"""All channels of one conv or pool layer as a grid of small maps, drawn as one mosaic image.

pyqtgraph renders each ImageItem separately (with a LUT it also rebuilds a 256-entry colour
table per item and frame), so 32–64 items cost ~10 ms a frame here. Instead the maps are
coloured in numpy with the shared colormap code (`to_unit` + the uint8 lookup table, exactly as
`colormaps.colorize` and the exporter do) into one C-contiguous RGB mosaic that is built once
per layer shape and refilled in place; the single ImageItem gets it with `autoLevels=False`.

Layers with more than PAGE_SIZE channels (a ResNet's 256 or 512) are shown a page at a time:
the first 64, then "More ▸" (or Page Down) for the next 64. Only the page shown is coloured, so a
256-channel layer repaints as fast as a 64-channel one, and each map stays large enough to read.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QKeySequence, QPen, QShortcut
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QLabel, QToolButton, QWidget

from cnnviz.core.colormaps import DEFAULT_COLORMAP, lookup_table, to_unit
from cnnviz.gui.widgets.mouse_moves import LatestMouseMove
from cnnviz.gui.widgets.view_colours import ACCENT, FIELD, PANEL

MARK_COLOUR = (235, 70, 70)   # the cross over a switched-off filter's cell

PAGE_SIZE = 64   # channels shown at once; more are paged


class _PageBar(QWidget):
    """'Channels 1–64 of 256' with ◂ and More ▸ buttons, along the bottom of the grid."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self.previous = QToolButton()
        self.previous.setText("◂ Back")
        self.previous.setToolTip("The previous channels (Page Up)")
        self.next = QToolButton()
        self.next.setText("More ▸")
        self.next.setToolTip("The next channels (Page Down)")
        self.label = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.previous)
        layout.addWidget(self.next)


class LayerGrid(pg.GraphicsLayoutWidget):
    """Small maps of every channel (a page of PAGE_SIZE at a time when there are more); click one to
    select it, right-click for the export menu. Channel numbers in signals and methods are the
    layer's own (0…C-1), whatever the page."""

    channel_clicked = Signal(int)
    channel_hovered = Signal(int, int, int)            # channel, column, row (-1s when off the maps)
    context_menu_requested = Signal(int, QPoint)       # channel (-1 = between maps), global position
    page_changed = Signal(int)                         # the page now shown

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(PANEL)
        self.ci.setContentsMargins(4, 4, 4, 4)
        self._view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self._view.setDefaultPadding(0.01)
        self._image = pg.ImageItem(axisOrder="row-major")
        self._view.addItem(self._image)
        self._maps: np.ndarray | None = None        # every channel, as given
        self._levels: np.ndarray | None = None
        self._mosaic: np.ndarray | None = None
        self._shape: tuple[int, int, int] | None = None   # (cells per page, H, W)
        self._num_maps = 0
        self._page = 0
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
        self._unit_field: tuple[tuple[int, int, int, int], tuple[int, ...] | None] | None = None
        self._field_marks = pg.QtWidgets.QGraphicsPathItem()   # a focused unit, or the units feeding it
        self._field_marks.setPen(pg.mkPen(FIELD, width=1.5, cosmetic=True))
        self._field_marks.setZValue(11)
        self._view.addItem(self._field_marks, ignoreBounds=True)
        self._page_bar = _PageBar(self)
        self._page_bar.previous.clicked.connect(self.previous_page)
        self._page_bar.next.clicked.connect(self.next_page)
        self._page_bar.hide()
        for keys, slot in ((QKeySequence.StandardKey.MoveToNextPage, self.next_page),
                           (QKeySequence.StandardKey.MoveToPreviousPage, self.previous_page)):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self._moves = LatestMouseMove(self, self._on_scene_moved)   # the last move wins

    # --- building and updating ---------------------------------------------------------------
    def image_item(self) -> pg.ImageItem:
        """The one ImageItem showing the mosaic."""
        return self._image

    def maps(self) -> np.ndarray | None:
        """The (C, H, W) values of every channel, as last given to `set_maps`."""
        return self._maps

    def levels(self) -> np.ndarray | None:
        """The (C, 2) display levels of the maps."""
        return self._levels

    def mosaic(self) -> np.ndarray | None:
        """The RGB image on screen (rows × columns of the page's maps with gaps)."""
        return self._mosaic

    def cell_pixels(self, channel: int) -> np.ndarray:
        """The RGB pixels of map `channel` inside the mosaic (its page is shown first)."""
        self.show_channel(channel)
        rect = self._cell_rect(channel)
        top, left = int(rect.y()), int(rect.x())
        return self._mosaic[top:top + int(rect.height()), left:left + int(rect.width())]

    def num_maps(self) -> int:
        """Channels of the layer (all pages)."""
        return self._num_maps

    # --- pages ---------------------------------------------------------------------------------
    def page(self) -> int:
        return self._page

    def num_pages(self) -> int:
        return max(1, math.ceil(self._num_maps / PAGE_SIZE))

    def page_range(self) -> range:
        """The channels on the page shown."""
        first = self._page * PAGE_SIZE
        return range(first, min(first + PAGE_SIZE, self._num_maps))

    def set_page(self, page: int) -> None:
        """Show page `page` (clamped): channels page·64 … page·64+63."""
        page = min(max(int(page), 0), self.num_pages() - 1)
        if page == self._page:
            return
        self._page = page
        self._hover.hide()
        self._clear_mosaic()
        self._render()
        self.set_selected(self._selected)
        self._update_page_bar()
        self.page_changed.emit(page)

    def is_paged(self) -> bool:
        """True when the layer has more channels than one page shows."""
        return self._num_maps > PAGE_SIZE

    def next_page(self) -> None:
        if self.is_paged() and self.isVisible():
            self.set_page(self._page + 1)

    def previous_page(self) -> None:
        if self.is_paged() and self.isVisible():
            self.set_page(self._page - 1)

    def show_channel(self, channel: int) -> None:
        """Show the page that holds `channel`."""
        if 0 <= channel < self._num_maps:
            self.set_page(channel // PAGE_SIZE)

    def _update_page_bar(self) -> None:
        paged = self.is_paged()
        if paged:
            shown = self.page_range()
            self._page_bar.label.setText(f"Channels {shown.start + 1}–{shown.stop} of {self._num_maps}")
            self._page_bar.previous.setEnabled(self._page > 0)
            self._page_bar.next.setEnabled(self._page < self.num_pages() - 1)
        if paged != (not self._page_bar.isHidden()):
            self._page_bar.setVisible(paged)
            self.ci.setContentsMargins(4, 4, 4, 4 + self._page_bar_height())
        self._place_page_bar()

    def _page_bar_height(self) -> int:
        return self._page_bar.sizeHint().height() if self.is_paged() else 0

    def _place_page_bar(self) -> None:
        height = self._page_bar.sizeHint().height()
        self._page_bar.setGeometry(0, self.height() - height, self.width(), height)

    # --- maps ----------------------------------------------------------------------------------
    def set_lookup_table(self, table: np.ndarray) -> None:
        table = np.asarray(table, np.uint8)
        if table is self._lookup_table or np.array_equal(table, self._lookup_table):
            return   # the same colours (asked again with every new output): nothing to colour again
        self._lookup_table = table
        self._render()

    def set_maps(self, maps: np.ndarray, levels: np.ndarray) -> None:
        """Show `maps` (C, H, W) float32 with (C, 2) display levels (low, high) per map. A new layer
        (another number or size of maps) starts at its first page."""
        if maps.shape[0] != self._num_maps or maps.shape[1:] != (self._shape or (0, 0, 0))[1:]:
            if maps.shape[0] != self._num_maps:
                self._page = 0     # another layer; the same channels in another view keep their page
            self._num_maps = maps.shape[0]
            self._shape = (min(maps.shape[0], PAGE_SIZE), *maps.shape[1:])
            self._gap = max(1, round(maps.shape[2] * 0.08))
            if np.isnan(maps).any():   # kernel mosaics: tiles set further apart than their 1-pixel inner gaps
                self._gap = max(self._gap, 4)
            self._columns = 0
            self._maps, self._levels = maps, levels
            self._update_page_bar()
            self._arrange()   # a new mosaic, coloured (once: a layer switch paints its maps once)
            return
        self._maps, self._levels = maps, levels
        self._render()

    def _arrange(self) -> None:
        """Rows and columns that make the maps largest in the widget's current shape."""
        if getattr(self, "_shape", None) is None:  # also called while GraphicsView initialises
            return
        cells, height, width = self._shape
        room_height = self.height() - self._page_bar_height()
        aspect = max(self.width(), 1) / max(room_height, 1) * (height + self._gap) / (width + self._gap)
        columns = _best_columns(cells, aspect)
        if columns == self._columns:
            return
        self._columns = columns
        rows = math.ceil(cells / columns)
        size = (rows * (height + self._gap) - self._gap, columns * (width + self._gap) - self._gap)
        self._mosaic = np.empty((*size, 3), np.uint8)
        self._clear_mosaic()
        self._view.setRange(QRectF(0, 0, size[1], size[0]), padding=0.01)
        self.set_selected(self._selected)
        self._hover.hide()
        self._render()

    def _clear_mosaic(self) -> None:
        """Panel colour everywhere (the last page may not fill every cell)."""
        if self._mosaic is not None:
            self._mosaic[:] = (PANEL.red(), PANEL.green(), PANEL.blue())

    def _render(self) -> None:
        """Colour the page's maps through the lookup table into their places in the mosaic."""
        if self._maps is None or self._mosaic is None:
            return
        shown = self.page_range()
        maps, levels = self._maps[shown.start:shown.stop], self._levels[shown.start:shown.stop]
        low, high = levels[:, 0, None, None], levels[:, 1, None, None]
        gaps = np.isnan(maps)   # a mode's tiles may have gaps (kernel mosaics): drawn as background
        has_gaps = bool(gaps.any())
        if has_gaps:
            maps = np.where(gaps, low, maps)
        indices = np.round(to_unit(maps, low, high) * 255).astype(np.uint8)
        coloured = self._lookup_table[indices]
        if has_gaps:
            coloured[gaps] = (PANEL.red(), PANEL.green(), PANEL.blue())
        _, height, width = self._shape
        for cell, pixels in enumerate(coloured):
            row, column = divmod(cell, self._columns)
            top, left = row * (height + self._gap), column * (width + self._gap)
            self._mosaic[top:top + height, left:left + width] = pixels
        self._image.setImage(self._mosaic, autoLevels=False)
        self._place_marks()
        self._place_unit_field()

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

    def set_unit_marks(self, block: tuple[int, int, int, int] | None, channels=None) -> None:
        """Outline units (row0, col0, row1, col1; ends exclusive) in the maps of `channels` (None: in
        every map): the focused unit, or the units of this layer that feed it. None: no outline."""
        self._unit_field = None if block is None else (tuple(int(v) for v in block),
                                                       None if channels is None else tuple(channels))
        self._place_unit_field()

    def unit_marks_path(self) -> pg.QtGui.QPainterPath:
        """The unit outlines drawn (mosaic coordinates), for tests."""
        return self._field_marks.path()

    def _place_unit_field(self) -> None:
        """One path: the outlined block in every map of the page shown that it concerns."""
        path = pg.QtGui.QPainterPath()
        if self._unit_field is not None and self._mosaic is not None and self._columns:
            (row0, col0, row1, col1), channels = self._unit_field
            _, height, width = self._shape
            row0, col0, row1, col1 = max(row0, 0), max(col0, 0), min(row1, height), min(col1, width)
            shown = self.page_range()
            for channel in shown if channels is None else [c for c in channels if c in shown]:
                if row1 > row0 and col1 > col0:
                    cell = self._cell_rect(channel)
                    path.addRect(QRectF(cell.x() + col0, cell.y() + row0, col1 - col0, row1 - row0))
        self._field_marks.setPath(path)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if getattr(self, "closed", False):   # pyqtgraph's close() has cleared the scene: nothing to lay out
            return
        if hasattr(self, "_page_bar"):
            self._place_page_bar()
        self._arrange()

    def cell_centre(self, channel: int) -> QPoint:
        """Where map `channel` is shown, in viewport coordinates (its page is shown first; for clicks in
        tests and tools)."""
        self.show_channel(channel)
        scene_point = self._view.mapViewToScene(self._cell_rect(channel).center())
        return self.mapFromScene(scene_point)

    def cell_rect(self, channel: int) -> QRect:
        """Where map `channel` is shown, in viewport coordinates (its page is shown first)."""
        self.show_channel(channel)
        cell = self._cell_rect(channel)
        top_left, bottom_right = (self.mapFromScene(self._view.mapViewToScene(point))
                                  for point in (cell.topLeft(), cell.bottomRight()))
        return QRect(top_left, bottom_right).normalized()

    def unit_centre(self, channel: int, y: int, x: int) -> QPoint:
        """Where unit (y, x) of map `channel` is shown, in viewport coordinates (its page is shown first)."""
        self.show_channel(channel)
        cell = self._cell_rect(channel)
        return self.mapFromScene(self._view.mapViewToScene(QPointF(cell.x() + x + 0.5, cell.y() + y + 0.5)))

    def _cell_rect(self, channel: int) -> QRectF:
        _, height, width = self._shape
        row, column = divmod(channel - self._page * PAGE_SIZE, self._columns)
        return QRectF(column * (width + self._gap), row * (height + self._gap), width, height)

    def set_selected(self, channel: int | None) -> None:
        """Outline the selected channel (None, or a channel on another page: no outline)."""
        self._selected = channel
        if channel is None or self._shape is None or channel not in self.page_range():
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
        _, height, width = self._shape
        column, x = divmod(point.x(), width + self._gap)
        row, y = divmod(point.y(), height + self._gap)
        channel = self.page_range().start + int(row) * self._columns + int(column)
        if point.x() < 0 or point.y() < 0 or column >= self._columns or x >= width or y >= height \
                or channel not in self.page_range():
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
