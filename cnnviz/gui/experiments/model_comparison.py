"""Compare models on the same attack: the same digit, method, target and ε against the model shown (with any
kernel edits), the shipped model, the augmented one if it has been trained, the Lab's variants of the
shipped run, and any model file the user adds.

The files are loaded into the compute process's variant store ("lab_load", under names of their own so
the Lab's are not disturbed), then "attack_models" attacks each with its own gradients, as one task.
Each row says what it did to that model, or in one line why the attack does not apply to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QListWidget, QListWidgetItem, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from cnnviz.core.paths import default_model_path, resources_dir
from cnnviz.gui.experiments.task_request import TaskRequest
from cnnviz.gui.experiments.text_lines import message_label, show_text
from cnnviz.gui.widgets.task_progress import TaskProgress

AUGMENTED_MODEL = "mnist_convnet_augmented.keras"
STORE_PREFIX = "attack:"          # names in the compute process's variant store
CURRENT = "current"               # "attack_models"' name for the model shown
FIRST_TICKED = ("the shipped model", "the augmented model", "Lab variant no-pooling")


@dataclass(frozen=True)
class Candidate:
    """A model to compare: what the list calls it, its file (None: the model shown), whether it exists."""

    label: str
    path: Path | None
    available: bool = True
    note: str = ""


def candidates(current_path: Path | None, extra: list[Path] = ()) -> list[Candidate]:
    """The models offered for comparison (see the module docstring); the shown model's file is left out."""
    current = Path(current_path).resolve() if current_path else None
    found = [Candidate("the model shown (with your edits, if any)", None)]
    augmented = resources_dir() / AUGMENTED_MODEL
    files = [("the shipped model", default_model_path(), True, ""),
             ("the augmented model", augmented, augmented.is_file(), "" if augmented.is_file()
              else "not trained yet")]
    variants = resources_dir() / "architectures"
    for path in sorted(variants.glob("*.keras")) if variants.is_dir() else []:
        files.append((f"Lab variant {path.stem}", path, True, ""))
    files += [(path.name, Path(path), Path(path).is_file(), "") for path in extra]
    for label, path, available, note in files:
        if current is not None and available and Path(path).resolve() == current:
            continue
        found.append(Candidate(label, Path(path), available, note))
    return found


