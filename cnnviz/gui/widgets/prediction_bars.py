"""The class probabilities as bars, and the top guess in large type.

Digit models (classes 0…9) get ten vertical bars with the digit under each, as always. Models with
named classes (Fashion-MNIST's "T-shirt/top" …) get one row per class, name, bar and percentage;
with more than ten classes only the ten most likely are listed ("top 10 of 100"). For models whose
output is logits the bars are softmax of them, and a caption says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.gui.widgets.view_colours import ACCENT, BAR, MUTED_TEXT, text_colour

NUM_CLASSES = 10            # the digits' classes (the default names)
MAX_ROWS = 10               # with more classes, the most likely ones
ROW_HEIGHT = 15
SHORT_NAME = 2              # class names this short fit under vertical bars
LOGITS_CAPTION = "softmax of the model's logits"
DIGIT_NAMES = tuple(str(d) for d in range(NUM_CLASSES))


def _top(probabilities: np.ndarray | None) -> tuple[int, float] | None:
    if probabilities is None or len(probabilities) == 0:
        return None
    digit = int(np.argmax(probabilities))
    return digit, float(probabilities[digit])


def shown_classes(probabilities: np.ndarray | None, num_classes: int) -> list[int]:
    """The classes listed, in order: all of them in class order when they fit, else the MAX_ROWS most
    likely, most likely first."""
    if num_classes <= MAX_ROWS:
        return list(range(num_classes))
    if probabilities is None:
        return list(range(MAX_ROWS))
    order = np.argsort(-np.asarray(probabilities), kind="stable")
    return [int(i) for i in order[:MAX_ROWS]]


class PredictionBars(QWidget):
    """Ten vertical bars for digits (0–9 under them), or a row per named class; the most likely one
    highlighted."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._probabilities: np.ndarray | None = None
        self._names: tuple[str, ...] = DIGIT_NAMES
        self._logits = False
        self.setMinimumWidth(200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def probabilities(self) -> np.ndarray | None:
        return self._probabilities

    def class_names(self) -> tuple[str, ...]:
        return self._names

    def top_guess(self) -> tuple[int, float] | None:
        """(class index, probability) of the most likely class, or None with nothing to show."""
        return _top(self._probabilities)

    def top_label(self) -> tuple[str, float] | None:
        """(class name, probability) of the most likely class, or None."""
        top = self.top_guess()
        return None if top is None else (self._class_name(top[0]), top[1])

    def set_class_names(self, names: Sequence[str] | None, logits: bool = False) -> None:
        """The model's classes (None: the digits 0–9); `logits`: the probabilities are softmax of the
        model's output, which the caption says."""
        names = tuple(str(n) for n in names) if names else DIGIT_NAMES
        if names != self._names or logits != self._logits:
            self._names, self._logits = names, bool(logits)
            self._probabilities = None
            self.updateGeometry()
            self.set_probabilities(None)

    def uses_rows(self) -> bool:
        """True when the classes are listed as rows (named classes, or more than ten)."""
        return len(self._names) > NUM_CLASSES or any(len(name) > SHORT_NAME for name in self._names)

    def set_probabilities(self, probabilities: np.ndarray | None) -> None:
        self._probabilities = None if probabilities is None else np.asarray(probabilities, np.float32)
        if self._probabilities is not None and len(self._probabilities) != len(self._names):
            self._names = tuple(str(i) for i in range(len(self._probabilities)))  # a model without names
        if self._probabilities is None:
            self.setToolTip(LOGITS_CAPTION.capitalize() + "." if self._logits else "")
        else:
            lines = [f"{self._class_name(i)}: {self._probabilities[i]:.2%}"
                     for i in shown_classes(self._probabilities, len(self._names))]
            if self._logits:
                lines.append(f"({LOGITS_CAPTION})")
            self.setToolTip("\n".join(lines))
        self.update()

    def _class_name(self, index: int) -> str:
        return self._names[index] if index < len(self._names) else str(index)

    def sizeHint(self):  # noqa: N802
        size = super().sizeHint()
        caption = ROW_HEIGHT if self._logits else 0
        if self.uses_rows():
            rows = min(len(self._names), MAX_ROWS) + (1 if len(self._names) > MAX_ROWS else 0)
            size.setHeight(rows * ROW_HEIGHT + caption + 4)
        else:
            size.setHeight(90 + caption)
        return size

    def minimumSizeHint(self):  # noqa: N802
        return QSize(self.minimumWidth(), self.sizeHint().height())   # every listed class stays readable

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        area = QRectF(self.rect())
        if self._logits:
            painter.setFont(small)
            painter.setPen(MUTED_TEXT)
            painter.drawText(area.adjusted(0, 0, 0, -(area.height() - ROW_HEIGHT)),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"Probabilities: {LOGITS_CAPTION}")
            area = area.adjusted(0, ROW_HEIGHT, 0, 0)
        if self.uses_rows():
            self._paint_rows(painter, area, small)
        else:
            self._paint_columns(painter, area, small)

    def _paint_columns(self, painter: QPainter, area: QRectF, small: QFont) -> None:
        """One vertical bar per class, the class under it (digit models)."""
        label_height = 16
        bars = QRectF(area.x(), area.y() + 14, area.width(), area.height() - 14 - label_height)
        count = len(self._names)
        slot = bars.width() / max(count, 1)
        top = self.top_guess()
        for digit in range(count):
            x = bars.x() + digit * slot
            probability = 0.0 if self._probabilities is None else float(self._probabilities[digit])
            is_top = top is not None and digit == top[0]
            painter.fillRect(QRectF(x + 2, bars.bottom(), slot - 4, 1), MUTED_TEXT)
            bar_height = probability * bars.height()
            painter.fillRect(QRectF(x + 4, bars.bottom() - bar_height, slot - 8, bar_height),
                             ACCENT if is_top else BAR)
            painter.setFont(self.font())
            painter.setPen(ACCENT if is_top else text_colour(self))
            painter.drawText(QRectF(x, bars.bottom() + 1, slot, label_height), Qt.AlignmentFlag.AlignCenter,
                             self._names[digit])
            if probability >= 0.01:
                painter.setFont(small)
                painter.setPen(ACCENT if is_top else MUTED_TEXT)
                painter.drawText(QRectF(x - 6, bars.bottom() - bar_height - 14, slot + 12, 13),
                                 Qt.AlignmentFlag.AlignCenter, f"{probability:.0%}")

    def _paint_rows(self, painter: QPainter, area: QRectF, small: QFont) -> None:
        """One row per listed class: name (elided), bar, percentage."""
        classes = shown_classes(self._probabilities, len(self._names))
        metrics = QFontMetrics(self.font())
        name_width = min(max(metrics.horizontalAdvance(self._names[i]) for i in classes) + 12, area.width() * 0.45)
        percent_width = QFontMetrics(small).horizontalAdvance("100%") + 4
        bar_left = area.x() + name_width
        bar_width = max(area.width() - name_width - percent_width, 10)
        top = self.top_guess()
        for row, index in enumerate(classes):
            y = area.y() + row * ROW_HEIGHT
            probability = 0.0 if self._probabilities is None else float(self._probabilities[index])
            is_top = top is not None and index == top[0]
            painter.setFont(self.font())
            painter.setPen(ACCENT if is_top else text_colour(self))
            name = metrics.elidedText(self._names[index], Qt.TextElideMode.ElideRight, int(name_width - 6))
            painter.drawText(QRectF(area.x(), y, name_width - 6, ROW_HEIGHT),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            painter.fillRect(QRectF(bar_left, y + ROW_HEIGHT - 3, bar_width, 1), MUTED_TEXT)
            painter.fillRect(QRectF(bar_left, y + 2, probability * bar_width, ROW_HEIGHT - 4),
                             ACCENT if is_top else BAR)
            if self._probabilities is not None:
                painter.setFont(small)
                painter.setPen(ACCENT if is_top else MUTED_TEXT)
                painter.drawText(QRectF(bar_left + bar_width, y, percent_width, ROW_HEIGHT),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{probability:.0%}")
        if len(self._names) > MAX_ROWS:
            painter.setFont(small)
            painter.setPen(MUTED_TEXT)
            painter.drawText(QRectF(area.x(), area.y() + len(classes) * ROW_HEIGHT, area.width(), ROW_HEIGHT),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"top {len(classes)} of {len(self._names)} classes")


class TopGuess(QWidget):
    """The predicted class in large type (a digit, or its name made to fit) with its probability, or a
    hint when there is none."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._guess: tuple[int, float] | None = None
        self._names: tuple[str, ...] = DIGIT_NAMES
        self._hint = "Draw a digit"
        self.setMinimumSize(96, 96)

    def guess(self) -> tuple[int, float] | None:
        return self._guess

    def label(self) -> str | None:
        """The name of the guessed class, or None."""
        if self._guess is None:
            return None
        index = self._guess[0]
        return self._names[index] if index < len(self._names) else str(index)

    def set_class_names(self, names: Sequence[str] | None) -> None:
        self._names = tuple(str(n) for n in names) if names else DIGIT_NAMES
        self.update()

    def set_probabilities(self, probabilities: np.ndarray | None, hint: str = "Draw a digit") -> None:
        self._guess = _top(probabilities)
        self._hint = hint
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.setPen(MUTED_TEXT)
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, "prediction")
        text = "–" if self._guess is None else self.label()
        big = QFont(self.font())
        big.setBold(True)
        size = self.font().pointSizeF() * 3.6
        big.setPointSizeF(size)
        while size > self.font().pointSizeF() * 1.1 and QFontMetrics(big).horizontalAdvance(text) > rect.width() - 4:
            size *= 0.9   # long class names: smaller type, so the whole name shows
            big.setPointSizeF(size)
        painter.setFont(big)
        painter.setPen(ACCENT if self._guess else MUTED_TEXT)
        painter.drawText(rect.adjusted(0, 4, 0, -4), Qt.AlignmentFlag.AlignCenter, text)
        painter.setFont(self.font())
        painter.setPen(text_colour(self) if self._guess else MUTED_TEXT)
        caption = self._hint if self._guess is None else f"{self._guess[1]:.1%} sure"
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, caption)
