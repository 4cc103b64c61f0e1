"""Live loss and accuracy curves: per batch (raw and smoothed), per epoch, and on the test set.

The smoothed curve is TensorBoard's: an exponential moving average with a start-up correction
(debiased), so it follows the data from the first batch instead of rising from zero; the user
sets its weight (0 = raw, 0.99 = very smooth), and the app remembers it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QTimer, Slot
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.core.atomic import atomic_path
from cnnviz.core.training import BatchProgress, EpochRecord
from cnnviz.gui.widgets.curve_smoothing import DEFAULT_SMOOTHING, MAX_SMOOTHING, REDRAW_INTERVAL_MS, smooth
from cnnviz.gui.widgets.qt_helpers import app_settings

SMOOTHING_KEY = "curves/smoothing"
RESCALE_INTERVAL_S = 2.0  # during a run the value axes follow the data every 2 s, not on every redraw
_TRAIN_COLOUR = (64, 156, 255)
_TEST_COLOUR = (255, 140, 40)
_MARKER_COLOUR = (255, 220, 60)   # the epoch scrubber's position
_METRICS = (("loss", "Loss"), ("accuracy", "Accuracy"))


class _Series:
    """A growing float array (amortised appends, a view of what was filled)."""

    def __init__(self):
        self._data = np.zeros(1024)
        self._size = 0

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        needed = self._size + len(values)
        if needed > len(self._data):
            grown = np.zeros(max(needed, 2 * len(self._data)))
            grown[:self._size] = self._data[:self._size]
            self._data = grown
        self._data[self._size:needed] = values
        self._size = needed

    def clear(self) -> None:
        self._size = 0

    def values(self) -> np.ndarray:
        return self._data[:self._size]

    def __len__(self) -> int:
        return self._size


class _MetricPlot:
    """One plot (loss or accuracy) with its four curves, its data and a hover read-out."""

    def __init__(self, plot: pg.PlotItem, key: str, title: str):
        self.plot = plot
        self.key = key
        self.title = title
        plot.setLabel("left", title)
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.setLabel("bottom", "epoch")
        plot.showGrid(x=True, y=True, alpha=0.2)
        for side in ("left", "bottom"):
            # The grid belongs to the axes, which repaint (in Python, ~8 ms) whenever a curve under
            # them changes; a cached pixmap is redrawn only when the axis range changes.
            plot.getAxis(side).setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.setMenuEnabled(False)
        self.batch_curve = plot.plot(name="batch", pen=pg.mkPen(*_TRAIN_COLOUR, 70))
        self.batch_curve.setDownsampling(auto=True, method="peak")
        self.batch_curve.setClipToView(True)
        self.smooth_curve = plot.plot(name="smoothed", pen=pg.mkPen(*_TRAIN_COLOUR, width=2))
        self.smooth_curve.setClipToView(True)
        self.epoch_curve = plot.plot(name="epoch", pen=None, symbol="o", symbolSize=7,
                                     symbolBrush=pg.mkBrush(*_TRAIN_COLOUR), symbolPen=pg.mkPen("w"))
        self.test_curve = plot.plot(name="test", pen=pg.mkPen(*_TEST_COLOUR, width=2), symbol="s", symbolSize=7,
                                    symbolBrush=pg.mkBrush(*_TEST_COLOUR), symbolPen=pg.mkPen("w"))
        self.cursor = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen(200, 200, 200, 120, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.cursor.setVisible(False)
        plot.addItem(self.cursor, ignoreBounds=True)
        self.readout = pg.TextItem(anchor=(0, 1), color=(230, 230, 230), fill=pg.mkBrush(20, 20, 20, 200))
        self.readout.setVisible(False)
        plot.addItem(self.readout, ignoreBounds=True)
        self.steps, self.values, self.smoothed = _Series(), _Series(), _Series()
        self.epochs, self.epoch_values, self.test_values = [], [], []
        self.weight = DEFAULT_SMOOTHING
        self._smoothing_state = (0.0, 0)

    def clear(self) -> None:
        for series in (self.steps, self.values, self.smoothed):
            series.clear()
        self.epochs.clear()
        self.epoch_values.clear()
        self.test_values.clear()
        self._smoothing_state = (0.0, 0)

    def add_batches(self, steps: np.ndarray, values: np.ndarray) -> None:
        smoothed, self._smoothing_state = smooth(values, self.weight, self._smoothing_state)
        self.steps.extend(steps)
        self.values.extend(values)
        self.smoothed.extend(smoothed)

    def set_weight(self, weight: float) -> None:
        """Smooth every batch value again with `weight`."""
        self.weight = weight
        smoothed, self._smoothing_state = smooth(self.values.values(), weight)
        self.smoothed.clear()
        self.smoothed.extend(smoothed)

    def add_epoch(self, epoch: float, train_value: float, test_value: float) -> None:
        self.epochs.append(epoch)
        self.epoch_values.append(train_value)
        self.test_values.append(test_value)

    def redraw(self) -> None:
        self.batch_curve.setData(self.steps.values(), self.values.values())
        self.smooth_curve.setData(self.steps.values(), self.smoothed.values())
        epochs = np.asarray(self.epochs, dtype=np.float64)
        for curve, values in ((self.epoch_curve, self.epoch_values), (self.test_curve, self.test_values)):
            values = np.asarray(values, dtype=np.float64)
            finite = np.isfinite(values)  # a test cut short by Stop has no figures
            curve.setData(epochs[finite], values[finite])

    def fit_y(self) -> None:
        """Set the value range to the data's (a run keeps auto-range off: re-laying-out an axis is slow)."""
        values = np.concatenate([self.values.values(), self.epoch_values, self.test_values])
        values = values[np.isfinite(values)]
        if len(values):
            low, high = float(values.min()), float(values.max())
            self.plot.setYRange(low, high if high > low else low + 1e-3, padding=0.05)

    def hover(self, x: float | None) -> None:
        """Show the cursor and the values nearest to epoch `x` (None hides them)."""
        if x is None or (not len(self.steps) and not self.epochs):
            self.cursor.setVisible(False)
            self.readout.setVisible(False)
            return
        lines = [f"epoch {x:.2f}"]
        steps = self.steps.values()
        if len(steps):
            i = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
            lines.append(f"batch {self.values.values()[i]:.4f}  smoothed {self.smoothed.values()[i]:.4f}")
        if self.epochs:
            j = int(np.argmin(np.abs(np.asarray(self.epochs) - x)))
            lines.append(f"epoch {self.epochs[j]:g}: train {self.epoch_values[j]:.4f}  test {self.test_values[j]:.4f}")
        self.cursor.setPos(x)
        self.cursor.setVisible(True)
        (x_low, x_high), (y_low, y_high) = self.plot.viewRange()
        self.readout.setText("\n".join(lines))
        self.readout.setAnchor((0, 1) if x < (x_low + x_high) / 2 else (1, 1))
        self.readout.setPos(x, y_low + 0.02 * (y_high - y_low))
        self.readout.setVisible(True)


