"""The weights the unit panel and the Kernels view show: the model's, or fresh ones while it trains.

Outside training, `ModelInfo.weights` (the inspector's model) are the weights the shown layer
outputs were made with. While a run trains they are the ones it started from, so this asks the
compute process a few times a second (`serving_weights`, a quick handler) for the serving copy's
weights and, when a unit is explained, the outputs of the current input made with exactly those
weights; those outputs are shown in the inspector too, so the maps, the panel and the arithmetic
agree. Nothing is asked when nobody needs fresh weights (no unit in focus, no Kernels view).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from cnnviz.gui.remote.latest_request import LatestRequest

REFRESH_MS = 250   # while training: ask for new weights this often (the compute process publishes ≤ 6.7/s)


@dataclass
class Snapshot:
    """Weights of the serving copy, and the outputs they give for `image` (None if none was asked)."""

    weights: list
    outputs: list | None
    image: np.ndarray | None
    generation: int


class LiveWeights(QObject):
    """Per-layer weights for `inspector.model()`, kept fresh while `is_training()`."""

    changed = Signal()   # `weights()` (and maybe the snapshot's outputs) changed while training

    def __init__(self, inspector, is_training: Callable[[], bool], parent: QObject | None = None):
        super().__init__(parent or inspector)
        self._inspector = inspector
        self._is_training = is_training
        self._snapshot: Snapshot | None = None
        self._wants: dict[str, bool] = {}   # who needs fresh weights: "unit" (with outputs), "kernels"
        self._client = inspector.client
        self._request = LatestRequest("serving_weights", self._on_snapshot, self._on_failed, self._client, self)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()
        inspector.input_changed.connect(self._on_input_changed)

    def weights(self) -> list | None:
        """Every layer's weights (one list per LayerSpec), None without a model."""
        model = self._inspector.model()
        if model is None:
            return None
        snapshot = self._live_snapshot()
        return snapshot.weights if snapshot is not None else model.weights

    def unit_source(self) -> tuple[np.ndarray, list, list] | None:
        """(model input, every layer's output, weights) that belong together, or None while unknown.

        While training: the last snapshot, if it was made for the current input (else None until
        the next one arrives). Otherwise the inspector's outputs and the model's weights."""
        image = self._inspector.current_input()
        model = self._inspector.model()
        if image is None or model is None:
            return None
        if self._is_training():
            snapshot = self._live_snapshot()
            if snapshot is None or snapshot.outputs is None or not np.array_equal(snapshot.image, image):
                return None
            return image, snapshot.outputs, snapshot.weights
        outputs = self._inspector.current_outputs()
        return None if outputs is None else (image, outputs, model.weights)

    def want(self, who: str, wanted: bool) -> None:
        """`who` ("unit" or "kernels") needs fresh weights while training (True) or not."""
        before = any(self._wants.values())
        self._wants[who] = bool(wanted)
        if wanted and not before:
            self._on_tick()

    def refresh(self) -> None:
        """Ask now (while training), e.g. because the input changed."""
        self._on_tick()

    def _live_snapshot(self) -> Snapshot | None:
        model = self._inspector.model()
        snapshot = self._snapshot
        if snapshot is None or model is None or snapshot.generation != model.generation or not self._is_training():
            return None
        return snapshot

    def _on_tick(self) -> None:
        """While training and wanted: ask for the serving copy's weights (and outputs, for a unit)."""
        if not self._is_training():
            if self._snapshot is not None:
                self._snapshot = None
                self._request.clear()
                self.changed.emit()   # back to the model's own weights
            return
        if not any(self._wants.values()) or self._inspector.client is None:
            return
        if self._client is not self._inspector.client:   # the inspector's client was replaced (tests)
            self._client = self._inspector.client
            self._request.set_client(self._client)
        image = self._inspector.current_input() if self._wants.get("unit") else None
        self._request.submit({"image": image}, image)

    def _on_input_changed(self, _image) -> None:
        if self._is_training() and self._wants.get("unit"):
            self._on_tick()

    def _on_snapshot(self, result: dict, image) -> None:
        """New weights (and outputs for `image`): keep them, show the outputs, tell the views."""
        model = self._inspector.model()
        if model is None or result["generation"] != model.generation or not self._is_training():
            return
        self._snapshot = Snapshot(result["weights"], result["outputs"], image, result["generation"])
        if result["outputs"] is not None and image is not None:
            self._inspector.show_activations(result["outputs"], image)   # the maps agree with the panel
        self.changed.emit()

    def _on_failed(self, error, _image) -> None:
        """Nothing to do: the next tick asks again (a crash is reported by the main window)."""
