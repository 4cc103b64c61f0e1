"""The answer engine against independent computations, and the lesson session's state machine and fit."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.lessons.engine import AnswerEngine, ModelView, ResultsTable, Unavailable, compute_values
from cnnviz.core.lessons.expressions import parse_expression
from cnnviz.core.lessons.functions import EvaluationError, NeedsInput, NeedsRun
from cnnviz.core.lessons.pack import read_pack
from cnnviz.core.robustness import shift_image
from cnnviz.core.lessons.session import AnswerError, AnswerUnavailable, LessonSession, LessonStateError
from cnnviz.core.lessons.validate import shipped_lessons_dir
from cnnviz.core.training import EpochRecord

DIGITS = tuple(str(d) for d in range(10))


@pytest.fixture(scope="module")
def view(shipped_model_path):
    from cnnviz.core.model import load_model

    return ModelView.from_keras(load_model(shipped_model_path))


@pytest.fixture(scope="module")
def lessons():
    return {lesson.id: lesson for lesson in read_pack(shipped_lessons_dir()).lessons}


def value(engine, text, values=None):
    return engine.evaluate(parse_expression(text), values)


def test_the_lessons_shift_moves_by_whole_pixels_with_background():
    """The convention lesson texts use for dx, dy (right, down; uncovered pixels 0), in robustness' shift."""
    image = np.arange(1, 26, dtype=np.float32).reshape(5, 5)
    right_down = shift_image(image, 2, 1)
    assert np.array_equal(right_down[1:, 2:], image[:4, :3]) and not right_down[0].any() and not right_down[:, :2].any()
    left_up = shift_image(image, -1, -2)
    assert np.array_equal(left_up[:3, :4], image[2:, 1:]) and not left_up[3:].any() and not left_up[:, 4].any()
    assert not shift_image(image, 5, 0).any() and np.array_equal(shift_image(image, 0, 0), image)


def test_structure_functions_match_keras(view):
    from cnnviz.core.architectures import build_architecture

    engine = AnswerEngine(view)
    strided = build_architecture("strided")
    assert value(engine, "map-size(conv2d_1, variant=strided)") == strided.get_layer("conv2d_1").output.shape[1]
    assert value(engine, "total-params(variant=no-pooling)") == build_architecture("no-pooling").count_params()
    assert value(engine, "params(conv2d_3)") == 36_928 and value(engine, "units(flatten_1)") == 576
    assert value(engine, "positions(conv2d_2)") == 121 and value(engine, "channels(dense_1)") == 64
    assert [value(engine, f"receptive-field({n})") for n in
            ("conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3")] == [3, 4, 8, 10, 18]
    assert [value(engine, f"jump({n}, variant=strided)") for n in ("conv2d_1", "conv2d_2", "conv2d_3")] == [2, 4, 4]
    assert value(engine, "stride(max_pooling2d_1)") == 2 and value(engine, "stride(conv2d_2, variant=strided)") == 2
    assert value(engine, "window-values(conv2d_3)") == 3 * 3 * 64
    assert value(engine, "window-values(max_pooling2d_2)") == 4
    assert value(engine, "bias(conv2d_2, 5)") == pytest.approx(float(view.weights("conv2d_2")[1][5]))


@pytest.mark.parametrize("text,message", [
    ("map-size(dense_1)", "outputs a flat vector"), ("map-size(conv2d_9)", "has no layer 'conv2d_9'"),
    ("receptive-field(dense_1)", "see the whole input"), ("window-values(flatten_1)", "has no sliding window"),
    ("bias(max_pooling2d_1, 0)", "has no biases"), ("bias(conv2d_1, 40)", "channels 0 to 31"),
    ("ratio(1, 0)", "B is 0"), ("map-size(conv2d_1, variant=wide)", "unknown architecture"),
    ("table(seed, accuracy)", "no column 'accuracy'"), ("table(mine, test_accuracy)", "no row for 'mine'"),
])
def test_values_that_cannot_be_computed_say_why(view, text, message):
    with pytest.raises(EvaluationError, match=None) as raised:
        value(AnswerEngine(view, np.zeros((28, 28), np.float32)), text)
    assert message in str(raised.value)


