"""The Lab's training queues, seen from the GUI: one request per variant (or per variant and seed), one at a time.

`LabRun`: one "lab_train" request per variant (the Train button). `SeedRun`: one "lab_seed_run" request per
(variant, seed), the full run's extra seeds (issue 24). They train one after the other in the compute
process's task thread (where they also wait behind any other task, such as a run of the Training panel).
Pause and resume go to the training now; Stop ends it within a batch and drops the ones still waiting.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import CANCELLED, ComputeError
from cnnviz.core.data import Dataset
from cnnviz.core.training import TrainConfig


class LabRun(QObject):
    """Trains `names` in order with `config`, saving each finished variant into `folder`."""

    variant_started = Signal(str)             # name: its request went out (it may still wait for the task thread)
    preparing = Signal(str, str)              # name, what the compute process is doing before the first batch
    progress = Signal(str, object)            # name, BatchProgress
    epoch_finished = Signal(str, object)      # name, EpochRecord
    variant_finished = Signal(str, object)    # name, the reply: {"result", "row", "path"} (SeedRun: {"seed", "status",
                                              # "message", "row"})
    variant_failed = Signal(str, str)         # name, message (a crash of the compute process included)
    finished = Signal()                       # the queue is done (or was stopped)
    steps_per_execution: int | None = None    # batches per compiled call; None: the compute process's choice

    def __init__(self, client, names: list[str], config: TrainConfig, folder=None, dataset: Dataset | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.config = config
        self.folder = folder
        self.dataset = dataset
        self.queue = list(names)                # what is still to train (SeedRun: (name, seed) pairs)
        self.current: str | None = None         # the variant training now
        self.paused = False
        self.stopped = False
        self._request: int | None = None

    def start(self) -> None:
        self._next()

    def is_running(self) -> bool:
        return self._request is not None

    def waiting(self) -> list[str]:
        """The variants still to train after the current one."""
        return list(self.queue)

    def waiting_text(self) -> str:
        """What is still to train, for a progress line."""
        return ", ".join(self.waiting())

    def set_paused(self, paused: bool) -> None:
        """Hold the variant training now between batches (True), or let it go on (False)."""
        if self._request is not None and paused != self.paused:
            self.paused = paused
            (self.client.pause if paused else self.client.resume)(self._request)

    def stop(self) -> None:
        """Stop the variant training now (its reply still comes) and forget the others."""
        self.stopped = True
        self.queue.clear()
        if self._request is not None:
            self.client.cancel(self._request)
        else:
            self.finished.emit()

    def abandon(self) -> None:
        """Stop, and deliver nothing more (the window is closing)."""
        self.queue.clear()
        if self._request is not None:
            self.client.cancel(self._request)
            self.client.forget(self._request)
            self._request = None

    def _next(self) -> None:
        if not self.queue or self.stopped:
            self.current = None
            self.finished.emit()
            return
        item = self.queue.pop(0)
        self.paused = False
        method, args = self._request_for(item)
        if self.dataset is not None:
            args["dataset"] = self.dataset
        if self.steps_per_execution is not None:
            args["steps_per_execution"] = self.steps_per_execution
        name = self.current = args["name"]
        # A partial of a bound method: the client skips it once this object is deleted (a lambda it cannot check).
        self._request = self.client.request(method, args, on_reply=self._on_reply, on_error=self._on_error,
                                            on_event=functools.partial(self._on_event, name))
        self.variant_started.emit(name)

    def _request_for(self, name: str) -> tuple[str, dict]:
        return "lab_train", {"name": name, "config": self.config, "folder": self.folder}

    def _on_event(self, name: str, kind: str, payload) -> None:
        if kind == "progress":
            self.progress.emit(name, payload)
        elif kind == "epoch":
            self.epoch_finished.emit(name, payload)
        elif kind == "preparing":
            self.preparing.emit(name, str(payload))

    def _on_reply(self, reply: dict) -> None:
        self._request = None
        self.variant_finished.emit(reply["name"], reply)
        self._next()

    def _on_error(self, error: ComputeError) -> None:
        name, self._request = self.current, None
        if error.error_type == CANCELLED:
            self.variant_failed.emit(name, "stopped before its first batch")
        else:
            self.variant_failed.emit(name, error.message)
        if error.crashed or error.error_type in ("DataError", "RunsFileError"):
            self.queue.clear()   # a restarted process, no MNIST, a runs file it cannot extend: no better for the others
        self._next()


class SeedRun(LabRun):
    """Trains more seeds of the full run: `seeds` is [(name, seed), …] in order, `settings` the full run's
    RunSettings; each finished run goes into the user's runs file `runs` and its history into `folder`."""

    def __init__(self, client, seeds: list[tuple[str, int]], settings, runs, folder, dataset: Dataset | None = None,
                 parent: QObject | None = None):
        super().__init__(client, [], TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size), folder,
                         dataset, parent)
        self.queue = list(seeds)
        self.settings = settings
        self.runs = runs
        self.current_seed: int | None = None

    def waiting(self) -> list[str]:
        return [name for name, _ in self.queue]

    def waiting_text(self) -> str:
        return ", ".join(f"{name} (seed {seed})" for name, seed in self.queue)

    def _request_for(self, item: tuple[str, int]) -> tuple[str, dict]:
        name, self.current_seed = item
        return "lab_seed_run", {"name": name, "seed": self.current_seed, "settings": self.settings,
                                "runs": self.runs, "folder": self.folder}