class TrainingCurves(QWidget):
    """Two linked plots, loss and accuracy, against fractional epochs; fed by the training worker."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setToolTip("Training and test loss/accuracy; hover to read values, "
                                 "drag or scroll to zoom, double-click to reset the view")
        self._plots: list[_MetricPlot] = []
        # One legend row above both plots (the curves look the same in each), so no legend covers data.
        self.legend = pg.LegendItem(colCount=4, labelTextSize="8pt", horSpacing=4)
        self.graphics.addItem(self.legend, row=0, col=0)
        for row, (key, title) in enumerate(_METRICS, start=1):
            item = self.graphics.addPlot(row=row, col=0)
            self._plots.append(_MetricPlot(item, key, title))
        first = self._plots[0]
        for curve in (first.batch_curve, first.smooth_curve, first.epoch_curve, first.test_curve):
            self.legend.addItem(curve, curve.name())
        layout = self.graphics.ci.layout
        layout.setRowStretchFactor(0, 0)
        for row in range(1, len(_METRICS) + 1):
            layout.setRowStretchFactor(row, 1)
        self._plots[1].plot.setXLink(self._plots[0].plot)
        self._plots[0].plot.setLabel("bottom", None)   # the plots share their x axis: "epoch" once, at the bottom
        # Where the epoch scrubber is (a checkpoint of the training): a line across both plots.
        self._markers = [pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(*_MARKER_COLOUR, width=2))
                         for _ in self._plots]
        for plot, marker in zip(self._plots, self._markers):
            marker.setVisible(False)
            plot.plot.addItem(marker, ignoreBounds=True)
        for plot in self._plots:
            plot.plot.setLimits(yMin=0.0 if plot.key == "loss" else -0.02, yMax=None if plot.key == "loss" else 1.02)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.smoothing_box = QDoubleSpinBox()
        self.smoothing_box.setRange(0.0, MAX_SMOOTHING)
        self.smoothing_box.setSingleStep(0.05)
        self.smoothing_box.setDecimals(2)
        self.smoothing_box.setToolTip("How smooth the batch curve's average is, as in TensorBoard: 0 follows "
                                      "every batch, 0.99 averages over about a hundred (remembered)")
        self.smoothing_box.setValue(self._remembered_smoothing())
        for plot in self._plots:
            plot.weight = self.smoothing_box.value()
        self.smoothing_box.valueChanged.connect(self._on_smoothing_changed)
        self._history: list[EpochRecord] = []
        self._in_run = False
        self._last_rescale = 0.0
        self._dirty = False
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setInterval(REDRAW_INTERVAL_MS)
        self._redraw_timer.timeout.connect(self._on_redraw_timer)
        self._redraw_timer.start()
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addStretch(1)
        header.addWidget(QLabel("Smoothing"))
        header.addWidget(self.smoothing_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.graphics)

    def smoothing(self) -> float:
        """The weight of the smoothed curve's moving average (0 = raw)."""
        return self.smoothing_box.value()

    def set_smoothing(self, weight: float) -> None:
        """Smooth with `weight` (clipped to 0 … 0.99), as if the user had set it."""
        self.smoothing_box.setValue(weight)

    def clear(self) -> None:
        """Forget every point."""
        for plot in self._plots:
            plot.clear()
            plot.plot.enableAutoRange()
        self._history = []
        self._redraw()

    def start_run(self, num_epochs: int) -> None:
        """Forget every point and fix the epoch axis to the run's length.

        A fixed x range means a redraw does not re-lay-out the epoch axis 10 times a second,
        which keeps the GUI thread responsive while the worker trains.
        """
        self.clear()
        self._plots[0].plot.setXRange(0, num_epochs, padding=0.02)
        for plot in self._plots:
            plot.plot.disableAutoRange()
        self._last_rescale = 0.0
        self._in_run = True

    def end_run(self) -> None:
        """The run ended: fit the view to everything once."""
        self._in_run = False
        self._redraw()
        for plot in self._plots:
            plot.plot.enableAutoRange()

    def add_progress(self, progress: BatchProgress) -> None:
        """Append the per-batch values a progress report carries (drawn on the next redraw tick)."""
        if not len(progress.batch_steps):
            return
        self._plots[0].add_batches(progress.batch_steps, progress.batch_losses)
        self._plots[1].add_batches(progress.batch_steps, progress.batch_accuracies)
        self._dirty = True

    def add_epoch(self, record: EpochRecord) -> None:
        """Append one epoch's training and test figures."""
        self._history.append(record)
        self._plots[0].add_epoch(record.epoch, record.loss, record.test_loss)
        self._plots[1].add_epoch(record.epoch, record.accuracy, record.test_accuracy)
        self._dirty = True

    def show_history(self, history: list[EpochRecord]) -> None:
        """Replace everything with a saved per-epoch history (no per-batch points)."""
        self.clear()
        for record in history:
            self.add_epoch(record)
        self._redraw()

    def history(self) -> list[EpochRecord]:
        return list(self._history)

    def set_marker(self, epoch: float | None) -> None:
        """Mark `epoch` (fractional: 0.2 is a fifth into the first) with a vertical line on both plots,
        where the epoch scrubber is; None removes it."""
        for marker in self._markers:
            if epoch is not None:
                marker.setPos(epoch)
            marker.setVisible(epoch is not None)
        if epoch is not None:   # in view: epoch 0 lies left of a saved history's first point
            for plot in self._plots:   # each: linked plots with wider y-axis labels show less on the left
                (low, high), _ = plot.plot.viewRange()
                margin = 0.01 * (high - low)   # not on the axis line itself
                if not low + margin <= epoch <= high - margin:
                    plot.plot.setXRange(min(low, epoch), max(high, epoch), padding=0.02)

    def marker(self) -> float | None:
        """The epoch marked by `set_marker`, or None."""
        return self._markers[0].value() if self._markers[0].isVisible() else None

    def num_batch_points(self) -> int:
        return len(self._plots[0].steps)

    def save_png(self, path: str | Path) -> Path:
        """Write both plots as one PNG, atomically."""
        import pyqtgraph.exporters

        self._redraw()
        path = Path(path)
        exporter = pyqtgraph.exporters.ImageExporter(self.graphics.scene())
        with atomic_path(path, suffix=".png") as tmp:
            if not exporter.export(str(tmp)) and not tmp.stat().st_size:
                raise OSError(f"could not render the curves to {path.name}")
        return path

    @staticmethod
    def _remembered_smoothing() -> float:
        try:
            value = float(app_settings().value(SMOOTHING_KEY, DEFAULT_SMOOTHING))
        except (TypeError, ValueError):
            return DEFAULT_SMOOTHING
        return min(max(value, 0.0), MAX_SMOOTHING) if math.isfinite(value) else DEFAULT_SMOOTHING

    @Slot(float)
    def _on_smoothing_changed(self, weight: float) -> None:
        """Smooth everything again with the new weight, redraw, and remember it."""
        for plot in self._plots:
            plot.set_weight(weight)
        app_settings().setValue(SMOOTHING_KEY, weight)
        self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        rescale = self._in_run and time.perf_counter() - self._last_rescale >= RESCALE_INTERVAL_S
        for plot in self._plots:
            plot.redraw()
            if rescale:
                plot.fit_y()
        if rescale:
            self._last_rescale = time.perf_counter()

    @Slot()
    def _on_redraw_timer(self) -> None:
        """Redraw when new points arrived since the last tick."""
        if self._dirty:
            self._redraw()

    @Slot(object)
    def _on_mouse_moved(self, position: QPointF) -> None:
        """Move the crosshair of both plots to the epoch under the mouse."""
        x = None
        for plot in self._plots:
            if plot.plot.sceneBoundingRect().contains(position):
                x = plot.plot.vb.mapSceneToView(position).x()
        for plot in self._plots:
            plot.hover(x)
