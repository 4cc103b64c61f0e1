"""The Lab's curves: every variant's loss and accuracy on the same axes, one colour each, with a legend.

Per variant: the test figures after each epoch (solid, with dots) and the training figures (thin:
per batch and smoothed while the variant trains in the Lab, dashed per epoch when they come from a
saved history). A variant of the full run trained with several seeds shows the mean over its seeds'
histories, with a band of ± one standard deviation around the test figures (issue 24). Click a variant
in the legend to hide or show it on both plots.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Slot
from PySide6.QtGui import QPainterPath, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QVBoxLayout, QWidget

from cnnviz.core.seed_statistics import EpochSpread, history_spread
from cnnviz.core.training import BatchProgress, EpochRecord
from cnnviz.gui.lab.data import VARIANT_COLOURS
from cnnviz.gui.widgets.curve_smoothing import DEFAULT_SMOOTHING, REDRAW_INTERVAL_MS, smooth

_METRICS = (("loss", "Loss"), ("accuracy", "Accuracy"))
_SAMPLE_COLOUR = (200, 200, 200)
_BAND_ALPHA = 45                           # of the ± sd band, over the plots' black
_BAND_FIGURES = ("test_loss", "test_accuracy")   # the band's figure on each plot


class _VariantCurves:
    """One variant's data and its two curves (training, test) on each plot."""

    def __init__(self, name: str, plots: list[pg.PlotItem]):
        colour = VARIANT_COLOURS.get(name, (220, 220, 220))
        self.name = name
        self.train = [plot.plot(name=f"{name} training", pen=pg.mkPen(*colour, 170, width=1)) for plot in plots]
        self.test = [plot.plot(name=name, pen=pg.mkPen(*colour, width=2), symbol="o", symbolSize=6,
                               symbolBrush=pg.mkBrush(*colour), symbolPen=pg.mkPen(*colour)) for plot in plots]
        self.bands = [QGraphicsPathItem() for _ in plots]     # mean ± sd, a polygon in the plot's coordinates
        for plot, band in zip(plots, self.bands):
            band.setBrush(pg.mkBrush(*colour, _BAND_ALPHA))
            band.setPen(pg.mkPen(None))
            band.setZValue(-1)
            plot.addItem(band, ignoreBounds=True)   # the axes fit the curves, not an empty band
        self.spread: EpochSpread | None = None   # the seeds' mean and sd, when the history is their mean
        self.history: list[EpochRecord] = []
        self.steps: list[np.ndarray] = []
        self.batch_values: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        self.smoothed: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        self._smoothing_states = [(0.0, 0), (0.0, 0)]
        self.live = False   # training now: per-batch training curves

    def items(self) -> list:
        return [*self.train, *self.test, *self.bands]

    def clear(self, live: bool) -> None:
        self.spread = None
        self.history = []
        self.steps = []
        self.batch_values = ([], [])
        self.smoothed = ([], [])
        self._smoothing_states = [(0.0, 0), (0.0, 0)]
        self.live = live

    def add_batches(self, progress: BatchProgress) -> None:
        self.steps.append(np.asarray(progress.batch_steps, dtype=np.float64))
        for metric, values in enumerate((progress.batch_losses, progress.batch_accuracies)):
            smoothed, self._smoothing_states[metric] = smooth(values, DEFAULT_SMOOTHING,
                                                              self._smoothing_states[metric])
            self.batch_values[metric].append(np.asarray(values, dtype=np.float64))
            self.smoothed[metric].append(smoothed)

    def train_points(self, metric: int) -> tuple[np.ndarray, np.ndarray]:
        """(epochs, values) of the training curve: smoothed per batch when there are batches, else per epoch."""
        if self.steps:
            return np.concatenate(self.steps), np.concatenate(self.smoothed[metric])
        epochs = np.array([record.epoch for record in self.history], dtype=np.float64)
        values = np.array([(record.loss, record.accuracy)[metric] for record in self.history], dtype=np.float64)
        return epochs, values

    def test_points(self, metric: int) -> tuple[np.ndarray, np.ndarray]:
        """(epochs, values) of the test figures (epochs whose test pass was cut are left out)."""
        epochs = np.array([record.epoch for record in self.history], dtype=np.float64)
        values = np.array([(record.test_loss, record.test_accuracy)[metric] for record in self.history],
                          dtype=np.float64)
        finite = np.isfinite(values)
        return epochs[finite], values[finite]

    def redraw(self) -> None:
        dashed = not self.steps
        for metric in range(len(_METRICS)):
            pen = self.train[metric].opts["pen"]
            pen.setStyle(Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            self.train[metric].setPen(pen)
            self.train[metric].setData(*self.train_points(metric))
            self.test[metric].setData(*self.test_points(metric))
            self._draw_band(metric)

    def band_points(self, metric: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(epochs, mean - sd, mean + sd) of the band on plot `metric`; empty arrays when there is none."""
        if self.spread is None or self.spread.num_histories < 2:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        figure = _BAND_FIGURES[metric]
        mean, sd = self.spread.mean[figure], self.spread.sd[figure]
        return self.spread.epochs.astype(np.float64), mean - sd, mean + sd

    def _draw_band(self, metric: int) -> None:
        epochs, low, high = self.band_points(metric)
        path = QPainterPath()
        if len(epochs):
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in zip([*epochs, *epochs[::-1]], [*high, *low[::-1]])]))
            path.closeSubpath()
        self.bands[metric].setPath(path)
        self.bands[metric].setVisible(len(epochs) > 0 and self.test[metric].isVisible())


class LabCurves(QWidget):
    """Loss and accuracy of every variant against epochs, side by side; a legend row above them."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setToolTip("Each variant in its own colour: solid lines with dots are the test figures after "
                                 "each epoch, thin or dashed lines the training figures. Click a variant in the "
                                 "legend to hide or show it; drag or scroll to zoom, double-click to reset.")
        self.legend = pg.LegendItem(colCount=4, labelTextSize="8pt", horSpacing=6)
        self.graphics.addItem(self.legend, row=0, col=0, colspan=len(_METRICS))
        self.plots: list[pg.PlotItem] = []
        for column, (key, title) in enumerate(_METRICS):
            plot = self.graphics.addPlot(row=1, col=column)
            plot.setLabel("left", title)
            plot.setLabel("bottom", "epoch")
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
            plot.setLimits(yMin=0.0 if key == "loss" else -0.02, yMax=None if key == "loss" else 1.02)
            self.plots.append(plot)
        self.plots[1].setXLink(self.plots[0])
        layout = self.graphics.ci.layout
        layout.setRowStretchFactor(0, 0)
        layout.setRowStretchFactor(1, 1)
        self._add_style_samples()
        self.legend.sigSampleClicked.connect(self._on_legend_clicked)
        self._variants: dict[str, _VariantCurves] = {}
        self._dirty: set[str] = set()
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setInterval(REDRAW_INTERVAL_MS)
        self._redraw_timer.timeout.connect(self._on_redraw_timer)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.graphics)

    def _add_style_samples(self) -> None:
        """Two grey legend entries that say which line is which."""
        self._test_sample = pg.PlotDataItem(pen=pg.mkPen(*_SAMPLE_COLOUR, width=2), symbol="o", symbolSize=6,
                                            symbolBrush=pg.mkBrush(*_SAMPLE_COLOUR), symbolPen=None)
        self._train_sample = pg.PlotDataItem(pen=pg.mkPen(*_SAMPLE_COLOUR, width=1, style=Qt.PenStyle.DashLine))
        self.legend.addItem(self._test_sample, "test")
        self.legend.addItem(self._train_sample, "training")

    # --- what is shown ------------------------------------------------------------------------------
    def variants(self) -> list[str]:
        """The variants that have curves, in the order they were added."""
        return list(self._variants)

    def set_history(self, name: str, history: list[EpochRecord]) -> None:
        """Show a variant's saved per-epoch history (replacing what it showed)."""
        curves = self._curves(name)
        curves.clear(live=False)
        curves.history = list(history)
        curves.redraw()
        self._fit()

    def set_seed_histories(self, name: str, histories: list[list[EpochRecord]]) -> None:
        """Show the mean of several seeds' histories, with a ± sd band around the test figures (one history:
        that history, no band)."""
        spread = history_spread(histories)
        if spread.num_histories < 2:
            self.set_history(name, histories[0] if histories else [])
            return
        curves = self._curves(name)
        curves.clear(live=False)
        curves.spread = spread
        curves.history = [EpochRecord(int(epoch), *(float(spread.mean[figure][index]) for figure in spread.figures),
                                      float("nan"), float("nan")) for index, epoch in enumerate(spread.epochs)]
        curves.redraw()
        self._fit()

    def seeds_shown(self, name: str) -> int:
        """How many seeds' histories the variant's curves are the mean of (1: one history)."""
        spread = self._variants[name].spread
        return 1 if spread is None else spread.num_histories

    def band_data(self, name: str, metric: str = "accuracy") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(epochs, lower, upper) of a variant's ± sd band on the plot of `metric` (tests and tools)."""
        return self._variants[name].band_points([key for key, _ in _METRICS].index(metric))

    def remove(self, name: str) -> None:
        """Take a variant's curves off the plots."""
        curves = self._variants.pop(name, None)
        if curves is None:
            return
        for plot, train, test in zip(self.plots, curves.train, curves.test):
            plot.removeItem(train)
            plot.removeItem(test)
        for plot, band in zip(self.plots, curves.bands):
            plot.removeItem(band)
        self.legend.removeItem(name)

    def start_variant(self, name: str, num_epochs: int) -> None:
        """A variant starts training: forget its old curves, follow it batch by batch."""
        self._curves(name).clear(live=True)
        self._dirty.add(name)
        self.plots[0].setXRange(0, max(num_epochs, self._max_epoch()), padding=0.02)
        self._redraw_timer.start()

    def add_progress(self, name: str, progress: BatchProgress) -> None:
        if len(progress.batch_steps):
            self._curves(name).add_batches(progress)
            self._dirty.add(name)

    def add_epoch(self, name: str, record: EpochRecord) -> None:
        self._curves(name).history.append(record)
        self._dirty.add(name)

    def end_variant(self, name: str) -> None:
        """The variant's run ended: draw it all and fit the axes once."""
        if name in self._variants:
            self._variants[name].live = False
            self._variants[name].redraw()
        self._dirty.discard(name)
        if not any(curves.live for curves in self._variants.values()):
            self._redraw_timer.stop()
        self._fit()

    def curve_data(self, name: str, metric: str = "accuracy", which: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """The (epochs, values) a curve shows (tests and tools)."""
        curves = self._variants[name]
        item = (curves.test if which == "test" else curves.train)[[key for key, _ in _METRICS].index(metric)]
        x, y = item.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    def legend_names(self) -> list[str]:
        return [label.text for _, label in self.legend.items]

    def curve_colour(self, name: str) -> tuple[int, int, int]:
        colour = self._variants[name].test[0].opts["pen"].color()
        return colour.red(), colour.green(), colour.blue()

    # --- internals ----------------------------------------------------------------------------------
    def _curves(self, name: str) -> _VariantCurves:
        if name not in self._variants:
            curves = _VariantCurves(name, self.plots)
            self._variants[name] = curves
            self.legend.addItem(curves.test[0], name)
        return self._variants[name]

    def _max_epoch(self) -> int:
        return max((len(curves.history) for curves in self._variants.values()), default=1)

    def _fit(self) -> None:
        for plot in self.plots:
            plot.enableAutoRange()

    @Slot()
    def _on_redraw_timer(self) -> None:
        """Redraw the variants that got new points (at most REDRAW_INTERVAL_MS apart)."""
        dirty, self._dirty = self._dirty, set()
        for name in dirty:
            if name in self._variants:
                self._variants[name].redraw()
        if dirty:
            for plot in self.plots:
                plot.enableAutoRange(axis="y")

    @Slot(object)
    def _on_legend_clicked(self, item) -> None:
        """A variant's legend entry was clicked: hide or show all its curves like the one clicked."""
        for curves in self._variants.values():
            if item in curves.items():
                for other in curves.items():
                    other.setVisible(item.isVisible())
                for metric in range(len(_METRICS)):
                    curves.bands[metric].setVisible(item.isVisible() and len(curves.band_points(metric)[0]) > 0)
