"""The architecture lab (issue 13): train variants one at a time, keep them, and probe them side by side.

- "lab_train" (task): `core.comparison.train_variant` for one variant, with the usual events
  ("preparing" text, "progress" BatchProgress ~25 Hz, "epoch" EpochRecord), pause and stop (a stop
  keeps no model: the variant is only kept, saved and tabulated when it finished all its epochs).
  With `folder`, the finished variant is saved there as `NAME.keras` + `NAME_history.csv` and its
  row goes into `folder/comparison.csv`. Reply: {"name", "result": TrainResult, "row": ComparisonRow
  or None, "path": the saved model or None}.
- "lab_seed_run" (task): one more seed of a variant of the full run (issue 24), with the full run's
  settings (`RunSettings`: epochs, batch size, training digits), the same events as "lab_train"; a
  finished run's row goes into the user's runs file `runs` (never the shipped one) and its history
  into `folder` as `NAME_seedS_history.csv` (`core.seed_record`). Reply: {"name", "seed", "status",
  "message", "row": RunRow or None}.
- "lab_load" (task): load variants' `.keras` files into the lab's store (loading takes ~0.5-1 s
  each, too long for the quick thread that answers strokes). Reply: {"loaded": [names],
  "failed": {name: message}}.
- "lab_probe" (quick): one digit through stored variants → {"outputs": {name: [one array per
  layer]}, "missing": [names not in the store, or stored from another file]}.

The store (`state.features["lab"]`) holds each variant's own Keras model and ActivationProbe, keyed
by variant name, apart from the current model: the inspector's model and the lab's never mix. A
stored model is never trained again (a new run builds a new one and replaces it when it
finishes), so the quick thread can probe it while the task thread trains another.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.compute.handlers.model import mnist
from cnnviz.compute.handlers.training import APP_STEPS_PER_EXECUTION
from cnnviz.compute.registry import handler
from cnnviz.core.training import BatchProgress, EpochRecord, TrainConfig

STORE_KEY = "lab"


@dataclass
class StoredVariant:
    """A variant's model with its probe, and the file it came from (None: trained, not saved)."""

    model: object
    probe: object
    path: str | None
    stamp: float | None   # the file's modification time when it was loaded or saved


class VariantStore:
    """Variant name -> StoredVariant, shared by the task thread (puts) and the quick thread (probes)."""

    def __init__(self):
        self._variants: dict[str, StoredVariant] = {}
        self._lock = threading.Lock()

    def put(self, name: str, model, path: Path | None) -> None:
        from cnnviz.core.activations import ActivationProbe

        entry = StoredVariant(model, ActivationProbe(model), None if path is None else str(path), _stamp(path))
        with self._lock:
            self._variants[name] = entry

    def get(self, name: str, path=None) -> StoredVariant | None:
        """The stored variant, if it is the one in `path` as that file is now (any, when `path` is None)."""
        with self._lock:
            entry = self._variants.get(name)
        if entry is None or path is None:
            return entry
        return entry if entry.path == str(path) and entry.stamp == _stamp(path) else None

    def names(self) -> list[str]:
        with self._lock:
            return list(self._variants)


def store_of(state) -> VariantStore:
    return state.features.setdefault(STORE_KEY, VariantStore())


@handler("lab_train", kind="task")
def lab_train(state, task, name: str, config: TrainConfig, folder=None, dataset=None, data_path=None,
              steps_per_execution: int | None = None) -> dict:
    """Train variant `name` from scratch with `config` (see the module docstring)."""
    from cnnviz.core.architectures import recipe_for
    from cnnviz.core.comparison import save_variant, train_variant

    recipe_for(name)  # an unknown name fails before MNIST loads
    config = dataclasses.replace(config, steps_per_execution=steps_per_execution or APP_STEPS_PER_EXECUTION)
    if dataset is None:
        task.emit("preparing", "Loading MNIST…")
    data = dataset if dataset is not None else mnist(state, data_path)
    task.check_cancelled()
    task.emit("preparing", f"Building {name}…")
    run = train_variant(name, data, config, listener=TaskReporter(task), control=task.control)
    path = None
    if run.row is not None:
        if folder is not None:
            path = save_variant(run, folder)
        store_of(state).put(name, run.model, path)
    return {"name": name, "result": run.result, "row": run.row, "path": path}


