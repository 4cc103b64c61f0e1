"""Training on a worker thread: a QObject that runs the core Trainer and emits plain data.

The worker owns the model while `fit` runs. The GUI thread never calls the model then:
it hands the worker the latest input image, and the worker computes that image's
activations between batches (at most ~10 times a second) and emits them.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from cnnviz.core.data import Dataset
from cnnviz.core.training import BatchProgress, EpochRecord, TrainConfig, TrainingControl, TrainResult

ACTIVATION_INTERVAL_S = 0.1  # live feature maps at most 10 times a second


@dataclass
class TrainingOutcome:
    """What a finished run hands back: the trained model, a probe that follows it, and the result."""

    model: object
    probe: object
    result: TrainResult
    from_scratch: bool
    batches_done: int


class _ServingControl(TrainingControl):
    """A TrainingControl that, while paused, keeps answering requests for activations."""

    def __init__(self, serve):
        super().__init__()
        self._serve = serve

    def wait_while_paused(self, poll_s: float = 0.05) -> None:
        while self.paused and not self.stop_requested:
            self._serve(paused=True)
            time.sleep(poll_s)


class TrainingWorker(QObject):
    """Trains `model` (or a fresh seed model when None) on `data`; lives on a QThread.

    `set_input` and `control` may be used from any thread; everything else runs on the worker's.
    """

    progress = Signal(object)        # BatchProgress
    epoch_finished = Signal(object)  # EpochRecord
    activations = Signal(object)     # list[np.ndarray] for the latest input
    finished = Signal(object)        # TrainingOutcome
    failed = Signal(str)

    def __init__(self, data: Dataset, config: TrainConfig, model=None):
        super().__init__()
        self.data = data
        self.config = config
        self.control = _ServingControl(self._serve_activations)
        self._model = model
        self._probe = None
        self._lock = threading.Lock()
        self._input: np.ndarray | None = None
        self._input_version = 0
        self._served_version = -1
        self._last_served = 0.0
        self._batches_done = 0
        self._test_cut = False

    def set_input(self, image: np.ndarray | None) -> None:
        """The image whose activations to emit while training (thread-safe; None = nothing drawn)."""
        with self._lock:
            self._input = None if image is None else np.array(image, dtype=np.float32, copy=True)
            self._input_version += 1

    @Slot()
    def run(self) -> None:
        """Build the model if needed, trace its probe, train, emit `finished` (or `failed`)."""
        try:
            from cnnviz.core.activations import ActivationProbe
            from cnnviz.core.model import build_seed_model
            from cnnviz.core.training import Trainer

            from_scratch = self._model is None
            if from_scratch:
                if self.config.seed is not None:
                    import keras

                    keras.utils.set_random_seed(self.config.seed)
                self._model = build_seed_model(self.config.optimizer, self.config.learning_rate)
            self._probe = ActivationProbe(self._model)
            trainer = Trainer(self._model, self.data, self.config, listener=self, control=self.control,
                              keep="current", between_batches=self._serve_activations,
                              extra_callbacks=(_stop_testing_callback(self.control, self._on_test_cut),))
            result = trainer.run()
        except Exception as exc:  # shown to the user; the app carries on
            self.failed.emit(f"Training failed: {type(exc).__name__}: {exc}")
            return
        self.finished.emit(TrainingOutcome(self._model, self._probe, result, from_scratch, self._batches_done))

    # TrainingListener (called on the worker thread)
    def on_progress(self, progress: BatchProgress) -> None:
        self._batches_done = progress.epoch * progress.num_batches + progress.batch
        self.progress.emit(progress)

    def on_epoch(self, record: EpochRecord) -> None:
        if self._test_cut:  # a stop cut this epoch's test short: its test figures are not MNIST's
            record.test_loss = record.test_accuracy = math.nan
            self._test_cut = False
        self.epoch_finished.emit(record)

    def _on_test_cut(self) -> None:
        self._test_cut = True

    def _serve_activations(self, paused: bool = False) -> None:
        """Emit the latest input's activations, at most every ACTIVATION_INTERVAL_S.

        While paused the weights do not change, so only a new input is worth a forward pass.
        """
        now = time.perf_counter()
        if now - self._last_served < ACTIVATION_INTERVAL_S:
            return
        with self._lock:
            image, version = self._input, self._input_version
        if image is None or (paused and version == self._served_version):
            return
        self._last_served = now
        self._served_version = version
        self.activations.emit(self._probe(image))


def _stop_testing_callback(control: TrainingControl, on_cut):
    """A Keras callback that ends testing early when a stop was requested.

    Keras tests on all 10,000 digits even after a stop lands mid-epoch (0.7-1.9 s here);
    a stop, and closing the window, should not wait for that.
    """
    import keras

    class StopTesting(keras.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            if control.stop_requested:
                self.model.stop_evaluating = True
                on_cut()

    return StopTesting()


class TrainingSession(QObject):
    """One training run: a TrainingWorker on its own QThread, started, paused, stopped and joined."""

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("cnnviz-training")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.finished.connect(self.thread.quit)
        worker.failed.connect(self.thread.quit)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def pause(self) -> None:
        self.worker.control.pause()

    def resume(self) -> None:
        self.worker.control.resume()

    @property
    def paused(self) -> bool:
        return self.worker.control.paused

    def stop(self, wait_ms: int = 0) -> bool:
        """Ask the worker to stop after this batch; optionally wait for its thread to end."""
        self.worker.control.stop()
        self.thread.quit()
        return self.thread.wait(wait_ms) if wait_ms else not self.thread.isRunning()

    def join(self, wait_ms: int | None = 2000) -> bool:
        """Wait for the thread to end (after `finished`/`failed`); None waits as long as it takes."""
        self.thread.quit()
        return self.thread.wait() if wait_ms is None else self.thread.wait(wait_ms)
