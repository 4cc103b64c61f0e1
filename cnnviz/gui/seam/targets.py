"""Parts of the window by stable names: to highlight one (a lesson's reveal points at the answer) and
to find one on screen (the autotest's screenshots are cropped to them).

A target is a widget, or a part of one that a `locate(**where)` function finds (a layer's block in the
pipeline overview, a channel's cell in the grid). Docks are targets under their panel names from the
moment `add_panel` makes them; the inspector's parts under names like "prediction" and "grid.channel".
The names that exist are listed in docs/ARCHITECTURE.md ("Targets").

    targets.register("grid.channel", grid.viewport(), locate=lambda channel: grid.cell_rect(channel))
    context.highlight("grid.channel", channel=5)     # an outline flashes around channel 5's map
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QDockWidget, QTabWidget, QWidget

HIGHLIGHT_MS = 2400            # how long an outline stays
HIGHLIGHT_COLOUR = QColor(255, 140, 0)
HIGHLIGHT_WIDTH = 3
_PULSE_MS = 400                # the outline blinks this fast while it stays


@dataclass(frozen=True)
class Target:
    """A named part of the window: `widget`, or the rectangle `locate(**where)` finds in it."""

    name: str
    widget: QWidget
    locate: Callable[..., QRect | None] | None = None
    summary: str = ""


class Targets:
    """The named parts of one window (`CapabilityContext.targets`) and the outline that highlights them."""

    def __init__(self):
        self._targets: dict[str, Target] = {}
        self._outline: HighlightOutline | None = None

    def register(self, name: str, widget: QWidget, locate: Callable[..., QRect | None] | None = None,
                 summary: str = "") -> None:
        """Name `widget` (or, with `locate`, parts of it: `locate(**where)` returns the part's rectangle in
        `widget`'s coordinates, or None when there is no such part now). Names are registered once."""
        if name in self._targets:
            raise ValueError(f"a target named {name!r} is registered already")
        self._targets[name] = Target(name, widget, locate, summary)

    def names(self) -> list[str]:
        return sorted(self._targets)

    def widgets(self) -> dict[str, QWidget]:
        """name -> widget of every target that is a whole widget (not a part found by `locate`)."""
        return {name: target.widget for name, target in sorted(self._targets.items()) if target.locate is None}

    def widget(self, name: str) -> QWidget:
        """The widget registered as `name` (KeyError if there is none)."""
        return self._targets[name].widget

    def locate(self, name: str, **where) -> tuple[QWidget, QRect] | None:
        """(widget, rectangle in its coordinates) of target `name` now; None when it is not on screen
        (hidden, a dock tabbed behind another) or `locate` finds no such part."""
        target = self._targets[name]
        if not target.widget.isVisible() or not _on_screen(target.widget):
            return None
        rect = target.widget.rect() if target.locate is None else target.locate(**where)
        return None if rect is None or rect.isEmpty() else (target.widget, QRect(rect))

    def highlight(self, name: str, **where) -> bool:
        """Bring target `name` into view (a dock it sits in is shown and raised) and outline it for
        HIGHLIGHT_MS. False when there is no such target or part, or it cannot be shown."""
        if name not in self._targets:
            return False
        target = self._targets[name]
        _bring_forward(target.widget)
        found = self.locate(name, **where)
        if found is None:
            return False
        widget, rect = found
        window = widget.window()
        if self._outline is None or self._outline.parent() is not window:
            if self._outline is not None:
                self._outline.deleteLater()
            self._outline = HighlightOutline(window)
        corner = widget.mapTo(window, rect.topLeft())
        self._outline.flash(QRect(corner, rect.size()), name)
        return True

    def outline(self) -> HighlightOutline | None:
        """The outline shown by the last `highlight` (None before the first)."""
        return self._outline


def _on_screen(widget: QWidget) -> bool:
    """Some of `widget` is on screen: its own visible region, or a child's (opaque children, such as a scroll
    area's viewport or the page of a stack, take their parent's region for themselves)."""
    if not widget.visibleRegion().isEmpty():
        return True
    return any(child.isVisible() and not child.visibleRegion().isEmpty() for child in widget.findChildren(QWidget))


def _bring_forward(widget: QWidget) -> None:
    """Show and raise the dock `widget` sits in, if any (a panel tabbed behind another, or closed), and make
    every QTabWidget page on the way to it the current one (a part of a panel's tab that is not shown)."""
    parent, path = widget, []
    while parent is not None and not isinstance(parent, QDockWidget):
        if isinstance(parent, QTabWidget) and len(path) >= 2 and parent.indexOf(path[-2]) >= 0:
            parent.setCurrentWidget(path[-2])      # path[-1] is the tab widget's own stack of pages
        path.append(parent)
        parent = parent.parentWidget()
    if parent is not None:
        parent.show()
        parent.raise_()


class HighlightOutline(QWidget):
    """A blinking frame over a part of a window; it lets every mouse event through to what is under it."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.target = ""
        self._shown = True
        self._pulse = QTimer(self)
        self._pulse.setInterval(_PULSE_MS)
        self._pulse.timeout.connect(self._on_pulse)
        self._end = QTimer(self)
        self._end.setSingleShot(True)
        self._end.timeout.connect(self._on_end)
        self.hide()

    def flash(self, rect: QRect, target: str) -> None:
        """Outline `rect` (the window's coordinates) for HIGHLIGHT_MS."""
        margin = HIGHLIGHT_WIDTH + 1
        self.target = target
        self.setGeometry(rect.adjusted(-margin, -margin, margin, margin))
        self._shown = True
        self.show()
        self.raise_()
        self._pulse.start()
        self._end.start(HIGHLIGHT_MS)
        self.update()

    def is_flashing(self) -> bool:
        return self.isVisible() and self._end.isActive()

    def outlined(self) -> QRect:
        """The rectangle outlined, in the window's coordinates."""
        margin = HIGHLIGHT_WIDTH + 1
        return self.geometry().adjusted(margin, margin, -margin, -margin)

    def _on_pulse(self) -> None:
        self._shown = not self._shown
        self.update()

    def _on_end(self) -> None:
        self._pulse.stop()
        self.hide()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if not self._shown:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(HIGHLIGHT_COLOUR, HIGHLIGHT_WIDTH))
        half = HIGHLIGHT_WIDTH / 2 + 0.5
        painter.drawRoundedRect(self.rect().toRectF().adjusted(half, half, -half, -half), 4, 4)
