"""The inspector's named parts and operations, registered on a window's seam (`gui/seam/`) by the shell.

Targets (highlight them, find them on screen): its widgets by the names below, and two kinds of part,
a layer's block in the pipeline overview ("pipeline.layer", layer=INDEX) and a channel's map in the
grid ("grid.channel", channel=C). Operations: what a lesson or another capability may ask of it.
"""

from __future__ import annotations

from PySide6.QtCore import QRect

TARGETS = (  # name, the InspectorWidget's attribute (or views' field), what it is
    ("inspector", None, "the whole inspector"),
    ("pipeline", "pipeline", "the overview of the whole network"),
    ("canvas", "canvas", "the drawing canvas"),
    ("model_input", "model_input_view", "the 28×28 input the model sees"),
    ("prediction", "prediction_bars", "the class probabilities"),
    ("top_guess", "top_guess", "the model's answer in large type"),
    ("layer_title", "layer_title", "the current layer's name, kind and output shape"),
    ("layer_modes", "layer_modes", "Maps | Kernels | Patterns: what the grid shows"),
    ("layer_stack", "layer_stack", "the current layer's maps, bars or a mode's tiles"),
    ("grid", "layer_grid", "the grid of the current layer's maps"),
    ("bars", "vector_view", "the values of a flat layer"),
    ("side_panel", "side_panel", "the enlarged channel, its colour bar and what capabilities add there"),
    ("channel", "channel_view", "the enlarged channel"),
    ("colorbar", "colorbar", "the colour bar"),
    ("hover", "hover_label", "the read-out of what is under the cursor"),
)


def register_parts(inspector, operations, targets) -> None:
    """Register `inspector`'s targets and operations (its public API under stable names)."""
    views = inspector.views
    for name, attribute, summary in TARGETS:
        widget = inspector if attribute is None else getattr(views, attribute)
        targets.register(name, widget, summary=summary)
    # "input" is the left column (the canvas, its tools and the prediction), as the README's pictures crop it.
    targets.register("input", views.canvas.parentWidget(), summary="the canvas, its tools, the input and prediction")
    targets.register("pipeline.layer", views.pipeline, locate=lambda layer: _layer_block(views.pipeline, layer),
                     summary="a layer's block in the overview (layer=index, -1: the input)")
    targets.register("grid.channel", views.layer_grid.viewport(),
                     locate=lambda channel: _channel_cell(views.layer_grid, channel),
                     summary="a channel's map in the grid (channel=C; its page is shown)")
    for name, function in (
            ("inspector.select_layer", inspector.select_layer),
            ("inspector.select_channel", inspector.select_channel),
            ("inspector.set_layer_mode", inspector.set_layer_mode),
            ("inspector.set_normalisation", inspector.set_normalisation),
            ("inspector.show_input", inspector.show_input),
            ("inspector.show_test_digit", inspector.show_test_digit),
            ("inspector.open_image", inspector.open_image),
            ("inspector.clear_input", inspector.clear_input)):
        operations.register(name, function)


def _layer_block(pipeline, layer: int) -> QRect | None:
    try:
        return pipeline.block_rect(int(layer)).toAlignedRect()
    except ValueError:
        return None


def _channel_cell(grid, channel: int) -> QRect | None:
    maps = grid.maps()
    if maps is None or not 0 <= int(channel) < len(maps):
        return None
    return grid.cell_rect(int(channel))
