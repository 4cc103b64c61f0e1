"""The few colours the inspector's views share, so every view highlights the same way."""

from PySide6.QtGui import QColor

ACCENT = QColor(255, 170, 40)          # selection, top guess, guides
ACCENT_SOFT = QColor(255, 170, 40, 28)
BAR = QColor(110, 140, 190)            # other probabilities
FRAME = QColor(90, 90, 100)
MUTED_TEXT = QColor(140, 140, 150)
PANEL = QColor(30, 31, 36)             # behind maps
FIELD = QColor(0, 215, 255)            # a unit's receptive field and the units that feed it


def text_colour(widget) -> QColor:
    """The palette's text colour (follows a dark or light desktop theme)."""
    return widget.palette().windowText().color()