class ModelComparison(QWidget):
    """The list of models to compare, Compare, and the table of what the attack did to each."""

    def __init__(self, client, parent: QWidget | None = None):
        super().__init__(parent)
        self._client = client
        self.attack_args = lambda: None      # the installer's: the digit and settings to attack with
        self.ask_open_path = lambda: ""      # the installer's: a model file the user picks
        self.current_path = lambda: None
        self.class_name = lambda c: str(c)
        self._extra: list[Path] = []
        self._candidates: list[Candidate] = []
        self.load_task = TaskRequest(client, "lab_load", self)
        self.attack_task = TaskRequest(client, "attack_models", self)
        self.models_list = QListWidget()
        self.models_list.setMaximumHeight(110)
        self.models_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.models_list.setToolTip("Tick the models to attack with the same digit, method, target and ε")
        self.add_button = QPushButton("Add a model file…")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Attack every ticked model (each with its own gradients) in the background")
        self.progress = TaskProgress(compact=True)
        self.progress.setVisible(False)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["model", "before", "after the attack"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setVisible(False)
        self.message = message_label()
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.models_list)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.table)
        layout.addWidget(self.message)
        self.add_button.clicked.connect(self._on_add)
        self.compare_button.clicked.connect(self.compare)
        self.progress.cancel_clicked.connect(self.cancel)
        self.load_task.finished.connect(self._on_loaded)
        self.attack_task.finished.connect(self._on_attacked)
        for task in (self.load_task, self.attack_task):
            task.progress.connect(self._on_progress)
            task.failed.connect(self._say)
            task.cancelled.connect(lambda: self._finish("Cancelled."))
            task.ended.connect(self._on_ended)
        self.refresh_models()

    # --- the models offered -------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """List the candidates again (another model is shown, a file was added); ticks are kept by label."""
        first = not self._candidates
        ticked = {c.label for c in self.ticked()} if not first else set(FIRST_TICKED)
        self._candidates = candidates(self.current_path(), self._extra)
        self.models_list.clear()
        for i, candidate in enumerate(self._candidates):
            text = candidate.label if candidate.available else f"{candidate.label} ({candidate.note})"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, i)
            if candidate.available:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                wanted = candidate.path is None or candidate.label in ticked
                item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
            else:
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            if candidate.path is not None:
                item.setToolTip(str(candidate.path))
            self.models_list.addItem(item)

    def ticked(self) -> list[Candidate]:
        return [self._candidates[item.data(Qt.ItemDataRole.UserRole)] for item in self._items()
                if item.checkState() == Qt.CheckState.Checked]

    def set_ticked(self, labels: list[str]) -> None:
        for item in self._items():
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                wanted = self._candidates[item.data(Qt.ItemDataRole.UserRole)].label in labels
                item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)

    def _items(self) -> list[QListWidgetItem]:
        return [self.models_list.item(i) for i in range(self.models_list.count())]

    def _on_add(self) -> None:
        path = self.ask_open_path()
        if path:
            self._extra.append(Path(path))
            self.refresh_models()
            self.set_ticked([c.label for c in self.ticked()] + [Path(path).name])

    # --- comparing --------------------------------------------------------------------------------------
    def compare(self) -> bool:
        """Load the ticked files, then attack every ticked model; False if there is nothing to do."""
        args = self.attack_args()
        chosen = self.ticked()
        if args is None or not chosen:
            self._say("Draw a digit and tick at least one model." if args is None else "Tick at least one model.")
            return False
        self._chosen = chosen
        self._args = args
        files = {STORE_PREFIX + c.label: str(c.path) for c in chosen if c.path is not None}
        self.table.setVisible(False)
        self._say("")
        self.compare_button.setEnabled(False)
        if files:
            return self.load_task.start({"variants": files})
        return self._attack({})

    def cancel(self) -> None:
        self.load_task.cancel()
        self.attack_task.cancel()

    def _attack(self, failed: dict) -> bool:
        self._load_failed = failed
        variants = {STORE_PREFIX + c.label: str(c.path) for c in self._chosen
                    if c.path is not None and STORE_PREFIX + c.label not in failed}
        include = any(c.path is None for c in self._chosen)
        return self.attack_task.start({**self._args, "variants": variants, "include_current": include})

    def _on_loaded(self, result: dict) -> None:
        self._attack(result["failed"])

    def _on_attacked(self, result: dict) -> None:
        rows = []
        for candidate in self._chosen:
            name = CURRENT if candidate.path is None else STORE_PREFIX + candidate.label
            if name in result["results"]:
                attack = result["results"][name]
                before = f"{self.class_name(attack.before_class)} · {attack.before_probability:.1%}"
                verdict = "flipped" if attack.succeeded else "held"
                after = f"{self.class_name(attack.after_class)} · {attack.after_probability:.1%} ({verdict})"
                rows.append((candidate.label, before, after))
            else:
                why = (self._load_failed.get(name) or result["failed"].get(name)
                       or ("the file changed while loading" if name in result["missing"] else "not attacked"))
                rows.append((candidate.label, "–", f"does not apply: {why}"))
        self.table.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setFixedHeight(self.table.horizontalHeader().height() + 4
                                  + sum(self.table.rowHeight(r) for r in range(len(rows))))
        self.table.setVisible(True)
        args = self._args
        self._finish(f"{args['method'].upper()}, ε {args['epsilon']:.3f}, "
                     f"{'untargeted' if args['target'] is None else 'target ' + self.class_name(args['target'])}.")

    def rows(self) -> list[tuple[str, str, str]]:
        """The table as text (tests and the autotest read it)."""
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())]

    def _on_progress(self, fraction: float) -> None:
        self.progress.setVisible(True)
        self.progress.show_running("Attacking the models…", None if fraction < 0 else fraction)

    def _on_ended(self) -> None:
        if not (self.load_task.is_running() or self.attack_task.is_running()):
            self.progress.setVisible(False)
            self.compare_button.setEnabled(True)

    def _finish(self, text: str) -> None:
        self._say(text)

    def _say(self, text: str) -> None:
        show_text(self.message, text)
