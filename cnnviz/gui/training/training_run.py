"""One training run in the compute process, seen from the GUI: a "train" request and its events.

The run's events become Qt signals (progress ~25 Hz, epochs, live activations); pause, resume and
stop go to the compute process, which honours them between batches. The weights after every
finished epoch are kept here, so a run cut short by a crash of the compute process keeps its last
finished epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import ComputeError, ModelInfo
from cnnviz.core.data import Dataset
from cnnviz.core.training import EpochRecord, TrainConfig, TrainResult


@dataclass
class TrainingOutcome:
    """How a run ended: the result, the model now current (None when the previous one is back)."""

    result: TrainResult
    model: ModelInfo | None
    from_scratch: bool
    batches_done: int


class TrainingRun(QObject):
    """A "train" request: `start()`, then signals until `finished`, `failed` or `cut`."""

    model_built = Signal(object)       # ModelInfo of the fresh model a run from scratch trains
    preparing = Signal(str)            # what the compute process is doing before the first batch
    progress = Signal(object)          # BatchProgress
    epoch_finished = Signal(object)    # EpochRecord
    activations = Signal(object, object)   # (input image, every layer's outputs) with the newest weights
    checkpoint_kept = Signal(object)   # {"index", "checkpoint", "confusion", "from_scratch"} (handlers/history.py)
    finished = Signal(object)          # TrainingOutcome
    failed = Signal(str, str)          # message, error type (e.g. "DataError")
    cut = Signal(str)                  # the compute process died mid-run (what happened)
    steps_per_execution: int | None = None   # batches per compiled call; None: the compute process's choice
    dataset_name = "mnist"             # what to train on when no Dataset is given ("mnist", "fashion-mnist")

    def __init__(self, client, config: TrainConfig, from_scratch: bool, dataset: Dataset | None = None,
                 data_path: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.config = config
        self.from_scratch = from_scratch
        self.dataset = dataset
        self.data_path = data_path
        self.history: list[EpochRecord] = []        # the epochs finished so far
        self.epoch_weights: list | None = None      # per-layer weights after the last finished epoch
        self.built: ModelInfo | None = None
        self.paused = False
        self._request: int | None = None

    def start(self) -> None:
        args = {"config": self.config, "from_scratch": self.from_scratch}
        if self.dataset is not None:
            args["dataset"] = self.dataset
        elif self.data_path is not None:
            args["data_path"] = self.data_path
        if self.dataset is None:
            args["dataset_name"] = self.dataset_name
        if self.steps_per_execution is not None:
            args["steps_per_execution"] = self.steps_per_execution
        self._request = self.client.request("train", args, on_reply=self._on_reply, on_error=self._on_error,
                                            on_event=self._on_event)

    def is_running(self) -> bool:
        return self._request is not None

    def pause(self) -> None:
        if self._request is not None:
            self.paused = True
            self.client.pause(self._request)

    def resume(self) -> None:
        if self._request is not None:
            self.paused = False
            self.client.resume(self._request)

    def stop(self) -> None:
        """Stop after the current batch (the reply follows with status "stopped")."""
        if self._request is not None:
            self.client.cancel(self._request)

    def abandon(self) -> None:
        """Stop, and deliver nothing more (the window is closing)."""
        if self._request is not None:
            self.client.cancel(self._request)
            self.client.forget(self._request)
            self._request = None

    def _on_event(self, kind: str, payload) -> None:
        if kind == "progress":
            self.progress.emit(payload)
        elif kind == "activations":
            self.activations.emit(payload["image"], payload["outputs"])
        elif kind == "epoch":
            self.history.append(payload["record"])
            self.epoch_weights = payload["weights"]
            self.epoch_finished.emit(payload["record"])
        elif kind == "model":
            self.built = payload
            self.model_built.emit(payload)
        elif kind == "preparing":
            self.preparing.emit(str(payload))
        elif kind == "checkpoint":
            self.checkpoint_kept.emit(payload)

    def _on_reply(self, reply: dict) -> None:
        self._request = None
        model = reply["info"] if reply["kept"] else None
        self.finished.emit(TrainingOutcome(reply["result"], model, reply["from_scratch"], reply["batches_done"]))

    def _on_error(self, error: ComputeError) -> None:
        self._request = None
        if error.crashed:
            self.cut.emit(error.message)
        else:
            self.failed.emit(f"Training failed: {error.message}", error.error_type)
