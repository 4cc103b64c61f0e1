"""Kernel surgery in the app: edits are a layer over the serving copy's weights.

Quick handlers (each answers with the edits in force, the edited filters' weights and, given an
`image`, every layer's output and the class probabilities with the edits, so one round trip repaints
everything):
- "edit_kernel": add one edit (a core `KernelEdit`, or its text 'conv2d_1:5=blur'); `stroke` (any
  number the GUI picks per brush stroke): a paint edit of the same stroke as the last edit replaces it,
  so one stroke is one edit to undo, however many cells it crosses;
- "undo_kernel_edit", "reset_kernel_filter" (`layer`, `channel`), "reset_kernel_edits": take back;
- "kernel_edits": what is in force now.
Tasks (on a copy holding the served weights, so the quick thread keeps answering strokes):
- "edited_accuracy": the test accuracy with and without the edits (events "progress": (done, total));
- "save_edited_copy": the edited weights as a new `.keras` file (the current model is not changed, and
  its own file is refused);
- "firing_digits": which test digits one filter (or unit) fires on, with the edits, ranked by its mean
  activation (core `firing_digits`; events "progress": (done, total)).

The edits live in a core `KernelEditor` over the serving model (`state.features`). The state's
`weights_overlay` hook re-applies them whenever newer weights reach the serving copy (a training
snapshot, a scrubbed checkpoint), so the layer lasts; when another model becomes current the edits
are dropped (a model held aside, e.g. while a run from scratch trains, gets its own weights back
first). `state.model` (what trains and saves) never holds an edit.
"""

from __future__ import annotations

import functools

import numpy as np

from cnnviz.compute.registry import handler

EDITOR_KEY = "kernel_edit.editor"
STROKE_KEY = "kernel_edit.stroke"     # (stroke, the edit it made): the last paint edit's brush stroke


def _overlay(state, serving) -> None:
    """Keep the edits on the serving copy (see the module docstring); runs inside `state.serving()`."""
    editor = state.features.get(EDITOR_KEY)
    if editor is None:
        return
    if editor.model is not serving.model:
        if editor.is_intact():
            editor.reset_all()            # a model held aside gets its own weights back
        state.features.pop(EDITOR_KEY, None)
        state.weights_overlay = None
    elif not editor.is_intact():
        editor.rebase()


def _editor(state, serving):
    """The KernelEditor of the serving model (a new, empty one for a new model)."""
    from cnnviz.core.kernel_edit import KernelEditor

    editor = state.features.get(EDITOR_KEY)
    if editor is None or editor.model is not serving.model:
        editor = state.features[EDITOR_KEY] = KernelEditor(serving.model)
        state.weights_overlay = functools.partial(_overlay, state)
    return editor


def _reply(state, serving, editor, image=None, **extra) -> dict:
    """The edits in force, the edited filters' weights and, for `image`, the outputs and probabilities."""
    outputs = probabilities = None
    if image is not None:
        image = np.asarray(image, np.float32)
        variant = state.probe_variant       # switched-off filters stay off
        outputs = serving.probe(image) if variant is None else variant(serving, image)
        probabilities = serving.probe.probabilities_from(outputs)
        state.live_input = image
    return {"edits": list(editor.edits), "labels": [e.label for e in editor.edits],
            "filters": editor.filter_weights(), "outputs": outputs, "probabilities": probabilities,
            "generation": state.generation, **extra}


@handler("edit_kernel")
def edit_kernel(state, edit, image=None, stroke: int | None = None) -> dict:
    """Add `edit` (a core KernelEdit or its 'LAYER:C=PRESET' text); KernelEditError if it does not fit.
    A paint edit with the `stroke` of the last edit, painting the same slice, replaces it."""
    from cnnviz.core.kernel_edit import PAINT, parse_edit

    edit = parse_edit(edit) if isinstance(edit, str) else edit
    with state.serving() as serving:
        editor = _editor(state, serving)
        last = editor.edits[-1] if editor.edits else None
        same_stroke = (stroke is not None and last is not None and edit.preset == PAINT
                       and state.features.get(STROKE_KEY) == (stroke, last) and last.label == edit.label)
        if same_stroke:
            editor.replace_last(edit)
        else:
            editor.push(edit)
        state.features[STROKE_KEY] = (stroke, edit) if stroke is not None else None
        return _reply(state, serving, editor, image, replaced=same_stroke)


@handler("undo_kernel_edit")
def undo_kernel_edit(state, image=None) -> dict:
    """Take the last edit back (`undone`: it, or None when there was none)."""
    with state.serving() as serving:
        editor = _editor(state, serving)
        undone = editor.undo()
        return _reply(state, serving, editor, image, undone=undone)


