"""Each channel's top test digits, from the compute process: the 9 test digits that excite it most and the
patches its peak units saw, for every conv and pooling layer at once.

One "top_digits" task ranks the whole test set in one batched pass (a few seconds; cached on disk
per model by the core, so it is instant afterwards) and answers for every layer; the result is kept
here per model generation. It runs when first asked for (`compute`); once the user has asked, it
runs again by itself for every new model (`wanted`), but never while the model trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import ComputeError


@dataclass(frozen=True)
class ChannelTop:
    """One channel's most exciting test digits, most exciting first."""

    layer: str
    channel: int
    indices: np.ndarray    # (k,) test-set indices
    values: np.ndarray     # (k,) the channel's maximum activation on each
    digits: np.ndarray     # (k, H, W) float32 in [0, 1]: the digits
    patches: np.ndarray    # (k, h, w) float32 in [0, 1]: the part of each its peak unit saw
    positions: np.ndarray  # (k, 2) (y, x) of the peak in the channel's map


class TopDigits(QObject):
    """Asks for, keeps and hands out the top digits of every channel of the current model."""

    ready = Signal()            # the current model's top digits arrived
    progress = Signal(float)    # fraction of the test set ranked
    failed = Signal(str)        # why there are none (cancelled, training, an error)

    def __init__(self, inspector, client, use_cache: bool = True, parent: QObject | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self._client = client
        self.use_cache = use_cache     # False: rank again even if the disk cache has it (tests)
        self._result: tuple[int, dict] | None = None    # (generation, the task's result)
        self._request: int | None = None
        self._request_generation: int | None = None
        self.wanted = False     # the user asked once: fetch for every model from now on
        self.is_training: Callable[[], bool] = lambda: False

    def result(self) -> dict | None:
        """The task's result for the current model, or None."""
        generation = self._generation()
        if self._result is None or generation is None or self._result[0] != generation:
            return None
        return self._result[1]

    def is_running(self) -> bool:
        return self._request is not None

    def compute(self) -> None:
        """Rank the test set for the current model (unless known or under way)."""
        generation = self._generation()
        if generation is None or self._client is None or self.result() is not None:
            return
        self.wanted = True
        if self._request is not None and self._request_generation == generation:
            return
        if self.is_training():
            self.failed.emit("The top digits are found once training has finished (the weights are still "
                             "changing).")
            return
        self.cancel()
        self._request_generation = generation
        self._request = self._client.request("top_digits", {"use_cache": self.use_cache},
                                             on_reply=self._on_result, on_error=self._on_failed,
                                             on_event=self._on_event)
        self.progress.emit(0.0)

    def cancel(self) -> None:
        if self._request is not None and self._client is not None:
            self._client.cancel(self._request)

    def model_changed(self) -> None:
        """A new model (or training ended): fetch again if the user wants top digits."""
        if self.wanted and self.result() is None:
            self.compute()

    def set_client(self, client) -> None:
        self._client = client
        self._request = None

    def channel(self, layer: str, channel: int) -> ChannelTop | None:
        """`channel` of `layer`'s top digits, if known."""
        result = self.result()
        if result is None or layer not in result["layers"]:
            return None
        top = result["layers"][layer]
        if not 0 <= channel < len(top.indices):
            return None
        digits = np.asarray(result["digits"][layer][channel], np.float32) / 255.0
        patches = np.clip(np.asarray(result["patches"][layer][channel], np.float32), 0.0, 1.0)
        return ChannelTop(layer, channel, top.indices[channel], top.values[channel], digits, patches,
                          top.positions[channel])

    # --- replies -------------------------------------------------------------------------------
    def _on_event(self, kind: str, payload) -> None:
        if kind == "progress":
            self.progress.emit(float(payload))

    def _on_result(self, result: dict) -> None:
        self._request = None
        self._result = (result["generation"], result)
        if result["generation"] == self._generation():
            self.ready.emit()
        else:
            self.model_changed()

    def _on_failed(self, error: ComputeError) -> None:
        self._request = None
        if error.cancelled:
            self.failed.emit("Ranking the test digits was cancelled.")
        elif error.crashed:
            self.failed.emit("The compute process stopped while ranking the test digits.")
        else:
            self.failed.emit(f"Could not rank the test digits: {error.message}")

    def _generation(self) -> int | None:
        model = self._inspector.model()
        return None if model is None else model.generation
