"""What a user does, as Qt events: mouse presses, moves and hovers, a 7 drawn on the canvas, a menu action
triggered by its words; and `when`, to act once something holds."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

# A "7" in unit coordinates of the canvas: the bar, then the diagonal.
SEVEN = [(0.26, 0.24), (0.40, 0.23), (0.55, 0.22), (0.72, 0.22), (0.66, 0.36), (0.58, 0.52),
         (0.50, 0.68), (0.44, 0.82)]
POLL_MS = 50
WAIT_LIMIT_MS = 120_000


def send_mouse(widget, kind: QEvent.Type, position: QPointF) -> None:
    """Deliver a left-button mouse event to `widget` at `position` (widget coordinates)."""
    pressed = kind != QEvent.Type.MouseButtonRelease
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.LeftButton if pressed else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, position, widget.mapToGlobal(position), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def send_hover(widget, position: QPointF) -> None:
    """Move the mouse over `widget` at `position` with no button held."""
    event = QMouseEvent(QEvent.Type.MouseMove, position, widget.mapToGlobal(position), Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def click(widget, position: QPointF) -> None:
    """A left click (press and release) on `widget` at `position`."""
    send_mouse(widget, QEvent.Type.MouseButtonPress, position)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, position)


def draw_seven(canvas) -> None:
    """One left-button stroke through SEVEN, as mouse events on the drawing canvas."""
    side = min(canvas.width(), canvas.height())
    origin = QPointF((canvas.width() - side) / 2, (canvas.height() - side) / 2)
    points = [origin + QPointF(x * side, y * side) for x, y in SEVEN]
    send_mouse(canvas, QEvent.Type.MouseButtonPress, points[0])
    for start, end in zip(points, points[1:]):
        for step in range(1, 6):  # several moves per segment, as a hand makes
            send_mouse(canvas, QEvent.Type.MouseMove, start + (end - start) * (step / 5))
            QApplication.processEvents()
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1])


def trigger(actions, word: str) -> None:
    """Trigger the first enabled action whose text mentions `word` (case-insensitive)."""
    for action in actions:
        if word in action.text().replace("&", "").lower() and action.isEnabled():
            action.trigger()
            return


def when(condition: Callable[[], bool], then: Callable[[], None], waited_ms: int = 0) -> None:
    """Call `then()` once `condition()` holds (checked every POLL_MS), or give up after WAIT_LIMIT_MS."""
    if condition():
        then()
    elif waited_ms < WAIT_LIMIT_MS:
        QTimer.singleShot(POLL_MS, lambda: when(condition, then, waited_ms + POLL_MS))