def test_input_functions_match_an_independent_forward_pass(view, digit_seven):
    import keras

    model = view.forward.model
    engine = AnswerEngine(view, digit_seven)
    extractor = keras.Model(model.inputs[0], [model.get_layer("conv2d_1").output, model.get_layer("conv2d_3").output,
                                              model.get_layer("max_pooling2d_1").output])
    conv1, conv3, pool1 = (np.asarray(o)[0] for o in extractor(digit_seven[None, :, :, None]))
    peaks = conv1.max(axis=(0, 1))
    ranking = value(engine, "strongest-channel(conv2d_1)")
    assert ranking.best == int(np.argmax(peaks)) and list(ranking.scores) == sorted(ranking.scores, reverse=True)
    assert value(engine, "peak(conv2d_1, 4)") == pytest.approx(float(peaks[4]), abs=1e-4)
    assert value(engine, "silent-channels(conv2d_3)") == int((conv3.max(axis=(0, 1)) <= 0).sum())
    unit = value(engine, "strongest-unit(max_pooling2d_1)")
    assert pool1[unit.y, unit.x, unit.channel] == pytest.approx(pool1.max(), abs=1e-4)
    window = conv1[2 * unit.y:2 * unit.y + 2, 2 * unit.x:2 * unit.x + 2, unit.channel]
    assert value(engine, "unit-value(max_pooling2d_1, $u)", {"u": unit}) == pytest.approx(float(window.max()), abs=1e-4)
    mean = value(engine, "window-mean(max_pooling2d_1, $u)", {"u": unit})
    assert mean == pytest.approx(float(window.mean()), abs=1e-4)
    assert value(engine, "unit-value(conv2d_1, unit(2, 0, 0))") == pytest.approx(float(conv1[0, 0, 2]), abs=1e-5)
    rows = np.flatnonzero((digit_seven > 1 / 255).any(axis=1))
    assert value(engine, "ink-height()") == rows[-1] - rows[0] + 1
    for dx, dy in ((0, 0), (3, 0), (-4, 2)):
        moved = np.zeros_like(digit_seven)
        moved[max(dy, 0):28 + min(dy, 0), max(dx, 0):28 + min(dx, 0)] = \
            digit_seven[max(-dy, 0):28 + min(-dy, 0), max(-dx, 0):28 + min(-dx, 0)]
        probabilities = model.predict(moved[None, :, :, None], verbose=0)[0]
        assert value(engine, f"prediction(dx={dx}, dy={dy})") == int(np.argmax(probabilities))
        assert value(engine, f"confidence({dx}, {dy})") == pytest.approx(float(probabilities.max()) * 100, abs=1e-3)


def test_stable_shift_is_the_first_move_that_changes_the_prediction(view, mnist):
    image = mnist.x_test[18].astype(np.float32) / 255      # a 3 the model reads as 2 once moved 3 px right
    engine = AnswerEngine(view, image)
    before = value(engine, "prediction()")
    found = value(engine, "stable-shift()")
    assert all(value(engine, f"prediction(dx={s})") == before for s in range(-found, found + 1))
    if found < 6:    # one step further, in one direction or the other, the prediction changes
        assert {value(engine, f"prediction(dx={found + 1})"), value(engine, f"prediction(dx={-found - 1})")} != {before}
    found_y = value(engine, "stable-shift(axis=y)")
    assert all(value(engine, f"prediction(dy={s})") == before for s in range(-found_y, found_y + 1))


def test_no_drawing_no_run(view):
    engine = AnswerEngine(view)
    with pytest.raises(NeedsInput):
        value(engine, "prediction()")
    with pytest.raises(NeedsRun):
        value(engine, "run-gap()")
    named = [("a", parse_expression("prediction()")), ("b", parse_expression("run(test_accuracy)")),
             ("c", parse_expression("percent($b)")), ("d", parse_expression("map-size(conv2d_9)")),
             ("e", parse_expression("map-size(conv2d_1)"))]
    values = compute_values(named, engine)
    assert [values[k].reason if isinstance(values[k], Unavailable) else values[k] for k in "abcde"] == \
        ["input", "run", "run", "error", 26]


def test_run_functions_read_the_last_epoch(view):
    history = [EpochRecord(1, 0.9, 0.70, 0.8, 0.72, 1.0, 100.0), EpochRecord(2, 0.1, 0.98, 0.3, 0.93, 1.0, 100.0)]
    engine = AnswerEngine(view, run=history)
    assert value(engine, "run(test_accuracy)") == 0.93 and value(engine, "run-gap()") == pytest.approx(5.0)


def test_a_multi_seed_table_is_read_by_column_name(view, tmp_path):
    path = tmp_path / "comparison.csv"
    path.write_text("seed,architecture,test_accuracy,test_accuracy_sd,differs_from_seed,params\n"
                    "1,seed,0.990,0.001,no,93322\n2,seed,0.994,0.001,no,93322\n"
                    "1,no-pooling,0.985,0.002,yes,2038922\n", encoding="utf-8")
    engine = AnswerEngine(view, table_path=path)
    assert value(engine, "table(seed, test_accuracy)") == pytest.approx(0.992)
    assert value(engine, "table(no-pooling, test_accuracy_sd)") == pytest.approx(0.002)
    assert value(engine, "table(no-pooling, differs_from_seed)") == "yes"
    assert value(engine, "table(seed, params)") == 93322
    assert value(engine, "lowest(test_accuracy)") == "no-pooling" and value(engine, "highest(params)") == "no-pooling"
    assert ResultsTable.read(path).variants() == ("seed", "no-pooling")


