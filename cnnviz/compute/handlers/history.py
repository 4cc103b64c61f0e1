"""The test set and the training history: confusion matrices, checkpoints, and scrubbing through them.

Handlers:
- `confusion` (task): the current model on the 10,000 test images of its dataset (the one whose class
  names it has: MNIST or Fashion-MNIST), one batched pass; events "progress" (done, total). Cached per
  model generation.
- `checkpoints` (quick): the current model's checkpoints (records, no weights): a training run's kept in
  memory, or the folder beside the model file (`checkpoints_folder_for`), read on first use.
- `scrub` (quick): put checkpoint `index` (None: the current weights) into the serving copy and return
  the outputs for `image` and the weights per layer. Every later probe (strokes, explanations) uses
  those weights; the model that trains and saves (`state.model`) is never touched.
- `checkpoint_confusion` (task): the confusion of one checkpoint, cached per model (the scrubber's
  matrix; the GUI asks for them one at a time in the background).
- `prefetch_checkpoints` (task): read every checkpoint's weights from its file now, so the first move
  of the slider to each is as quick as the next.
- `test_images` (quick): uint8 test images by index (the gallery's thumbnails).
- `history_options` (quick): `confusion_while_training` (the confusion of each epoch comes with its
  checkpoint event; the GUI turns it off while nobody looks at the matrix).

Training (`handlers/training.py`) records checkpoints through `TrainingCheckpoints`: the weights at
the start, at a few log-spaced batches of the first epoch and after every epoch, into a `MemorySink`;
each arrives in the GUI as a "checkpoint" event of the train request.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.compute.registry import handler
from cnnviz.compute.state import layer_weights
from cnnviz.core.checkpoints import Checkpoint, CheckpointError, MemorySink

FEATURE_KEY = "history"
_LOAD_LOCK = threading.Lock()   # building Keras models and reading checkpoint files, from either thread


class NoTestSet(Exception):
    """The model classifies no dataset cnnviz knows, so it has no test set."""


class StoppedEarly(Exception):
    """A confusion pass inside training gave way to a stop."""


@dataclass
class ConfusionReply:
    """A confusion result with what it was computed on (crosses to the GUI)."""

    result: object                 # cnnviz.core.confusion.ConfusionResult
    dataset: str                   # "mnist", "fashion-mnist"
    class_names: list[str]
    generation: int
    checkpoint: int | None = None  # the checkpoint's index; None: the current weights

    @property
    def accuracy(self) -> float:
        return self.result.accuracy


@dataclass
class ModelHistory:
    """The checkpoints of one Keras model object and what was computed on them."""

    checkpoints: list[Checkpoint] = field(default_factory=list)
    source: str = "none"                 # "training", "folder" or "none"
    folder: Path | None = None
    from_scratch: bool = True            # False: the run went on from earlier weights
    last_is_current: bool | None = None  # the last checkpoint holds the model's weights (None: unknown)
    scrubbed: int | None = None          # the checkpoint in the serving copy (None: the current weights)
    confusions: dict = field(default_factory=dict)   # checkpoint index -> ConfusionReply
    eval_model: object = None            # a copy for test passes over checkpoints (task thread)
    loader: object = None                # a copy to read checkpoint files into
    lock: threading.RLock = field(default_factory=threading.RLock)

    def records(self) -> list[Checkpoint]:
        """The checkpoints without their weights, test accuracy filled in where a pass measured it."""
        with self.lock:
            records = []
            for index, checkpoint in enumerate(self.checkpoints):
                record = dataclasses.replace(checkpoint, weights=None)
                if record.test_accuracy is None and index in self.confusions:
                    record.test_accuracy = self.confusions[index].accuracy
                records.append(record)
            return records


class HistoryState:
    """What this module keeps in `state.features["history"]`."""

    def __init__(self):
        self.models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # Keras model -> ModelHistory
        self.current: ConfusionReply | None = None      # the current model's, for its generation
        self.confusion_while_training = True
        self.lock = threading.Lock()


def history_state(state) -> HistoryState:
    return state.features.setdefault(FEATURE_KEY, HistoryState())


def model_history(state, model=None) -> ModelHistory:
    """The history of `model` (default: the current one); a model file's checkpoint folder is read on
    first use."""
    model = model if model is not None else state.require_model()
    keeper = history_state(state)
    with keeper.lock:
        history = keeper.models.get(model)
        if history is None:
            history = _folder_history(state.path)
            keeper.models[model] = history
    return history


def _folder_history(path: Path | None) -> ModelHistory:
    """The checkpoints kept beside a model file, or an empty history (a corrupt folder is ignored)."""
    from cnnviz.core.checkpoints import checkpoints_folder_for, read_checkpoints

    if path is None:
        return ModelHistory()
    folder = checkpoints_folder_for(path)
    if not folder.is_dir():
        return ModelHistory()
    try:
        checkpoints = read_checkpoints(folder)
    except CheckpointError:
        return ModelHistory()
    return ModelHistory(checkpoints, "folder" if checkpoints else "none", folder)


# --- the test set ----------------------------------------------------------------------------------
def dataset_name(state) -> str:
    """The known dataset whose input and class names the current model has."""
    from cnnviz.core.data import DATASETS

    model = state.require_model()
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    for spec in DATASETS.values():
        if shape == (*spec.image_shape, 1) and tuple(state.class_names) == spec.class_names:
            return spec.name
    raise NoTestSet(f"The test-set views know MNIST and Fashion-MNIST (28×28 grey, 10 classes); this model "
                    f"takes {'×'.join(map(str, shape))} inputs and has {len(state.class_names)} classes.")


def test_set(state, name: str):
    """The dataset `name` from the local sources, loaded once per process (the model handlers' copy:
    the same `state.features` key)."""
    from cnnviz.core.data import load_dataset

    key = (name, "")
    if key not in state.features:
        state.features[key] = load_dataset(name, allow_download=False)
    return state.features[key]


def model_images(model, images: np.ndarray) -> np.ndarray:
    """uint8 test images as `model` takes them: 0…1, or 0…255 for a model that rescales its input."""
    from cnnviz.core.model_files import input_scale

    scale = input_scale(model)
    return images if scale == 1.0 else images.astype(np.float32) * np.float32(scale / 255.0)


def _progress_for(task):
    """A `compute_confusion` progress callback: events for the GUI, a cancel lands between batches, and the
    quick requests waiting (a scrub's maps) go first. (The batches stay the command line's: the same batches
    give the same float results, so the app's matrix and galleries are `cnnviz confusion`'s.)"""
    def progress(done: int, total: int) -> None:
        task.emit("progress", (done, total))
        task.check_cancelled()
        task.yield_to_quick()

    return progress


@handler("confusion", kind="task")
def confusion(state, task) -> ConfusionReply:
    """The current model's confusion on its dataset's test set (cached per model generation)."""
    from cnnviz.core.confusion import compute_confusion

    keeper = history_state(state)
    generation = state.generation
    cached = keeper.current
    if cached is not None and cached.generation == generation:
        return cached
    name = dataset_name(state)
    data = test_set(state, name)
    task.emit("progress", (0, len(data.x_test)))
    model = state.require_model()
    task.yield_to_quick()
    result = compute_confusion(model, model_images(model, data.x_test), data.y_test, progress=_progress_for(task))
    reply = ConfusionReply(result, name, list(state.class_names), generation)
    keeper.current = reply
    history = model_history(state)
    if history.last_is_current and history.checkpoints:
        with history.lock:
            history.confusions.setdefault(len(history.checkpoints) - 1, dataclasses.replace(
                reply, checkpoint=len(history.checkpoints) - 1))
    return reply


@handler("checkpoint_confusion", kind="task")
def checkpoint_confusion(state, task, index: int) -> ConfusionReply:
    """Checkpoint `index`'s confusion on the test set (a copy of the model with its weights; cached)."""
    from cnnviz.core.confusion import compute_confusion

    history = model_history(state)
    checkpoint = _checkpoint(history, index)
    with history.lock:
        cached = history.confusions.get(index)
    if cached is not None:
        return dataclasses.replace(cached, generation=state.generation)
    keeper = history_state(state)
    if history.last_is_current and index == len(history.checkpoints) - 1 and keeper.current is not None \
            and keeper.current.generation == state.generation:
        reply = dataclasses.replace(keeper.current, checkpoint=index)
    else:
        name = dataset_name(state)
        data = test_set(state, name)
        weights = checkpoint_weights(state, history, checkpoint)
        if history.eval_model is None:
            history.eval_model = _model_copy(state.require_model())
        history.eval_model.set_weights(weights)
        task.emit("progress", (0, len(data.x_test)))
        task.yield_to_quick()
        result = compute_confusion(history.eval_model, model_images(history.eval_model, data.x_test), data.y_test,
                                   progress=_progress_for(task))
        reply = ConfusionReply(result, name, list(state.class_names), state.generation, index)
    with history.lock:
        history.confusions[index] = reply
    return reply


