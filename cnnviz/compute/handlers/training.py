"""Training as a task: the core Trainer on the current model (or a fresh seed model), streaming events.

Events of a "train" request:
- "preparing": a short text (loading MNIST, building the model) before the first batch;
- "model": ModelInfo (no weights) of a model built from scratch, as the run starts;
- "progress": BatchProgress, ~25 Hz (from the core Trainer);
- "epoch": {"record": EpochRecord, "weights": per-layer weights} after every finished epoch (the GUI
  keeps them: after a crash it restores the last finished epoch);
- "activations": {"image", "outputs"}: the latest probed input's layer outputs as the weights
  change (at most every LIVE_INTERVAL_S, computed on the quick thread with the serving copy).
- "checkpoint": {"index", "checkpoint", "confusion", "from_scratch"}: the weights kept at the start, a
  few batches into the first epoch and after every epoch (`history.TrainingCheckpoints`).
The reply: {"result": TrainResult, "info": ModelInfo of the model now current, "from_scratch",
"batches_done", "kept": False when a fresh run trained nothing and the previous model is back}.
"""

from __future__ import annotations

import dataclasses
import math
import time

from cnnviz.compute.handlers.history import TrainingCheckpoints
from cnnviz.compute.handlers.model import dataset as load_dataset
from cnnviz.compute.registry import handler
from cnnviz.compute.state import PUBLISH_INTERVAL_S, layer_weights
from cnnviz.core.training import (DEFAULT_STEPS_PER_EXECUTION, BatchProgress, EpochRecord, TrainConfig,
                                  TrainingControl)

# Batches per compiled call in the app: the headless `cnnviz train`'s. The curves and the weights do not wait
# for the end of a call: every step leaves its figures and, when asked, a copy of the weights for the quick
# thread (`core.step_recorder`), which reads them on its timer (`_LiveRun.tick`).
APP_STEPS_PER_EXECUTION = DEFAULT_STEPS_PER_EXECUTION
LIVE_INTERVAL_S = 0.4  # live maps while training: 2.5 Hz shows the maps changing; each costs the GUI a repaint
TICK_S = 1 / 50        # the quick thread's timer while a run trains: curves at ~25 Hz, weights every 0.15 s


@handler("train", kind="task")
def train(state, task, config: TrainConfig, from_scratch: bool = True, dataset=None, data_path=None,
          steps_per_execution: int | None = None, dataset_name: str = "mnist") -> dict:
    """Train (see the module docstring) on `dataset_name` ("mnist", "fashion-mnist"; from `data_path`
    when given); `dataset` (a core Dataset) overrides loading it. Going on with the current model
    needs a model that fits the dataset (ModelFileError says why not)."""
    from cnnviz.core.data import dataset_spec
    from cnnviz.core.model_files import dataset_for_model

    config = dataclasses.replace(config, steps_per_execution=steps_per_execution or APP_STEPS_PER_EXECUTION)
    if dataset is None:
        task.emit("preparing", f"Loading {dataset_spec(dataset_name).title}…")
    data = dataset if dataset is not None else load_dataset(state, dataset_name, data_path)
    task.check_cancelled()
    previous = state.hold()
    from_scratch = from_scratch or previous is None
    if not from_scratch:
        dataset_for_model(state.info(include_weights=False).description(), data.name)
    checkpoints = TrainingCheckpoints(state, task, data, config, from_scratch)   # the weights along the way
    if from_scratch:
        from cnnviz.core.model import build_seed_model

        task.emit("preparing", "Building the model…")
        if config.seed is not None:
            import keras

            keras.utils.set_random_seed(config.seed)
        model = build_seed_model(config.optimizer, config.learning_rate, config.dropout)
        task.emit("model", state.set_model(model, class_names=data.class_names))
    else:
        model = state.model
    run = _LiveRun(state, task, model)
    run.trainer = _trainer(model, data, config, task.control, run, checkpoints.callback())
    state.publish_weights(model, force=True)
    state.training = True
    state.add_idle_hook(run.tick, every_s=TICK_S)
    try:
        result = run.trainer.run()
    except BaseException:
        if from_scratch and previous is not None:
            state.restore(previous)
        raise
    finally:
        state.training = state.weights_frozen = False
        state.remove_idle_hook(run.tick)
    kept = run.batches_done > 0 or not from_scratch or previous is None
    if kept:
        state.class_names = list(data.class_names)   # it classifies the dataset it was trained on now
        info = state.model_trained(result.history if from_scratch else [*previous.history, *result.history])
    else:
        info = state.restore(previous)
    if kept:
        checkpoints.keep(state)   # the model now current has this run's checkpoints
    return {"result": result, "info": info, "from_scratch": from_scratch, "batches_done": run.batches_done,
            "kept": kept}