def test_numbers_as_learners_type_them():
    from cnnviz.core.lessons.session import read_number

    assert [read_number(t) for t in ("1,000", "93,322", "1000", "2,5", " 26 ", "−3", "1,000.5")] == \
        [1000, 93322, 1000, 2.5, 26, -3, 1000.5]
    with pytest.raises(ValueError):
        read_number("1,2,3")


# --- the session ---------------------------------------------------------------------------------
def first_question(session):
    while session.question is None:
        assert session.next()
    return session.question


def test_the_session_state_machine(view, lessons, digit_seven):
    session = LessonSession(lessons["padding"], view)
    engine = AnswerEngine(view, digit_seven)
    assert session.fits and session.fit_message == "" and session.offer is None
    assert session.phase == "asking" and session.progress.steps_done == 0
    assert session.concealed == ("pipeline",)         # its labels show 26 while the question asks for it
    values = compute_values(session.needed_values(), engine)
    with pytest.raises(AnswerError, match="type a number"):
        session.commit("twenty", values)
    with pytest.raises(AnswerUnavailable, match="not computed yet"):
        session.commit(26, {})
    verdict = session.commit(" 26 ", values)
    assert verdict.right and session.phase == "revealed" and session.concealed == ()
    with pytest.raises(LessonStateError):
        session.commit(26, values)
    session.retry()
    assert not session.commit(30, values).right
    assert session.progress.right == 1               # the first answer counts
    saved = session.to_json()
    assert session.next() and session.back() and not session.back()
    again = LessonSession(lessons["padding"], view)
    again.restore(saved)
    assert again.to_json() == saved and again.phase == "revealed" and again.progress.right == 1
    again.restore({"lesson": "another", "step": 3})
    assert again.index == 0


def test_a_question_about_the_drawing_waits_for_one(view, lessons):
    session = LessonSession(lessons["pooling"], view)
    for _ in range(2):
        session.next()
    values = compute_values(session.needed_values(), AnswerEngine(view))     # nothing drawn
    assert "…" in session.ask_text(values)
    with pytest.raises(AnswerUnavailable, match="draw a digit"):
        session.commit(0.5, values)
    assert session.phase == "asking"


def test_choice_and_pick_answers_are_checked(view, lessons, digit_seven):
    engine = AnswerEngine(view, digit_seven)
    session = LessonSession(lessons["alternation"], view)
    session.next()
    values = compute_values(session.needed_values(), engine)
    with pytest.raises(AnswerError, match="choose one of"):
        session.commit("max-pooling", values)
    verdict = session.commit("no-pooling", values)
    assert verdict.right and verdict.given_text.startswith("no-pooling: three convolutions")
    feature = LessonSession(lessons["feature-maps"], view)
    feature.next(), feature.next()
    assert feature.question.kind == "pick-channel"
    values = compute_values(feature.needed_values(), engine)
    with pytest.raises(AnswerError, match="0 to 31"):
        feature.commit(32, values)
    ranking = values["answer"]
    assert feature.commit(ranking.order[2], values).right     # accept-top: 3


def test_learner_events_complete_only_their_task(view, lessons):
    session = LessonSession(lessons["spatial-hierarchy"], view)
    while session.learner_task is None:
        session.next()
    task = session.learner_task
    assert (task.name, task.kind, task.params) == ("hover-unit", "learner", {"layer": "conv2d_2"})
    assert [(a.name, a.params) for a in session.entry_actions()] == [("select-layer", {"layer": "conv2d_2"})]
    assert not session.learner_event("hovered-unit", layer="conv2d_1") and not session.learner_done
    assert not session.learner_event("drew")
    assert session.learner_event("hovered-unit", layer="conv2d_2") and session.learner_done


def test_a_lesson_on_a_model_it_does_not_fit(lessons):
    from cnnviz.core.model import open_model
    from cnnviz.core.paths import resources_dir

    model, info = open_model(resources_dir() / "fashion_mnist_convnet.keras")   # its class names from the file
    fashion = ModelView.from_keras(model, info=info)
    session = LessonSession(lessons["feature-maps"], fashion)
    assert not session.fits and session.offer.name == "open-shipped-model"
    assert "needs a digit model" in session.fit_message and "T-shirt/top" in session.fit_message


def test_a_lesson_on_a_network_without_its_layers():
    """A model known only by its layers (as the GUI holds it): the lab's no-pooling network has no
    max_pooling2d_1, so the pooling lesson does not fit it, and says so."""
    from cnnviz.core.architectures import architecture_specs

    lessons = {lesson.id: lesson for lesson in read_pack(shipped_lessons_dir()).lessons}
    no_pooling = ModelView(architecture_specs("no-pooling"), (28, 28, 1), DIGITS, True, name="mnist_convnet_no_pooling")
    session = LessonSession(lessons["pooling"], no_pooling)
    assert not session.fits
    assert "it needs a layer max_pooling2d_1, and mnist_convnet_no_pooling has none" in session.fit_message
    seed = ModelView(architecture_specs("seed"), (28, 28, 1), DIGITS, True, name="seed")
    assert LessonSession(lessons["pooling"], seed).fits
