"""What the inspector remembers between runs: colours, the layer and its view, the brush, the image folder."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from cnnviz.core.colormaps import COLORMAPS, NORMALISATIONS
from cnnviz.core.inspection import Inspection
from cnnviz.gui.widgets.layer_modes import MAPS

SETTINGS_GROUP = "inspector"


def save_inspector_settings(inspector, state: Inspection, settings: QSettings) -> None:
    settings.beginGroup(SETTINGS_GROUP)
    settings.setValue("colormap", state.colormap)
    settings.setValue("normalisation", state.normalisation)
    settings.setValue("layer", state.layer)
    settings.setValue("layer_mode", inspector.layer_modes.current())
    settings.setValue("brush_width", int(inspector.canvas.brush_width()))
    settings.setValue("last_folder", inspector.input_sources.last_folder)
    settings.endGroup()


def restore_inspector_settings(inspector, state: Inspection, settings: QSettings) -> str:
    """Restore what `save_inspector_settings` kept; returns the layer mode to choose once it is added."""
    settings.beginGroup(SETTINGS_GROUP)
    colormap = str(settings.value("colormap", state.colormap))
    normalisation = str(settings.value("normalisation", state.normalisation))
    layer = _to_int(settings.value("layer", 0), 0)
    layer_mode = str(settings.value("layer_mode", MAPS) or MAPS)
    slider = inspector.views.brush_slider
    slider.setValue(_to_int(settings.value("brush_width", slider.value()), 22))
    inspector.input_sources.last_folder = str(settings.value("last_folder", "") or "")
    settings.endGroup()
    if colormap in COLORMAPS:
        state.set_colormap(colormap)
    if normalisation in NORMALISATIONS:
        state.set_normalisation(normalisation)
    if 0 <= layer < inspector.num_layers:
        state.set_layer(layer)
    return layer_mode


def _to_int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