# --- checkpoints and scrubbing ---------------------------------------------------------------------
def _checkpoint(history: ModelHistory, index: int) -> Checkpoint:
    with history.lock:
        if not 0 <= index < len(history.checkpoints):
            raise IndexError(f"there is no checkpoint {index} (this model has {len(history.checkpoints)})")
        return history.checkpoints[index]


def _model_copy(model):
    """An uncompiled model of the same architecture (its own variables)."""
    with _LOAD_LOCK:
        return type(model).from_config(model.get_config())


def checkpoint_weights(state, history: ModelHistory, checkpoint: Checkpoint) -> list[np.ndarray]:
    """The checkpoint's weights (flat, `model.get_weights()` order): kept in memory, else read from its
    file once (checked against the current model's shapes)."""
    if checkpoint.weights is not None:
        return checkpoint.weights
    with history.lock:
        if checkpoint.weights is not None:
            return checkpoint.weights
        if checkpoint.path is None:
            raise CheckpointError(f"{checkpoint.label} has neither weights nor a file.")
        if history.loader is None:
            history.loader = _model_copy(state.require_model())
        try:
            with _LOAD_LOCK:
                history.loader.load_weights(checkpoint.path)
        except (OSError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{checkpoint.path.name} does not fit this model: {exc}") from exc
        checkpoint.weights = [np.array(w) for w in history.loader.get_weights()]
        return checkpoint.weights


def _same_weights(first: list[np.ndarray], second: list[np.ndarray]) -> bool:
    return len(first) == len(second) and all(a.shape == b.shape and np.array_equal(a, b)
                                             for a, b in zip(first, second))


def _decide_last_is_current(state, history: ModelHistory) -> None:
    """Whether the last checkpoint holds the model's weights (a finished run, the shipped model), so
    the slider's end is both."""
    if history.last_is_current is not None or not history.checkpoints or state.training:
        return
    try:
        last = checkpoint_weights(state, history, history.checkpoints[-1])
    except CheckpointError:
        history.last_is_current = False
        return
    history.last_is_current = _same_weights(last, state.require_model().get_weights())


@handler("checkpoints")
def checkpoints(state) -> dict:
    """The current model's checkpoints: `checkpoints` (records without weights), `source` ("training",
    "folder", "none"), `folder`, `from_scratch`, `last_is_current`, `scrubbed`, `generation`."""
    history = model_history(state)
    _decide_last_is_current(state, history)
    return {"checkpoints": history.records(), "source": history.source, "folder": history.folder,
            "from_scratch": history.from_scratch, "last_is_current": bool(history.last_is_current),
            "scrubbed": history.scrubbed, "generation": state.generation}


@handler("prefetch_checkpoints", kind="task")
def prefetch_checkpoints(state, task) -> dict:
    """Read every checkpoint's weights from its file now (about 0.1 s each)."""
    history = model_history(state)
    for checkpoint in list(history.checkpoints):
        task.check_cancelled()
        checkpoint_weights(state, history, checkpoint)
    _decide_last_is_current(state, history)
    return {"count": len(history.checkpoints), "generation": state.generation}


@handler("scrub")
def scrub(state, index: int | None = None, image=None) -> dict:
    """Serve checkpoint `index`'s weights (None: the current model's again); the outputs for `image`
    (None without one) and the per-layer weights now served."""
    if state.training:
        raise RuntimeError("The checkpoints can be explored once training has finished.")
    history = model_history(state)
    weights = state.require_model().get_weights() if index is None else \
        checkpoint_weights(state, history, _checkpoint(history, index))
    with state.serving() as serving:   # the quick thread: no probe runs meanwhile
        serving.model.set_weights(weights)
        history.scrubbed = index
        served = layer_weights(serving.model)
    outputs = None if image is None else state.probe(image)   # switched-off filters stay off
    return {"index": index, "outputs": outputs, "weights": served, "generation": state.generation}


def leave_checkpoint(state, model) -> None:
    """Give the serving copy `model`'s own weights back if it serves a checkpoint (before training)."""
    history = model_history(state, model)
    if history.scrubbed is None:
        return
    with state.serving() as serving:
        serving.model.set_weights(model.get_weights())
    history.scrubbed = None


@handler("test_images")
def test_images(state, dataset: str, indices) -> np.ndarray:
    """uint8 (K, 28, 28) test images of `dataset` at `indices`."""
    data = test_set(state, dataset)
    return np.ascontiguousarray(data.x_test[np.asarray(indices, dtype=np.int64)])


@handler("history_options")
def history_options(state, confusion_while_training: bool | None = None) -> dict:
    """Set what training computes for the history views; returns the options now in force."""
    keeper = history_state(state)
    if confusion_while_training is not None:
        keeper.confusion_while_training = bool(confusion_while_training)
    return {"confusion_while_training": keeper.confusion_while_training}


# --- checkpoints while training --------------------------------------------------------------------
class TrainingCheckpoints:
    """The checkpoints of one training run in the app (used by the "train" handler).

        checkpoints = TrainingCheckpoints(state, task, data, config, from_scratch)
        Trainer(..., extra_callbacks=(..., checkpoints.callback()))
        ...                                    # after the run, once the current model is settled:
        checkpoints.keep(state)

    Each checkpoint is sent as a "checkpoint" event {"index", "checkpoint" (no weights),
    "confusion" (a ConfusionReply after each epoch, when asked for; else None), "from_scratch"}.
    """

    def __init__(self, state, task, data, config, from_scratch: bool):
        self.state = state
        self.task = task
        self.data = data.limited(config.limit)
        self.config = config
        self.from_scratch = from_scratch
        self.sink = _AppSink(self)
        self.confusions: dict[int, ConfusionReply] = {}
        self.dataset = getattr(data, "name", "mnist")
        self.class_names = [str(n) for n in getattr(data, "class_names", ())] or None
        if state.model is not None:
            leave_checkpoint(state, state.model)

    def callback(self):
        """The Keras callback recording into this run's sink."""
        from cnnviz.core.checkpoints import make_checkpoint_callback

        return make_checkpoint_callback([self.sink], self.config.batch_size, len(self.data.x_train))

    def on_added(self, checkpoint: Checkpoint, model) -> None:
        """A checkpoint was kept: the epoch's confusion if wanted, then the event."""
        index = len(self.sink.checkpoints) - 1
        reply = None
        if checkpoint.batch == 0 and checkpoint.epoch > 0 and history_state(self.state).confusion_while_training:
            reply = self._confusion(model, index)
        self.task.emit("checkpoint", {"index": index, "checkpoint": dataclasses.replace(checkpoint, weights=None),
                                      "confusion": reply, "from_scratch": self.from_scratch})

    def _confusion(self, model, index: int) -> ConfusionReply | None:
        """The model's confusion on the run's test set; None when a stop comes first."""
        from cnnviz.core.confusion import compute_confusion

        control = self.task.control

        def progress(done, total):
            if control.stop_requested:
                raise StoppedEarly()

        try:
            result = compute_confusion(model, model_images(model, self.data.x_test), self.data.y_test,
                                       progress=progress)
        except StoppedEarly:
            return None
        class_names = self.class_names or list(self.state.class_names)
        reply = ConfusionReply(result, self.dataset, class_names, self.state.generation, index)
        self.confusions[index] = reply
        return reply

    def keep(self, state) -> None:
        """The run is over and `state.model` is the model it leaves: it gets the run's checkpoints (a run
        that kept nothing beyond its start leaves the model's earlier ones alone)."""
        if state.model is None:
            return
        if len(self.sink.checkpoints) < 2 and not (self.from_scratch and self.sink.checkpoints):
            return
        history = ModelHistory(list(self.sink.checkpoints), "training", None, self.from_scratch)
        history.confusions = {i: dataclasses.replace(r, generation=state.generation)
                              for i, r in self.confusions.items()}
        keeper = history_state(state)
        with keeper.lock:
            keeper.models[state.model] = history


class _AppSink(MemorySink):
    """A MemorySink that also hands the model to the run (for the epoch's confusion pass)."""

    def __init__(self, run: TrainingCheckpoints):
        super().__init__()
        self.run = run

    def add(self, checkpoint: Checkpoint, weights: list[np.ndarray], model) -> None:
        super().add(checkpoint, [np.asarray(w) for w in weights], model)
        self.run.on_added(self.checkpoints[-1], model)
