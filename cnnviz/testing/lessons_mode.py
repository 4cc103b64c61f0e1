"""The `lesson-and-screenshot` autotest mode (see `autotest.py`): issue 20's lesson panel in the real app.

Draws a 7 with the mouse, opens Help → Lessons, starts lesson 1 ("Feature maps and channels") from the
list, goes on to its first question ("How many maps will conv2d_1 output?", the overview's sizes hidden)
and types 1; saves `<PATH stem>_question.png`. Then presses Enter: the reveal selects conv2d_1 and
outlines its maps, the panel says why 1 is not it. It prints what it asked, what was hidden, the verdict
and where the outline and the overview's size labels are on screen (for the test to find in the
pictures), and the autotest saves PATH (the reveal).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest

from cnnviz.testing.mode_steps import ModeSteps
from cnnviz.testing.screenshots import save_screenshot
from cnnviz.testing.user_input import draw_seven

LESSON = "feature-maps"
ANSWER = "1"
SETTLE_MS = 700     # the last repaints land before a screenshot


def start(autotest) -> None:
    """Run the steps on `autotest` (an `autotest.Autotest` whose model is ready)."""
    _Steps.run(autotest)


class _Steps(ModeSteps):
    capability = "lessons"

    def __init__(self, autotest):
        super().__init__(autotest)
        self.player = self.feature.player
        self.panel = self.feature.panel

    def start(self) -> None:
        draw_seven(self.inspector.canvas)
        self.autotest.when(lambda: self.inspector.current_outputs() is not None, self.open_lessons)

    def open_lessons(self) -> None:
        self.feature.show_action.trigger()                      # Help → Lessons
        chooser = self.panel.list_page
        chooser.list.setCurrentRow(chooser.lesson_ids().index(LESSON))
        QTimer.singleShot(300, lambda: chooser.start.click())
        self.autotest.when(lambda: self.player.session is not None, self.first_question)

    def first_question(self) -> None:
        QTimer.singleShot(400, self.panel.next_action.trigger)  # the drawing is there: on to the question
        self.autotest.when(lambda: self.player.session.question is not None and bool(self.player.ask),
                           self.type_answer)

    def type_answer(self) -> None:
        number = self.panel.step_page.number
        number.setFocus()
        QTest.keyClicks(number, ANSWER)
        QTimer.singleShot(SETTLE_MS, self.save_question)

    def save_question(self) -> None:
        path = self.autotest.path.with_name(self.autotest.path.stem + "_question.png")
        save_screenshot(self.window, path)
        labels = self.inspector.views.pipeline
        print(f"cnnviz autotest: lesson {LESSON} step {self.player.session.index + 1} asks "
              f"'{self.player.ask}'; hidden {','.join(self.player.concealment.hidden())}; size labels at "
              f"{_screen(labels, labels.labels_rect().toAlignedRect())}; saved {path.name}", flush=True)
        QTest.keyClick(self.panel.step_page.number, Qt.Key.Key_Return)   # Enter commits
        self.autotest.when(lambda: self.player.highlighted is not None, self.reveal)

    def reveal(self) -> None:
        self.player.show_again()          # the outline blinks: flash it again just before the picture
        QTimer.singleShot(SETTLE_MS // 2, self.report)

    def report(self) -> None:
        verdict, player = self.player.verdict, self.player
        outline = self.window.context.targets.outline()
        names = self.inspector.layer_names()
        labels = self.inspector.views.pipeline
        rect = outline.outlined()
        corner = self.window.mapToGlobal(rect.topLeft())
        print(f"cnnviz autotest: answered {ANSWER}: {verdict.status}, the answer {verdict.answer_text}; "
              f"showing {names[self.inspector.current_layer()]}; highlighted {player.highlighted[0]} "
              f"({outline.target}) at [{corner.x()}, {corner.y()}, {rect.width()}, {rect.height()}]; "
              f"hidden now '{','.join(player.concealment.hidden())}'; size labels at "
              f"{_screen(labels, labels.labels_rect().toAlignedRect())}", flush=True)
        print(f"cnnviz autotest: explanation '{verdict.explanation}'", flush=True)
        self.autotest.done()


def _screen(widget, rect) -> list[int]:
    """[x, y, width, height] of `rect` (widget coordinates) on the screen."""
    corner = widget.mapToGlobal(QPoint(rect.x(), rect.y()))
    return [corner.x(), corner.y(), rect.width(), rect.height()]
