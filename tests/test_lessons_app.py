"""Every shipped lesson played end to end in the app (issue 20's done-when): a real window with the lessons
and the capabilities they drive, on the session's real compute process, MNIST test digit 0 (a 7) on the
canvas. The learner acts through the panel and the window as a user would: Help → Lessons, Start over,
typing a number and Enter, clicking an option, a channel in the grid, a pixel on the drawing, the move
arrows, hovering the maps, Next. Each question is answered once right and once wrong; the verdicts, what
the reveal selected or opened, the answer shown in the panel and the outlined part of the window are
checked against answers computed without the lesson engine (`_lesson_expectations.py`, shared with the
headless play)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt

sys.path.insert(0, str(Path(__file__).parent))
from _lesson_expectations import LESSON_IDS, Independent, as_given, checked_answer, expected_answers  # noqa: E402

from cnnviz.core.robustness import shift_image  # noqa: E402
from cnnviz.gui.lessons.app_links import PLACES  # noqa: E402
from cnnviz.gui.lessons.concealment import Cover  # noqa: E402

pytestmark = pytest.mark.slow
WAIT_MS = 120_000
RUN_WAIT_MS = 600_000     # a hang bound: the small-data lesson trains 10 epochs on 1,000 digits (tests on 10,000)
CAPABILITIES = ("training", "models", "units", "lab", "lessons")
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def shipped(shipped_model_path):
    from cnnviz.core.model import load_model

    return load_model(shipped_model_path)


@pytest.fixture
def lesson_window(capability_window, qtbot, shipped_info, digit_seven):
    """A shown window with the lessons and what they drive, the shipped model, digit 0 of the test set drawn."""
    window = capability_window(*CAPABILITIES)
    window.show()
    window.show_model(shipped_info)
    window.inspector.show_input(digit_seven)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=WAIT_MS)
    return window


def send_move(qtbot, viewport, point: QPoint) -> None:
    """A mouse move delivered to `viewport` as Qt delivers one (a QMouseEvent), after a move elsewhere and a
    pause longer than pyqtgraph's mouse rate limit (this waits only; it asserts nothing about time)."""
    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    rate = pg.getConfigOption("mouseRateLimit")
    for where in (QPointF(1, 1), QPointF(point)):
        qtbot.wait(int(2000 / rate) + 1 if rate > 0 else 1)
        QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, where, viewport.mapToGlobal(where),
                                                     Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                     Qt.KeyboardModifier.NoModifier))


