"""Tall panels in short dock areas: they scroll when there is little room, and take room when the user opens them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget


KEEP = 240   # the least height the panels above or below keep (a plot still reads at that size)


def make_room(dock: QDockWidget, height: int) -> None:
    """Show and raise `dock`; if it is docked and lower than `height` pixels, make it taller: the other panels
    of its dock column give room down to KEEP pixels (or their own minimum, if larger)."""
    dock.show()
    dock.raise_()
    window = dock.parentWidget()
    if dock.isFloating() or not isinstance(window, QMainWindow) or dock.height() >= height:
        return
    area = window.dockWidgetArea(dock)
    beside = set(window.tabifiedDockWidgets(dock))
    others = [other for other in window.findChildren(QDockWidget)
              if other is not dock and other not in beside and other.isVisible() and not other.isFloating()
              and window.dockWidgetArea(other) == area and not other.visibleRegion().isEmpty()
              and _same_column(other, dock)]
    window.resizeDocks([dock, *others], [height, *(max(KEEP, o.minimumSizeHint().height()) for o in others)],
                       Qt.Orientation.Vertical)


def scrolling(panel: QWidget) -> QScrollArea:
    """`panel` in a frameless vertical scroll area (what goes into the dock): the window never grows for it."""
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


def _same_column(first: QDockWidget, second: QDockWidget) -> bool:
    """Whether two docks are stacked one above the other (their x ranges overlap)."""
    a, b = first.geometry(), second.geometry()
    return a.left() < b.right() and b.left() < a.right()
