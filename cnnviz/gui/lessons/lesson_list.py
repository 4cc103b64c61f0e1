"""The lesson panel's first page: the lessons of the pack, each with its minutes and the learner's progress
(steps done, answers right at the first try), Start or Continue, Start over, and Open lesson pack…."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from cnnviz.gui.lessons.progress_store import summary_of


class LessonList(QWidget):
    """Shows `entries` (lesson, saved progress); emits what the learner asks for."""

    start_requested = Signal(str, bool)    # lesson id, from its first step
    open_pack_requested = Signal()
    shipped_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.heading = QLabel("<b>Lessons</b>: predict first, then see it happen on your own digit")
        self.heading.setWordWrap(True)
        self.pack = QLabel()
        self.pack.setWordWrap(True)
        self.pack.setStyleSheet("color: gray;")
        self.pack.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #d9a400;")
        self.problems.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setToolTip("Double-click (or Enter) to start a lesson where you left it")
        self.list.itemActivated.connect(lambda item: self._start(item, False))
        self.list.currentItemChanged.connect(self._update_buttons)
        self.start = QPushButton("Start")
        self.start.setToolTip("Play the chosen lesson (where you left it, if you started it before)")
        self.start.clicked.connect(lambda: self._start(self.list.currentItem(), False))
        self.over = QPushButton("Start over")
        self.over.setToolTip("Play the chosen lesson from its first step (its progress is forgotten)")
        self.over.clicked.connect(lambda: self._start(self.list.currentItem(), True))
        self.open_pack = QPushButton("Open lesson pack…")
        self.open_pack.setToolTip("Play a teacher's lessons: a folder of lesson files (docs/LESSONS.md)")
        self.open_pack.clicked.connect(self.open_pack_requested)
        self.shipped = QPushButton("cnnviz's lessons")
        self.shipped.setToolTip("Back to the nine lessons shipped with cnnviz")
        self.shipped.clicked.connect(self.shipped_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start)
        buttons.addWidget(self.over)
        buttons.addStretch(1)
        packs = QHBoxLayout()
        packs.addWidget(self.open_pack)
        packs.addWidget(self.shipped)
        packs.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addWidget(self.heading)
        layout.addWidget(self.pack)
        layout.addWidget(self.problems)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addLayout(packs)

    def show_lessons(self, pack_text: str, shipped: bool, entries, problems: list, selected: str = "") -> None:
        """`entries`: (lesson, saved progress or None) in the pack's order; `selected`: a lesson id to choose."""
        current = self.list.currentItem()
        selected = selected or (current.data(Qt.ItemDataRole.UserRole) if current is not None else "")
        self.pack.setText(pack_text)
        self.shipped.setVisible(not shipped)
        self.problems.setText(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the pack; the first: "
                              f"{problems[0]}" if problems else "")
        self.problems.setVisible(bool(problems))
        self.list.clear()
        for number, (lesson, saved) in enumerate(entries, start=1):
            done, right, step = summary_of(saved, lesson)
            steps, questions = len(lesson.steps), lesson.num_questions
            if done == steps:
                state = f"✓ done · {right} of {questions} right"
            elif saved is not None and (done or step):
                state = f"{done} of {steps} steps · {right} of {questions} right"
            else:
                state = "not started"
            item = QListWidgetItem(f"{number}. {lesson.title}\n      {lesson.minutes} min · {state}")
            item.setData(Qt.ItemDataRole.UserRole, lesson.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, step if saved is not None and done < steps else 0)
            item.setToolTip(f"<p><b>{lesson.title}</b> ({lesson.minutes} min, {steps} steps, {questions} questions)"
                            f"</p><p>{lesson.summary}</p><p>Concepts: {', '.join(lesson.concepts)}</p>")
            self.list.addItem(item)
            if lesson.id == selected:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._update_buttons()

    def lesson_ids(self) -> list[str]:
        return [self.list.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.list.count())]

    def _start(self, item, from_the_start: bool) -> None:
        if item is not None:
            self.start_requested.emit(item.data(Qt.ItemDataRole.UserRole), from_the_start)

    def _update_buttons(self, *_args) -> None:
        item = self.list.currentItem()
        step = item.data(Qt.ItemDataRole.UserRole + 1) if item is not None else 0
        self.start.setText(f"Continue at step {step + 1}" if step else "Start")
        self.start.setEnabled(item is not None)
        self.over.setEnabled(item is not None)
