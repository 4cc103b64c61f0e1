"""Headless training of the seed convnet with progress, pause, stop and a NaN guard.

The Keras callback here only hands plain data (floats, copied arrays) to a listener;
it never touches a widget, so the GUI can run `Trainer.run` on a worker thread.

A stop (`TrainingControl.stop`, from any thread) closes a gate on the training and test data, so
a compiled call of many batches (`steps_per_execution`) ends after the batch it is on and the
test pass of a cut epoch does not run: the app's Stop and close, and Ctrl+C or SIGTERM of
`cnnviz train` (`stop_on_signals`), take effect within a batch. A diverged run (a loss or a weight
that is not a finite number) goes back to the last finished epoch's weights, which are checked
to be finite, so the weights kept and the history always describe the same epochs.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from cnnviz.core.atomic import write_text_atomic
from cnnviz.core.augmentation import augmented
from cnnviz.core.data import Dataset
from cnnviz.core.training_control import TrainingControl, stop_on_signals  # noqa: F401 (re-exported)

EMIT_INTERVAL_S = 1 / 25  # progress reaches listeners at most 25 times a second
MAX_BATCH_SIZE = 4096     # the app's limit too; 60,000 digits in one batch exhausts memory (issue 15.7)
MAX_SEED = 2**32 - 1      # NumPy's and TensorFlow's seeds are 32-bit
MAX_STEPS_PER_EXECUTION = 100_000  # more batches than an epoch of these datasets has (60,000 at batch 1)
MAX_EPOCHS = 100_000
DEFAULT_STEPS_PER_EXECUTION = 32   # batches per compiled call: `cnnviz train`'s and the app's


class TrainConfigError(ValueError):
    """A training setting out of range; the message says which (the command line prints it as one line)."""


@dataclass
class TrainConfig:
    """What the user chooses before training (defaults are the reference notes')."""

    epochs: int = 5
    batch_size: int = 64
    optimizer: str = "rmsprop"
    learning_rate: float | None = None
    limit: int | None = None
    seed: int | None = None
    steps_per_execution: int = 1
    augment: bool = False    # random shifts, turns and zooms of each training batch (core.augmentation)
    dropout: float = 0.0     # a Dropout layer of this rate before the dense layers of a model built new

    def __post_init__(self):
        if self.epochs < 1:
            raise TrainConfigError("epochs must be at least 1")
        if self.batch_size < 1:
            raise TrainConfigError("batch size must be at least 1")
        if self.batch_size > MAX_BATCH_SIZE:
            raise TrainConfigError(f"batch size must be at most {MAX_BATCH_SIZE:,}, not {self.batch_size:,}")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise TrainConfigError(f"seed must be from 0 to {MAX_SEED} (2**32 - 1), not {self.seed}")
        if self.learning_rate is not None and not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise TrainConfigError("learning rate must be a positive number")
        if self.steps_per_execution < 1:
            raise TrainConfigError("steps per execution must be at least 1")
        if self.steps_per_execution > MAX_STEPS_PER_EXECUTION:   # TensorFlow keeps it in an int32 counter
            raise TrainConfigError(f"steps per execution must be at most {MAX_STEPS_PER_EXECUTION:,}, not "
                                   f"{self.steps_per_execution:,}")
        if self.epochs > MAX_EPOCHS:
            raise TrainConfigError(f"epochs must be at most {MAX_EPOCHS:,}, not {self.epochs:,}")
        if not 0.0 <= self.dropout < 1.0:
            raise TrainConfigError(f"dropout must be from 0 to below 1, not {self.dropout}")


@dataclass
class BatchProgress:
    """A throttled progress report; `batch_losses`/`batch_accuracies` hold every step since the last one."""

    epoch: int  # 0-based
    num_epochs: int
    batch: int  # batches finished in this epoch
    num_batches: int
    loss: float  # running mean over the epoch so far
    accuracy: float
    samples_per_second: float
    eta_seconds: float
    batch_steps: np.ndarray = field(default_factory=lambda: np.zeros(0))  # fractional epochs
    batch_losses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    batch_accuracies: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def fractional_epoch(self) -> float:
        return self.epoch + self.batch / max(self.num_batches, 1)


@dataclass
class EpochRecord:
    """One row of the history: training and test figures after an epoch."""

    epoch: int  # 1-based
    loss: float
    accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float  # the whole epoch, its test pass included
    samples_per_second: float  # training digits per second, the test pass excluded


@dataclass
class TrainResult:
    """How a run ended."""

    history: list[EpochRecord]
    status: str  # "finished", "stopped" or "diverged"
    message: str = ""
    samples_per_second: float = 0.0


class TrainingListener(Protocol):
    def on_progress(self, progress: BatchProgress) -> None: ...
    def on_epoch(self, record: EpochRecord) -> None: ...


def history_to_csv(history: list[EpochRecord]) -> str:
    """The per-epoch history as CSV text with a header row."""
    out = io.StringIO()
    names = list(EpochRecord.__dataclass_fields__)
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for record in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in asdict(record).items()})
    return out.getvalue()