def _trainer(model, data, config: TrainConfig, control: TrainingControl, run: "_LiveRun", *callbacks):
    from cnnviz.core.training import Trainer

    return Trainer(model, data, config, listener=run, control=control, keep="current",
                   between_batches=run.between_batches,
                   extra_callbacks=(_test_pass_callback(run, control), *callbacks), live=True)


class _LiveRun:
    """The Trainer's listener: turns its reports into events and feeds the serving copy."""

    def __init__(self, state, task, model):
        self.state = state
        self.task = task
        self.model = model
        self.trainer = None
        self.batches_done = 0
        self._test_cut = False
        self._last_live = 0.0
        self._asked_at: float | None = None   # when the weights the recorder is copying were asked for

    # TrainingListener (the task thread between compiled calls, the quick thread during them)
    def on_progress(self, progress: BatchProgress) -> None:
        self.batches_done = progress.epoch * progress.num_batches + progress.batch
        self.task.emit("progress", progress)

    def on_epoch(self, record: EpochRecord) -> None:
        if self._test_cut:  # a stop cut this epoch's test short: its test figures are not MNIST's
            record.test_loss = record.test_accuracy = math.nan
            self._test_cut = False
        self.task.emit("epoch", {"record": record, "weights": layer_weights(self.model)})

    def on_test_cut(self) -> None:
        self._test_cut = True

    def between_batches(self) -> None:
        """Snapshot the weights for the serving copy (throttled inside)."""
        self.state.publish_weights(self.model)

    def weights_frozen(self, frozen: bool) -> None:
        """A test pass begins (the weights stop changing) or ends (training goes on from now)."""
        self.state.publish_weights(self.model, force=True)
        self.state.weights_frozen = frozen

    # idle hook (the quick thread, every TICK_S while the run trains)
    def tick(self) -> None:
        """The steps since the last tick to the curves, fresh weights to the serving copy, live maps."""
        self.trainer.poll()
        self._refresh_weights()
        self.serve_activations()

    def _refresh_weights(self) -> None:
        """Take the weights a training step copied (asked for at most every PUBLISH_INTERVAL_S) and offer
        them to the serving copy; they are no older than the moment they were asked for."""
        if self.state.weights_frozen:
            return   # a test pass: the task thread published the epoch's final weights
        copy = self.trainer.take_weights()
        if copy is not None:
            self.state.offer_weights(copy.weights, self._asked_at)
        now = time.monotonic()
        if self.trainer.recorder is not None and not self.trainer.recorder.pending() and (
                self._asked_at is None or now - self._asked_at >= PUBLISH_INTERVAL_S):
            self._asked_at = now
            self.trainer.request_weights()

    def serve_activations(self) -> None:
        """The latest probed input's outputs with the newest weights, at most every LIVE_INTERVAL_S."""
        image = self.state.live_input
        now = time.monotonic()
        if image is None or not self.state.has_pending_weights() or now - self._last_live < LIVE_INTERVAL_S:
            return
        self._last_live = now
        outputs = self.state.probe(image)
        self.task.emit("activations", {"image": image, "outputs": outputs})


def _test_pass_callback(run: "_LiveRun", control: TrainingControl):
    """A Keras callback for each epoch's test pass: the serving copy gets the epoch's final weights
    as it begins (they do not change while testing), and a stop ends it early.

    Keras tests on all 10,000 digits even after a stop lands mid-epoch (0.7-1.9 s here);
    a stop, and closing the window, should not wait for that.
    """
    import keras

    class TestPass(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            run.weights_frozen(True)

        def on_test_batch_end(self, batch, logs=None):
            if control.stop_requested:
                self.model.stop_evaluating = True
                run.on_test_cut()

        def on_test_end(self, logs=None):
            run.weights_frozen(False)

    return TestPass()
