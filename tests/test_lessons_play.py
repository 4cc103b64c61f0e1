"""Every shipped lesson played end to end through the lesson session, on the shipped model and a real
digit (MNIST test digit 0, and a drawn 7): each question answered once right and once wrong. The
expected answers are computed here independently (Keras sub-models, Keras-built variants, the CSV read
with the csv module, the training run's own history), and each reveal is checked: what the app shows
after its actions, the highlighted target, the answer's number in the explanation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _lesson_expectations import LESSON_IDS, Independent, as_given, checked_answer, expected_answers  # noqa: E402,E501
from _lesson_player import HeadlessApp, play  # noqa: E402

from cnnviz.core.lessons.engine import Unavailable  # noqa: E402
from cnnviz.core.lessons.pack import read_pack  # noqa: E402
from cnnviz.core.lessons.validate import sample_drawing, shipped_lessons_dir  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lessons():
    pack = read_pack(shipped_lessons_dir())
    assert not pack.problems, pack.problems
    return {lesson.id: lesson for lesson in pack.lessons}


def chooser(expected, right: bool):
    """choose(question, values, session) for `play`: answers question i from expected[i]."""
    position = iter(range(len(expected)))

    def choose(question, values, session):
        index = next(position)
        return as_given(question, expected[index][0], right, values)
    return choose


def check_played(played, expected, right: bool):
    assert len(played) == len(expected)
    for entry, (answer, highlight, shown) in zip(played, expected):
        verdict = entry.verdict
        where = f"step {entry.step.title!r}"
        assert verdict.status == ("right" if right else "wrong"), where
        assert verdict.highlight == highlight, where
        for key, value in shown.items():
            actual = entry.app_after[key]
            if key == "pinned":
                actual = (actual[0], (actual[1].channel, actual[1].y, actual[1].x))
            assert actual == value, f"{where}: {key}"
        shown_answer = checked_answer(verdict.answer, answer, where)
        explanation = verdict.explanation
        assert "{" not in explanation, where
        assert not any(isinstance(value, Unavailable) for value in entry.values.values()), where
        assert shown_answer in explanation or shown_answer in verdict.answer_text, where


@pytest.fixture(scope="module")
def shipped(shipped_model_path):
    from cnnviz.core.model import load_model

    return load_model(shipped_model_path)


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_each_lesson_right_then_wrong_on_test_digit_0(lesson_id, lessons, shipped, mnist, digit_seven):
    ind = Independent(shipped, digit_seven, mnist)
    expected = expected_answers(lesson_id, ind)
    lesson = lessons[lesson_id]
    for right in (True, False):
        app = HeadlessApp(shipped, mnist, drawn=digit_seven.copy())
        session, played = play(lesson, app, chooser(expected, right))
        check_played(played, expected, right)
        progress = session.progress
        assert (progress.steps_done, progress.answered) == (len(lesson.steps), lesson.num_questions)
        assert progress.right == (lesson.num_questions if right else 0)


@pytest.mark.parametrize("lesson_id", ["feature-maps", "convolution-window", "pooling", "translation-invariance",
                                       "spatial-hierarchy"])
def test_lessons_about_the_drawing_on_a_drawn_seven(lesson_id, lessons, shipped, mnist):
    drawn = sample_drawing()
    ind = Independent(shipped, drawn, mnist)
    expected = expected_answers(lesson_id, ind)
    app = HeadlessApp(shipped, mnist, drawn=drawn.copy())
    _, played = play(lessons[lesson_id], app, chooser(expected, right=True))
    check_played(played, expected, right=True)


def test_a_wrong_answer_with_its_own_explanation(lessons, shipped, mnist, digit_seven):
    """'wrong 28:' in the padding lesson: 28 gets the explanation written for it, with the computed 26."""
    app = HeadlessApp(shipped, mnist, drawn=digit_seven.copy())
    answers = iter([28, 13 - 2, 28, 7, "more", 99.23])
    _, played = play(lessons["padding"], app, lambda question, values, session: next(answers))
    first = played[0].verdict
    assert first.status == "wrong" and "cannot hang over the edge" in first.explanation and "26" in first.explanation
    assert played[1].verdict.status == "right"


def test_the_pending_question_waits_for_the_run(lessons, shipped, mnist, digit_seven):
    """The gap question's answer does not exist before its run: commit is 'pending' with the train action,
    complete() judges it from the run's history."""
    from cnnviz.core.lessons.engine import compute_values
    from cnnviz.core.lessons.session import LessonSession

    app = HeadlessApp(shipped, mnist, drawn=digit_seven.copy())
    session = LessonSession(lessons["small-data"], app.view)
    session.next()
    values = compute_values(session.needed_values(), app.engine())
    verdict = session.commit(5, values)
    assert verdict.status == "pending" and session.phase == "pending"
    assert [(a.name, a.params["digits"], a.params["epochs"]) for a in verdict.actions] == \
        [("train-from-scratch", 1000, 10)]
    for action in verdict.actions:
        app.perform(action)
    final = session.complete(compute_values(session.needed_values(), app.engine()))
    gap = (app.run[-1].accuracy - app.run[-1].test_accuracy) * 100
    assert final.answer == pytest.approx(gap)
    assert final.status == ("right" if abs(5 - round(gap, 2)) <= 3 else "wrong")
    assert final.actions == ()          # the run is not started twice
    assert session.phase == "revealed"
