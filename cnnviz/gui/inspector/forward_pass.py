"""The inspector's forward pass: the canvas becomes the model input, the compute process computes every
layer's output of it, and the outputs go into the inspector's state.

Drawing updates the input at most once per pass of the event loop (mouse moves are coalesced); the
outputs are asked for with a `LatestRequest` ("probe": one request in flight, the moves that arrive
meanwhile collapse into the newest), and every reply is shown, so the maps keep up with a long stroke.
While training, the compute process also pushes the current input's outputs (`show_activations`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.inspection import Inspection
from cnnviz.core.preprocess import InputMapping
from cnnviz.gui.inspector.model_inputs import read_canvas
from cnnviz.gui.inspector.views import InspectorViews
from cnnviz.gui.remote.latest_request import LatestRequest


class ForwardPass(QObject):
    """Canvas -> model input -> every layer's output, for one inspector (`model()` gives its model)."""

    input_changed = Signal(object)   # the (H, W[, 3]) model input, or None when the canvas is empty
    probed = Signal(object)          # a probe's outputs are shown: the model input they were computed for
    failed = Signal(str)             # why there are no outputs (not said for a crash: the banner says it)

    def __init__(self, state: Inspection, views: InspectorViews, model, picture_input, client,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._state = state
        self._views = views
        self._model = model   # a function: the inspector's current ModelInfo (or None)
        self._picture_input = picture_input
        self.client = client
        self._request = LatestRequest("probe", self._on_probe_result, self._on_probe_failed, client, self)
        self._scheduled = False
        self._outputs_for: np.ndarray | None = None   # the input the shown outputs belong to
        self._mapping: InputMapping | None = None     # model input -> canvas pixels
        views.canvas.image_changed.connect(self._on_canvas_changed)
        state.subscribe("input", self._on_input_changed)

    def set_client(self, client) -> None:
        self.client = client
        self._request.set_client(client)

    def input_mapping(self) -> InputMapping | None:
        """Where the current model input's pixels lie on the canvas (None when nothing is drawn)."""
        return self._mapping

    def current_outputs(self) -> list | None:
        """Every layer's output for the current input; None while they are being computed."""
        if self._state.outputs is None or self._outputs_for is not self._state.model_input:
            return None
        return self._state.outputs

    def forget(self) -> None:
        """A new model: the request in flight is for the old one."""
        self._request.clear()

    def refresh_input(self) -> None:
        """Canvas -> model input (MNIST's recipe for digit models, the canvas or an opened picture resized
        for others, or the exact test image; see gui/inspector/model_inputs.py) -> state."""
        self._scheduled = False
        canvas = self._views.canvas
        source = canvas.image()
        reading = read_canvas(source, canvas.exact_input(), self._model(), self._picture_input.placed())
        canvas.set_guides(*(reading.guides or (None, None)))
        self._mapping = reading.mapping
        self._state.set_input(source, reading.model_input)

    def compute(self) -> None:
        """Ask the compute process for every layer's output of the current input."""
        image = self._state.model_input
        if self._model() is None or image is None or self.client is None:
            self._request.clear()
            self._outputs_for = None
            self._state.set_outputs(None)
            return
        self._request.submit({"image": image}, image)

    def show_activations(self, outputs: list, image: np.ndarray | None = None) -> None:
        """Every layer's outputs for `image` pushed while training (ignored unless `image` is the current
        input; None means the current input)."""
        current = self._state.model_input
        if current is None or outputs is None:
            return
        if image is not None and not np.array_equal(image, current):
            return
        self._outputs_for = current
        self._state.set_outputs(outputs)

    def _on_canvas_changed(self) -> None:
        """Coalesce: however many moves arrive, prepare the input once per event-loop pass."""
        if not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self.refresh_input)

    def _on_input_changed(self) -> None:
        """Ask for the outputs first (the maps are what a stroke waits for), then show the model input and
        tell the listeners (their own requests follow the probe's)."""
        model_input = self._state.model_input
        self.compute()
        self._views.model_input_view.set_image(model_input)
        self.input_changed.emit(model_input)

    def _on_probe_result(self, result: dict, image: np.ndarray) -> None:
        """Show the outputs (for the current input, or for one the stroke just passed through)."""
        model = self._model()
        if self._state.model_input is None or model is None or result["generation"] < model.generation:
            return
        self._outputs_for = image
        self._state.set_outputs(result["outputs"])
        self.probed.emit(image)

    def _on_probe_failed(self, error: ComputeError, image: np.ndarray) -> None:
        """Say why there are no outputs (a crash is reported by the main window's banner)."""
        if not error.crashed:
            self.failed.emit(f"Could not compute the layer outputs: {error.message}")
