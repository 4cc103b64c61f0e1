"""Mouse moves over a pyqtgraph view, every one of them: the last move always wins.

pyqtgraph's scene drops a move that comes less than 1000/`mouseRateLimit` ms (10 ms) after the one before
(`sigMouseMoved`): after a quick flick, the read-out kept the unit the cursor passed over, not the one it
stopped on. `LatestMouseMove` watches the view's viewport itself and reports every move (Qt already merges
the moves that queue up while the GUI is busy, so a burst costs no more than the moves it can show).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, QPointF


class LatestMouseMove(QObject):
    """Calls `on_move(scene_pos)` for every mouse move over `view` (a QGraphicsView), as it comes."""

    def __init__(self, view, on_move: Callable[[QPointF], None]):
        super().__init__(view)
        self._view = view
        self._on_move = on_move
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.MouseMove:
            self._on_move(QPointF(self._view.mapToScene(event.position().toPoint())))
        return False
