"""The learner's digit as drawn or loaded, and the lessons' `shift-digit`: the same digit moved by whole
pixels, shown through the inspector's public `show_input`.

The lesson's "your digit" stays the unshifted one (its answers are about it); the canvas shows the moved
copy until the learner draws, loads or opens something else. When the window has issue 21's Move it panel,
its operation (`app_links.MOVE_IT_SHIFT`, "robustness.shift") moves the digit instead, so the panel's plot
and bars follow the lesson's move.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.core.lessons.vocabulary import MAX_SHIFT
from cnnviz.core.robustness import shift_image
from cnnviz.gui.lessons.app_links import MOVE_IT_SHIFT


class DigitShift(QObject):
    """Follows the inspector's input: the digit as drawn (`original()`), and the move shown (`offset()`)."""

    drawn = Signal()             # a new digit was drawn, loaded or opened (not a moved copy of the last one)
    moved = Signal(int, int)     # the digit is shown moved by dx, dy (0, 0: back where it was)

    def __init__(self, inspector, operations, parent: QObject | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self._operations = operations
        self._original: np.ndarray | None = None
        self._offset = (0, 0)
        self._shown: np.ndarray | None = None    # the moved copy put on the canvas (its input_changed follows)
        inspector.input_changed.connect(self._on_input_changed)
        self._on_input_changed(inspector.current_input())

    def original(self) -> np.ndarray | None:
        """The learner's digit as drawn or loaded (the model input), before any move; None when none."""
        return self._original

    def offset(self) -> tuple[int, int]:
        """(dx, dy) of the move shown now: pixels right and down."""
        return self._offset

    def shift(self, dx: int, dy: int = 0) -> bool:
        """Show the learner's digit moved `dx` pixels right and `dy` down (not added to an earlier move; (0, 0)
        puts it back). False when there is no digit, or the move is over MAX_SHIFT pixels."""
        dx, dy = int(dx), int(dy)
        if self._original is None or max(abs(dx), abs(dy)) > MAX_SHIFT:
            return False
        moved = shift_image(self._original, dx, dy)
        if self._operations.has(MOVE_IT_SHIFT):   # the Move it panel moves the same digit the same way
            self._shown = moved                     # so its copy arriving on the canvas is known as ours
            if not self._operations.call(MOVE_IT_SHIFT, dx, dy):
                self._shown = None
                return False
        else:
            self._shown = moved
            self._inspector.show_input(self._shown)
        self._offset = (dx, dy)
        self.moved.emit(dx, dy)
        return True

    def _on_input_changed(self, image) -> None:
        if image is None:
            self._original, self._shown, self._offset = None, None, (0, 0)
            return
        image = np.asarray(image)
        if _same(image, self._shown) or _same(image, self._original if self._offset == (0, 0) else None):
            return   # the moved copy arriving, or the same digit again (a new model prepares it again)
        self._original, self._shown, self._offset = np.array(image, dtype=np.float32), None, (0, 0)
        self.drawn.emit()


def _same(image: np.ndarray, other: np.ndarray | None) -> bool:
    return other is not None and image.shape == other.shape and np.array_equal(image, other)