class Learner:
    """Plays lessons in `window` through its panel, as a learner would."""

    def __init__(self, qtbot, window):
        self.qtbot, self.window = qtbot, window
        self.feature = window.capabilities["lessons"]
        self.player, self.panel = self.feature.player, self.feature.panel
        self.step = self.panel.step_page
        self.inspector = window.inspector
        self.runs: list = []
        window.context.training_finished.connect(self.runs.append)

    def open(self, lesson_id: str) -> None:
        """Help → Lessons, choose the lesson, Start over."""
        self.feature.show_action.trigger()
        assert self.feature.dock.isVisible()
        chooser = self.panel.list_page
        chooser.list.setCurrentRow(chooser.lesson_ids().index(lesson_id))
        self.qtbot.mouseClick(chooser.over, LEFT)
        session = self.player.session
        assert session is not None and session.lesson.id == lesson_id and session.index == 0

    def play(self, expected, right: bool) -> list[dict]:
        """Every step: the learner's task, the question answered (right or wrong), Next; what each reveal showed."""
        records = []
        while True:
            session = self.player.session
            self.do_task(session)
            if session.question is not None:
                records.append(self.answer(session, expected[len(records)], right))
            index = session.index
            last = index == len(session.lesson.steps) - 1
            self.panel.next_action.trigger()
            if last:
                assert self.player.complete and self.panel.step_page.complete.isVisible()
                return records
            assert self.player.session.index == index + 1 and not self.player.complete

    def do_task(self, session) -> None:
        task = self.player.task()
        if task is None:
            return
        names = self.inspector.layer_names()
        if task.name == "hover-unit":
            layer = names.index(task.params["layer"])
            pipeline = self.inspector.views.pipeline
            self.qtbot.mouseClick(pipeline, LEFT, pos=pipeline.block_rect(layer).center().toPoint())
            assert self.inspector.current_layer() == layer
            grid = self.inspector.layer_grid
            shape = self.inspector.model().layers[layer].output_shape   # (H, W, C)
            # the learner hovers the maps they see: wait until the grid shows this layer's (it follows the click
            # once the outputs are there; a move over the previous layer's maps names a unit of that layer)
            self.qtbot.waitUntil(lambda: grid.maps() is not None and grid.maps().shape == (shape[2], *shape[:2]),
                                 timeout=WAIT_MS)
            # A move sent to the viewport: QTest's cursor move was lost here every time (offscreen, this window's
            # narrow grid), although the viewport is the widget under that point.
            send_move(self.qtbot, grid.viewport(), grid.unit_centre(3, 4, 5))
            # After translation-invariance's test in the same process the first move here is not reported (not
            # root-caused: the grid shows this layer's maps, the hit test finds the unit); a learner moves again.
            for _ in range(3):
                self.qtbot.wait(1_000)
                if session.learner_done:
                    break
                send_move(self.qtbot, grid.viewport(), grid.unit_centre(3, 4, 5))
        elif task.name == "move-digit":
            before = self.inspector.current_input().copy()
            self.qtbot.mouseClick(self._move_button("→"), LEFT)
            self.qtbot.waitUntil(lambda: not np.array_equal(self.inspector.current_input(), before), timeout=WAIT_MS)
            assert np.array_equal(self.inspector.current_input(), shift_image(self.feature.shift.original(), 1, 0))
        # draw-digit: the digit on the canvas is used at once
        self.qtbot.waitUntil(lambda: session.learner_done, timeout=WAIT_MS)
        assert self.step.task.text().startswith("✓")

    def _move_button(self, text: str):
        from PySide6.QtWidgets import QToolButton

        return next(button for button in self.step.moves.findChildren(QToolButton) if button.text() == text)

    def answer(self, session, expected, right: bool) -> dict:
        question, player = session.question, self.player
        self.qtbot.waitUntil(lambda: player.values is not None and bool(player.ask), timeout=WAIT_MS)
        assert self.step.question.isVisible() and self.step.ask.text() == player.ask
        hidden = {name for name in question.conceal if name != "move-it"}   # no Move it panel in this window
        assert set(player.concealment.hidden()) == hidden
        if "pipeline" in hidden:
            covers = [cover for cover in self.inspector.views.pipeline.findChildren(Cover) if cover.isVisible()]
            assert covers and covers[0].geometry().bottom() >= self.inspector.views.pipeline.height() - 2
        given = as_given(question, expected[0], right, player.values)
        self.give(question, given)

        def judged() -> bool:   # the verdict, or a message instead of one (a failure: said at once)
            if player.verdict is not None:
                return player.verdict.status != "pending" or player.run_failed
            return not player.checking and bool(player.message[0])

        self.qtbot.waitUntil(judged, timeout=RUN_WAIT_MS)
        assert player.verdict is not None and player.verdict.status != "pending", player.message
        self.qtbot.waitUntil(lambda: player.highlighted is not None, timeout=WAIT_MS)
        return self.record()

    def give(self, question, given) -> None:
        step = self.step
        if question.kind == "number":
            step.number.clear()
            self.qtbot.keyClicks(step.number, str(given))
            self.qtbot.keyClick(step.number, Qt.Key.Key_Return)          # Enter commits
            return
        if question.kind == "choice":
            index = [option.value for option in question.options].index(given)
            button = step._choices.button(index)
            self.qtbot.mouseClick(button, LEFT)
            assert button.isChecked()
            self.qtbot.keyClick(button, Qt.Key.Key_Return)               # Enter commits (in the panel)
            return
        if question.kind == "pick-channel":
            grid = self.inspector.layer_grid
            self.qtbot.mouseClick(grid.viewport(), LEFT, pos=grid.cell_centre(given))
        else:
            picker = self.player.picker
            assert picker.is_active()
            self.qtbot.mouseClick(picker, LEFT, pos=picker.pixel_rect(*given).center().toPoint())
        assert self.player.pick == (given if question.kind == "pick-channel" else tuple(given))
        self.qtbot.mouseClick(step.commit_button, LEFT)

    def record(self) -> dict:
        inspector, context = self.inspector, self.window.context
        names = inspector.layer_names()
        unit = context.operations.call("units.focused")
        lab = self.window.capabilities["lab"]
        outline = context.targets.outline()
        return {"verdict": self.player.verdict, "highlighted": self.player.highlighted,
                "outline": None if outline is None else (outline.target, outline.outlined(),
                                                         outlined(self.window, outline.target)),
                "message": self.player.message[0], "answer_text": self.step.answer.text(),
                "explanation": self.step.explanation.text(), "headline": self.step.headline.text(),
                "selected_layer": names[inspector.current_layer()],
                "enlarged": (names[inspector.current_layer()], inspector.current_channel()),
                "pinned": None if unit is None else (names[unit.layer], (unit.channel, unit.y, unit.x)),
                "variant": lab.lab.side_by_side.pair()[1] if lab.dock.isVisible() else None,
                "lab_results": lab.dock.isVisible() and lab.lab.tabs.currentWidget() is lab.lab.table,
                "offset": self.feature.shift.offset(), "hidden": self.player.concealment.hidden(),
                "runs": len(self.runs)}


