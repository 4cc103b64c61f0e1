"""The context menu of a channel, a layer or the bars: "Export this channel/layer/all layers…"
(`export_requested`, which the export capability answers), then what capabilities add (`add_hook`)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMenu, QWidget

from cnnviz.core.inspection import Inspection
from cnnviz.gui.inspector.views import InspectorViews


class ExportMenu(QObject):
    """The context menu of one inspector's grid, enlarged channel and bars (`owner`: its parent)."""

    export_requested = Signal(str, int, int)   # "channel"|"layer"|"all", layer index, channel (-1 = n/a)

    def __init__(self, owner: QWidget, state: Inspection, views: InspectorViews, layer_name):
        super().__init__(owner)
        self._owner = owner
        self._state = state
        self._layer_name = layer_name   # a function: the current layer's name
        self._hooks: list = []
        views.layer_grid.context_menu_requested.connect(
            lambda channel, position: self._popup(channel if channel >= 0 else state.channel, position))
        views.channel_view.context_menu_requested.connect(lambda position: self._popup(state.channel, position))
        views.vector_view.context_menu_requested.connect(lambda position: self._popup(None, position))

    def menu(self, channel: int | None) -> QMenu:
        """"Export this channel…", "… this layer…", "… all layers…" -> export_requested; then the hooks'."""
        menu = QMenu(self._owner)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layer = self._state.layer
        if channel is not None:
            menu.addAction(f"Export channel {channel}…",
                           lambda: self.export_requested.emit("channel", layer, channel))
        menu.addAction(f"Export layer {self._layer_name()}…",
                       lambda: self.export_requested.emit("layer", layer, -1))
        menu.addAction("Export all layers…", lambda: self.export_requested.emit("all", layer, -1))
        for hook in self._hooks:
            hook(menu, layer, channel)
        return menu

    def add_hook(self, hook) -> None:
        """`hook(menu, layer, channel)` adds a capability's entries (channel None: right-clicked beside the
        maps or on a flat layer) after the export ones."""
        self._hooks.append(hook)

    def _popup(self, channel: int | None, position) -> None:
        self.menu(channel).popup(position)
