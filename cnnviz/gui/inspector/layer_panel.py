"""The inspector's right side: the current layer's outputs as a grid of maps (conv and pooling layers) or
bars (flat layers), the enlarged channel with its colour bar, or an added mode's tiles (kernels,
patterns…) instead of the maps; and the prediction and the pipeline overview, which follow every output.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.core.colormaps import NORMALISATIONS, channel_levels, lookup_table
from cnnviz.core.inspection import Inspection, LayerDescription, describe_network
from cnnviz.core.tiling import strip_layout
from cnnviz.gui.widgets.model_words import input_note, is_digit_model
from cnnviz.gui.inspector.views import LOADING_TEXT, InspectorViews
from cnnviz.gui.widgets.layer_modes import LayerMode


class LayerPanel(QObject):
    """Shows the inspector's state (`state`) in its views; `model()` gives the model the views describe."""

    outputs_shown = Signal()   # the views show new layer outputs (or none)

    def __init__(self, state: Inspection, views: InspectorViews, model, parent: QObject | None = None):
        super().__init__(parent)
        self._state = state
        self._views = views
        self._model = model
        self.layers: list[LayerDescription] = describe_network(None)
        self._no_model_text = LOADING_TEXT   # or why there is none (set_no_model_text)
        self._maps_cache: tuple[int, np.ndarray] | None = None   # (layer, channel-first maps)
        state.subscribe("outputs", self.show_outputs)
        state.subscribe("layer", self._on_layer_changed)
        state.subscribe("channel", self.show_channel)
        state.subscribe("display", self._on_display_changed)
        views.layer_modes.mode_changed.connect(self._on_layer_mode_changed)

    # --- the model -------------------------------------------------------------------------------
    def set_model(self, model) -> None:
        """Describe `model`'s layers (the seed's before any model), in the overview too; its class names."""
        self.layers = describe_network(None if model is None else list(model.layers),
                                       None if model is None else model.description())
        self._views.pipeline.set_layers(self.layers, None if model is None else model.layers,
                                        1.0 if model is None else model.input_scale)
        names = None if model is None else model.class_names
        self._state.outputs_logits = model is not None and model.outputs_logits
        self._views.prediction_bars.set_class_names(names, self._state.outputs_logits)
        self._views.top_guess.set_class_names(names)

    def set_no_model_text(self, text: str | None) -> None:
        """What the map area and the prediction say while there is no model: LOADING_TEXT (None), or why
        there is none (a model that failed to load)."""
        self._no_model_text = text or LOADING_TEXT
        if self._model() is None:
            self.show_outputs()

    def current_description(self) -> LayerDescription:
        return self.layers[self._state.layer + 1]

    def add_layer_mode(self, mode: LayerMode, restored: str) -> None:
        """Offer `mode` in the bar above the grid (chosen at once if it is the view `restored` from the settings)."""
        self._views.layer_modes.add_mode(mode)
        mode.changed.connect(self._on_layer_mode_data)
        self._views.layer_modes.set_layer(self.current_description())
        if mode.name == restored:
            self._views.layer_modes.set_current(mode.name)

    # --- showing ---------------------------------------------------------------------------------
    def show_outputs(self) -> None:
        """Repaint everything that shows layer outputs."""
        views, model = self._views, self._model()
        self._maps_cache = None
        outputs = self._state.outputs
        if outputs is None:
            placeholder = ("Draw a digit" if is_digit_model(model) else "Open a picture") if model is not None \
                else (LOADING_TEXT if self._no_model_text == LOADING_TEXT else "No model")
            views.prediction_bars.set_probabilities(None)
            views.top_guess.set_probabilities(None, placeholder)
        else:
            views.prediction_bars.set_probabilities(self._state.probabilities)
            views.top_guess.set_probabilities(self._state.probabilities)
        views.pipeline.set_activity(self._state.model_input, outputs)
        self.show_layer()
        self.outputs_shown.emit()

    def _on_layer_changed(self) -> None:
        """A different layer: title, overview selection, and a sensible channel to enlarge."""
        views, layer = self._views, self.current_description()
        views.pipeline.set_selected(layer.index)
        views.layer_title.setText(f"<b>{layer.name}</b> &nbsp;·&nbsp; {layer.summary} &nbsp;·&nbsp; "
                                  f"<b>{layer.shape_text}</b>")
        views.layer_title.setToolTip(layer.explanation)
        views.layer_explanation.setText(_first_sentence(layer.explanation))
        views.layer_explanation.setToolTip(layer.explanation)
        views.layer_modes.set_layer(layer)
        self._maps_cache = None
        if layer.is_spatial and self._state.channel is None:
            self._state.set_channel(0)  # notifies show_channel
        self.show_layer()

    def refresh_layer(self) -> None:
        """The model (or the layer count) changed: show the current layer again from scratch."""
        self._on_layer_changed()

    def _on_display_changed(self) -> None:
        """Colormap or normalisation changed: new colours, same data."""
        self.apply_colormap()
        self._views.normalisation_box.setCurrentIndex(NORMALISATIONS.index(self._state.normalisation))
        self.show_outputs()

    def apply_colormap(self) -> None:
        """The colormap's table in every view that shows values."""
        views = self._views
        table = lookup_table(self._state.colormap)
        for view in (views.layer_grid, views.channel_view, views.vector_view, views.pipeline):
            view.set_lookup_table(table)
        views.colorbar.set_colormap(self._state.colormap)

    def channel_first_maps(self) -> np.ndarray:
        """The current layer's maps as (C, H, W) C-contiguous float32, made once per update."""
        layer = self._state.layer
        if self._maps_cache is None or self._maps_cache[0] != layer:
            maps = self._state.outputs[layer]
            self._maps_cache = (layer, np.ascontiguousarray(np.moveaxis(maps, -1, 0), dtype=np.float32))
        return self._maps_cache[1]

    def _levels(self) -> np.ndarray:
        return channel_levels(self._state.outputs[self._state.layer], self._state.normalisation)

    def show_layer(self) -> None:
        """Fill the grid (conv/pool) or the bars (flat layers) with the current layer's output."""
        views, model = self._views, self._model()
        layer = self.current_description()
        outputs = self._state.outputs
        mode = views.layer_modes.mode(views.layer_modes.current())
        # The colour choices are the maps' (a mode's tiles bring their own colours and levels).
        for box in (views.colormap_box, views.normalisation_box):
            box.setEnabled(mode is None or not layer.is_spatial)
        if layer.is_spatial and mode is not None:
            self._show_tiles(mode, layer)
            return
        views.layer_grid.set_lookup_table(lookup_table(self._state.colormap))
        views.side_panel.setVisible(layer.is_spatial and outputs is not None)
        if outputs is None:
            views.message.setText(self._no_model_text if model is None else
                                  f"{input_note(model)} Then see what every layer makes of it.")
            views.layer_stack.setCurrentWidget(views.message)
            views.channel_view.set_map(None, (0, 1), "")
            views.colorbar.set_levels(None)
            return
        levels = self._levels()
        if layer.is_spatial:
            views.layer_grid.set_maps(self.channel_first_maps(), levels)
            views.layer_stack.setCurrentWidget(views.layer_grid)
            self.show_channel()
        else:
            index = self._state.layer
            values = outputs[index]
            is_classes = index == len(outputs) - 1 and values.ndim == 1 and values.size <= 20   # ticks fit
            # A Flatten of maps is drawn as a heat strip laid out like them (3×3×64: rows y,x, columns c).
            layout = strip_layout(values.size, outputs[index - 1].shape) if index > 0 else None
            source = self.layers[index].name if index > 0 else ""
            class_word = "digit" if is_digit_model(model) else "class"
            views.vector_view.set_values(values, tuple(levels[0]), class_word if is_classes else "unit", is_classes,
                                         layout=layout, source_name=source)
            views.layer_stack.setCurrentWidget(views.vector_view)
            views.colorbar.set_levels(tuple(levels[0]), "all units")

    def _show_tiles(self, mode: LayerMode, layer: LayerDescription) -> None:
        """Fill the grid with an added mode's tiles (kernels, patterns…) instead of the maps."""
        views = self._views
        tiles = mode.tiles(layer.index)
        if tiles is None:
            placeholder = mode.placeholder(layer.index)   # e.g. progress and Cancel
            if placeholder is None:
                views.message.setText(mode.message(layer.index))
                placeholder = views.message
            elif views.layer_stack.indexOf(placeholder) < 0:
                views.layer_stack.addWidget(placeholder)
            views.layer_stack.setCurrentWidget(placeholder)
            views.side_panel.setVisible(False)
            return
        views.layer_grid.set_lookup_table(tiles.lookup_table)
        views.layer_grid.set_maps(np.ascontiguousarray(tiles.images, dtype=np.float32), tiles.levels)
        views.layer_grid.set_selected(self._state.channel)
        views.layer_stack.setCurrentWidget(views.layer_grid)
        views.side_panel.setVisible(self._state.outputs is not None)
        self.show_channel()   # the mode's own enlarged tile (kernels…), else the channel's map
        channel = self._state.channel if self._state.channel is not None else 0
        if channel < len(tiles.levels):
            views.colorbar.set_colormap(tiles.colormap or self._state.colormap)
            views.colorbar.set_levels(tuple(tiles.levels[channel]), tiles.caption)

    def _on_layer_mode_changed(self, _name: str) -> None:
        """Maps, kernels, patterns…: show the chosen view of the current layer."""
        self._views.colorbar.set_colormap(self._state.colormap)
        self.show_layer()

    def _on_layer_mode_data(self) -> None:
        """A mode has new tiles (new weights, a finished computation): redraw if it is shown."""
        mode = self.sender()
        if isinstance(mode, LayerMode) and mode.name == self._views.layer_modes.current():
            self.show_layer()

    def show_channel(self) -> None:
        """Enlarge the selected channel; the colour bar shows its levels."""
        views = self._views
        layer = self.current_description()
        channel = self._state.channel
        views.layer_grid.set_selected(channel)
        if self._show_mode_channel(layer, channel):
            return
        views.channel_view.set_lookup_table(lookup_table(self._state.colormap))   # after a mode's tile
        views.colorbar.set_colormap(self._state.colormap)
        if self._state.outputs is None or not layer.is_spatial or channel is None:
            return
        levels = self._levels()[channel]
        title = f"<b>{layer.name}</b> channel <b>{channel}</b> of {layer.shape[2]}"
        views.channel_view.set_map(self.channel_first_maps()[channel], tuple(levels), title)
        caption = f"channel {channel}" if self._state.normalisation == "channel" else "whole layer"
        views.colorbar.set_levels(tuple(levels), caption)

    def _show_mode_channel(self, layer: LayerDescription, channel: int | None) -> bool:
        """Enlarge the chosen mode's own picture of `channel` (e.g. a filter's weights) with the tiles'
        colours; False when the mode has none (the channel's map is shown instead)."""
        views = self._views
        mode = views.layer_modes.mode(views.layer_modes.current())
        if mode is None or channel is None or not layer.is_spatial:
            return False
        tiles = mode.tiles(layer.index)
        enlarged = mode.enlarged(layer.index, channel) if tiles is not None and channel < len(tiles.levels) else None
        if enlarged is None:
            return False
        image, title = enlarged
        views.channel_view.set_lookup_table(tiles.lookup_table)
        views.channel_view.set_map(np.ascontiguousarray(image, dtype=np.float32), tuple(tiles.levels[channel]), title)
        views.side_panel.setVisible(True)
        return True


def _first_sentence(text: str) -> str:
    """Up to the first full stop followed by a space (the size arithmetic of a layer)."""
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]
