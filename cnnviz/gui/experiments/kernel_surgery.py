"""Kernel surgery's state in the GUI: which filter the painter edits, the edits in force, and the requests
that change them ("edit_kernel", "undo_kernel_edit", "reset_kernel_filter", "reset_kernel_edits",
"kernel_edits"; compute/handlers/kernel_edit.py).

The compute process holds the edits, as a layer over its serving copy: every later probe (a stroke, a
test digit, Grad-CAM, an attack) goes through them, and the model that trains and saves never holds
one. Each request carries the current input, and its reply brings every layer's output with the edits,
so one round trip repaints all the maps and the prediction (`inspector.show_activations`). Requests go
out one at a time, in order; the cells one brush stroke paints while a request is out collapse into
the newest, and the compute process keeps a stroke as one edit (its `stroke` number), so Undo takes
back a whole stroke.

Another model drops the edits (the compute process does, and `model_changed` says so); so does a
compute process that had to restart.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.kernel_edit import PAINT, SHAPE_PRESETS, ZERO, KernelEdit
from cnnviz.gui.experiments.filter_choice import (FilterSlot, editable_layers, filter_slot, filter_weights,
                                                  painted_values, why_not_editable)

SCALES = {"negate": -1.0, "double": 2.0, "halve": 0.5}     # the view's scale buttons
PRESETS = (*SHAPE_PRESETS, ZERO, *SCALES)


class KernelSurgery(QObject):
    """The painter's filter and the edits in force, kept in step with the compute process."""

    changed = Signal()            # the edits in force or an edited filter's weights changed
    weights_changed = Signal()    # the network the compute process serves is another one now
    selection_changed = Signal()  # the painter edits another filter (or none)
    notice = Signal(str)          # one line for the user: an edit refused, the edits dropped

    def __init__(self, inspector, client, parent: QObject | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self._client = client
        self._slot: FilterSlot | None = None
        self._input_channel = 0
        self.follow = True            # follow the inspector's selection of an editable layer and channel
        self._labels: list[str] = []
        self._filters: dict[tuple[str, int], object] = {}   # (layer, channel) -> core FilterWeights
        self._queue: list[tuple[str, dict]] = []
        self._in_flight: int | None = None
        self._asked_after_model: int | None = None           # the generation a "kernel_edits" check is for
        self._restarted = False
        self._refused = ""                                   # why the inspector's layer is not editable
        inspector.layer_changed.connect(self._on_inspector_selection)
        inspector.channel_changed.connect(self._on_inspector_selection)
        if client is not None:
            client.restarted.connect(self._on_restarted)

    # --- the filter the painter edits ------------------------------------------------------------
    def model(self):
        """The ModelInfo shown (None while none is)."""
        return self._inspector.model()

    def slot(self) -> FilterSlot | None:
        return self._slot

    def input_channel(self) -> int:
        return self._input_channel

    def refusal(self) -> str:
        """Why the last filter asked for cannot be edited (a layer with no filters, no such filter), or ""."""
        return self._refused

    def select(self, layer: int | str | None = None, channel: int | None = None) -> bool:
        """Edit filter `channel` (default 0, or the inspector's) of `layer` (index or name; default the
        inspector's layer, else the first editable one); False if it has no such filter."""
        model = self._inspector.model()
        if model is None:
            return False
        names = [spec.name for spec in model.layers]
        if layer is None:
            layer = self._inspector.current_layer()
            if layer not in editable_layers(model):
                layer = (editable_layers(model) or [layer])[0]
        index = names.index(layer) if isinstance(layer, str) and layer in names else layer
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(names):
            return False
        if channel is None:
            channel = self._inspector.current_channel() if index == self._inspector.current_layer() else None
        slot = filter_slot(model, int(index), int(channel or 0))
        if slot is None:
            self._refused = why_not_editable(model, int(index)) if index not in editable_layers(model) else \
                f"{names[index]} has no {('filter' if model.layers[index].kind == 'Conv2D' else 'unit')} {channel}."
            return False
        if slot != self._slot:
            keep = self._slot is not None and (self._slot.layer, self._slot.inputs) == (slot.layer, slot.inputs)
            self._slot = slot
            self._input_channel = self._input_channel if keep else 0
            self._refused = ""
            self.selection_changed.emit()
        return True

    def set_input_channel(self, channel: int) -> None:
        if self._slot is not None and 0 <= channel < self._slot.inputs and channel != self._input_channel:
            self._input_channel = int(channel)
            self.selection_changed.emit()

    def weights(self) -> tuple[np.ndarray, float | None] | None:
        """The painter filter's weights now ((kh, kw, in) or (in,)) and its bias: with the edits, as the
        compute process reported them, else the model's own (a checkpoint's while scrubbing)."""
        slot, model = self._slot, self._inspector.model()
        if slot is None or model is None:
            return None
        edited = self._filters.get((slot.layer, slot.channel))
        if edited is not None:
            return np.asarray(edited.kernel, np.float32), edited.bias
        arrays = model.weights[slot.index]
        bias = float(arrays[1][slot.channel]) if len(arrays) > 1 else None
        return filter_weights(slot, arrays[0]), bias

    def is_edited(self, layer: str | None = None, channel: int | None = None) -> bool:
        """True if filter (layer, channel) (default: the painter's) has an edit in force."""
        if layer is None and self._slot is not None:
            layer, channel = self._slot.layer, self._slot.channel
        return (layer, channel) in self._filters

    # --- the edits ---------------------------------------------------------------------------------
    def labels(self) -> list[str]:
        """The edits in force, oldest first, as the command line writes them ('conv2d_1:5=vertical-edge')."""
        return list(self._labels)

    def edited_filters(self) -> list[tuple[str, int]]:
        return list(self._filters)

    def apply_preset(self, preset: str) -> bool:
        """Set the painter's filter from a preset (PRESETS; or 'scale:F'); False if there is no filter."""
        if self._slot is None:
            return False
        factor = SCALES.get(preset)
        what = f"scale:{factor:g}" if factor is not None else preset
        self._send("edit_kernel", {"edit": f"{self._slot.layer}:{self._slot.channel}={what}"})
        return True

    def paint(self, grid: np.ndarray, stroke: int) -> None:
        """The painter's grid after a cell of brush stroke `stroke` changed (one edit per stroke)."""
        current = self.weights()
        if self._slot is None or current is None:
            return
        slot = self._slot
        values = painted_values(slot, current[0], self._input_channel, grid)
        edit = KernelEdit(slot.layer, slot.channel, PAINT, input_channel=self._input_channel
                          if slot.kind == "Conv2D" else None, values=values)
        self._send("edit_kernel", {"edit": edit, "stroke": int(stroke)}, stroke=stroke)
        self._filters[(slot.layer, slot.channel)] = _painted(slot, current, values, self._input_channel)

    def undo(self) -> None:
        self._send("undo_kernel_edit", {})

    def reset_filter(self, layer: str | None = None, channel: int | None = None) -> None:
        """Take back every edit of filter (layer, channel) (default: the painter's)."""
        if layer is None:
            if self._slot is None:
                return
            layer, channel = self._slot.layer, self._slot.channel
        self._send("reset_kernel_filter", {"layer": layer, "channel": int(channel)})

    def reset_all(self) -> None:
        self._send("reset_kernel_edits", {})

    def is_busy(self) -> bool:
        return self._in_flight is not None or bool(self._queue)

    # --- the model ---------------------------------------------------------------------------------
    def model_changed(self) -> None:
        """A model is shown (another one, the same after training, or back after a crash): ask what edits
        are in force (another model has none) and pick the painter's filter again."""
        self._queue.clear()
        if self._in_flight is not None and self._client is not None:
            self._client.forget(self._in_flight)
        self._in_flight = None
        old = self._slot
        self._slot = None
        model = self._inspector.model()
        if model is None:
            self.selection_changed.emit()
            return
        if old is None or not self.select(old.layer, old.channel):
            self.select()
        if self._slot is None:
            self.selection_changed.emit()
        self._asked_after_model = model.generation
        self._send("kernel_edits", {})

    def _on_restarted(self) -> None:
        self._restarted = True

    def _on_inspector_selection(self, *_args) -> None:
        """Follow the inspector to another editable layer or channel (other layers keep the filter)."""
        model = self._inspector.model()
        if not self.follow or model is None:
            return
        layer = self._inspector.current_layer()
        if layer in editable_layers(model):
            channel = self._inspector.current_channel()
            if channel is None and self._slot is not None and self._slot.index == layer:
                return   # a dense layer: the painter's unit stays
            self.select(layer, channel)
        elif self._slot is None:
            self._refused = why_not_editable(model, layer)
            self.selection_changed.emit()

    # --- requests, one at a time and in order --------------------------------------------------------
    def _send(self, method: str, args: dict, stroke: int | None = None) -> None:
        if self._queue and stroke is not None and self._queue[-1][1].get("stroke") == stroke:
            self._queue[-1] = (method, args)   # the newest cells of the same stroke
        else:
            self._queue.append((method, args))
        self._next()

    def _next(self) -> None:
        if self._in_flight is not None or not self._queue or self._client is None:
            return
        method, args = self._queue.pop(0)
        image = self._inspector.current_input()
        args = {**args, "image": image}
        self._in_flight = self._client.request(
            method, args, on_reply=lambda result: self._on_reply(result, image, method == "kernel_edits"),
            on_error=self._on_failed)

    def _on_reply(self, result: dict, image, only_asked: bool = False) -> None:
        self._in_flight = None
        model = self._inspector.model()
        if model is None or result["generation"] < model.generation:
            self._next()
            return
        had = list(self._labels)
        self._labels = list(result["labels"])
        self._filters = {(weights.layer, weights.channel): weights for weights in result["filters"]}
        if self._asked_after_model == result["generation"]:
            self._asked_after_model = None
            if had and not self._labels:
                self.notice.emit("The compute process restarted: the kernel edits were lost." if self._restarted
                                 else "Kernel edits dropped: another model is shown (edits never go into a model "
                                      "file; save an edited copy to keep them).")
            self._restarted = False
        if result.get("outputs") is not None and image is not None:
            self._inspector.show_activations(result["outputs"], image)
        self.changed.emit()
        if not only_asked or had != self._labels:
            self.weights_changed.emit()
        self._next()

    def _on_failed(self, error: ComputeError) -> None:
        self._in_flight = None
        if not error.crashed:
            self.notice.emit(f"That edit was not made: {error.message}")
            self.changed.emit()   # the painter shows the weights in force again
        self._next()


def _painted(slot: FilterSlot, current: tuple[np.ndarray, float | None], values: np.ndarray,
             input_channel: int):
    """The FilterWeights a paint edit gives (shown while its reply is on its way)."""
    from cnnviz.core.kernel_edit import FilterWeights

    kernel, bias = current
    kernel = np.array(kernel, np.float32, copy=True)
    if slot.kind == "Conv2D":
        kernel[:, :, input_channel] = values
    else:
        kernel = np.asarray(values, np.float32)
    return FilterWeights(slot.layer, slot.channel, kernel, bias)
