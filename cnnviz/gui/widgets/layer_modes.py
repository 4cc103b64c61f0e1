"""Ways to show a layer's channels in the grid: their maps (always), and views that capabilities add.

The inspector's grid shows one tile per channel. By default the tiles are the channel's feature
maps for the current input; a `LayerMode` can show something else per channel instead (the
learned kernels, the filter patterns that excite each channel most, …). The `LayerModeBar` above
the grid offers "Maps" plus every added mode that applies to the current layer:

    class KernelsMode(LayerMode):
        name, label, tooltip = "kernels", "Kernels", "The learned 3×3 weights of each filter"
        def applies_to(self, layer): return layer.kind == "Conv2D"
        def tiles(self, layer): return Tiles(images, levels, lookup_table(...), "weight")  # or None

    inspector.add_layer_mode(KernelsMode(inspector))

A mode emits `changed` when its tiles for the current layer changed (new weights while training, a
pattern computation finished); the inspector then asks `tiles(layer)` again. `tiles` returns None
while it has nothing to show (say why in `message(layer)`, or show `placeholder(layer)`: a widget
with progress and Cancel), and may start work in the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QToolButton, QWidget

from cnnviz.core.inspection import LayerDescription

MAPS = "maps"


@dataclass
class Tiles:
    """What a mode shows in the grid: one image per channel, with its colour levels and colormap."""

    images: np.ndarray          # (C, h, w) float32, one tile per channel
    levels: np.ndarray          # (C, 2) low/high of each tile's colours
    lookup_table: np.ndarray    # (256, 3) uint8 colours from low to high
    caption: str = ""           # what the colour bar measures, e.g. "weight"
    colormap: str = ""          # the colormap's name, for the colour bar ("" = the maps' colormap)


class LayerMode(QObject):
    """A per-channel view of a layer other than its maps. Subclass, set the names, override the methods."""

    changed = Signal()   # the tiles of the current layer changed: ask `tiles` again

    name = ""            # an identifier, e.g. "kernels" (remembered in the settings)
    label = ""           # the button's text, e.g. "Kernels"
    tooltip = ""

    def applies_to(self, layer: LayerDescription) -> bool:
        """True when this mode has something to show for `layer`."""
        return False

    def tiles(self, layer: int) -> Tiles | None:
        """The tiles for layer index `layer` (model order), or None while there are none yet."""
        return None

    def message(self, layer: int) -> str:
        """Why there are no tiles for `layer` (shown in place of the grid)."""
        return "Nothing to show for this layer."

    def placeholder(self, layer: int) -> QWidget | None:
        """A widget shown in place of the grid while there are no tiles (e.g. a progress bar with a
        Cancel button), or None for the plain `message`."""
        return None

    def describe_tile(self, layer: int, channel: int, y: int, x: int) -> str:
        """The hover read-out for pixel (y, x) of channel's tile."""
        return f"channel {channel}"

    def enlarged(self, layer: int, channel: int) -> tuple[np.ndarray, str] | None:
        """A picture of `channel`'s tile for the enlarged view beside the grid, and its title (in the
        tiles' colours); None: the enlarged view shows the channel's feature map, as with Maps."""
        return None


class LayerModeBar(QWidget):
    """Segmented buttons "Maps | Kernels | …": which view of the current layer's channels the grid shows."""

    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._modes: dict[str, LayerMode] = {}
        self._buttons: dict[str, QToolButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._add_button(MAPS, "Maps", "Each channel's feature map for the current input")
        self._buttons[MAPS].setChecked(True)
        self._layout.addStretch(1)
        self._group.idClicked.connect(self._on_clicked)
        self.setVisible(False)   # only worth showing when there is a choice

    def add_mode(self, mode: LayerMode) -> None:
        """Offer `mode` (after the ones added before it)."""
        if mode.name in self._modes or mode.name == MAPS:
            raise ValueError(f"a layer mode named {mode.name!r} exists already")
        self._modes[mode.name] = mode
        self._add_button(mode.name, mode.label, mode.tooltip)

    def modes(self) -> dict[str, LayerMode]:
        return dict(self._modes)

    def mode(self, name: str) -> LayerMode | None:
        return self._modes.get(name)

    def current(self) -> str:
        """The name of the chosen mode ("maps" when the chosen one does not apply to this layer)."""
        for name, button in self._buttons.items():
            if button.isChecked() and button.isEnabled():
                return name
        return MAPS

    def set_current(self, name: str) -> None:
        """Choose mode `name` (ignored when unknown)."""
        button = self._buttons.get(name)
        if button is not None:
            button.setChecked(True)
            self.mode_changed.emit(self.current())

    def set_layer(self, layer: LayerDescription) -> None:
        """Enable the modes that apply to `layer`; show the bar only when there is a choice."""
        usable = 0
        for name, button in self._buttons.items():
            applies = name == MAPS or (layer.index >= 0 and self._modes[name].applies_to(layer))
            button.setEnabled(applies)
            usable += applies
        self.setVisible(usable > 1)

    def _add_button(self, name: str, label: str, tooltip: str) -> None:
        button = QToolButton()
        button.setText(label)
        button.setToolTip(tooltip)
        button.setCheckable(True)
        button.setAutoRaise(False)
        self._group.addButton(button, len(self._buttons))
        self._buttons[name] = button
        self._layout.insertWidget(len(self._buttons) - 1, button)

    def _on_clicked(self, _button_id: int) -> None:
        """A button was pressed: tell the inspector which mode to show."""
        self.mode_changed.emit(self.current())
