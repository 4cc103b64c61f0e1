"""The plot of the Move it panel: the probability of one class as the digit moves, for the current model and,
beside it, a Lab variant (the `robustness` probe's figures, one batched pass each).

Along one axis at a time: moved sideways (at the panel's current up/down shift), up and down (at its
current sideways shift), turned, or scaled. A line marks where the digit is now.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnviz.core.robustness import ROTATIONS, SCALES, SHIFTS, RobustnessResult
from cnnviz.gui.robustness.move import Move

SIDEWAYS, UP_DOWN, TURN, SCALE = "sideways", "up-down", "turn", "scale"
AXES = {SIDEWAYS: ("← →", "moved right (px)"), UP_DOWN: ("↑ ↓", "moved down (px)"),
        TURN: ("turn", "turned anticlockwise (°)"), SCALE: ("scale", "scaled (×)")}
X_RANGES = {SIDEWAYS: SHIFTS, UP_DOWN: SHIFTS, TURN: ROTATIONS, SCALE: SCALES}
MODEL, VARIANT = "model", "variant"
COLOURS = {MODEL: (64, 156, 255), VARIANT: (255, 140, 40)}


def curve_points(result: RobustnessResult, class_index: int, axis: str, move: Move) -> tuple[np.ndarray, np.ndarray]:
    """(x, probability of `class_index`) along `axis` through `move` (shifts: the grid row or column of the
    move's other shift; turn and scale: of the digit as drawn)."""
    if axis in (SIDEWAYS, UP_DOWN):
        grid = result.shift_grid(class_index)     # rows: dy, columns: dx, both in SHIFTS order
        if axis == SIDEWAYS:
            values = grid[SHIFTS.index(int(np.clip(move.dy, SHIFTS[0], SHIFTS[-1]))), :]
        else:
            values = grid[:, SHIFTS.index(int(np.clip(move.dx, SHIFTS[0], SHIFTS[-1])))]
        return np.asarray(SHIFTS, np.float64), values.astype(np.float64)
    if axis == TURN:
        return np.asarray(result.rotations, np.float64), result.rotation_probabilities[:, class_index].astype(float)
    return np.asarray(result.scales, np.float64), result.scale_probabilities[:, class_index].astype(np.float64)


def axis_position(axis: str, move: Move) -> float:
    """Where `move` lies on `axis`."""
    return {SIDEWAYS: move.dx, UP_DOWN: move.dy, TURN: move.degrees, SCALE: move.factor}[axis]


class RobustnessPlot(QWidget):
    """Probability against the move, for the model (solid) and a variant beside it (dashed)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.graphics = pg.PlotWidget()
        self.plot = self.graphics.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.disableAutoRange()
        self.plot.setYRange(0, 1, padding=0.03)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.legend = QLabel()   # above the plot, where it hides no curve
        dashed = pg.mkPen(*COLOURS[VARIANT], width=2, style=Qt.PenStyle.DashLine)
        self.curves = {
            MODEL: self.plot.plot(name="the model", pen=pg.mkPen(*COLOURS[MODEL], width=2), symbol="o",
                                  symbolSize=5, symbolBrush=pg.mkBrush(*COLOURS[MODEL]), symbolPen=None),
            VARIANT: self.plot.plot(name="variant", pen=dashed, symbol="t", symbolSize=5,
                                    symbolBrush=pg.mkBrush(*COLOURS[VARIANT]), symbolPen=None),
        }
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(255, 220, 60, 200, width=1))
        self.plot.addItem(self.marker, ignoreBounds=True)
        self._results: dict[str, RobustnessResult | None] = {MODEL: None, VARIANT: None}
        self._names = {MODEL: "the model", VARIANT: "variant"}
        self._class = 0
        self._axis = SIDEWAYS
        self._move = Move()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.legend)
        layout.addWidget(self.graphics)
        self._dirty = True
        self._seen = True   # the panel says when its dock's tab is behind another (FrontTab)
        self._redraw()

    def set_seen(self, seen: bool) -> None:
        """Whether the plot can be seen (its panel's tab in front); what changed meanwhile is drawn now."""
        self._seen = bool(seen)
        if self._seen and self._dirty and self.isVisible():
            self._draw()

    def sizeHint(self) -> QSize:  # noqa: N802 (a small hint: the panel's layout gives the plot what is left)
        return QSize(300, 170)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 130)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (its height is what the panel leaves it, not its legend's)
        return False

    def set_result(self, which: str, result: RobustnessResult | None, name: str = "") -> None:
        """The probe's figures of the model (MODEL) or of the variant beside it (VARIANT); None: no curve."""
        self._results[which] = result
        if name:
            self._names[which] = name
        self._redraw()

    def result(self, which: str) -> RobustnessResult | None:
        return self._results[which]

    def set_class(self, class_index: int) -> None:
        self._class = int(class_index)
        self._redraw()

    def set_axis(self, axis: str) -> None:
        if axis in AXES and axis != self._axis:
            self._axis = axis
            self._redraw()

    def axis(self) -> str:
        return self._axis

    def set_move(self, move: Move) -> None:
        """Where the digit is now: the marker, and the row or column of the shift grid shown."""
        self._move = move
        self._redraw()

    def curve(self, which: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(x, y) drawn for the model or the variant; None when it has no curve."""
        if self._dirty:
            self._draw()
        item = self.curves[which]
        if not item.isVisible() or item.xData is None:
            return None
        return np.asarray(item.xData), np.asarray(item.yData)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._dirty:
            self._draw()

    def _redraw(self) -> None:
        """Draw what changed now, or when the plot is next shown (hidden, it costs a stroke nothing)."""
        self._dirty = True
        if self._seen and self.isVisible():
            self._draw()

    def _draw(self) -> None:
        self._dirty = False
        label, unit = AXES[self._axis]
        self.plot.setLabel("bottom", unit)
        self.plot.setLabel("left", f"P({self._class})")
        entries = []
        for which, item in self.curves.items():
            result = self._results[which]
            item.setVisible(result is not None)
            if result is None:
                item.setData([], [])
                continue
            item.setData(*curve_points(result, self._class, self._axis, self._move))
            colour = "#{:02x}{:02x}{:02x}".format(*COLOURS[which])
            line = "━━" if which == MODEL else "╍╍"
            entries.append(f"<span style='color: {colour}'><b>{line}</b> {html.escape(self._names[which])}</span>")
        self.legend.setText("&nbsp;&nbsp; ".join(entries))
        self.legend.setVisible(bool(entries))
        x = X_RANGES[self._axis]
        self.plot.setXRange(float(min(x)), float(max(x)), padding=0.04)
        self.marker.setValue(axis_position(self._axis, self._move))
