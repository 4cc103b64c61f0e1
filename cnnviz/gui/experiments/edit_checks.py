"""Below the kernel painter: what the edits do, in the background. "Test accuracy with the edits"
("edited_accuracy": the test set with and without them), "Which digits does it fire on?"
("firing_digits": the painter's filter ranked over the test set by its mean activation) and "Save an
edited copy…" ("save_edited_copy": a new .keras file; the model's own file is refused). Each runs as a
compute task with a progress bar and Cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from cnnviz.gui.experiments.firing_view import FiringView
from cnnviz.gui.experiments.kernel_surgery import KernelSurgery
from cnnviz.gui.experiments.task_request import TaskRequest
from cnnviz.gui.experiments.text_lines import message_label, show_text
from cnnviz.gui.widgets.task_progress import TaskProgress

NOT_WHILE_TRAINING = "once training has finished (the weights are still changing)"


class EditChecks(QWidget):
    """Accuracy, firing digits and saving, for the edits of a `KernelSurgery`."""

    def __init__(self, surgery: KernelSurgery, client, parent: QWidget | None = None):
        super().__init__(parent)
        self.surgery = surgery
        self.is_training: Callable[[], bool] = lambda: False
        self.ask_save_path: Callable[[str], str] = lambda _name: ""
        self.accuracy_task = TaskRequest(client, "edited_accuracy", self)
        self.firing_task = TaskRequest(client, "firing_digits", self)
        self.save_task = TaskRequest(client, "save_edited_copy", self)
        self._tested_labels: list[str] | None = None   # the edits the accuracy shown was tested with
        self.accuracy_button = QPushButton("Test accuracy with the edits")
        self.accuracy_button.setToolTip("Run the test set through the edited network, and without the edits, in "
                                        "the background")
        self.accuracy_progress = TaskProgress(compact=True)
        self.accuracy_label = message_label()
        self.firing_button = QPushButton("Which digits does it fire on?")
        self.firing_button.setToolTip("Rank the test digits by this filter's mean activation, with the edits")
        self.firing_progress = TaskProgress(compact=True)
        self.firing_view = FiringView()
        self.save_button = QPushButton("Save an edited copy…")
        self.save_button.setToolTip("Save the model with the edits as a new .keras file (the model's own file "
                                    "is never changed)")
        self.message = message_label()
        row = QHBoxLayout()
        row.addWidget(self.accuracy_button)
        row.addWidget(self.firing_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.accuracy_progress)
        layout.addWidget(self.accuracy_label)
        layout.addWidget(self.firing_progress)
        layout.addWidget(self.firing_view)
        layout.addWidget(self.save_button)
        layout.addWidget(self.message)
        for progress in (self.accuracy_progress, self.firing_progress):
            progress.setVisible(False)
        self._connect()

    def _connect(self) -> None:
        self.accuracy_button.clicked.connect(self.test_accuracy)
        self.firing_button.clicked.connect(self.find_firing_digits)
        self.save_button.clicked.connect(self.save_copy)
        for task, progress, text in ((self.accuracy_task, self.accuracy_progress, "Testing with the edits…"),
                                     (self.firing_task, self.firing_progress, "Ranking the test digits…")):
            task.progress.connect(lambda fraction, p=progress, t=text: self._on_progress(p, t, fraction))
            task.ended.connect(lambda p=progress: p.setVisible(False))
            progress.cancel_clicked.connect(task.cancel)
            task.failed.connect(self._say)
            task.cancelled.connect(lambda: self._say("Cancelled."))
        self.accuracy_task.finished.connect(self._on_accuracy)
        self.firing_task.finished.connect(self._on_firing)
        self.save_task.finished.connect(self._on_saved)
        self.save_task.failed.connect(lambda text: self._say(f"The copy was not saved: {text}"))
        self.surgery.changed.connect(self._on_edits_changed)
        self.surgery.selection_changed.connect(self._sync_buttons)

    # --- what the user asks -----------------------------------------------------------------------------
    def test_accuracy(self) -> bool:
        """Start "test accuracy with the edits"; False if it cannot run now (it says why)."""
        if self.surgery.model() is None:
            return False
        if self.is_training():
            self._say(f"The test accuracy is tested {NOT_WHILE_TRAINING}.")
            return False
        show_text(self.accuracy_label, "")
        return self.accuracy_task.start({})

    def find_firing_digits(self) -> bool:
        """Rank the test digits by the painter filter's mean activation; False if it cannot run now."""
        slot = self.surgery.slot()
        if slot is None:
            self._say(self.surgery.refusal() or "Choose a filter first.")
            return False
        if self.is_training():
            self._say(f"The digits are ranked {NOT_WHILE_TRAINING}.")
            return False
        self.firing_view.clear()
        return self.firing_task.start({"layer": slot.layer, "channel": slot.channel})

    def save_copy(self, path: str | Path | None = None) -> bool:
        """Save an edited copy (asking where unless `path` is given); False if nothing was started."""
        model = self.surgery.model()
        if model is None:
            return False
        if not self.surgery.labels():
            self._say("There is no edit to save: the copy would be the model itself.")
            return False
        if path is None:
            stem = Path(model.path).stem if model.path else model.name
            path = self.ask_save_path(f"{stem}_edited.keras")
            if not path:
                return False
        if model.path is not None and Path(path).with_suffix(".keras").resolve() == Path(model.path).resolve():
            self._say("That is the model's own file: save the edited copy under another name.")
            return False
        return self.save_task.start({"path": str(path)})

    def model_changed(self) -> None:
        for task in (self.accuracy_task, self.firing_task):
            task.forget()
        show_text(self.accuracy_label, "")
        self._tested_labels = None
        self.firing_view.clear()
        self._sync_buttons()

    # --- replies -------------------------------------------------------------------------------------------
    def _on_progress(self, progress: TaskProgress, text: str, fraction: float) -> None:
        progress.setVisible(True)
        progress.show_running(text, None if fraction < 0 else fraction)

    def _on_accuracy(self, result: dict) -> None:
        self._tested_labels = list(result["labels"])
        self.accuracy_label.setEnabled(self._tested_labels == self.surgery.labels())
        edits = len(result["labels"])
        with_edits = f"with the edits {result['accuracy']:.2%}" if edits else f"{result['accuracy']:.2%}"
        show_text(self.accuracy_label, f"Test accuracy {with_edits} · without {result['unedited_accuracy']:.2%} "
                                    f"({result['confusion'].num_images:,} {result['dataset']} test digits"
                                    f"{'' if edits else ', no edit in force'}).")

    def _on_firing(self, reply: dict) -> None:
        model = self.surgery.model()
        slot = self.surgery.slot()
        noun = slot.noun if slot is not None and slot.layer == reply["result"].layer else "filter"
        self.firing_view.show_result(reply, [] if model is None else list(model.class_names), noun)

    def _on_saved(self, result: dict) -> None:
        self._say(f"Saved an edited copy as {Path(result['path']).name} ({len(result['labels'])} edits); "
                  "File → Open model opens it.")

    def _on_edits_changed(self) -> None:
        """A result for other edits says so."""
        stale = self._tested_labels is not None and self._tested_labels != self.surgery.labels()
        self.accuracy_label.setEnabled(not stale)
        self.accuracy_label.setToolTip("The edits changed since: test again" if stale else "")
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        has_model = self.surgery.model() is not None
        self.accuracy_button.setEnabled(has_model)
        self.firing_button.setEnabled(self.surgery.slot() is not None)
        self.save_button.setEnabled(bool(self.surgery.labels()))

    def _say(self, text: str) -> None:
        show_text(self.message, text)
