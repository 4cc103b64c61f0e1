""""Teach it my handwriting", seen from the GUI: one "teach_handwriting" task in the compute process.

A copy of the current model is fine-tuned on the user's digit folder mixed with MNIST (`core.fine_tune`:
each epoch the user's digits, repeated to at least 500, and six times as many MNIST training digits, at a
tenth of the usual learning rate). Its events become one progress signal (fraction of the whole, and
words); Cancel stops it within a batch and leaves the current model as it was. The reply has the
before/after figures and the taught model, which the compute process has made current (unsaved).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import CANCELLED, ComputeError
from cnnviz.core.training import BatchProgress, EpochRecord, TrainConfig

READING_SHARE = 0.05   # of the progress bar: reading the folder (the rest: the epochs)


class TeachRun(QObject):
    """One teaching request: `start()`, then `progress` until `finished`, `cancelled` or `failed`."""

    progress = Signal(float, str)    # fraction of the whole run (-1: not known yet), what it is doing
    epoch_finished = Signal(object)  # EpochRecord (MNIST test accuracy after each epoch)
    finished = Signal(object)        # the reply: {"result": FineTuneResult, "info": ModelInfo now current}
    cancelled = Signal()             # stopped: the current model is as it was
    failed = Signal(str, bool)       # message, whether the compute process crashed

    def __init__(self, client, folder, epochs: int, dataset=None, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.folder = folder
        self.config = TrainConfig(epochs=int(epochs))
        self.dataset = dataset
        self._request: int | None = None

    def start(self) -> None:
        args = {"folder": str(self.folder), "config": self.config}
        if self.dataset is not None:
            args["dataset"] = self.dataset
        self._request = self.client.request("teach_handwriting", args, on_reply=self._on_reply,
                                            on_error=self._on_error, on_event=self._on_event)
        self.progress.emit(-1.0, "Waiting for the compute process…")

    def is_running(self) -> bool:
        return self._request is not None

    def cancel(self) -> None:
        """Stop within a batch (the reply still comes: `cancelled`)."""
        if self._request is not None:
            self.client.cancel(self._request)
            self.progress.emit(-1.0, "Cancelling…")

    def abandon(self) -> None:
        """Stop and deliver nothing more (the window closes)."""
        if self._request is not None:
            self.client.cancel(self._request)
            self.client.forget(self._request)
            self._request = None

    def _on_event(self, kind: str, payload) -> None:
        if kind == "reading":
            self.progress.emit(READING_SHARE * float(payload), f"Reading your digits… {float(payload):.0%}")
        elif kind == "preparing":
            self.progress.emit(READING_SHARE, str(payload))
        elif kind == "progress" and isinstance(payload, BatchProgress):
            total = max(payload.num_epochs * payload.num_batches, 1)
            done = payload.epoch * payload.num_batches + payload.batch
            self.progress.emit(READING_SHARE + (1 - READING_SHARE) * done / total,
                               f"Epoch {payload.epoch + 1}/{payload.num_epochs} · batch {payload.batch}/"
                               f"{payload.num_batches} · accuracy {payload.accuracy:.3f}")
        elif kind == "epoch" and isinstance(payload, EpochRecord):
            self.epoch_finished.emit(payload)

    def _on_reply(self, reply: dict) -> None:
        self._request = None
        self.finished.emit(reply)

    def _on_error(self, error: ComputeError) -> None:
        self._request = None
        if error.error_type == CANCELLED:
            self.cancelled.emit()
        else:
            self.failed.emit(error.message, bool(error.crashed))
