"""The compute process's `lesson_values`: a question's values computed on the serving copy, the same as
the answer engine computes them in this process."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from cnnviz.compute.protocol import Hello, Reply, Request, Shutdown
from cnnviz.core.lessons.engine import AnswerEngine, ModelView, Unavailable, compute_values
from cnnviz.core.lessons.expressions import parse_expression
from cnnviz.core.lessons.pack import read_pack
from cnnviz.core.lessons.session import LessonSession
from cnnviz.core.lessons.validate import shipped_lessons_dir
from cnnviz.core.training import EpochRecord

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(shipped_model_path):
    from cnnviz.compute.server import run_in_thread

    ours, theirs = multiprocessing.Pipe()
    _, thread = run_in_thread(theirs)
    assert ours.poll(30) and isinstance(ours.recv(), Hello)
    calls = iter(range(1, 1000))

    def call(method, args):
        request_id = next(calls)
        ours.send(Request(request_id, method, args, None))
        while True:
            assert ours.poll(120), f"no reply to {method}"
            message = ours.recv()
            if isinstance(message, Reply) and message.id == request_id:
                assert message.ok, f"{message.error_type}: {message.error}\n{message.details}"
                return message.result

    call.info = call("load_model", {"path": shipped_model_path})
    yield call
    ours.send(Shutdown())
    thread.join(10)


def test_a_questions_values_from_the_compute_process(server, shipped_model, digit_seven):
    lessons = {lesson.id: lesson for lesson in read_pack(shipped_lessons_dir()).lessons}
    view = ModelView.from_keras(shipped_model)
    session = LessonSession(lessons["pooling"], view)
    session.next(), session.next()                  # "One pooling unit": lets and an answer about the drawing
    needed = session.needed_values()
    reply = server("lesson_values", {"values": needed, "image": digit_seven})
    here = compute_values(needed, AnswerEngine(view, digit_seven))
    assert set(reply["values"]) == {"unit", "window", "answer"} and reply["generation"] >= 1
    assert reply["values"]["unit"] == here["unit"] and reply["values"]["window"] == here["window"]
    assert reply["values"]["answer"] == pytest.approx(here["answer"], abs=1e-5)
    assert session.commit(round(here["answer"], 2), reply["values"]).right


def test_without_a_drawing_or_a_run_the_values_say_why(server):
    needed = [("a", parse_expression("prediction()")), ("b", parse_expression("run-gap()")),
              ("c", parse_expression("map-size(conv2d_2)"))]
    values = server("lesson_values", {"values": needed})["values"]
    assert isinstance(values["a"], Unavailable) and values["a"].reason == "input"
    assert isinstance(values["b"], Unavailable) and values["b"].reason == "run" and values["c"] == 11
    run = [EpochRecord(1, 0.5, 0.97, 0.6, 0.91, 1.0, 10.0)]
    assert server("lesson_values", {"values": needed[1:2], "run": run})["values"]["b"] == pytest.approx(6.0)


def test_the_guis_model_info_is_enough_to_fit_and_explain(server):
    """In the GUI process the session gets the model as `ModelInfo` (layers and weights, no TensorFlow)."""
    view = ModelView.from_model_info(server.info)
    lessons = {lesson.id: lesson for lesson in read_pack(shipped_lessons_dir()).lessons}
    assert all(LessonSession(lesson, view).fits for lesson in lessons.values())
    engine = AnswerEngine(view)
    bias = engine.evaluate(parse_expression("bias(conv2d_1, 3)"))
    assert bias == pytest.approx(float(server.info.weights[0][1][3]))
    assert engine.evaluate(parse_expression("receptive-field(conv2d_3)")) == 18
    some_image = np.zeros((28, 28), np.float32)
    values = compute_values([("p", parse_expression("prediction()"))], AnswerEngine(view, some_image))
    assert values["p"].reason == "error" and "cannot be run here" in values["p"].message
