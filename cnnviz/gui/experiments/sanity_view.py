"""The Sanity check tab: randomise the model layer by layer ("sanity_check", a compute task with progress
and Cancel) and lay the three explanations of the same digit side by side per step, with the Spearman
rank correlation to the trained model's map under each (`SanityStrip`). The maps are each scaled to
their own range (Spearman compares ranks, so the scale does not matter to the score)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QImage, QPainter
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout,
                               QWidget)

from cnnviz.gui.experiments.image_tile import pixels_of
from cnnviz.gui.experiments.task_request import TaskRequest
from cnnviz.gui.experiments.text_lines import message_label, show_text
from cnnviz.gui.widgets.model_input_view import to_qimage
from cnnviz.gui.widgets.task_progress import TaskProgress
from cnnviz.gui.widgets.view_colours import FRAME, MUTED_TEXT, PANEL, text_colour

METHOD_NAMES = {"gradcam": "Grad-CAM", "occlusion": "occlusion", "gradient": "gradient"}
MAP_COLORMAP = "inferno"
MODES = {"cascading": "cascading (top down)", "independent": "one layer at a time"}


def rho_text(value: float | None) -> str:
    return "ρ –" if value is None else f"ρ {value:+.2f}"


class SanityStrip(QWidget):
    """Rows: the methods; columns: the trained model, then each step; ρ under every randomised map."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        self._images: dict[tuple[str, int], QImage] = {}
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumHeight(120)

    def set_result(self, result) -> None:
        """Show a core SanityResult (None: empty)."""
        self._result = result
        self._images = {}
        if result is not None:
            for method in self.methods():
                maps = [result.original[method], *(step.maps[method] for step in result.steps)]
                for column, values in enumerate(maps):
                    self._images[(method, column)] = to_qimage(pixels_of(values, MAP_COLORMAP))
        self.updateGeometry()
        self.update()

    def result(self):
        return self._result

    def methods(self) -> list[str]:
        return [] if self._result is None else [m for m in METHOD_NAMES if m in self._result.original]

    def columns(self) -> list[str]:
        """The column titles: 'trained', then the layer each step randomises."""
        return [] if self._result is None else ["trained", *(step.layer for step in self._result.steps)]

    def scores(self, method: str) -> list[float | None]:
        return [step.spearman[method] for step in self._result.steps] if self._result is not None else []

    # --- geometry --------------------------------------------------------------------------------------
    def _label_width(self) -> int:
        return self.fontMetrics().horizontalAdvance("occlusion") + 8

    def _line(self) -> int:
        return self.fontMetrics().lineSpacing()

    def _tile(self, width: int) -> float:
        columns = max(1, len(self.columns()))
        return max(16.0, min(110.0, (width - self._label_width() - 4 * columns) / columns))

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        rows = max(1, len(self.methods()))
        return int(self._line() * 2 + rows * (self._tile(width) + self._line() + 6))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, self.heightForWidth(420))

    def tile_rect(self, method: str, column: int) -> QRectF:
        """Where a map is drawn (tests and the autotest)."""
        tile = self._tile(self.width())
        row = self.methods().index(method)
        left = self._label_width() + column * (tile + 4)
        top = self._line() * 2 + row * (tile + self._line() + 6)
        return QRectF(left, top, tile, tile)

    # --- drawing -----------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        if self._result is None:
            painter.setPen(MUTED_TEXT)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             "Run the check to see the maps of each step here.")
            return
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        line = self._line()
        for column, title in enumerate(self.columns()):
            rect = self.tile_rect(self.methods()[0], column)
            painter.setPen(text_colour(self))
            painter.setFont(small)
            heading = QRectF(rect.left() - 2, 0, rect.width() + 4, line * 2)
            painter.drawText(heading, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom
                             | Qt.TextFlag.TextWrapAnywhere, title if column == 0 else f"→ {title}")
        for method in self.methods():
            scores = self.scores(method)
            first = self.tile_rect(method, 0)
            painter.setFont(self.font())
            painter.setPen(text_colour(self))
            painter.drawText(QRectF(0, first.top(), self._label_width() - 4, first.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, METHOD_NAMES[method])
            for column in range(len(self.columns())):
                rect = self.tile_rect(method, column)
                painter.fillRect(rect, PANEL)
                painter.drawImage(rect, self._images[(method, column)])
                painter.setPen(FRAME)
                painter.drawRect(rect.adjusted(0, 0, -1, -1))
                if column:
                    value = scores[column - 1]
                    painter.setFont(small)
                    painter.setPen(MUTED_TEXT if value is None or abs(value) < 0.3 else text_colour(self))
                    painter.drawText(QRectF(rect.left() - 4, rect.bottom() + 1, rect.width() + 8, line + 2),
                                     Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, rho_text(value))


class SanityView(QWidget):
    """Mode, seed, Run/Cancel with progress, the strip and what it means."""

    def __init__(self, client, parent: QWidget | None = None):
        super().__init__(parent)
        self.current_input = lambda: None     # the installer's: the digit to explain
        self.is_training = lambda: False
        self.task = TaskRequest(client, "sanity_check", self)
        self.mode_box = QComboBox()
        for name, text in MODES.items():
            self.mode_box.addItem(text, name)
        self.mode_box.setToolTip("Cascading: randomise the output layer, then each layer below it as well. "
                                 "One at a time: each layer alone, the others trained")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 1_000_000)
        self.seed_box.setPrefix("seed ")
        self.seed_box.setToolTip("The random weights drawn (the same seed gives the same steps)")
        self.run_button = QPushButton("Run the check")
        self.run_button.setToolTip("Randomise the layers and explain the digit again at every step, in the background")
        self.progress = TaskProgress(compact=True)
        self.progress.setVisible(False)
        self.strip = SanityStrip()
        self.summary = message_label()
        self.message = message_label()
        row = QHBoxLayout()
        row.addWidget(self.mode_box, 2)
        row.addWidget(self.seed_box, 1)
        row.addWidget(self.run_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.strip)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        self.run_button.clicked.connect(lambda: self.run())
        self.progress.cancel_clicked.connect(self.task.cancel)
        self.task.progress.connect(self._on_progress)
        self.task.finished.connect(self._on_result)
        self.task.failed.connect(lambda text: show_text(self.message, f"The check did not run: {text}"))
        self.task.cancelled.connect(lambda: show_text(self.message, "Cancelled: the strip keeps the last full run."))
        self.task.ended.connect(self._on_ended)

    def run(self, mode: str | None = None, seed: int | None = None) -> bool:
        """Start the check on the current digit (`mode`, `seed`: the boxes' unless given); False if it cannot."""
        if mode is not None:
            self.mode_box.setCurrentIndex(max(0, self.mode_box.findData(mode)))
        if seed is not None:
            self.seed_box.setValue(int(seed))
        image = self.current_input()
        if image is None:
            show_text(self.message, "Draw a digit (or pick a test digit) first: the check explains it.")
            return False
        if self.is_training():
            show_text(self.message, "The check runs once training has finished (the weights are still changing).")
            return False
        show_text(self.message, "")
        self.run_button.setEnabled(False)
        return self.task.start({"image": image, "mode": self.mode_box.currentData(), "seed": self.seed_box.value()})

    def model_changed(self) -> None:
        self.task.forget()
        self.strip.set_result(None)
        show_text(self.summary, "")

    def _on_progress(self, fraction: float) -> None:
        self.progress.setVisible(True)
        self.progress.show_running("Randomising the layers and explaining again…", None if fraction < 0 else fraction)

    def _on_ended(self) -> None:
        self.progress.setVisible(False)
        self.run_button.setEnabled(True)

    def _on_result(self, reply: dict) -> None:
        result = reply["result"]
        self.strip.set_result(result)
        show_text(self.summary, summary_text(result))
        show_text(self.message, " ".join(f"{METHOD_NAMES.get(m, m)} left out: {why}." for m, why in
                                      result.skipped.items()))


def summary_text(result) -> str:
    """One line per method: its ρ with every layer random (cascading) or its lowest (one at a time)."""
    if not result.steps:
        return "This model has no layer with weights to randomise."
    parts = []
    for method in METHOD_NAMES:
        if method not in result.original:
            continue
        scores = [s.spearman[method] for s in result.steps if s.spearman[method] is not None]
        if not scores:
            parts.append(f"{METHOD_NAMES[method]}: its maps went flat")
            continue
        value = scores[-1] if result.mode == "cascading" else float(np.min(scores))
        verdict = ("still looks like the trained map: it shows the input more than the model" if value >= 0.5 else
                   "partly changed" if value >= 0.2 else "changed: it depends on what the model learned")
        parts.append(f"{METHOD_NAMES[method]} {rho_text(value)}, {verdict}")
    where = "with every layer random" if result.mode == "cascading" else "at its lowest"
    return (f"Class {result.class_index} explained; {where}: " + "; ".join(parts)
            + ". One digit and one seed are noisy: try other digits and seeds before you trust a verdict.")