def write_history_csv(history: list[EpochRecord], path) -> None:
    """Write the history CSV atomically."""
    write_text_atomic(path, history_to_csv(history))


def read_history_csv(path) -> list[EpochRecord]:
    """Read a history CSV written by `write_history_csv`; [] when missing or unreadable."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        figures = list(EpochRecord.__dataclass_fields__)[1:]  # every column after "epoch" is a float
        return [EpochRecord(int(row["epoch"]), *(float(row[name]) for name in figures)) for row in rows]
    except (OSError, KeyError, ValueError, TypeError):
        return []


def history_path_for(model_path: Path) -> Path:
    """The history CSV kept beside a model: `net.keras` -> `net_history.csv`."""
    return model_path.with_name(f"{model_path.stem}_history.csv")


def make_datasets(data: Dataset, batch_size: int, seed: int | None = None, gate=None, augment: bool = False):
    """tf.data pipelines that shuffle uint8 digits and normalise/one-hot each batch on the fly.

    `gate`: a boolean tf.Variable; both pipelines end as soon as it is False (checked as each
    batch is taken, so it also ends a compiled call of several batches). `augment`: each training
    batch is moved, turned and zoomed at random (`cnnviz.core.augmentation`); the test batches never are.
    """
    import tensorflow as tf

    def prepare(images, labels):
        images = tf.cast(images, tf.float32)[..., tf.newaxis] / 255.0
        return images, tf.one_hot(tf.cast(labels, tf.int32), 10)

    batches = (
        tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
        .shuffle(len(data.x_train), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    )
    train = (augmented(batches, seed) if augment else batches).prefetch(tf.data.AUTOTUNE)
    test = (
        tf.data.Dataset.from_tensor_slices((data.x_test, data.y_test))
        .batch(1024)
        .map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    if gate is not None:
        train = train.take_while(lambda images, labels: gate)
        test = test.take_while(lambda images, labels: gate)
    return train, test


class Trainer:
    """Runs `model.fit` for a TrainConfig, reporting to a listener and obeying a TrainingControl.

    `keep="current"` keeps the weights where a stop lands (the app); `keep="last_epoch"`
    rolls back to the last finished epoch (the command line's Ctrl+C).
    """

    def __init__(self, model, data: Dataset, config: TrainConfig, listener: TrainingListener | None = None,
                 control: TrainingControl | None = None, keep: str = "current",
                 between_batches: Callable[[], None] | None = None, extra_callbacks: tuple = (),
                 live: bool = False):
        self.model = model
        self.data = data.limited(config.limit)
        self.config = config
        self.listener = listener
        self.control = control or TrainingControl()
        self.keep = keep
        self.between_batches = between_batches
        self.extra_callbacks = tuple(extra_callbacks)
        self.live = live          # record every step for `poll` and `take_weights` from another thread
        self.recorder = None      # the StepRecorder while a live run trains

    @property
    def num_batches(self) -> int:
        return math.ceil(len(self.data.x_train) / self.config.batch_size)

    def run(self) -> TrainResult:
        """Train; returns the history and whether the run finished, was stopped or diverged."""
        import keras

        from cnnviz.core.model import compile_model

        import tensorflow as tf

        if self.config.seed is not None:
            keras.utils.set_random_seed(self.config.seed)
        compile_model(self.model, self.config.optimizer, self.config.learning_rate,
                      steps_per_execution=self.config.steps_per_execution)
        # The gate makes the datasets' length unknown to Keras, which then warns at each end of data.
        warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
        self._gate = tf.Variable(True, trainable=False, name="cnnviz_keep_going")
        train, test = make_datasets(self.data, self.config.batch_size, self.config.seed, self._gate,
                                    augment=self.config.augment)
        callback = self._callback = _reporting_callback_class()(self)
        remove_hooks = [self.control.on_stop(self.close_gate)]
        if self.live:
            from cnnviz.core.step_recorder import StepRecorder

            self.recorder = StepRecorder(self.model)
            self.recorder.install(wait=callback.wait_while_paused)   # a pause lands within a batch
            remove_hooks.append(self.control.on_pause(self.recorder.hold))
        try:
            self.model.fit(train, epochs=self.config.epochs, validation_data=test, verbose=0, shuffle=False,
                           callbacks=[callback, *self.extra_callbacks])
        finally:
            for remove in remove_hooks:
                remove()
            if self.recorder is not None:
                self.recorder.uninstall()
        return callback.result()

    # --- a live run, from another thread while a compiled call of many batches runs ---------------------
    def poll(self) -> None:
        """Report the steps finished since the last report (BatchProgress to the listener, at most every
        EMIT_INTERVAL_S): the curves move while a compiled call of many batches runs (`live` runs only)."""
        callback = getattr(self, "_callback", None)
        if self.recorder is not None and callback is not None:
            callback.poll()

    def request_weights(self) -> None:
        """Ask the next training step for a consistent copy of the weights (`live` runs only)."""
        if self.recorder is not None:
            self.recorder.request_weights()

    def take_weights(self):
        """The `step_recorder.WeightsCopy` made by the step that served the last request, once; None while
        pending."""
        return None if self.recorder is None else self.recorder.take_weights()

    @property
    def finished_epochs(self) -> int:
        """Epochs finished so far in the running (or last) `run`."""
        callback = getattr(self, "_callback", None)
        return len(callback.history) if callback is not None else 0

    def close_gate(self) -> None:
        """End the training and test data now: the compiled call running finishes its batch and returns."""
        gate = getattr(self, "_gate", None)
        if gate is not None:
            gate.assign(False)


@functools.cache
def _reporting_callback_class():
    """The Keras callback class, built on first use so that importing this module stays cheap."""
    import keras

    class ReportingCallback(keras.callbacks.Callback):
        """Turns Keras's batch/epoch hooks into throttled plain-data reports."""

        def __init__(self, trainer: Trainer):
            super().__init__()
            self.trainer = trainer
            self.history: list[EpochRecord] = []
            self.status = "finished"
            self.message = ""
            self._epoch_weights = None  # the last finished epoch's (or the initial) weights, all finite
            self._samples_seen = 0
            self._train_seconds = 0.0
            self._lock = threading.RLock()   # `poll` runs on another thread during a live run
            self._epoch = None
            self._last_iteration = -1

        def on_train_begin(self, logs=None):
            self._epoch_weights = self.model.get_weights()

        def on_epoch_begin(self, epoch, logs=None):
            with self._lock:
                self._epoch = epoch
                self._epoch_start = time.perf_counter()
                self._train_end = None
                self._test_complete = False
                self._last_emit = 0.0
                self._iterations_before = self._iterations()
                self._last_iteration = max(self._last_iteration, self._iterations_before)
                self._prev_batches = 0
                self._prev_loss_sum = 0.0
                self._prev_acc_sum = 0.0
                self._latest = None   # (batches done, running loss, running accuracy) not yet reported
                self._steps, self._losses, self._accs = [], [], []

        def _iterations(self) -> int:
            """Optimizer steps so far: exact even when a stop cut a call of several batches short."""
            return int(self.model.optimizer.iterations.numpy())

        def on_train_batch_end(self, batch, logs=None):
            trainer = self.trainer
            loss = float(logs.get("loss", float("nan")))
            acc = float(logs.get("accuracy", float("nan")))
            if not math.isfinite(loss):
                self._diverge(f"The training loss became {loss} in epoch {self._epoch + 1}")
                return
            with self._lock:
                if trainer.recorder is not None:
                    self._take_recorded_steps()   # every step of the call, from the recorder
                else:
                    self._add_steps(min(self._iterations() - self._iterations_before, trainer.num_batches), loss,
                                    acc)
                self._report_due()
            if trainer.between_batches is not None:
                trainer.between_batches()
            control = trainer.control
            if control.paused:
                self.wait_while_paused()
            if control.stop_requested:
                self.status = "stopped"
                self.model.stop_training = True

        def wait_while_paused(self):
            """Hold the training while it is paused (between calls, or inside a step of a live run); the
            time paused does not count in the epoch's time."""
            paused_at = time.perf_counter()
            self.trainer.control.wait_while_paused()
            with self._lock:
                self._epoch_start += time.perf_counter() - paused_at

        def poll(self):
            """(another thread) Report the steps the recorder saw since the last report, if one is due."""
            with self._lock:
                if self._epoch is not None and self._train_end is None:
                    self._take_recorded_steps()
                    self._report_due()

        def _take_recorded_steps(self):
            for iteration, loss, acc in self.trainer.recorder.steps_after(self._last_iteration):
                if not math.isfinite(loss):
                    break   # the task thread's own check stops the run at the end of the call
                self._add_steps(int(iteration) - self._iterations_before, loss, acc)
                self._last_iteration = iteration

        def _add_steps(self, done, loss, acc):
            """`done` batches of this epoch are finished; `loss` and `acc` are Keras's running means after them."""
            if done <= self._prev_batches or done > self.trainer.num_batches:
                return  # a call cut short before its first batch, or a step already counted
            # Keras reports running means over the epoch: recover each step's own value.
            n_new = done - self._prev_batches
            step_loss = (loss * done - self._prev_loss_sum) / n_new
            step_acc = (acc * done - self._prev_acc_sum) / n_new
            self._prev_batches, self._prev_loss_sum, self._prev_acc_sum = done, loss * done, acc * done
            self._steps.append(self._epoch + done / self.trainer.num_batches)
            self._losses.append(step_loss)
            self._accs.append(step_acc)
            self._latest = (done, loss, acc)

        def _report_due(self):
            """Report the steps not yet reported, at most every EMIT_INTERVAL_S (and at the end of an epoch)."""
            if self._latest is None:
                return
            done, loss, acc = self._latest
            now = time.perf_counter()
            if now - self._last_emit >= EMIT_INTERVAL_S or done == self.trainer.num_batches:
                self._last_emit = now
                self._latest = None
                self._emit(done, loss, acc, now)

        def _emit(self, done, loss, acc, now):
            trainer = self.trainer
            listener = trainer.listener
            elapsed = max(now - self._epoch_start, 1e-9)
            seen = min(done * trainer.config.batch_size, len(trainer.data.x_train))
            rate = seen / elapsed
            total_batches = trainer.num_batches * trainer.config.epochs
            remaining = total_batches - (self._epoch * trainer.num_batches + done)
            eta = remaining * trainer.config.batch_size / max(rate, 1e-9)
            if listener is not None:
                listener.on_progress(BatchProgress(
                    self._epoch, trainer.config.epochs, done, trainer.num_batches, loss, acc, rate, eta,
                    np.asarray(self._steps), np.asarray(self._losses), np.asarray(self._accs)))
            self._steps, self._losses, self._accs = [], [], []

        def _diverge(self, what: str):
            """Stop, and go back to the last finished epoch's weights (finite, checked when kept)."""
            self.status = "diverged"
            if self.history:
                kept = f"the weights after epoch {self.history[-1].epoch} were kept"
            else:
                kept = "no epoch finished, so the weights from before training were kept"
            self.message = (f"{what}: the learning rate is probably too high. Training stopped and {kept}.")
            self.model.set_weights(self._epoch_weights)
            self.model.stop_training = True
            self.trainer.close_gate()  # no test pass for this epoch

        def on_test_begin(self, logs=None):
            with self._lock:
                self._train_end = time.perf_counter()  # the epoch's test pass starts: training is done

        def on_test_end(self, logs=None):
            # A stop closes the gate, which may have cut the test short: then its figures are unknown.
            self._test_complete = not self.trainer.control.stop_requested

        def on_epoch_end(self, epoch, logs=None):
            # An interrupted epoch is not a finished one.
            if self.status in ("finished", "stopped") and self._prev_batches >= self.trainer.num_batches:
                self._finish_epoch(epoch, logs or {})
            if self.status == "finished" and self.trainer.control.stop_requested:
                self.status = "stopped"  # the stop came during the test pass
                self.model.stop_training = True

        def _finish_epoch(self, epoch, logs):
            weights = self.model.get_weights()
            loss = float(logs.get("loss", float("nan")))
            if not (math.isfinite(loss) and _all_finite(weights)):
                self._diverge(f"The weights stopped being finite numbers in epoch {epoch + 1}")
                return
            now = time.perf_counter()
            seconds = now - self._epoch_start
            train_seconds = (self._train_end or now) - self._epoch_start
            samples = len(self.trainer.data.x_train)
            self._samples_seen += samples
            self._train_seconds += train_seconds
            tested = self._test_complete and "val_loss" in logs
            record = EpochRecord(epoch + 1, loss, float(logs.get("accuracy", float("nan"))),
                                 float(logs["val_loss"]) if tested else float("nan"),
                                 float(logs.get("val_accuracy", float("nan"))) if tested else float("nan"),
                                 seconds, samples / max(train_seconds, 1e-9))
            self.history.append(record)
            self._epoch_weights = weights
            if self.trainer.listener is not None:
                self.trainer.listener.on_epoch(record)

        def on_train_end(self, logs=None):
            if self.status != "stopped":
                return
            if self.trainer.keep == "last_epoch":
                self.model.set_weights(self._epoch_weights)
            elif not _all_finite(self.model.get_weights()):
                self._diverge("The weights stopped being finite numbers")

        def result(self) -> TrainResult:
            rate = self._samples_seen / self._train_seconds if self._train_seconds else 0.0
            message = self.message
            if self.status == "stopped":
                message = f"Stopped after {len(self.history)} finished epoch(s)."
            return TrainResult(self.history, self.status, message, rate)

    return ReportingCallback


def _all_finite(arrays) -> bool:
    return all(np.isfinite(a).all() for a in arrays)
