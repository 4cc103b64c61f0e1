"""The focused unit: the one under the cursor (or clicked, "pinned"), explained and outlined.

Hovering a map pixel in the layer grid or the enlarged channel (or a value of a dense layer)
focuses that unit; the last one hovered stays in focus when the cursor leaves, so the panel can
be read and clicked. A left click pins the unit: hovering no longer moves the focus until another
unit is clicked, the pinned one is clicked again, or `release()` (Esc). A pinned unit stays
while the user draws or goes to other layers, so the units of earlier layers that feed it are
outlined on their maps.

Everything is numpy in this process (`core.receptive_field`, `core.unit_explanation`) from the
inspector's layer outputs and the weights of `LiveWeights`. For the focused unit this shows:
- its receptive field on the 28×28 model input and, mapped back through the preprocessing's
  scale and shift (`inspector.current_input_mapping()`), on the user's drawing, labelled with its
  size and whether it is clipped by the input's edge;
- the unit itself on its own layer's maps, and on an earlier layer's maps (grid, enlarged channel)
  the block of units that feed it; on the overview, both on every layer's front face.
The explanation (`explanation()`) is what the unit panel shows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.core.network import INPUT_NAME, resolved_inputs
from cnnviz.core.receptive_field import Box, feeding_units, geometries, unit_box
from cnnviz.core.unit_explanation import POOLING_MODES, UnitError, explain
from cnnviz.gui.seam.selection import Unit
from cnnviz.gui.widgets.layer_modes import MAPS

_IDENTITY_KINDS = ("Dropout", "BatchNormalization", "Activation", "ReLU", "LayerNormalization")


class UnitFocus(QObject):
    """Which unit is in focus, its explanation and its outlines on the inspector's views."""

    changed = Signal()   # the focus, its explanation or its value changed: the panel redraws

    def __init__(self, inspector, live_weights, parent: QObject | None = None):
        super().__init__(parent or inspector)
        self._inspector = inspector
        self._live = live_weights
        self._unit: Unit | None = None
        self._pinned = False
        self._explanation = None
        self._note = ""
        self._shown_value: float | None = None
        self._box: Box | None = None
        self._full_size: tuple[int, int] | None = None
        self._specs: tuple = ()
        self._specs_of = None          # the ModelInfo `_specs` belongs to
        self._grid_hover: tuple[int, int, int] | None = None   # channel, x, y under the cursor in the grid
        self._fields_shown = True      # False: no receptive field is shown or told (a lesson asks for its size)
        inspector.layer_grid.channel_hovered.connect(self._on_grid_hovered)
        inspector.layer_grid.channel_clicked.connect(self._on_grid_clicked)
        inspector.channel_view.unit_hovered.connect(self._on_channel_hovered)
        inspector.channel_view.unit_clicked.connect(self._on_channel_clicked)
        inspector.vector_view.unit_hovered.connect(self._on_vector_hovered)
        inspector.vector_view.unit_clicked.connect(self._on_vector_clicked)
        inspector.outputs_shown.connect(self._on_outputs_shown)
        inspector.input_changed.connect(self._on_input_changed)
        inspector.layer_mode_changed.connect(self._show_outlines)
        inspector.layer_changed.connect(self._show_outlines)
        inspector.channel_changed.connect(self._show_outlines)
        live_weights.changed.connect(self._on_weights_changed)

    # --- the focus --------------------------------------------------------------------------------
    def unit(self) -> Unit | None:
        return self._unit

    def is_pinned(self) -> bool:
        return self._pinned

    def focus(self, unit: Unit | None, pinned: bool = False) -> None:
        """Focus `unit` (None: nothing), pinned or transient."""
        if unit is not None and not self._exists(unit):
            unit = None
        self._unit, self._pinned = unit, bool(pinned and unit is not None)
        self._live.want("unit", unit is not None)
        self._update()

    def release(self) -> None:
        """Esc: no unit in focus."""
        self.focus(None)

    def hover(self, unit: Unit) -> None:
        """The cursor is over `unit`: focus it unless another one is pinned."""
        if not self._pinned and unit != self._unit:
            self.focus(unit)

    def click(self, unit: Unit) -> None:
        """Pin `unit`; clicking the pinned unit again un-pins it (it stays in focus until the next hover)."""
        if self._pinned and unit == self._unit:
            self._pinned = False
            self.changed.emit()
        else:
            self.focus(unit, pinned=True)

    def set_fields_shown(self, shown: bool) -> None:
        """Show the focused unit's receptive field (outlines, the panel's "sees rows …" line), or hide it
        while a lesson asks how large it is."""
        if bool(shown) != self._fields_shown:
            self._fields_shown = bool(shown)
            self._show_outlines()
            self.changed.emit()

    def fields_shown(self) -> bool:
        return self._fields_shown

    # --- what the panel shows -----------------------------------------------------------------------
    def explanation(self):
        """The focused unit's `unit_explanation` result, or None (see `note()`)."""
        return self._explanation

    def note(self) -> str:
        """Why there is no explanation (no drawing yet, a layer cnnviz does not explain…), or ""."""
        return self._note

    def shown_value(self) -> float | None:
        """The focused unit's value in the layer outputs the maps show (None when there are none)."""
        return self._shown_value

    def receptive_field(self) -> Box | None:
        """The focused unit's receptive field in model-input pixels, clipped (None: no spatial unit, or
        fields hidden)."""
        return self._box if self._fields_shown else None

    def full_field_size(self) -> tuple[int, int] | None:
        """(height, width) of the unclipped receptive field (None: no spatial unit)."""
        return self._full_size

    def specs(self) -> tuple:
        """The current model's LayerSpecs."""
        return self._current_specs()

    def layer_name(self, layer: int) -> str:
        specs = self._current_specs()
        return specs[layer].name if 0 <= layer < len(specs) else "?"

    def spatial_unit(self) -> Unit | None:
        """The map unit the focus stands for: itself, or for a Flatten value the map unit it copies."""
        unit = self._unit
        if unit is None:
            return None
        specs = self._current_specs()
        spec = specs[unit.layer]
        if spec.is_spatial:
            return unit
        if spec.kind == "Flatten" and unit.layer > 0 and specs[unit.layer - 1].is_spatial:
            y, x, channel = np.unravel_index(unit.channel, specs[unit.layer - 1].output_shape)
            return Unit(unit.layer - 1, int(channel), int(y), int(x))
        return None

    # --- computing ------------------------------------------------------------------------------------
    def _current_specs(self) -> tuple:
        """The model's LayerSpecs as a tuple (receptive fields are cached per tuple identity)."""
        model = self._inspector.model()
        if model is not self._specs_of:
            self._specs_of = model
            self._specs = () if model is None else tuple(model.layers)
        return self._specs

    def _exists(self, unit: Unit) -> bool:
        specs = self._current_specs()
        if not 0 <= unit.layer < len(specs):
            return False
        shape = specs[unit.layer].output_shape
        if len(shape) == 3:
            return unit.y is not None and unit.x is not None and 0 <= unit.y < shape[0] \
                and 0 <= unit.x < shape[1] and 0 <= unit.channel < shape[2]
        return len(shape) == 1 and 0 <= unit.channel < shape[0]

    def _update(self) -> None:
        """Recompute the explanation and the outlines; tell the panel."""
        self._explain()
        self._show_outlines()
        self.changed.emit()

    def _explain(self) -> None:
        self._explanation, self._note, self._shown_value = None, "", None
        self._box, self._full_size = None, None
        unit, model = self._unit, self._inspector.model()
        if unit is None or model is None:
            return
        specs = self._current_specs()
        input_shape = tuple(model.input_shape)
        spatial = self.spatial_unit()
        if spatial is not None:
            geometry = geometries(specs, input_shape)[spatial.layer]
            self._box = unit_box(geometry, spatial.y, spatial.x, input_shape[:2])
            if geometry is not None:
                self._full_size = (geometry.size_y, geometry.size_x)
        source = self._live.unit_source()
        if source is None:
            self._note = ("Draw a digit (or pick one) to see how this unit's value is made."
                          if self._inspector.current_input() is None else "Computing the layer outputs…")
            return
        image, outputs, weights = source
        output = outputs[unit.layer]
        self._shown_value = float(output[unit.y, unit.x, unit.channel] if output.ndim == 3 else output[unit.channel])
        spec = specs[unit.layer]
        if spec.kind == "Flatten":
            self._note = "flatten"   # the panel says which map unit this value copies
            return
        feeding = resolved_inputs(specs)[unit.layer]
        if len(feeding) != 1:
            self._note = f"{spec.name} merges {len(feeding)} inputs: cnnviz explains single-input layers."
            return
        names = [s.name for s in specs]
        previous = image if feeding[0] == INPUT_NAME else outputs[names.index(feeding[0])]
        try:
            self._explanation = explain(specs, input_shape, unit.layer, previous, weights[unit.layer],
                                        unit.channel, unit.y, unit.x)
        except UnitError as exc:
            self._note = str(exc)

    def _show_outlines(self, *_args) -> None:
        """The receptive field on the input and the drawing; the feeding units on the maps in view."""
        inspector = self._inspector
        box, spatial = self.receptive_field(), self.spatial_unit()
        if box is None or spatial is None:
            inspector.model_input_view.set_unit_box(None)
            inspector.canvas.set_unit_box(None)
        else:
            inspector.model_input_view.set_unit_box((box.top, box.left, box.bottom, box.right))
            mapping = inspector.current_input_mapping()
            if mapping is None:
                inspector.canvas.set_unit_box(None)
            else:
                inspector.canvas.set_unit_box(mapping.box_to_source(box.top, box.left, box.bottom, box.right),
                                              self.field_label())
        self._show_map_marks(spatial if self._fields_shown else None)

    def field_label(self) -> str:
        """E.g. "conv2d_3 (1, 1): 18×18", or "… 16×16 of 18×18, clipped" at the edge."""
        spatial, box = self.spatial_unit(), self._box
        if spatial is None or box is None:
            return ""
        text = f"{self.layer_name(spatial.layer)} ({spatial.y}, {spatial.x}): "
        full = self._full_size or (box.height, box.width)
        if box.clipped:
            return text + f"{box.height}×{box.width} of {full[0]}×{full[1]}, clipped"
        return text + f"{box.height}×{box.width}"

    def feeding_marks(self) -> dict[int, tuple[int, int, int, int]]:
        """Layer index (-1: the input) -> the block of its units feeding the focused unit (the unit
        itself on its own layer), for every spatial layer up to the unit's."""
        spatial, box = self.spatial_unit(), self._box
        if spatial is None or box is None:
            return {}
        specs = self._current_specs()
        input_shape = tuple(self._inspector.model().input_shape)
        marks = {-1: (box.top, box.left, box.bottom, box.right)}
        for index in range(spatial.layer):
            if specs[index].is_spatial:
                try:
                    marks[index] = feeding_units(specs, input_shape, spatial.layer, spatial.y, spatial.x, index)
                except ValueError:   # a branch that does not lead to the unit
                    continue
        marks[spatial.layer] = (spatial.y, spatial.x, spatial.y + 1, spatial.x + 1)
        return marks

    def _show_map_marks(self, spatial: Unit | None) -> None:
        """Outline the unit, or the units feeding it, on the layer in view (grid and enlarged channel)."""
        inspector = self._inspector
        marks = self.feeding_marks() if spatial is not None else {}
        inspector.pipeline.set_unit_marks(marks)
        layer = inspector.current_layer()
        block = marks.get(layer)
        if block is None or inspector.current_layer_mode() != MAPS:
            inspector.layer_grid.set_unit_marks(None)
            inspector.channel_view.set_unit_mark(None)
            return
        channels = self._feeding_channels(layer, spatial)
        inspector.layer_grid.set_unit_marks(block, channels)
        shown = inspector.current_channel()
        inspector.channel_view.set_unit_mark(block if channels is None or shown in channels else None)

    def _feeding_channels(self, layer: int, spatial: Unit) -> list[int] | None:
        """The channels of `layer` that feed the unit: its own alone if only pooling (or layers that
        keep each channel apart) lie between; None (all) when a convolution mixes them."""
        specs = self._current_specs()
        between = specs[layer + 1:spatial.layer + 1]
        if all(spec.kind in POOLING_MODES or spec.kind in _IDENTITY_KINDS for spec in between):
            return [spatial.channel]
        return None

    # --- signals --------------------------------------------------------------------------------------
    def _maps_shown(self) -> bool:
        return self._inspector.current_layer_mode() == MAPS

    def _on_grid_hovered(self, channel: int, x: int, y: int) -> None:
        self._grid_hover = (channel, x, y) if channel >= 0 else None
        if channel >= 0 and self._maps_shown():
            self.hover(Unit(self._inspector.current_layer(), channel, y, x))

    def _on_grid_clicked(self, channel: int) -> None:
        if self._grid_hover is not None and self._grid_hover[0] == channel and self._maps_shown():
            _, x, y = self._grid_hover
            self.click(Unit(self._inspector.current_layer(), channel, y, x))

    def _on_channel_hovered(self, x: int, y: int) -> None:
        channel = self._inspector.current_channel()
        if x >= 0 and channel is not None and self._maps_shown():
            self.hover(Unit(self._inspector.current_layer(), channel, y, x))

    def _on_channel_clicked(self, x: int, y: int) -> None:
        channel = self._inspector.current_channel()
        if channel is not None and self._maps_shown():
            self.click(Unit(self._inspector.current_layer(), channel, y, x))

    def _on_vector_hovered(self, unit: int) -> None:
        if unit >= 0:
            self.hover(Unit(self._inspector.current_layer(), unit))

    def _on_vector_clicked(self, unit: int) -> None:
        self.click(Unit(self._inspector.current_layer(), unit))

    def _on_outputs_shown(self) -> None:
        """New outputs (a stroke, live training maps) or a new model: recompute the focused unit."""
        if self._unit is None:
            return
        if not self._exists(self._unit):   # another model: the unit is gone
            self.focus(None)
            return
        self._update()

    def _on_input_changed(self, _image) -> None:
        """A new input: its mapping onto the canvas changed (the outputs follow)."""
        if self._unit is not None:
            self._show_outlines()

    def _on_weights_changed(self) -> None:
        if self._unit is not None:
            self._update()
