"""The Lessons panel (a dock beside the views): the list of the pack's lessons, or the step being played.

Keyboard: Enter commits an answer (in the panel), Ctrl+PgDown and Ctrl+PgUp go to the next and previous
step (anywhere in the window). The panel only shows the `LessonPlayer`'s state and sends intents.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from cnnviz.gui.lessons.lesson_list import LessonList
from cnnviz.gui.lessons.step_view import StepView
from cnnviz.gui.widgets.qt_helpers import make_action

PANEL_WIDTH = 340


class LessonPanel(QWidget):
    """The lessons of `player`'s pack and the lesson it plays; `store` gives each lesson's saved progress."""

    def __init__(self, player, store, parent: QWidget | None = None):
        super().__init__(parent)
        self._player = player
        self._store = store
        self.commit_action = make_action(self, "Commit answer", "Lock in your answer and see the real one",
                                         self._on_commit, "Return")
        self.commit_action.setShortcuts([QKeySequence("Return"), QKeySequence("Enter")])
        self.commit_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.commit_action)
        self.next_action = make_action(self, "Next ▶", "Go on to the lesson's next step", player.next, "Ctrl+PgDown")
        self.back_action = make_action(self, "◀ Back", "Go back to the lesson's previous step", player.back,
                                       "Ctrl+PgUp")
        self.list_action = make_action(self, "☰ Lessons", "Back to the list of lessons (your progress is kept)",
                                       self.show_list)
        self.list_page = LessonList()
        self.step_page = StepView(player, {"next": self.next_action, "back": self.back_action,
                                           "list": self.list_action})
        self.step_page.next_lesson.clicked.connect(self._on_next_lesson)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.list_page)
        self.stack.addWidget(self.step_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.list_page.start_requested.connect(self._on_start)
        player.changed.connect(self.refresh)
        self.refresh()

    def sizeHint(self):  # noqa: N802 (Qt's name)
        hint = super().sizeHint()
        hint.setWidth(PANEL_WIDTH)
        return hint

    def show_list(self) -> None:
        """The list of lessons (the lesson in play, if any, is left where it is: its progress is kept)."""
        self._player.close()
        self.refresh()

    def refresh(self) -> None:
        player = self._player
        playing = player.session is not None
        self.stack.setCurrentWidget(self.step_page if playing else self.list_page)
        if playing:
            self.step_page.refresh()
            session = player.session
            self.back_action.setEnabled(session.index > 0 or player.complete)
            self.next_action.setEnabled(not player.complete)
            self.next_action.setText("Finish ✓" if session.index == len(session.lesson.steps) - 1 else "Next ▶")
        else:
            self.back_action.setEnabled(False)
            self.next_action.setEnabled(False)
            self._show_lessons()

    def _show_lessons(self) -> None:
        player = self._player
        if player.pack is None:
            return
        shipped = player.pack_key == "shipped"
        text = "cnnviz's own lessons" if shipped else f"Lesson pack: {player.pack.folder}"
        waiting = player.message[0] if player.message[0] else ""
        entries = [(lesson, self._store.progress(player.pack_key, lesson.id)) for lesson in player.lessons()]
        folder, last = self._store.last_place()
        selected = last if folder == str(player.pack.folder) else ""
        self.list_page.show_lessons(f"{text}. {waiting}".strip(), shipped, entries,
                                    [str(problem) for problem in player.pack.problems], selected)

    def _on_start(self, lesson_id: str, from_the_start: bool) -> None:
        self._player.start(lesson_id, from_the_start)

    def _on_commit(self) -> None:
        if self._player.session is not None and self.stack.currentWidget() is self.step_page:
            self.step_page.commit()

    def _on_next_lesson(self) -> None:
        ids = [lesson.id for lesson in self._player.lessons()]
        lesson = self._player.lesson
        if lesson is not None and lesson.id in ids and ids.index(lesson.id) + 1 < len(ids):
            self._player.start(ids[ids.index(lesson.id) + 1])
        else:
            self.show_list()
