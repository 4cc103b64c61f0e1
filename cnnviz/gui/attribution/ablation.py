"""Switching filters off: right-click a channel -> "Switch this filter off"; its maps become zeros from that
layer on, and every later layer and the prediction update at once.

`Ablation` holds the switched-off filters ({layer: channels}) and, optionally, layers cut to their
k strongest channels for each input. Every change is sent to the compute process ("set_ablation",
which makes every probe go through the ablated forward pass: strokes, test digits and the live maps
while training) and the current input's outputs are asked for again. The grid crosses out the
switched-off channels of the layer shown. A new model keeps the switched-off filters it also has
(same layer names and channels); the others are dropped.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QMenu

from cnnviz.compute.protocol import ComputeError


class Ablation(QObject):
    """The switched-off filters, kept in step with the compute process and marked in the grid."""

    changed = Signal()      # the set of switched-off filters (or kept top-k layers) changed
    failed = Signal(str)

    def __init__(self, inspector, client, parent: QObject | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self._client = client
        self._off: dict[str, set[int]] = {}
        self._keep_top: dict[str, int] = {}
        inspector.add_channel_menu_hook(self.add_menu_entries)
        inspector.layer_changed.connect(self.mark_grid)
        inspector.outputs_shown.connect(self.mark_grid)

    # --- the state -----------------------------------------------------------------------------
    def switched_off(self) -> dict[str, list[int]]:
        """{layer: sorted channels} switched off, layers in model order."""
        order = {name: i for i, name in enumerate(self._inspector.layer_names())}
        return {layer: sorted(channels) for layer, channels in sorted(self._off.items(),
                                                                       key=lambda item: order.get(item[0], 99))
                if channels}

    def kept_top(self) -> dict[str, int]:
        """{layer: k} of layers keeping only their k strongest channels."""
        return dict(self._keep_top)

    def is_active(self) -> bool:
        return bool(self.switched_off() or self._keep_top)

    def is_off(self, layer: str, channel: int) -> bool:
        return channel in self._off.get(layer, ())

    def switch_off(self, layer: str, channel: int) -> None:
        self._off.setdefault(layer, set()).add(int(channel))
        self._apply()

    def switch_on(self, layer: str, channel: int) -> None:
        self._off.get(layer, set()).discard(int(channel))
        self._apply()

    def keep_top(self, layer: str, k: int | None) -> None:
        """Keep only `layer`'s k strongest channels for each input (None: all of them again)."""
        if k is None:
            self._keep_top.pop(layer, None)
        else:
            self._keep_top[layer] = int(k)
        self._apply()

    def all_on(self) -> None:
        """Every filter back on."""
        self._off.clear()
        self._keep_top.clear()
        self._apply()

    def set_client(self, client) -> None:
        self._client = client

    def model_changed(self) -> None:
        """A model is shown (loaded, trained, or back after a crash): keep what it also has, tell the
        compute process again (a restarted one has forgotten) and recompute."""
        model = self._inspector.model()
        widths = {} if model is None else {spec.name: spec.output_shape[-1] for spec in model.layers
                                           if spec.is_spatial}
        had = self.is_active()
        self._off = {layer: {c for c in channels if c < widths[layer]} for layer, channels in self._off.items()
                     if layer in widths}
        self._keep_top = {layer: k for layer, k in self._keep_top.items() if layer in widths}
        if had or self.is_active():
            self._apply()

    # --- talking to the compute process --------------------------------------------------------
    def _apply(self) -> None:
        self.mark_grid()
        self.changed.emit()
        if self._client is None or self._inspector.model() is None:
            return
        self._client.request("set_ablation", {"off": self.switched_off(), "keep_top": self.kept_top()},
                             on_error=self._on_failed)
        self._inspector.recompute_outputs()   # sent after it: the probe honours it

    def _on_failed(self, error: ComputeError) -> None:
        if not error.crashed:
            self.failed.emit(f"Could not switch filters off: {error.message}")

    # --- the grid --------------------------------------------------------------------------------
    def mark_grid(self, *_args) -> None:
        """Cross out the current layer's switched-off channels."""
        names = self._inspector.layer_names()
        layer = self._inspector.current_layer()
        name = names[layer] if 0 <= layer < len(names) else ""
        self._inspector.layer_grid.set_marked(self._off.get(name, ()))

    def add_menu_entries(self, menu: QMenu, layer: int, channel: int | None) -> None:
        """The channel's context menu: switch it off (or on), keep the top k, all back on."""
        names = self._inspector.layer_names()
        model = self._inspector.model()
        if model is None or not 0 <= layer < len(names) or not model.layers[layer].is_spatial:
            return
        name = names[layer]
        menu.addSeparator()
        if channel is not None:
            if self.is_off(name, channel):
                menu.addAction(f"Switch filter {channel} back on", lambda: self.switch_on(name, channel))
            else:
                menu.addAction(f"Switch this filter off ({name} channel {channel})",
                               lambda: self.switch_off(name, channel))
        count = model.layers[layer].output_shape[-1]
        if name in self._keep_top:
            menu.addAction(f"Keep all channels of {name} again", lambda: self.keep_top(name, None))
        else:
            menu.addAction(f"Keep only the top-k channels of {name}…", lambda: self._ask_keep_top(name, count))
        if self.is_active():
            menu.addAction("Switch all filters back on", self.all_on)

    def _ask_keep_top(self, layer: str, count: int) -> None:
        k, ok = QInputDialog.getInt(self._inspector, "Keep the strongest channels",
                                    f"Keep how many of {layer}'s {count} channels (the strongest for each "
                                    f"input, by mean activation)?", max(1, count // 4), 1, count)
        if ok:
            self.keep_top(layer, k)
