"""The read-out under the grid: the value under the cursor (a map pixel, a mode's tile, a unit of a flat
layer), and which unit that is (`unit_hovered`, for capabilities and lessons)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from cnnviz.core.inspection import Inspection
from cnnviz.gui.widgets.model_words import is_digit_model
from cnnviz.gui.inspector.views import InspectorViews
from cnnviz.gui.seam.selection import Unit
from cnnviz.gui.widgets.layer_modes import MAPS


class HoverReadout(QObject):
    """Follows the cursor over the grid, the enlarged channel and the bars of one inspector."""

    unit_hovered = Signal(object)   # the Unit of the current layer's outputs under the cursor, or None

    def __init__(self, state: Inspection, views: InspectorViews, model, maps, parent: QObject | None = None):
        super().__init__(parent)
        self._state = state
        self._views = views
        self._model = model    # a function: the inspector's ModelInfo
        self._maps = maps      # a function: the current layer's maps, channel first
        self._unit: Unit | None = None
        views.layer_grid.channel_hovered.connect(self._on_channel_hovered)
        views.channel_view.unit_hovered.connect(self._on_enlarged_hovered)
        views.vector_view.unit_hovered.connect(self._on_unit_hovered)

    def unit(self) -> Unit | None:
        """The unit under the cursor (the maps or bars of the current layer; None elsewhere)."""
        return self._unit

    def text(self) -> str:
        """The read-out shown (all of it: the label may elide it)."""
        label = self._views.hover_label
        return label.toolTip() or label.text()

    def _on_channel_hovered(self, channel: int, x: int, y: int) -> None:
        """The map pixel (or mode tile pixel) under the cursor in the grid."""
        views = self._views
        mode = views.layer_modes.mode(views.layer_modes.current())
        if channel >= 0 and mode is not None:
            self._set_unit(None)
            self._set_text(mode.describe_tile(self._state.layer, channel, y, x))
            return
        if channel < 0 or self._state.outputs is None:
            self._set_unit(None)
            self._set_text(" ")
            return
        self._set_unit(Unit(self._state.layer, channel, y, x))
        value = self._maps()[channel, y, x]
        self._set_text(f"channel {channel}  ·  x {x}, y {y}  ·  value {value:.4f}  "
                       f"(click to enlarge, right-click to export)")

    def _on_enlarged_hovered(self, x: int, y: int) -> None:
        """A pixel of the enlarged channel's map: that unit (the read-out stays the grid's)."""
        channel = self._state.channel
        maps_shown = self._views.layer_modes.current() == MAPS
        self._set_unit(Unit(self._state.layer, channel, y, x) if x >= 0 and channel is not None and maps_shown
                       and self._state.outputs is not None else None)

    def _on_unit_hovered(self, unit: int) -> None:
        if unit < 0 or self._state.outputs is None:
            self._set_unit(None)
            self._set_text(" ")
            return
        self._set_unit(Unit(self._state.layer, unit))
        value = self._state.outputs[self._state.layer][unit]
        model = self._model()
        if self._state.layer == len(self._state.outputs) - 1 and model is not None:   # the classes
            names = model.class_names
            name = names[unit] if unit < len(names) else str(unit)
            self._set_text(f"{'digit' if is_digit_model(model) else 'class'} {name}  ·  value {value:.4f}")
            return
        self._set_text(f"{self._views.vector_view.describe_unit(unit)}  ·  value {value:.4f}")

    def _set_unit(self, unit: Unit | None) -> None:
        if unit != self._unit:
            self._unit = unit
            self.unit_hovered.emit(unit)

    def _set_text(self, text: str) -> None:
        """The read-out in its own row under the grid: elided if the row is ever too narrow for it (the whole
        text is then its tooltip)."""
        label = self._views.hover_label
        width = label.contentsRect().width()
        shown = text
        if width > 0 and label.fontMetrics().horizontalAdvance(text) > width:
            shown = label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, width)
        label.setText(shown)
        label.setToolTip(text if shown != text else "")
