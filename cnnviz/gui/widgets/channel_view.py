"""One channel enlarged, with the value and position of the pixel under the cursor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from cnnviz.gui.widgets.mouse_moves import LatestMouseMove
from cnnviz.gui.widgets.view_colours import FIELD, PANEL


class ChannelView(QWidget):
    """A large view of one map; hovering shows "x, y = value", right click asks for the export menu."""

    context_menu_requested = Signal(QPoint)
    unit_hovered = Signal(int, int)    # x, y of the map pixel under the cursor (-1, -1 off the map)
    unit_clicked = Signal(int, int)    # x, y of a map pixel clicked with the left button

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._map: np.ndarray | None = None
        self._title = QLabel()
        self._title.setTextFormat(Qt.TextFormat.RichText)
        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setBackground(PANEL)
        self._graphics.ci.setContentsMargins(2, 2, 2, 2)
        self._view = self._graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self._view.setDefaultPadding(0.0)
        self._image = pg.ImageItem(axisOrder="row-major")
        self._view.addItem(self._image)
        self._unit_mark = QGraphicsRectItem()   # a focused unit, or the units of this map that feed it
        self._unit_mark.setPen(pg.mkPen(FIELD, width=2, cosmetic=True))
        self._unit_mark.setZValue(10)
        self._unit_mark.hide()
        self._view.addItem(self._unit_mark, ignoreBounds=True)
        self._hovered_unit = (-1, -1)
        self._readout = QLabel(" ")
        self._readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self._title)
        layout.addWidget(self._graphics, 1)
        layout.addWidget(self._readout)
        self._moves = LatestMouseMove(self._graphics, self._on_mouse_moved)   # the last move wins
        self._graphics.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.set_map(None, (0.0, 1.0), "Click a map to enlarge it")

    def image_item(self) -> pg.ImageItem:
        return self._image

    def title(self) -> str:
        return self._title.text()

    def readout(self) -> str:
        return self._readout.text()

    def set_lookup_table(self, table: np.ndarray) -> None:
        self._image.setLookupTable(table)

    def set_map(self, values: np.ndarray | None, levels: tuple[float, float], title: str) -> None:
        """Show one (H, W) map with display `levels`, or nothing (None) with `title` as a hint."""
        self._title.setText(title)
        if values is None:
            self._map = None
            self._image.clear()
            self._readout.setText(" ")
            return
        resized = self._map is None or self._map.shape != values.shape
        self._map = values
        self._image.setImage(values, autoLevels=False, levels=(float(levels[0]), float(levels[1])))
        if resized:
            self._view.setRange(xRange=(0, values.shape[1]), yRange=(0, values.shape[0]), padding=0)

    def set_unit_mark(self, block: tuple[int, int, int, int] | None) -> None:
        """Outline units (row0, col0, row1, col1; ends exclusive) of the map shown; None: none."""
        if block is None:
            self._unit_mark.hide()
            return
        row0, col0, row1, col1 = block
        self._unit_mark.setRect(QRectF(col0, row0, col1 - col0, row1 - row0))
        self._unit_mark.show()

    def unit_mark(self) -> QRectF | None:
        """The outlined units as (x, y, width, height) in map pixels, or None."""
        return self._unit_mark.rect() if self._unit_mark.isVisible() else None

    def pixel_centre(self, y: int, x: int) -> QPoint:
        """Where map pixel (y, x) is shown, in the coordinates of `graphics_viewport()`."""
        return self._graphics.mapFromScene(self._view.mapViewToScene(QPointF(x + 0.5, y + 0.5)))

    def graphics_viewport(self) -> QWidget:
        """The widget that receives the mouse over the map (for tests and tools)."""
        return self._graphics.viewport()

    def _pixel_at(self, scene_pos) -> tuple[int, int]:
        """(x, y) of the map pixel at `scene_pos`, or (-1, -1)."""
        if self._map is None or not self._view.sceneBoundingRect().contains(scene_pos):
            return -1, -1
        point = self._view.mapSceneToView(scene_pos)
        x, y = int(np.floor(point.x())), int(np.floor(point.y()))
        height, width = self._map.shape
        return (x, y) if 0 <= x < width and 0 <= y < height else (-1, -1)

    def _on_mouse_moved(self, scene_pos) -> None:
        """Position and value of the pixel under the cursor."""
        if self._map is None or not self._view.sceneBoundingRect().contains(scene_pos):
            self._report_hover(-1, -1)
            return
        x, y = self._pixel_at(scene_pos)
        height, width = self._map.shape
        if x >= 0:
            self._readout.setText(f"x {x}, y {y}:  <b>{self._map[y, x]:.4f}</b>")
        else:
            self._readout.setText(f"{width}×{height} map")
        self._report_hover(x, y)

    def _report_hover(self, x: int, y: int) -> None:
        if (x, y) != self._hovered_unit:
            self._hovered_unit = (x, y)
            self.unit_hovered.emit(x, y)

    def _on_mouse_clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.context_menu_requested.emit(event.screenPos().toPoint())
        elif event.button() == Qt.MouseButton.LeftButton:
            x, y = self._pixel_at(event.scenePos())
            if x >= 0:
                self.unit_clicked.emit(x, y)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._report_hover(-1, -1)
        super().leaveEvent(event)
