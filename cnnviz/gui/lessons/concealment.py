"""A question's `conceal`: the parts of the window that would give its answer away are covered until the
reveal. A cover is a plain panel laid over a part (it follows the part's size, and hides with it); the
network overview loses only its shape labels, the layer's title and its tooltips; a receptive field is
hidden by the Unit panel's own switch (`units.show_fields`)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QWidget

from cnnviz.gui.lessons.app_links import place_of

COVER_TEXT = "Hidden until you answer"
COVER_TIP = "The lesson hides this part until you commit your answer: it would give the answer away."


class Cover(QLabel):
    """An opaque panel over `area(host)` of `host` (a rectangle in its coordinates), kept there as it resizes."""

    def __init__(self, host: QWidget, area: Callable[[QWidget], QRect], text: str = COVER_TEXT):
        super().__init__(text, host)
        self._area = area
        self.setObjectName("lesson_cover")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAutoFillBackground(True)
        self.setToolTip(COVER_TIP)
        framed = text and host.height() >= 30      # a one-line label gets the words alone
        frame = "border: 1px dashed palette(mid); border-radius: 4px;" if framed else "border: none;"
        self.setStyleSheet(f"#lesson_cover {{ background: palette(window); color: palette(mid); {frame} "
                           "font-style: italic; }")
        host.installEventFilter(self)
        self._place()
        self.show()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.parentWidget() and event.type() in (QEvent.Type.Resize, QEvent.Type.Show,
                                                                  QEvent.Type.LayoutRequest):
            self._place()
        return False

    def remove(self) -> None:
        """Take the cover away now (and delete it later)."""
        self.parentWidget().removeEventFilter(self)
        self.hide()
        self.deleteLater()

    def _place(self) -> None:
        self.setGeometry(self._area(self.parentWidget()))
        self.raise_()


class _NoTooltips(QObject):
    """Eats the tooltips of the widget it filters (the overview's tell every layer's shape)."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        return event.type() == QEvent.Type.ToolTip


def _whole(widget: QWidget) -> QRect:
    return widget.rect()


class Concealment(QObject):
    """Which lesson targets are hidden now; `conceal(names)` hides exactly those (lifting the others)."""

    def __init__(self, context, parent: QObject | None = None):
        super().__init__(parent)
        self._context = context
        self._active: dict[str, list[Callable[[], None]]] = {}   # name -> what undoes its hiding

    def hidden(self) -> tuple[str, ...]:
        return tuple(self._active)

    def conceal(self, names) -> list[str]:
        """Hide the lesson targets `names` (and only them); the names that are not in this window."""
        missing = []
        for name in [name for name in self._active if name not in names]:
            self._lift(name)
        for name in names:
            if name not in self._active:
                undo = self._hide(name)
                if undo:
                    self._active[name] = undo
                else:
                    missing.append(name)
        return missing

    def lift_all(self) -> None:
        for name in list(self._active):
            self._lift(name)

    def _lift(self, name: str) -> None:
        for undo in self._active.pop(name, []):
            undo()

    def _hide(self, name: str) -> list[Callable[[], None]]:
        context = self._context
        if name == "receptive-field":
            if not context.operations.has("units.show_fields"):
                return []
            context.operations.call("units.show_fields", False)
            return [lambda: context.operations.call("units.show_fields", True)]
        if name == "pipeline":
            return self._hide_shapes()
        undo = []
        for target in place_of(name).targets:
            if target in context.targets.names():
                widget = context.targets.widget(target)
                undo.append(_covered(widget.widget() if isinstance(widget, QDockWidget) else widget))
        return undo

    def _hide_shapes(self) -> list[Callable[[], None]]:
        """The overview's shape labels and tooltips, and the layer's title (its shape) and size sentence."""
        views = self._context.inspector.views
        pipeline = views.pipeline
        labels = Cover(pipeline, lambda widget: widget.labels_rect().toAlignedRect(), "Sizes hidden until you answer")
        blocker = _NoTooltips(pipeline)
        pipeline.installEventFilter(blocker)
        undo = [labels.remove, lambda: (pipeline.removeEventFilter(blocker), blocker.deleteLater())]
        undo.append(_covered(views.layer_title, "The layer's size: hidden until you answer"))
        undo.append(_covered(views.layer_explanation, ""))    # its size sentence: blank
        return undo


def _covered(widget: QWidget, text: str = COVER_TEXT) -> Callable[[], None]:
    return Cover(widget, _whole, text).remove
