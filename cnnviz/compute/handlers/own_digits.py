"""Your own digits (issue 21): how the current model reads a digit folder, and "Teach it my handwriting".

- "own_digits_evaluate" (task): every picture of a digit folder (`DIR/0/*.png … DIR/9/*.png`, read as
  `cnnviz predict` reads pictures) through the current model: accuracy, confusion matrix, and each
  picture's prediction (the gallery marks the ones it gets wrong). Events: "reading" (fraction read).
- "teach_handwriting" (task): `core.fine_tune.fine_tune` of a copy of the current model on the folder
  mixed with MNIST; events "reading" (fraction of the folder read), "preparing" (text), "progress"
  (BatchProgress), "epoch" (EpochRecord); pause
  and cancel as training (a cancel leaves the current model as it was). The reply carries before/after
  (accuracy on the user's digits and on the MNIST test set) and the digits whose prediction changed;
  with `keep` (default) the taught model becomes current (not saved: the app's Save keeps it).

A folder with any bad file is refused (`DigitFolderError`, one line; see `core.own_digits`).
"""

from __future__ import annotations

import dataclasses
import time

from cnnviz.compute.handlers.lab import TaskReporter
from cnnviz.compute.handlers.model import mnist
from cnnviz.compute.registry import Cancelled, handler
from cnnviz.core.training import TrainConfig

PROGRESS_HZ = 10


@handler("own_digits_evaluate", kind="task")
def own_digits_evaluate(state, task, folder) -> dict:
    """{"accuracy", "confusion" (10×10, rows: the label), "count", "paths", "labels", "predictions",
    "probabilities" (N, 10), "generation"} of the current model on the digit folder."""
    from cnnviz.core.confusion import compute_confusion

    model = state.require_model()
    generation = state.generation
    own = _read(state, task, folder)
    result = compute_confusion(model, own.images, own.labels)
    return {"accuracy": result.accuracy, "confusion": result.matrix, "count": own.count,
            "paths": [str(p) for p in own.paths], "labels": own.labels, "predictions": result.predictions,
            "probabilities": result.probabilities, "generation": generation}


@handler("teach_handwriting", kind="task")
def teach_handwriting(state, task, folder, config: TrainConfig | None = None, keep: bool = True,
                      dataset=None) -> dict:
    """Fine-tune the current model on the digit folder (module docstring): {"result": FineTuneResult,
    "info": ModelInfo of the taught model now current (None without `keep`)}; Cancelled on cancel.
    `dataset` (a core Dataset) stands in for MNIST (tests)."""
    from cnnviz.core.fine_tune import check_fine_tunable, fine_tune, trainable_copy

    config = config or TrainConfig(epochs=5)
    current = state.require_model()
    check_fine_tunable(state.info(include_weights=False).description())
    own = _read(state, task, folder)
    if dataset is None:
        task.emit("preparing", "Loading MNIST…")
    data = dataset if dataset is not None else mnist(state)
    task.check_cancelled()
    task.emit("preparing", f"Teaching it your {own.count:,} digits…")
    model = trainable_copy(current)
    result = fine_tune(model, own, data, dataclasses.replace(config, steps_per_execution=4),
                       listener=TaskReporter(task), control=task.control)
    if task.cancelled or not result.training.history:
        raise Cancelled("teaching was cancelled: the model is as it was")
    info = None
    if keep:
        history = [*state.history, *result.training.history]
        info = state.set_model(model, None, history, state.class_names)
    return {"result": result, "info": info}


def _read(state, task, folder):
    """The digit folder as the current model's inputs, with "progress" events while reading."""
    from cnnviz.core.own_digits import read_digit_folder

    info = state.info(include_weights=False).description()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        task.check_cancelled()
        now = time.monotonic()
        if done >= total or now - last[0] >= 1.0 / PROGRESS_HZ:
            last[0] = now
            task.emit("reading", done / max(total, 1))

    return read_digit_folder(folder, info, progress)
