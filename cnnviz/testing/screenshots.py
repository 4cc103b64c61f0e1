"""A screenshot of the window and, beside it (`.json`), where the window's parts are on it: every named
target of the window (gui/seam/targets.py: docks by panel name, "inspector", "canvas", "input",
"layer_stack", …), so that `scripts/make_screenshots.py` can crop the README's pictures."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPoint


def save_screenshot(window, path: Path):
    """The screen (or the window) as PNG at `path`, and its parts' rectangles beside it; returns the QImage."""
    path.parent.mkdir(parents=True, exist_ok=True)
    screen = window.screen()
    image = screen.grabWindow(0) if screen is not None else window.grab()
    whole_screen = screen is not None and not image.isNull()
    if image.isNull():
        image = window.grab()
    image.save(str(path), "PNG")
    save_regions(window, path.with_suffix(".json"), whole_screen)
    return image


def save_regions(window, path: Path, whole_screen: bool) -> None:
    """Write the screenshot's rectangles of the window's named parts to `path` (JSON: name -> [x, y, w, h])."""
    origin = QPoint(0, 0) if whole_screen else window.mapToGlobal(QPoint(0, 0))
    shown = window.rect().translated(window.mapToGlobal(QPoint(0, 0)) - origin)
    regions = {}
    for name, widget in window.context.targets.widgets().items():
        if widget.isVisible():
            corner = widget.mapToGlobal(QPoint(0, 0)) - origin
            if shown.intersects(widget.rect().translated(corner)):   # not a dock in a tab behind another
                regions[name] = [corner.x(), corner.y(), widget.width(), widget.height()]
    path.write_text(json.dumps(regions, indent=1))
