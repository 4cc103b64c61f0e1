"""The Attack tab's two plots: the prediction as ε grows (from an "attack_sweep": the probability of the
digit's own class and of the class it turns into, a line at the ε shown that can be dragged, a mark at
the smallest ε that flips it) and how far each layer's maps moved (relative L2 change, one bar a layer).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from cnnviz.gui.widgets.view_colours import ACCENT, BAR

ORIGINAL_PEN = pg.mkPen(BAR, width=2)
OTHER_PEN = pg.mkPen(ACCENT, width=2)
FLIP_COLOUR = (230, 70, 60)


def quiet_plot(plot: pg.PlotWidget) -> None:
    """No context menu, no zooming or panning, no "A" button: a figure, not an explorer."""
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    plot.getPlotItem().layout.setContentsMargins(2, 2, 8, 2)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)   # ε 0.05, not 50 (×0.001)


class EpsilonPlot(pg.PlotWidget):
    """P(class) against ε (see the module docstring); `epsilon_picked(ε)` when the line is dragged."""

    epsilon_picked = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        quiet_plot(self)
        self.setFixedHeight(190)
        self.setLabel("bottom", "ε (intensity units)")
        self.setLabel("left", "probability")
        self.getViewBox().disableAutoRange()
        self.setYRange(0, 1.02, padding=0)
        self.legend = self.addLegend(offset=(-4, 4), labelTextSize="8pt")
        self.original_curve = self.plot([], [], pen=ORIGINAL_PEN, name="its own class")
        self.other_curve = self.plot([], [], pen=OTHER_PEN, name="the class it turns into")
        self.flip_mark = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(*FLIP_COLOUR), pen=pg.mkPen(None))
        self.addItem(self.flip_mark)
        self.flip_text = pg.TextItem(color=FLIP_COLOUR, anchor=(0, 1))
        self.addItem(self.flip_text)
        self.line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((160, 160, 170), width=1,
                                                                        style=Qt.PenStyle.DashLine))
        self.line.setToolTip("The ε shown: drag it")
        self.line.sigPositionChangeFinished.connect(lambda line: self.epsilon_picked.emit(float(line.value())))
        self.addItem(self.line)
        self._classes: tuple[int, int] | None = None
        self.clear_sweep()

    def clear_sweep(self, message: str = "") -> None:
        self.original_curve.setData([], [])
        self.other_curve.setData([], [])
        self.flip_mark.setData([], [])
        self.flip_text.setText(message)
        self.flip_text.setPos(0.01, 0.95)
        self._classes = None

    def show_sweep(self, sweep, class_names: list[str], target: int | None) -> None:
        """Curves of a core SweepResult: its digit's class, and the target (or the class it flips to)."""
        curve = sweep.curve
        epsilons = np.concatenate([[0.0], curve.epsilons])
        before = sweep.result.probabilities_before
        probabilities = np.vstack([before[None, :], curve.probabilities])
        own = int(np.argmax(before))
        if target is not None:
            other = int(target)
        elif sweep.epsilon is not None:
            other = int(sweep.result.after_class)
        else:   # nothing flipped it: the runner-up at the largest ε
            last = curve.probabilities[-1].copy()
            last[own] = -1
            other = int(np.argmax(last))
        self._classes = (own, other)
        name = (lambda c: class_names[c] if c < len(class_names) else str(c))
        self.original_curve.setData(epsilons, probabilities[:, own])
        self.other_curve.setData(epsilons, probabilities[:, other])
        self.legend.items[0][1].setText(f"P({name(own)}), its own class")
        self.legend.items[1][1].setText(f"P({name(other)})" + (", the target" if target is not None else ""))
        # Zoomed to where it happens: three times the flipping ε (or the ε shown, if larger).
        shown = max(3 * (sweep.epsilon or epsilons[-1]), 1.25 * float(self.line.value()), 0.05)
        self.setXRange(0, min(float(epsilons[-1]), shown), padding=0.02)
        self.setYRange(0, 1.02, padding=0)
        if sweep.epsilon is None:
            self.flip_mark.setData([], [])
            self.flip_text.setText(f"nothing up to ε {epsilons[-1]:.2f} flips it")
            self.flip_text.setPos(0.01, 0.95)
        else:
            probability = float(sweep.result.probabilities_after[other])
            self.flip_mark.setData([sweep.epsilon], [probability])
            self.flip_text.setText(f"flips at ε {sweep.epsilon:.4f}")
            self.flip_text.setPos(sweep.epsilon, min(probability + 0.12, 0.98))

    def set_epsilon(self, epsilon: float) -> None:
        self.line.blockSignals(True)
        self.line.setValue(float(epsilon))
        self.line.blockSignals(False)

    def classes(self) -> tuple[int, int] | None:
        """(its own class, the other class) the curves show, or None."""
        return self._classes


class LayerChangeBars(pg.PlotWidget):
    """How far each layer's output moved: ‖a(x′) − a(x)‖₂ / ‖a(x)‖₂, one horizontal bar a layer."""

    def __init__(self, parent=None):
        super().__init__(parent)
        quiet_plot(self)
        self.setFixedHeight(170)
        self.setLabel("bottom", "relative change of the layer's output")
        self.getViewBox().disableAutoRange()
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.62, width=[], brush=pg.mkBrush(BAR))
        self.addItem(self.bars)
        self.getViewBox().invertY(True)
        self._labels: list[pg.TextItem] = []
        self._values: list[float] = []

    def show_changes(self, layers) -> None:
        """Bars for a core AttackResult's `layers` (LayerChange; None where the layer was all zero)."""
        for label in self._labels:
            self.removeItem(label)
        self._labels = []
        names = [change.name for change in layers]
        values = [0.0 if change.relative_change is None else float(change.relative_change) for change in layers]
        self._values = values
        self.bars.setOpts(x0=np.zeros(len(values)), y=np.arange(len(values)), width=values,
                          brushes=[pg.mkBrush(ACCENT if i == len(values) - 1 else BAR) for i in range(len(values))])
        self.getAxis("left").setTicks([list(enumerate(names))])
        top = max(values, default=0.0)
        self.setXRange(0, max(top * 1.25, 0.05), padding=0)
        self.setYRange(-0.6, len(values) - 0.4, padding=0)
        for i, (value, change) in enumerate(zip(values, layers)):
            text = "–" if change.relative_change is None else f"{value:.0%}"
            label = pg.TextItem(text, anchor=(0, 0.5), color=(200, 200, 205))
            label.setPos(value, i)
            self.addItem(label)
            self._labels.append(label)

    def values(self) -> list[float]:
        return list(self._values)
