"""What attribution remembers between runs: the overlay on or off, its class and layer, and the occlusion
patch, stride and fill."""

from __future__ import annotations

from cnnviz.gui.attribution.gradcam_overlay import GradCamOverlay
from cnnviz.gui.attribution.where_it_looks import OcclusionMap
from cnnviz.gui.widgets.qt_helpers import app_settings

SETTINGS_GROUP = "attribution"


def save_settings(overlay: GradCamOverlay, occlusion: OcclusionMap) -> None:
    settings = app_settings()
    settings.beginGroup(SETTINGS_GROUP)
    settings.setValue("overlay", overlay.is_enabled())
    settings.setValue("layer", overlay.chosen_layer() or "")
    settings.setValue("class", -1 if overlay.class_index() is None else overlay.class_index())
    settings.setValue("patch", occlusion.patch)
    settings.setValue("stride", occlusion.stride)
    settings.setValue("fill", occlusion.fill)
    settings.endGroup()


def restore_settings(overlay: GradCamOverlay, occlusion: OcclusionMap) -> None:
    settings = app_settings()
    settings.beginGroup(SETTINGS_GROUP)
    try:
        overlay.set_layer(str(settings.value("layer", "") or "") or None)
        chosen = _to_int(settings.value("class", -1), -1)
        overlay.set_class(None if chosen < 0 else chosen)
        occlusion.set_options(_to_int(settings.value("patch", occlusion.patch), occlusion.patch),
                              _to_int(settings.value("stride", occlusion.stride), occlusion.stride),
                              str(settings.value("fill", occlusion.fill)), class_index=overlay.class_index())
        overlay.set_enabled(str(settings.value("overlay", "false")).lower() in ("true", "1"))
    finally:
        settings.endGroup()


def _to_int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
