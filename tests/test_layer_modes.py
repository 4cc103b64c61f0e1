"""The layer-mode switch: Maps, plus the per-channel views features add (kernels, patterns…)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings

from cnnviz.core.colormaps import lookup_table
from cnnviz.gui.inspector.inspector_widget import InspectorWidget
from cnnviz.gui.widgets.layer_modes import MAPS, LayerMode, Tiles


class ConvOnlyMode(LayerMode):
    """A test mode: a ramp per channel on conv layers, nothing on others."""

    name, label, tooltip = "ramps", "Ramps", "test tiles"

    def __init__(self, ready: bool = True):
        super().__init__()
        self.ready = ready

    def applies_to(self, layer):
        return layer.kind == "Conv2D"

    def tiles(self, layer):
        if not self.ready:
            return None
        channels = 32 if layer == 0 else 64
        images = np.stack([np.full((3, 3), c, np.float32) for c in range(channels)])
        levels = np.tile(np.array([[0.0, channels]], np.float32), (channels, 1))
        return Tiles(images, levels, lookup_table("gray"), "ramp", "gray")

    def message(self, layer):
        return "ramps are on their way"

    def describe_tile(self, layer, channel, y, x):
        return f"ramp {channel} at {y},{x}"


def test_modes_show_their_tiles_and_only_where_they_apply(qtbot):
    inspector = InspectorWidget()
    qtbot.addWidget(inspector)
    mode = ConvOnlyMode()
    inspector.add_layer_mode(mode)
    assert not inspector.layer_modes.isHidden()          # conv2d_1: Maps | Ramps
    inspector.layer_modes.set_current("ramps")
    assert inspector.current_layer_mode() == "ramps"
    assert inspector.layer_grid.maps().shape == (32, 3, 3)  # tiles shown without any input drawn
    assert inspector.layer_grid.maps()[5, 0, 0] == 5
    assert not inspector.views.colormap_box.isEnabled()        # the tiles bring their own colours
    assert not inspector.views.normalisation_box.isEnabled()
    inspector.layer_grid.channel_hovered.emit(7, 1, 2)    # the cursor over pixel (2, 1) of tile 7
    assert inspector.hover_text() == "ramp 7 at 2,1"
    inspector.select_layer(1)                          # max pooling: the mode does not apply
    assert inspector.layer_modes.isHidden()
    assert inspector.current_layer_mode() == MAPS
    assert inspector.views.colormap_box.isEnabled() and inspector.views.normalisation_box.isEnabled()
    inspector.select_layer(2)                          # conv2d_2: back to the mode's 64 tiles
    assert inspector.current_layer_mode() == "ramps"
    assert inspector.layer_grid.maps().shape == (64, 3, 3)


def test_a_mode_without_tiles_says_why_and_redraws_when_ready(qtbot):
    inspector = InspectorWidget()
    qtbot.addWidget(inspector)
    mode = ConvOnlyMode(ready=False)
    inspector.add_layer_mode(mode)
    inspector.layer_modes.set_current("ramps")
    assert inspector.layer_view() is inspector.views.message
    assert "on their way" in inspector.layer_message()
    mode.ready = True
    mode.changed.emit()
    assert inspector.layer_view() is inspector.layer_grid


def test_the_chosen_mode_is_remembered(qtbot):
    settings = QSettings()
    first = InspectorWidget()
    qtbot.addWidget(first)
    first.add_layer_mode(ConvOnlyMode())
    first.layer_modes.set_current("ramps")
    first.save_settings(settings)
    second = InspectorWidget()
    qtbot.addWidget(second)
    second.restore_settings(settings)
    second.add_layer_mode(ConvOnlyMode())
    assert second.current_layer_mode() == "ramps"