def outlined(window, target: str) -> QRect:
    """Where target `target` is in its window (a floating panel, the Lab, is a window of its own)."""
    widget = window.context.targets.widget(target)
    return QRect(widget.mapTo(widget.window(), QPoint(0, 0)), widget.size())


def check_reveals(window, records, expected, right: bool) -> None:
    assert len(records) == len(expected)
    for record, (answer, highlight, shown) in zip(records, expected):
        verdict = record["verdict"]
        where = f"{verdict.given_text} → {verdict.answer_text}"
        assert verdict.status == ("right" if right else "wrong"), where
        assert record["headline"].startswith("✓ Right" if right else "✗ Not quite"), where
        assert verdict.highlight == highlight and record["hidden"] == (), where
        target = PLACES[highlight].targets[0]
        if highlight == "move-it":      # not in this window (issue 21's panel): said so, nothing outlined
            assert record["highlighted"] == (highlight, False), where
            assert "Move it panel is not part of this window" in record["message"], where
        else:
            assert record["highlighted"] == (highlight, True), where
            assert record["outline"][0] == target, where
            if highlight != "receptive-field":     # a part of the canvas: its own test below
                assert record["outline"][1] == record["outline"][2], where
        for key, value in shown.items():
            assert record[key] == value, f"{where}: {key}"
        words = checked_answer(verdict.answer, answer, where)
        assert words in record["answer_text"] or words in record["explanation"], where
        assert "{" not in record["explanation"] and record["explanation"] == verdict.explanation, where


@pytest.mark.parametrize("lesson_id", [name for name in LESSON_IDS if name != "small-data"])
def test_each_lesson_in_the_app_right_then_wrong(lesson_id, lesson_window, qtbot, shipped, mnist, digit_seven):
    learner = Learner(qtbot, lesson_window)
    expected = expected_answers(lesson_id, Independent(shipped, digit_seven, mnist))
    for right in (True, False):
        learner.open(lesson_id)
        records = learner.play(expected, right)
        check_reveals(lesson_window, records, expected, right)
        progress = learner.player.session.progress
        lesson = learner.player.session.lesson
        assert (progress.steps_done, progress.answered) == (len(lesson.steps), lesson.num_questions)
        assert progress.right == (lesson.num_questions if right else 0)
        assert np.array_equal(learner.feature.shift.original(), digit_seven)   # "your digit" stayed the drawn one


def test_the_small_data_lesson_waits_for_its_run_in_the_app(lesson_window, qtbot, shipped, mnist, digit_seven,
                                                             shipped_model_path):
    """Lesson 9's gap question is pending until the run its reveal starts (10 epochs on the first 1,000 MNIST
    digits, seed 1, in the compute process) has ended; the verdict is judged on that run's history, the
    curves show it, and the lesson's last step brings the shipped model back. Played wrong first (the
    gap cannot be -50 points), then right with the gap the first run measured (the seeded run repeats)."""
    learner = Learner(qtbot, lesson_window)
    independent = Independent(shipped, digit_seven, mnist)
    curves = lesson_window.capabilities["training"].curves
    gap = -60.0                                 # as_given makes it -50 for the wrong answer
    for right in (False, True):
        learner.open("small-data")
        guess = expected_answers("small-data", independent, history=[_Epoch(gap)])
        records = learner.play(guess, right)
        run = learner.runs[-1]
        assert run.status == "finished" and len(run.history) == 10
        assert [r.test_accuracy for r in curves.history()] == [r.test_accuracy for r in run.history]
        expected = expected_answers("small-data", independent, history=run.history)
        check_reveals(lesson_window, records, [(answer, highlight, {}) for answer, highlight, _ in expected], right)
        assert records[1]["runs"] == len(learner.runs)               # judged once its run had ended
        assert learner.player.session.progress.right == (2 if right else 0)
        qtbot.waitUntil(lambda: not lesson_window.is_loading() and lesson_window.current.path is not None
                        and Path(lesson_window.current.path) == shipped_model_path, timeout=WAIT_MS)
        gap = round((run.history[-1].accuracy - run.history[-1].test_accuracy) * 100, 2)


class _Epoch:
    """A stand-in epoch whose gap is `gap` points (for the answer given before the run exists)."""

    def __init__(self, gap: float):
        self.accuracy, self.test_accuracy = gap / 100, 0.0
