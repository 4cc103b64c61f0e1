"""The lesson format without a model: the call language, the file's structure and its line numbers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnnviz.core.lessons.binding import ArgumentError, bind
from cnnviz.core.lessons.document import parse_lesson
from cnnviz.core.lessons.expressions import (Argument, Call, ExpressionError, Number, Reference, Word, parse_call,
                                             parse_expression)
from cnnviz.core.lessons.functions import FUNCTIONS, Ranking, format_number, format_value, option_text
from cnnviz.core.lessons.parts import placeholders
from cnnviz.core.lessons.validate import check_format


def test_calls_names_numbers_and_references():
    assert parse_expression("map-size(conv2d_1, variant=same-padding)") == Call(
        "map-size", (Argument(None, Word("conv2d_1")), Argument("variant", Word("same-padding"))))
    assert parse_expression("percent(table(seed, test_accuracy))").arguments[0].value.name == "table"
    assert parse_expression("-2") == Number(-2) and parse_expression("0.5") == Number(0.5)
    assert parse_expression("$answer") == Reference("answer")
    assert parse_expression("  max_pooling2d_1  ") == Word("max_pooling2d_1")
    assert parse_call("open-shipped-model", bare_name_is_call=True) == Call("open-shipped-model")
    assert parse_expression("unit(0, 0, 0)").references() == set()
    assert parse_expression("f(g($a), $b)").references() == {"a", "b"}


@pytest.mark.parametrize("text,message", [
    ("map-size(conv2d_1", "expected ')'"), ("map-size(conv2d_1))", "unexpected ')'"), ("", "missing"),
    ("a(b,)", "unexpected ')'"), ("3x3", "unexpected '3'"), ("a b", "unexpected 'b'"), ("f(x) + 1", "unexpected '+'"),
    ("f(" * 7 + ")" * 7, "nested more than 6 deep"), ("f(" + ", ".join("1" * 1 for _ in range(13)) + ")", "13"),
    ("x" * 401, "at most 400"), ("f(=3)", "unexpected '='"), ("$", "unexpected '$'"),
])
def test_malformed_expressions(text, message):
    with pytest.raises(ExpressionError, match=None) as raised:
        parse_expression(text)
    assert message in str(raised.value) or (message == "13" and "more than 12 arguments" in str(raised.value))


def test_binding_arguments_to_parameters():
    params = FUNCTIONS["map-size"].params
    bound = bind(params, parse_call("map-size(conv2d_1, variant=strided)"), "map-size")
    assert bound == {"layer": Word("conv2d_1"), "variant": Word("strided")}
    assert bind(params, parse_call("map-size(conv2d_1)"), "map-size")["variant"] is None
    shifted = bind(FUNCTIONS["prediction"].params, parse_call("prediction(dy=2)"), "prediction")
    assert shifted == {"dx": Number(0), "dy": Number(2)}
    variadic = bind(FUNCTIONS["highest"].params, parse_call("highest(test_accuracy, seed, strided)"), "highest")
    assert variadic["variants"] == [Word("seed"), Word("strided")]
    for text, message in [("map-size()", "needs layer"), ("map-size(a, b, c)", "takes 1 to 2 arguments, not 3"),
                          ("map-size(a, size=3)", "has no argument 'size'"), ("map-size(a, layer=b)", "given twice"),
                          ("map-size(layer=a, b)", "positional arguments before")]:
        with pytest.raises(ArgumentError, match=message):
            bind(params, parse_call(text), "map-size")


LESSON = """---
# a comment
id: demo
title: Demo
concepts: padding, strides
minutes: 4
fits: digit-model()
---

# Demo

## First step

Text with `code` and a block:

```python
## not a step
x = {"a": 1}
```

```action
select-layer(conv2d_1)
draw-digit
```

## Second step

