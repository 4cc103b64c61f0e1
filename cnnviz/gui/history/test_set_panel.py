"""The test-set panel: the model's confusion matrix on its 10,000 test images, and the images behind a cell.

The compute process runs the test set through the model in one batched pass (the "confusion" task,
with progress; a checkpoint's through "checkpoint_confusion") and sends back every image's class
probabilities; the matrix, the accuracies and each cell's gallery are numpy on those here. What the
panel shows follows the epoch scrubber: the current weights, or the chosen checkpoint's; while
training, the matrix after each epoch comes with that epoch's checkpoint. Passes run only while the
panel is visible, one at a time; checkpoints' are fetched in the background once the user scrubs.
"""

from __future__ import annotations

import functools

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.data import DATASETS
from cnnviz.gui.history.confusion_view import ConfusionView
from cnnviz.gui.history.digit_gallery import DigitGallery
from cnnviz.gui.widgets.front_tab import FrontTab

CURRENT = None   # the target "the model's current weights" (else a checkpoint index)


def dataset_words(name: str) -> tuple[str, str]:
    """("MNIST", "digit"), ("Fashion-MNIST", "image"): how to speak of a dataset's test images."""
    spec = DATASETS.get(name)
    return (spec.title, spec.item) if spec is not None else (name, "image")


