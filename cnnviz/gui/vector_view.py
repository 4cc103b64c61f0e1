"""A flat layer (flatten or dense) as one coloured bar per unit."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt, Signal

from cnnviz.core.colormaps import to_unit
from cnnviz.gui.view_colours import PANEL


class VectorView(pg.PlotWidget):
    """Bars of every unit's value, coloured through the colormap; hover reports the unit."""

    unit_hovered = Signal(int)                 # unit index, -1 off the bars
    context_menu_requested = Signal(QPoint)

    def __init__(self, parent=None):
        super().__init__(parent, background=PANEL)
        self._values: np.ndarray | None = None
        self._lookup_table: np.ndarray | None = None
        self._brushes: list = []
        self._bars = pg.BarGraphItem(x=[], height=[], width=0.85, pen=None)
        self.addItem(self._bars)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().showGrid(y=True, alpha=0.15)
        self.getPlotItem().setLabel("bottom", "unit")
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    def values(self) -> np.ndarray | None:
        return self._values

    def set_lookup_table(self, table: np.ndarray) -> None:
        self._lookup_table = table
        self._brushes = [pg.mkBrush(*rgb) for rgb in table]

    def set_values(self, values: np.ndarray, levels: tuple[float, float], unit_label: str = "unit",
                   class_labels: bool = False) -> None:
        """Show `values` (N,) with colours scaled between `levels`; `class_labels` numbers ticks 0–9."""
        resized = self._values is None or self._values.shape != values.shape
        self._values = values
        indices = np.round(to_unit(values, *levels) * 255).astype(np.intp)
        brushes = [self._brushes[i] for i in indices] if self._brushes else None
        self._bars.setOpts(x=np.arange(len(values)), height=values, width=0.85, brushes=brushes, pen=None)
        if resized:
            axis = self.getPlotItem().getAxis("bottom")
            axis.setTicks([[(i, str(i)) for i in range(len(values))]] if class_labels else None)
            self.getPlotItem().setLabel("bottom", unit_label)
            self.setXRange(-0.8, len(values) - 0.2, padding=0)
        top = max(float(values.max()), 1e-6)
        self.setYRange(min(0.0, float(values.min())), top * 1.05, padding=0)

    def _on_mouse_moved(self, scene_pos) -> None:
        """Report the unit under the cursor."""
        if self._values is None:
            return
        point = self.getPlotItem().vb.mapSceneToView(scene_pos)
        unit = int(round(point.x()))
        inside = self.getPlotItem().vb.sceneBoundingRect().contains(scene_pos)
        self.unit_hovered.emit(unit if inside and 0 <= unit < len(self._values) else -1)

    def _on_mouse_clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.context_menu_requested.emit(event.screenPos().toPoint())