@handler("lab_seed_run", kind="task")
def lab_seed_run(state, task, name: str, seed: int, settings, runs, folder=None, dataset=None, data_path=None,
                 steps_per_execution: int | None = None) -> dict:
    """Train variant `name` once more with `seed` and the full run's `settings` (see the module docstring)."""
    from cnnviz.core.architectures import recipe_for
    from cnnviz.core.data import DataError
    from cnnviz.core.seed_record import RunRecord
    from cnnviz.core.seed_runs import RunTask, plan_runs, train_run

    recipe_for(name)
    record = RunRecord.from_runs_file(runs, folder)   # RunsFileError: not a runs file
    reused, _ = plan_runs([name], [seed], settings, list(record.rows.values()), runs)  # other settings: refused
    if reused:
        return {"name": name, "seed": seed, "status": "finished", "message": "already in your runs", "row": reused[0]}
    if dataset is None:
        task.emit("preparing", "Loading MNIST…")
    data = dataset if dataset is not None else mnist(state, data_path)
    available = len(data.x_train)
    if settings.train_digits > available:
        raise DataError(f"the full run trained on {settings.train_digits:,} digits, but these data have "
                        f"{available:,} training digits")
    task.check_cancelled()
    task.emit("preparing", f"Building {name} (seed {seed})…")
    config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, seed=seed,
                         limit=None if settings.train_digits == available else settings.train_digits,
                         steps_per_execution=steps_per_execution or APP_STEPS_PER_EXECUTION)
    outcome = train_run(RunTask(name, config), data, listener=TaskReporter(task), control=task.control)
    return {"name": name, "seed": seed, "status": outcome.status, "message": outcome.message,
            "row": record.add(outcome)}


@handler("lab_load", kind="task")
def lab_load(state, task, variants: dict) -> dict:
    """Load {name: path} into the store (files already there and unchanged are not read again)."""
    from cnnviz.core.model import load_model

    store = store_of(state)
    loaded, failed = [], {}
    for name, path in variants.items():
        task.check_cancelled()
        if store.get(name, path) is None:
            try:
                store.put(name, load_model(path), Path(path))
            except Exception as exc:  # noqa: BLE001 one unreadable file must not hide the others
                failed[name] = str(exc) or type(exc).__name__
                continue
        loaded.append(name)
    return {"loaded": loaded, "failed": failed}


@handler("lab_probe")
def lab_probe(state, image, variants: dict) -> dict:
    """Every layer's output of `image` in each stored variant of {name: path or None}."""
    image = np.asarray(image, dtype=np.float32)
    store = store_of(state)
    outputs, missing = {}, []
    for name, path in variants.items():
        entry = store.get(name, path)
        if entry is None:
            missing.append(name)
        else:
            outputs[name] = entry.probe(image)
    return {"outputs": outputs, "missing": missing}


class TaskReporter:
    """The Trainer's listener: its reports become the task's events (also the "teach_handwriting" task's)."""

    def __init__(self, task):
        self.task = task

    def on_progress(self, progress: BatchProgress) -> None:
        self.task.emit("progress", progress)

    def on_epoch(self, record: EpochRecord) -> None:
        if self.task.cancelled:  # a stop may have cut this epoch's test pass short: not MNIST's figures
            record = dataclasses.replace(record, test_loss=math.nan, test_accuracy=math.nan)
        self.task.emit("epoch", record)


def _stamp(path) -> float | None:
    try:
        return os.stat(path).st_mtime if path is not None else None
    except OSError:
        return None