class TestSetPanel(QWidget):
    """See the module docstring. `digit_opened(index, dataset)` when the user opens a test image."""

    __test__ = False   # not a pytest class, despite its name

    digit_opened = Signal(int, str)
    shown = Signal(object)          # the ConfusionReply now shown (tests, the scrubber's label)
    status_message = Signal(str)

    def __init__(self, client=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.generation: int | None = None    # the current model's
        self.training = False
        self._target: int | None = CURRENT
        self._target_label = ""
        self._current = None                  # ConfusionReply of the current weights
        self._checkpoints: dict[int, object] = {}
        self._training_reply = None           # the latest epoch's, while training
        self._shown = None
        self._request: tuple[int, int | None] | None = None   # (request id, target) in flight
        self._prefetch: list[int] = []
        self._images: dict[int, np.ndarray] = {}
        self._images_dataset = ""
        self._cell: tuple[int, int] | None = None
        self.front = FrontTab(self)   # behind another tab: no test set run (add_panel follows the dock)
        self.front.changed.connect(lambda _seen: self._update())
        self._build()

    def _build(self) -> None:
        self.summary = QLabel("No model yet.")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.source = QLabel(" ")
        self.source.setStyleSheet("color: gray;")
        self.source.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(90)
        self.progress.setMaximumHeight(12)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        self.progress.setToolTip("Running the test set through the model")
        self.matrix = ConfusionView()
        self.matrix.cell_chosen.connect(self._on_cell_chosen)
        self.matrix.enter_pressed.connect(self._on_matrix_enter)
        self.gallery = DigitGallery()
        self.gallery.digit_opened.connect(self._on_digit_opened)
        self.caption = QLabel("rows: true class · columns: prediction · click a cell")
        self.caption.setStyleSheet("color: gray; font-size: 8pt;")
        self.legend = QLabel()   # the class names behind the numbers (Fashion-MNIST)
        self.legend.setStyleSheet("color: gray; font-size: 8pt;")
        self.legend.setVisible(False)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.source, 1)
        top.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.summary)
        layout.addLayout(top)
        row = QHBoxLayout()   # the matrix at its own size, on the left
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.matrix)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.caption)
        layout.addWidget(self.legend)
        layout.addWidget(self.gallery, 1)

    # --- what to show ----------------------------------------------------------------------------
    def set_client(self, client) -> None:
        self.client = client
        self._request = None

    def show_model(self, generation: int | None) -> None:
        """A model (generation) became current: its confusion, computed when the panel is visible."""
        self._cancel_request()
        self.generation = generation
        self._current = None
        self._checkpoints = {}
        self._prefetch = []
        self._training_reply = None
        self._target = CURRENT
        self._target_label = ""
        self._update()

    def show_checkpoint(self, index: int | None, label: str = "") -> None:
        """Show checkpoint `index`'s matrix (None: the current weights'), `label` naming it."""
        self._target = index
        self._target_label = label
        self._update()

    def prefetch(self, count: int) -> None:
        """Compute the matrices of checkpoints 0 … count-1 in the background (the scrubber is in use)."""
        self._prefetch = [i for i in range(count) if i not in self._checkpoints]
        self._update()

    def set_training(self, training: bool) -> None:
        """While training the compute process is busy: matrices come with each epoch's checkpoint."""
        self.training = training
        if training:
            self._cancel_request()
            self._prefetch = []
            self._training_reply = None
            self.source.setText("Training: the matrix follows after each epoch.")
        self._update()

    def show_training_confusion(self, reply, label: str) -> None:
        """The matrix after an epoch of the running training (pushed with its checkpoint)."""
        self._training_reply = reply
        self._target_label = label
        self._update()

    def reply(self):
        """The ConfusionReply shown (None while there is none)."""
        return self._shown

    def is_computing(self) -> bool:
        return self._request is not None

    def cached_checkpoint(self, index: int):
        return self._checkpoints.get(index)

    # --- deciding, asking, showing ------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._update()

    def _wanted(self):
        if self.training:
            return self._training_reply
        return self._current if self._target is CURRENT else self._checkpoints.get(self._target)

    def _update(self) -> None:
        """Show what is wanted if known; otherwise ask for it (or for the next prefetch) when idle."""
        wanted = self._wanted()
        if wanted is not None and wanted is not self._shown:
            self._show(wanted)
        stale = wanted is None and self._shown is not None
        self.matrix.set_stale(stale)
        if stale or wanted is not None:
            self._say_source(computing=stale)
        if self.training or self.generation is None or self.client is None or self._request is not None:
            return
        if wanted is None and self.front.seen():
            self._ask(self._target)
        elif self._prefetch and self.front.seen():
            while self._prefetch and self._prefetch[0] in self._checkpoints:
                self._prefetch.pop(0)
            if self._prefetch:
                self._ask(self._prefetch.pop(0))

    def _ask(self, target: int | None) -> None:
        method, args = ("confusion", {}) if target is CURRENT else ("checkpoint_confusion", {"index": target})
        request = self.client.request(method, args, on_reply=self._on_reply, on_error=self._on_failed,
                                      on_event=self._on_event)
        self._request = (request, target)
        self.progress.setToolTip("Running the test set through the model" if target == self._target else
                                 "Running the test set through the other checkpoints, ahead of the slider")
        self.progress.setValue(0)
        self.progress.setVisible(True)
        if self._shown is None:
            self.summary.setText("Running the test set through the model…")

    def _cancel_request(self) -> None:
        if self._request is not None and self.client is not None:
            self.client.cancel(self._request[0])
            self.client.forget(self._request[0])
        self._request = None
        self.progress.setVisible(False)

    def _on_event(self, kind: str, payload) -> None:
        if kind == "progress":
            done, total = payload
            self.progress.setMaximum(max(int(total), 1))
            self.progress.setValue(int(done))

    def _on_reply(self, reply) -> None:
        target = self._request[1] if self._request is not None else None
        self._request = None
        self.progress.setVisible(False)
        if target is CURRENT:   # (a reply for an earlier model was forgotten: it never comes here)
            self._current = reply
        else:
            self._checkpoints[target] = reply
        self._update()

    def _on_failed(self, error: ComputeError) -> None:
        self._request = None
        self.progress.setVisible(False)
        self._prefetch = []
        if error.crashed or error.cancelled:
            return   # the model comes back (show_model), or another target was chosen
        self._shown = None
        self.matrix.set_stale(True)
        hint = " Run `cnnviz data --fetch` once, then reopen the model." if error.error_type == "DataError" else ""
        self.summary.setText(f"No confusion matrix: {error.message}{hint}")
        self.source.setText(" ")

    def _show(self, reply) -> None:
        """Matrix, accuracy line and the chosen cell's gallery for `reply`."""
        result = reply.result
        title, item = dataset_words(reply.dataset)
        self._shown = reply
        self.matrix.set_matrix(result.matrix, reply.class_names, item)
        right = int(np.trace(result.matrix))
        self.summary.setText(f"<b>Test accuracy {result.accuracy:.2%}</b> · {result.mistakes:,} of "
                             f"{result.num_images:,} wrong")
        self.summary.setToolTip(f"{right:,} of the {result.num_images:,} {title} test {item}s right")
        self.caption.setText(f"{title} test set · rows: true {item} · columns: prediction")
        self.legend.setText(_legend(reply.class_names))
        self.legend.setVisible(bool(self.legend.text()))
        if self._cell is None:
            self._cell = _largest_mistake(result.matrix)
            self.matrix.choose_cell(*self._cell, announce=False)
        self._show_cell()
        self.shown.emit(reply)

    def _say_source(self, computing: bool) -> None:
        if self.training:
            text = self._target_label or "Training: the matrix follows after each epoch."
        elif self._target is CURRENT:
            text = "The current weights"
        else:
            text = f"Checkpoint {self._target_label}" if self._target_label else "A checkpoint"
        self.source.setText(text + (" (computing…)" if computing else ""))
        self.source.setToolTip(text)

    # --- the gallery -------------------------------------------------------------------------------
    def _on_cell_chosen(self, true_class: int, predicted: int) -> None:
        self._cell = (true_class, predicted)
        self._show_cell()

    def choose_cell(self, true_class: int, predicted: int) -> None:
        """Show cell (true, predicted)'s images, as clicking it would."""
        self.matrix.choose_cell(true_class, predicted)
        self._on_cell_chosen(true_class, predicted)

    def _show_cell(self) -> None:
        reply = self._shown
        if reply is None or self._cell is None:
            return
        true_class, predicted = self._cell
        diagonal = true_class == predicted
        digits = reply.result.cell(true_class, predicted, least_confident_first=diagonal)
        names = reply.class_names
        _, item = dataset_words(reply.dataset)
        count = len(digits.indices)
        if diagonal:
            title = f"<b>{count:,}</b> {names[true_class]}s recognised · the least sure first"
        elif count:
            title = (f"<b>{count:,}</b> {names[true_class]}{'s' if count > 1 else ''} taken for "
                     f"<b>{names[predicted]}</b> · the most confident mistake first")
        else:
            title = f"No {names[true_class]} was taken for {names[predicted]}."
        self.gallery.show_digits(digits.indices, digits.confidences, digits.true_probabilities,
                                 names[true_class], names[predicted], title)
        self._fetch_images(reply.dataset, digits.indices)

    def _fetch_images(self, dataset: str, indices: np.ndarray) -> None:
        """Ask the compute process for the thumbnails the gallery lacks."""
        if dataset != self._images_dataset:
            self._images, self._images_dataset = {}, dataset
        missing = [int(i) for i in indices if int(i) not in self._images]
        self.gallery.set_images(self._images)
        if not missing or self.client is None:
            return
        self.client.request("test_images", {"dataset": dataset, "indices": missing}, key=f"test_images:{id(self)}",
                            on_reply=functools.partial(self._on_images, dataset, missing))

    def _on_images(self, dataset: str, indices: list[int], images: np.ndarray) -> None:
        if dataset != self._images_dataset:
            return
        self._images.update(zip(indices, images))
        self.gallery.set_images(self._images)

    def test_image(self, index: int) -> np.ndarray | None:
        """The uint8 test image `index` of the shown dataset, if fetched."""
        return self._images.get(index)

    def _on_matrix_enter(self) -> None:
        self.gallery.focus_first()

    def _on_digit_opened(self, index: int) -> None:
        reply = self._shown
        if reply is None:
            return
        self.digit_opened.emit(index, reply.dataset)
        result = reply.result
        label, predicted = int(result.labels[index]), int(result.predictions[index])
        names = reply.class_names
        self.status_message.emit(f"Test image #{index}: labelled {names[label]}, predicted {names[predicted]} "
                                 f"({result.probabilities[index, predicted]:.1%}).")


def _legend(class_names: list[str]) -> str:
    """"0 T-shirt/top · 1 Trouser · …" (five a line) when the matrix shows numbers for long names; else ""."""
    if all(len(name) <= 2 for name in class_names):
        return ""
    named = [f"{number} {name}" for number, name in enumerate(class_names)]
    return "\n".join(" · ".join(named[start:start + 5]) for start in range(0, len(named), 5))


def _largest_mistake(matrix: np.ndarray) -> tuple[int, int]:
    """The off-diagonal cell with the most images (the first such), or (0, 0) without mistakes."""
    mistakes = np.asarray(matrix) - np.diag(np.diag(matrix))
    if mistakes.max(initial=0) == 0:
        return 0, 0
    true_class, predicted = np.unravel_index(int(np.argmax(mistakes)), mistakes.shape)
    return int(true_class), int(predicted)
