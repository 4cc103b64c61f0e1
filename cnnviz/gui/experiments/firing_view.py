"""Which digits a filter fires on: its mean activation per class as bars (the classes it fires on most
in the accent colour), one sentence that says it and what the ranking is by, and its top test digits
(click one to put it on the canvas). Shows a "firing_digits" reply (core `FiringDigits`)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.gui.experiments.attack_plots import quiet_plot
from cnnviz.gui.experiments.image_tile import ImageTile
from cnnviz.gui.widgets.view_colours import ACCENT, BAR

TOP_SHOWN = 9
HIGHLIGHTED = 3


def firing_sentence(result, class_names: list[str]) -> str:
    """'Fires most on 1, 7 and 4 (mean 0.41, 0.38, 0.30 over their test digits); least on 0 (0.05).'"""
    ranked = [c for c in result.ranked_classes() if np.isfinite(result.class_means[c])]
    if not ranked:
        return "No test digits to rank."
    if float(np.nanmax(result.class_means)) <= 0:
        return "It does not fire on any test digit: its map is 0 everywhere after the ReLU."
    top = ranked[:HIGHLIGHTED]
    names = [class_names[c] if c < len(class_names) else str(c) for c in ranked]
    listed = ", ".join(names[:len(top) - 1]) + f" and {names[len(top) - 1]}" if len(top) > 1 else names[0]
    values = ", ".join(f"{result.class_means[c]:.2f}" for c in top)
    return (f"Fires most on {listed} (mean {values} over their test digits); least on {names[-1]} "
            f"({result.class_means[ranked[-1]]:.2f}).")


def ranking_note(result) -> str:
    """What the ranking is by, and why not by the peak when the peak ties."""
    note = f"Ranked by {result.ranked_by}, over {result.count:,} test digits"
    if result.peak_ties > 1:
        note += f": {result.peak_ties:,} of them tie at its peak, {result.top_peak:.2f}, so the peak cannot rank them"
    return note + f". It is active on {result.active_share:.0%} of them."


class FiringView(QWidget):
    """The answer to "which digits does it fire on?" (see the module docstring)."""

    digit_clicked = Signal(int)   # a top test digit's index

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.sentence = QLabel()
        self.sentence.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        small = self.note.font()
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1))
        self.note.setFont(small)
        self.plot = pg.PlotWidget()
        quiet_plot(self.plot)
        self.plot.setFixedHeight(104)
        self.plot.setLabel("left", "mean")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.plot.addItem(self.bars)
        self.tiles = [ImageTile("", size=40) for _ in range(TOP_SHOWN)]
        row = QGridLayout()
        row.setSpacing(2)
        for i, tile in enumerate(self.tiles):
            tile.clicked.connect(lambda i=i: self._on_tile(i))
            row.addWidget(tile, 0, i)
        self._indices: list[int] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.sentence)
        layout.addWidget(self.plot)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.clear()

    def clear(self) -> None:
        self.sentence.setText("")
        self.note.setText("")
        self.bars.setOpts(x=[], height=[])
        for tile in self.tiles:
            tile.set_pixels(None, "")
        self._indices = []
        self.setVisible(False)

    def show_result(self, reply: dict, class_names: list[str], noun: str = "filter") -> None:
        """Show a "firing_digits" reply (`noun`: "filter" or "unit")."""
        result = reply["result"]
        self.sentence.setText(f"<b>{result.layer} {noun} {result.channel}</b>: "
                              f"{firing_sentence(result, class_names)}")
        self.note.setText(f"Above: its top test digits (click one to put it on the canvas). {ranking_note(result)}")
        means = np.nan_to_num(result.class_means)
        top = set(result.ranked_classes()[:HIGHLIGHTED])
        brushes = [pg.mkBrush(ACCENT if c in top else BAR) for c in range(len(means))]
        self.bars.setOpts(x=np.arange(len(means)), height=means, brushes=brushes)
        names = [class_names[c] if c < len(class_names) else str(c) for c in range(len(means))]
        self.plot.getAxis("bottom").setTicks([list(enumerate(name[:6] for name in names))])
        self.plot.setXRange(-0.6, len(means) - 0.4, padding=0)
        self.plot.setYRange(min(0.0, float(means.min())), max(float(means.max()), 1e-6) * 1.08, padding=0)
        self._indices = [int(i) for i in result.indices]
        digits = np.asarray(reply["digits"])
        for i, tile in enumerate(self.tiles):
            if i < len(self._indices):
                label = int(result.labels[i])
                tile.set_pixels(np.ascontiguousarray(digits[i]), f"{result.means[i]:.2f}")
                tile.setToolTip(f"Test digit {self._indices[i]}, a {names[label] if label < len(names) else label}: "
                                f"mean activation {result.means[i]:.3f}. Click to put it on the canvas.")
            else:
                tile.set_pixels(None, "")
        self.setVisible(True)

    def indices(self) -> list[int]:
        return list(self._indices)

    def _on_tile(self, position: int) -> None:
        if position < len(self._indices):
            self.digit_clicked.emit(self._indices[position])
