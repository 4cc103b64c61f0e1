"""Whether a panel in a dock can be seen, for panels that compute or paint only then.

Qt lays a dock tabbed behind another out off-screen but keeps it visible: `isVisible()` stays True, and
no hideEvent comes when its tab goes back (nor a showEvent when it comes forward). A panel behind the
Training tab would go on computing for every stroke (the Move it panel's batched probe made each stroke's
maps wait ~30 ms in the compute process). Such a panel keeps a `FrontTab`, asks `seen()`, and follows
`changed`; the main window's `add_panel` makes every FrontTab inside a panel `follow` the dock it puts it in.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDockWidget, QWidget


class FrontTab(QObject):
    """Tracks whether `panel` can be seen: shown, and its dock's tab (if it is tabbed) in front."""

    changed = Signal(bool)   # seen() after the dock's tab came forward or went back

    def __init__(self, panel: QWidget):
        super().__init__(panel)
        self._panel = panel
        self._front = True   # not in a dock yet, or its tab in front

    def follow(self, dock: QDockWidget) -> None:
        dock.visibilityChanged.connect(self._on_dock_visibility)

    def seen(self) -> bool:
        return self._front and self._panel.isVisible()

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible != self._front:
            self._front = visible
            self.changed.emit(self.seen())
