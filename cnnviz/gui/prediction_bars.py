"""The ten class probabilities as bars, and the top guess in large type."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.gui.view_colours import ACCENT, BAR, MUTED_TEXT, text_colour

NUM_CLASSES = 10


def _top(probabilities: np.ndarray | None) -> tuple[int, float] | None:
    if probabilities is None:
        return None
    digit = int(np.argmax(probabilities))
    return digit, float(probabilities[digit])


class PredictionBars(QWidget):
    """Ten vertical bars, digits 0–9 under them, the most likely one highlighted."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._probabilities: np.ndarray | None = None
        self.setMinimumSize(200, 80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def probabilities(self) -> np.ndarray | None:
        return self._probabilities

    def top_guess(self) -> tuple[int, float] | None:
        """(digit, probability) of the most likely class, or None with nothing to show."""
        return _top(self._probabilities)

    def set_probabilities(self, probabilities: np.ndarray | None) -> None:
        self._probabilities = None if probabilities is None else np.asarray(probabilities, np.float32)
        self.setToolTip("" if probabilities is None else "\n".join(
            f"{digit}: {p:.2%}" for digit, p in enumerate(self._probabilities)))
        self.update()

    def sizeHint(self):  # noqa: N802
        size = super().sizeHint()
        size.setHeight(90)
        return size

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        label_height = 16
        bars = QRectF(0, 14, self.width(), self.height() - 14 - label_height)
        slot = bars.width() / NUM_CLASSES
        top = self.top_guess()
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        for digit in range(NUM_CLASSES):
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
                             str(digit))
            if probability >= 0.01:
                painter.setFont(small)
                painter.setPen(ACCENT if is_top else MUTED_TEXT)
                painter.drawText(QRectF(x - 6, bars.bottom() - bar_height - 14, slot + 12, 13),
                                 Qt.AlignmentFlag.AlignCenter, f"{probability:.0%}")


class TopGuess(QWidget):
    """The predicted digit in large type with its probability, or a hint when there is none."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._guess: tuple[int, float] | None = None
        self._hint = "Draw a digit"
        self.setMinimumSize(96, 96)

    def guess(self) -> tuple[int, float] | None:
        return self._guess

    def set_probabilities(self, probabilities: np.ndarray | None, hint: str = "Draw a digit") -> None:
        self._guess = _top(probabilities)
        self._hint = hint
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.setPen(MUTED_TEXT)
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, "prediction")
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 3.6)
        big.setBold(True)
        painter.setFont(big)
        painter.setPen(ACCENT if self._guess else MUTED_TEXT)
        painter.drawText(rect.adjusted(0, 4, 0, -4), Qt.AlignmentFlag.AlignCenter,
                         "–" if self._guess is None else str(self._guess[0]))
        painter.setFont(self.font())
        painter.setPen(text_colour(self) if self._guess else MUTED_TEXT)
        caption = self._hint if self._guess is None else f"{self._guess[1]:.1%} sure"
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, caption)
