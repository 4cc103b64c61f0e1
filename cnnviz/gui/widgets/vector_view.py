"""A flat layer: one coloured bar per unit (dense), or a heat strip laid out like the maps it flattened.

A Flatten layer's 576 values are conv2d_3's 3×3×64 maps read row by row. Given that layout
(`cnnviz.core.tiling.strip_layout`), the strip shows them in Flatten's own order as 9 rows (the
positions y,x) of 64 columns (the channels), so column c is channel c of conv2d_3 and unit
y·192 + x·64 + c sits where it came from. The exporter draws the same layout.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, Qt, Signal

from cnnviz.core.colormaps import table_indices
from cnnviz.core.tiling import StripLayout
from cnnviz.gui.widgets.mouse_moves import LatestMouseMove
from cnnviz.gui.widgets.view_colours import PANEL

_CHANNEL_TICK_STEP = 8


class VectorView(pg.PlotWidget):
    """Bars of every unit's value, or a heat strip, coloured through the colormap; hover reports the unit."""

    unit_hovered = Signal(int)                 # unit index, -1 off the values
    unit_clicked = Signal(int)                 # unit index clicked with the left button
    context_menu_requested = Signal(QPoint)

    def __init__(self, parent=None):
        super().__init__(parent, background=PANEL)
        self._values: np.ndarray | None = None
        self._levels: tuple[float, float] = (0.0, 1.0)
        self._lookup_table: np.ndarray | None = None
        self._brushes: list = []
        self._layout: StripLayout | None = None
        self._source_name = ""
        self._strip_pixels: np.ndarray | None = None
        self._bars = pg.BarGraphItem(x=[], height=[], width=0.85, pen=None)
        self.addItem(self._bars)
        self._strip = pg.ImageItem(axisOrder="row-major")
        self._strip.hide()
        self.addItem(self._strip)
        self._separators: list[pg.InfiniteLine] = []
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().showGrid(y=True, alpha=0.15)
        self.getPlotItem().setLabel("bottom", "unit")
        self._moves = LatestMouseMove(self, self._on_mouse_moved)   # the last move wins
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    def values(self) -> np.ndarray | None:
        return self._values

    def strip_layout(self) -> StripLayout | None:
        """The heat strip's layout while one is shown, else None (bars)."""
        return self._layout

    def strip_pixels(self) -> np.ndarray | None:
        """The heat strip's RGB image (rows × columns, one pixel per unit) while one is shown."""
        return self._strip_pixels if self._layout is not None else None

    def set_lookup_table(self, table: np.ndarray) -> None:
        self._lookup_table = np.asarray(table, np.uint8)
        self._brushes = [pg.mkBrush(*rgb) for rgb in self._lookup_table]
        if self._layout is not None and self._values is not None:
            self._render_strip()

    def set_values(self, values: np.ndarray, levels: tuple[float, float], unit_label: str = "unit",
                   class_labels: bool = False, layout: StripLayout | None = None, source_name: str = "") -> None:
        """Show `values` (N,) with colours scaled between `levels`.

        `class_labels` numbers the ticks 0–9 (bars). A `layout` that knows the maps the values were
        flattened from (`strip_layout(N, (H, W, C))`) shows a heat strip instead: H·W rows, C columns.
        """
        values = np.asarray(values, dtype=np.float32).reshape(-1)
        strip = layout is not None and layout.source_shape is not None and layout.size == len(values)
        changed = (self._values is None or self._values.shape != values.shape
                   or (layout if strip else None) != self._layout or source_name != self._source_name)
        self._values = values
        self._levels = (float(levels[0]), float(levels[1]))
        if strip:
            self._layout, self._source_name = layout, source_name
            if changed:
                self._arrange_strip()
            self._render_strip()
        else:
            if self._layout is not None or changed:
                self._layout, self._source_name = None, ""
                self._arrange_bars(len(values), unit_label, class_labels)
            self._render_bars()

    def describe_unit(self, unit: int) -> str:
        """'unit 137 = conv2d_3 channel 9 at y 0, x 2' on a flatten strip, else 'unit 137'."""
        position = self._layout.source_position(unit) if self._layout is not None else None
        if position is None:
            return f"unit {unit}"
        y, x, channel = position
        return f"unit {unit} = {self._source_name or 'the maps'} channel {channel} at y {y}, x {x}"

    # --- bars ------------------------------------------------------------------------------------
    def _arrange_bars(self, count: int, unit_label: str, class_labels: bool) -> None:
        item = self.getPlotItem()
        self._strip.hide()
        self._clear_separators()
        self._bars.show()
        item.invertY(False)
        self.setAspectLocked(False)
        item.showGrid(y=True, alpha=0.15)
        item.getAxis("bottom").setTicks([[(i, str(i)) for i in range(count)]] if class_labels else None)
        item.getAxis("left").setTicks(None)
        item.setLabel("bottom", unit_label)
        item.setLabel("left", "")
        self.setXRange(-0.8, count - 0.2, padding=0)

    def _render_bars(self) -> None:
        values = self._values
        indices = table_indices(values, *self._levels)
        brushes = [self._brushes[i] for i in indices] if self._brushes else None
        self._bars.setOpts(x=np.arange(len(values)), height=values, width=0.85, brushes=brushes, pen=None)
        top = max(float(values.max()), 1e-6)
        self.setYRange(min(0.0, float(values.min())), top * 1.05, padding=0)

    # --- heat strip --------------------------------------------------------------------------------
    def _arrange_strip(self) -> None:
        layout, item = self._layout, self.getPlotItem()
        self._bars.hide()
        self._strip.show()
        item.showGrid(x=False, y=False)
        item.invertY(True)  # row 0 (position 0,0) on top, as the maps are drawn
        self.setAspectLocked(False)   # rows fill the height: 9 rows of 64 square cells would be a thin line
        channels = [(c + 0.5, str(c)) for c in range(0, layout.columns, _CHANNEL_TICK_STEP)]
        item.getAxis("bottom").setTicks([channels, []])
        item.getAxis("left").setTicks([[(r + 0.5, layout.row_label(r)) for r in range(layout.rows)], []])
        item.setLabel("bottom", f"channel of {self._source_name}" if self._source_name else "channel")
        item.setLabel("left", "y,x")
        # A thin line where y changes, so the 3×3 positions read as three rows of three.
        self._clear_separators()
        _, width, _ = layout.source_shape
        for row in range(width, layout.rows, width):
            line = pg.InfiniteLine(pos=row, angle=0, movable=False, pen=pg.mkPen(PANEL, width=3))
            self.addItem(line, ignoreBounds=True)
            self._separators.append(line)
        self.setRange(QRectF(0, 0, layout.columns, layout.rows), padding=0.02)

    def _render_strip(self) -> None:
        if self._lookup_table is None:
            return
        grid = self._layout.grid(self._values)
        pixels = self._lookup_table[table_indices(np.nan_to_num(grid, nan=self._levels[0]), *self._levels)]
        pixels[np.isnan(grid)] = (PANEL.red(), PANEL.green(), PANEL.blue())
        self._strip_pixels = np.ascontiguousarray(pixels)
        self._strip.setImage(self._strip_pixels, autoLevels=False)
        self._strip.setRect(QRectF(0, 0, self._layout.columns, self._layout.rows))

    def _clear_separators(self) -> None:
        for line in self._separators:
            self.removeItem(line)
        self._separators = []

    # --- mouse -----------------------------------------------------------------------------------
    def unit_at(self, scene_pos) -> int:
        """The unit under a scene position, or -1."""
        if self._values is None or not self.getPlotItem().vb.sceneBoundingRect().contains(scene_pos):
            return -1
        point = self.getPlotItem().vb.mapSceneToView(scene_pos)
        if self._layout is not None:
            unit = self._layout.unit_at(int(np.floor(point.y())), int(np.floor(point.x())))
            return -1 if unit is None else unit
        unit = int(round(point.x()))
        return unit if 0 <= unit < len(self._values) else -1

    def _on_mouse_moved(self, scene_pos) -> None:
        """Report the unit under the cursor."""
        if self._values is not None:
            self.unit_hovered.emit(self.unit_at(scene_pos))

    def _on_mouse_clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.context_menu_requested.emit(event.screenPos().toPoint())
        elif event.button() == Qt.MouseButton.LeftButton and self._values is not None:
            unit = self.unit_at(event.scenePos())
            if unit >= 0:
                self.unit_clicked.emit(unit)