@handler("reset_kernel_filter")
def reset_kernel_filter(state, layer: str, channel: int, image=None) -> dict:
    """Take back every edit of filter `channel` of `layer` (`removed`: how many)."""
    with state.serving() as serving:
        editor = _editor(state, serving)
        removed = editor.reset(str(layer), int(channel))
        return _reply(state, serving, editor, image, removed=removed)


@handler("reset_kernel_edits")
def reset_kernel_edits(state, image=None) -> dict:
    """Take back every edit."""
    with state.serving() as serving:
        editor = _editor(state, serving)
        editor.reset_all()
        return _reply(state, serving, editor, image)


@handler("kernel_edits")
def kernel_edits(state, image=None) -> dict:
    """The edits in force now (none after another model became current)."""
    with state.serving() as serving:
        return _reply(state, serving, _editor(state, serving), image)


def _snapshot(state):
    """(a copy holding the served weights, the edits' labels, the edited layers' unedited weights), all
    read at one moment (the quick thread may change the edits meanwhile)."""
    with state.serving() as serving:
        editor = _editor(state, serving)
        return state.served_copy(), [e.label for e in editor.edits], editor.base_weights()


@handler("edited_accuracy", kind="task")
def edited_accuracy(state, task) -> dict:
    """The test accuracy of the served weights with the edits and without them: {"accuracy",
    "unedited_accuracy", "confusion" (core ConfusionResult with the edits), "labels", "dataset",
    "generation"}; events "progress" (images done, images in all, over both passes)."""
    from cnnviz.compute.handlers.history import dataset_name, model_images, test_set
    from cnnviz.core.confusion import compute_confusion
    from cnnviz.core.kernel_edit import assign_layer_arrays

    generation = state.generation
    model, labels, unedited = _snapshot(state)
    name = dataset_name(state)
    data = test_set(state, name)
    images, count = model_images(model, data.x_test), len(data.x_test)

    def progress(offset):
        def report(done, total):
            task.check_cancelled()
            task.emit("progress", (offset + done, 2 * count))
        return report

    edited = compute_confusion(model, images, data.y_test, progress=progress(0))
    assign_layer_arrays(model, unedited)
    plain = compute_confusion(model, images, data.y_test, progress=progress(count)) if unedited else edited
    return {"accuracy": edited.accuracy, "unedited_accuracy": plain.accuracy, "confusion": edited,
            "labels": labels, "dataset": name, "generation": generation}


@handler("save_edited_copy", kind="task")
def save_edited_copy(state, task, path) -> dict:
    """Save the served weights, edits included, as a new `.keras` file at `path` (atomic); the current
    model and its file stay as they are. -> {"path", "labels"}."""
    from pathlib import Path

    from cnnviz.core.model import save_model

    path = Path(path)
    path = path if path.suffix == ".keras" else path.with_suffix(".keras")
    if state.path is not None and _same_file(path, state.path):
        raise ValueError(f"{path.name} is the model's own file: an edited copy is saved under another name "
                         "(the model file never holds the edits)")
    model, labels, _ = _snapshot(state)
    save_model(model, path)
    return {"path": path, "labels": labels}


def _same_file(path, other) -> bool:
    """True when `path` and `other` name the same file (or would, once `path` exists)."""
    from pathlib import Path

    try:
        if Path(path).exists() and Path(other).exists():
            return Path(path).samefile(other)
        return Path(path).resolve() == Path(other).resolve()
    except OSError:
        return False


@handler("firing_digits", kind="task")
def firing_digits(state, task, layer: str, channel: int, count: int | None = None) -> dict:
    """The test digits filter `channel` of `layer` fires on most, with the edits in force, ranked by its
    mean activation: {"result": core FiringDigits, "digits": (k, H, W) uint8 as stored, "dataset",
    "labels" (the edits' labels), "generation"}; events "progress" (done, total)."""
    from cnnviz.compute.handlers.history import dataset_name, model_images, test_set
    from cnnviz.core import firing_digits as core

    generation = state.generation
    model, labels, _ = _snapshot(state)
    name = dataset_name(state)
    data = test_set(state, name)

    def progress(done: int, total: int) -> None:
        task.emit("progress", (done, total))

    images = model_images(model, data.x_test)   # uint8 as stored for a 0-1 model, else float 0-255
    try:
        means, peaks = core.channel_means(model, images, str(layer), int(channel),
                                          scale=1.0 / 255.0 if images.dtype == np.uint8 else 1.0,
                                          progress=progress, cancel=lambda: task.cancelled)
    except core.Cancelled as exc:
        from cnnviz.compute.registry import Cancelled

        raise Cancelled(str(exc)) from exc
    result = core.firing_digits(str(layer), int(channel), means, peaks, data.y_test, len(state.class_names),
                                count or core.TOP_COUNT)
    return {"result": result, "digits": np.asarray(data.x_test[result.indices]), "dataset": name,
            "labels": labels, "generation": generation}
