"""Real mouse moves over pyqtgraph views that always arrive (tests/test_polish_gui.py, test_vector_view.py)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPoint


def hover(qtbot, viewport, point: QPoint) -> None:
    """Move the mouse over `viewport` to `point` so that the view sees the move.

    A single `qtbot.mouseMove` can be lost twice over: Qt delivers no move to where the cursor already
    is (an earlier test may have left it there), and pyqtgraph's scene ignores a move that comes less
    than 1/mouseRateLimit s (10 ms) after the one before. So: a move elsewhere first, a pause longer
    than pyqtgraph's interval (this only waits, it asserts nothing about time), then the move.
    """
    elsewhere = QPoint(1, 1) if point != QPoint(1, 1) else QPoint(2, 2)   # (QPoint(0, 0) means "the centre")
    qtbot.mouseMove(viewport, elsewhere)
    rate = pg.getConfigOption("mouseRateLimit")
    qtbot.wait(int(2000 / rate) + 1 if rate > 0 else 1)
    qtbot.mouseMove(viewport, point)