```question
kind: choice
ask: Which
  one?
option more: more parameters
option less:
options: same
let a: total-params()
answer: compare($a, total-params(variant=strided))
reveal: show-lab-results()
highlight: lab-results
right: Yes {answer}.
wrong more: Not more.
wrong: No, {answer}, not {given}.
```
"""


def test_a_lesson_parses_with_its_parts():
    lesson, problems = parse_lesson(LESSON, "demo.md")
    assert problems == []
    assert (lesson.id, lesson.title, lesson.concepts, lesson.minutes) == ("demo", "Demo", ("padding", "strides"), 4)
    assert [located.call.name for located in lesson.fits] == ["digit-model"]
    first, second = lesson.steps
    assert (first.title, first.line, second.line) == ("First step", 12, 26)
    assert "## not a step" in first.text and "select-layer" not in first.text      # code kept, actions taken out
    assert [(a.call.name, a.line) for a in first.actions] == [("select-layer", 22), ("draw-digit", 23)]
    question = second.question
    assert question.ask == "Which one?" and question.line == 28
    assert [(o.value, o.label) for o in question.options] == [("more", "more parameters"), ("less", "less"),
                                                             ("same", "same")]
    assert question.lets[0][0] == "a" and question.lets[0][1].line == 35
    assert question.wrong_for == (("more", "Not more.", 40),) and question.wrong == "No, {answer}, not {given}."
    assert question.lines["answer"] == 36 and question.highlight == "lab-results"
    assert lesson.num_questions == 1
    assert check_format(lesson) == []


@pytest.mark.parametrize("change,line,message", [
    (("minutes: 4", "minutes: 0"), 6, "from 1 to 60"),
    (("id: demo", "id: Demo Lesson"), 3, "lower-case"),
    (("concepts: padding, strides", "concepts: Padding"), 5, "comma-separated"),
    (("title: Demo", "title: Demo\ntitle: Again"), 5, "given twice"),
    (("## Second step", "## "), 26, "heading is empty"),
    (("kind: choice", "kind: choice\nkind: number"), 30, "given twice"),
    (("let a: total-params()", "let answer: total-params()"), 35, "not answer or given"),
    (("let a: total-params()", "let: total-params()"), 35, "needs a name"),
    (("option less:", "option more:"), 33, "listed twice"),
    (("kind: choice", "  kind: choice"), 29, "no 'key: value' line is above"),
    (("highlight: lab-results", "highlight lab-results"), 38, "expected 'key: value'"),
    (("wrong: No, {answer}, not {given}.", "wrong: No.\ntolerance: 2"), 42, "'tolerance' belongs to number"),
    (("# Demo", "Some words before the steps."), 10, "text before the first step"),
])
def test_format_problems_by_line(change, line, message):
    old, new = change
    assert old in LESSON
    lesson, problems = parse_lesson(LESSON.replace(old, new, 1), "demo.md")
    assert lesson is None
    assert any(p.line == line and message in p.message for p in problems), problems


@pytest.mark.parametrize("change,line,message", [
    (("select-layer(conv2d_1)", "select-layer(conv2d_1)\nload-test-digit(-1)"), 23, "index must be from 0 to 9999"),
    (("select-layer(conv2d_1)", "shift-digit(11)"), 22, "dx must be from -10 to 10"),
    (("select-layer(conv2d_1)", "select-layer(3)"), 22, "is a name (a layer)"),
    (("select-layer(conv2d_1)", "pin-unit(conv2d_1, 3)"), 22, "must be unit"),
    (("select-layer(conv2d_1)", "scale-maps(global)"), 22, "one of layer, channel"),
    (("select-layer(conv2d_1)", "enlarge-channel(conv2d_1, strongest-channel(conv2d_1))"), 22, "needs the model"),
    (("reveal: show-lab-results()", "reveal: draw-digit()"), 37, "app actions, not learner ones"),
    (("answer: compare($a, total-params(variant=strided))", "answer: compare($b, 1)"), 36, "$b is not defined"),
    (("let a: total-params()", "let a: total-params(variant=$answer)"), 35, "$answer is not defined"),
    (("fits: digit-model()", "fits: layer(conv2d_1, $x)"), 7, "plain values"),
    (("fits: digit-model()", "fits: window(conv2d_1, 0)"), 7, "size must be from 1 to 64"),
    (("ask: Which", "ask: Which {answer}"), 30, "unknown placeholder {answer}"),
    (("wrong more: Not more.", "wrong most: Not more."), 40, "'most' is not one of the options"),
    (("kind: choice", "kind: pick-channel\nlayer: conv2d_1"), 33, "options belong to choice questions"),
    (("highlight: lab-results", "conceal: lab-results, lab-table"), 38, "unknown target 'lab-table' to conceal"),
])
def test_name_and_argument_problems_by_line(change, line, message):
    old, new = change
    lesson, problems = parse_lesson(LESSON.replace(old, new, 1), "demo.md")
    problems = problems or check_format(lesson)
    assert any(p.line == line and message in p.message for p in problems), problems


def test_placeholders_and_literal_braces():
    assert placeholders("{a} and {{b}} and {c}") == ["a", "c"]


def test_values_as_learners_read_them():
    assert format_number(93322) == "93,322" and format_number(99.28000000001) == "99.28"
    assert format_number(4.1) == "4.1" and format_number(0.004) == "0" and format_number(26.0) == "26"
    assert format_value(Ranking((31, 1), (0.5, 0.4))) == "31" and format_value((3, 4)) == "row 3, column 4"
    assert option_text(7) == "7" and option_text(3.0) == "3" and option_text("no-pooling") == "no-pooling"


def test_the_lesson_modules_import_neither_tensorflow_nor_qt():
    modules = ["actions", "binding", "document", "engine", "expressions", "fit", "functions", "pack", "parts",
               "question_block", "session",
               "validate", "vocabulary"]
    code = ("import sys; " + "; ".join(f"import cnnviz.core.lessons.{m}" for m in modules)
            + "; import cnnviz.commands.lessons; print(' '.join(sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = {name.split(".")[0] for name in done.stdout.split()}
    assert not loaded & {"tensorflow", "keras", "PySide6", "pyqtgraph"}


@pytest.mark.parametrize("condition,arguments,on_seed,on_strided", [
    ("digit-model", (), None, None),
    ("layer", ("max_pooling2d_1", "pooling"), None, "it needs a layer max_pooling2d_1, and strided has none"),
    ("layer", ("conv2d_1", "Dense"), "it needs conv2d_1 to be a Dense layer, not Conv2D", "same"),
    ("followed-by", ("conv2d_1", "max_pooling2d_1"), None, "it needs a layer max_pooling2d_1, and strided has none"),
    ("followed-by", ("conv2d_1", "conv2d_2"), "it needs conv2d_2 to come right after conv2d_1", None),
    ("window", ("conv2d_2", 3), None, None),
    ("window", ("max_pooling2d_2", 3), "it needs max_pooling2d_2's window to be 3×3, not 2×2", "has none"),
    ("strides", ("conv2d_1", 2), "it needs conv2d_1 to move 2 at a time, not 1", None),
    ("strides", ("dense_1", 1), "it needs dense_1 to be a convolution or a pooling layer, not Dense", "same"),
    ("padding", ("conv2d_3", "valid"), None, None),
    ("conv-then-pool", ("conv2d_2", "max_pooling2d_2"), None, "has none"),
    ("architecture", ("seed",), None, "it needs the seed network, and strided is strided"),
])
def test_fit_conditions_on_two_networks(condition, arguments, on_seed, on_strided):
    """Each condition on the seed's and the strided variant's layers, as the GUI holds them (no TensorFlow)."""
    from cnnviz.core.architectures import architecture_specs
    from cnnviz.core.lessons.engine import ModelView
    from cnnviz.core.lessons.fit import CONDITIONS

    check = CONDITIONS[condition].check
    for name, expected in (("seed", on_seed), ("strided", on_strided)):
        network = ModelView(architecture_specs(name), (28, 28, 1), tuple("0123456789"), True, name=name)
        found = check(network, *arguments)
        expected = on_seed if expected == "same" else expected
        assert (found is None) if expected is None else (found is not None and expected in found), (name, found)


def test_a_colour_model_is_not_a_digit_model():
    from cnnviz.core.lessons.engine import ModelView
    from cnnviz.core.lessons.fit import CONDITIONS

    cifar = ModelView((), (32, 32, 3), ("airplane", "automobile", "bird"), False, name="cifar")
    assert CONDITIONS["digit-model"].check(cifar) == ("it needs a digit model (28×28 grey input, classes 0–9); cifar "
                                                      "takes 32×32 RGB images into 3 classes (airplane, automobile, "
                                                      "bird, …)")
