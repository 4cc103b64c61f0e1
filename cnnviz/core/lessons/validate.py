"""Checking a parsed lesson: its names and arguments (`check_format`), then against a model
(`check_against`: the layers, variants and table columns it names exist, its `fits` conditions hold,
and every answer can be computed, on a sample drawing when the model can run).

Both return `Problem`s with the line of each; nothing in a lesson is ever executed.
"""

from __future__ import annotations

import re
from pathlib import Path

from cnnviz.core.lessons.actions import resolve_action
from cnnviz.core.lessons.binding import bind, signature
from cnnviz.core.lessons.engine import AnswerEngine, Unavailable, compute_values
from cnnviz.core.lessons.expressions import Call, Number, Reference, Word
from cnnviz.core.lessons.fit import CONDITIONS, unmet_conditions
from cnnviz.core.lessons.functions import COMPARE_VALUES, FUNCTIONS, EvaluationError, option_text
from cnnviz.core.lessons.parts import Lesson, Problem, Question, placeholders
from cnnviz.core.lessons.vocabulary import ACTIONS, HIGHLIGHT_TARGETS, TEST_DIGITS, WORD_CHOICES

NUMERIC = {"int", "number", "ranking", "class"}
ACCEPTED = {"channel": {"int", "ranking"}, "int": {"int", "ranking", "class"}, "test-digit": {"int", "class"},
            "number": NUMERIC, "unit": {"unit"}, "variant": {"variant"}}
ANSWER_KINDS = {"number": NUMERIC, "pick-channel": {"int", "ranking"}, "pick-pixel": {"unit"}}
ANSWER_WORDS = {"number": "a number", "pick-channel": "a channel (e.g. strongest-channel(...))",
                "pick-pixel": "a unit (e.g. strongest-unit(...))"}
TYPE_WORDS = {"int": "a whole number", "number": "a number", "class": "a class", "ranking": "a ranking of channels",
              "unit": "a unit", "variant": "a variant name", "text": "text", "word": "a name"}


def check_format(lesson: Lesson) -> list[Problem]:
    """Problems with the lesson's names and arguments that need no model."""
    return _Checker(lesson).format()


def check_against(lesson: Lesson, engine: AnswerEngine, sample=None) -> list[Problem]:
    """Problems of the lesson on `engine`'s model: its `fits` conditions, the layers, variants, channels
    and table columns it names, and (with a model that runs) every answer computed on `sample`, a
    model input, in place of the learner's drawing. Check the format first."""
    checker = _Checker(lesson)
    checker.format()
    if checker.problems:
        return checker.problems
    return checker.against(engine, sample)


class _Checker:
    def __init__(self, lesson: Lesson):
        self.lesson = lesson
        self.problems: list[Problem] = []
        self.words: list[tuple[str, str, str | None, int]] = []   # (type, word, variant, line) to check on a model

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.lesson.path, line, message))

    # --- without a model -------------------------------------------------------------------------
    def format(self) -> list[Problem]:
        for located in self.lesson.fits:
            call = located.call
            if call.name not in CONDITIONS:
                self.problem(located.line, f"unknown fits condition {call.name}() (known: {', '.join(CONDITIONS)})")
                continue
            self.call_arguments(call, CONDITIONS[call.name].params, {}, located.line, "condition")
        for step in self.lesson.steps:
            prose = re.sub(r"(?ms)^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", "", step.text)  # code aside
            for name in placeholders(re.sub(r"`[^`]*`", "", prose)):
                if re.fullmatch(r"[A-Za-z][\w-]*", name):
                    self.problem(step.line, f"{{{name}}} in the text of step {step.title!r}: placeholders work only "
                                            "in a question's ask, right and wrong (put literal braces in `code`)")
            learner = []
            for located in step.actions:
                if self.action(located, {}) == "learner":
                    learner.append(located.line)
            if len(learner) > 1:
                self.problem(learner[1], "a step asks the learner for one thing at a time (one learner action)")
            if step.question is not None:
                self.question(step.question)
        return self.problems

    def action(self, located, types: dict) -> str | None:
        call = located.call
        spec = ACTIONS.get(call.name)
        if spec is None:
            self.problem(located.line, f"unknown action {call.name}() (known: {', '.join(ACTIONS)})")
            return None
        self.call_arguments(call, spec.params, types, located.line, "action")
        return spec.kind

    def question(self, question: Question) -> None:
        types: dict[str, str | None] = {}
        for name, located in question.lets:
            types[name] = self.expression(located.expression, types, located.line)
        answer_type = self.expression(question.answer.expression, types, question.answer.line)
        answer_line = question.answer.line
        wanted = ANSWER_KINDS.get(question.kind)
        if wanted and answer_type and answer_type not in wanted:
            self.problem(answer_line, f"a {question.kind} question needs {ANSWER_WORDS[question.kind]} for its "
                                      f"answer, and this one gives {TYPE_WORDS.get(answer_type, answer_type)}")
        if question.accept_top > 1 and answer_type and answer_type != "ranking":
            self.problem(question.lines["accept-top"], "accept-top needs a ranked answer such as strongest-channel()")
        if question.kind in ("pick-channel", "pick-pixel"):
            self.words.append(("layer", question.layer, None, question.lines["layer"]))
        self.texts(question, set(types))
        for value, _, line in question.wrong_for:
            self.wrong_value(question, value, line)
        for target in question.conceal:
            if target not in HIGHLIGHT_TARGETS:
                self.problem(question.lines["conceal"], f"unknown target {target!r} to conceal (known: "
                                                        f"{', '.join(HIGHLIGHT_TARGETS)})")
        if question.highlight is not None and question.highlight not in HIGHLIGHT_TARGETS:
            self.problem(question.lines["highlight"], f"unknown highlight target {question.highlight!r} (known: "
                                                      f"{', '.join(HIGHLIGHT_TARGETS)})")
        reveal_types = {**types, "answer": answer_type}
        for located in question.reveal:
            if self.action(located, reveal_types) == "learner":
                self.problem(located.line, "a reveal shows the answer: it performs app actions, not learner ones")

    def texts(self, question: Question, lets: set[str]) -> None:
        fields = [("ask", question.ask, question.lines["ask"], lets),
                  ("right", question.right, question.lines["right"], lets | {"answer", "given"}),
                  ("wrong", question.wrong, question.lines["wrong"], lets | {"answer", "given"})]
        fields += [("wrong", text, line, lets | {"answer", "given"}) for _, text, line in question.wrong_for]
        for key, text, line, known in fields:
            for name in placeholders(text):
                if name not in known:
                    shown = ", ".join(f"{{{n}}}" for n in sorted(known)) or "none: define values with 'let'"
                    self.problem(line, f"{key}: unknown placeholder {{{name}}} (known here: {shown})")

    def wrong_value(self, question: Question, value: str, line: int) -> None:
        if question.kind == "choice":
            if value not in [option.value for option in question.options]:
                self.problem(line, f"'wrong {value}': {value!r} is not one of the options")
        elif question.kind == "pick-pixel":
            self.problem(line, "a pick-pixel question has no 'wrong VALUE' lines (a pixel is two numbers)")
        else:
            try:
                float(value)
            except ValueError:
                self.problem(line, f"'wrong {value}': a {question.kind} answer is a number, not {value!r}")

    def expression(self, expression, types: dict, line: int) -> str | None:
        """The type of an expression (None when unknown because of a problem already reported)."""
        if isinstance(expression, Number):
            return "int" if isinstance(expression.value, int) else "number"
        if isinstance(expression, Word):
            return "word"
        if isinstance(expression, Reference):
            if expression.name not in types:
                known = ", ".join(f"${name}" for name in types) or "none"
                self.problem(line, f"${expression.name} is not defined (defined above: {known})")
                return None
            return types[expression.name]
        spec = FUNCTIONS.get(expression.name)
        if spec is None:
            self.problem(line, f"unknown function {expression.name}() (known: {', '.join(FUNCTIONS)})")
            return None
        self.call_arguments(expression, spec.params, types, line, "function")
        return spec.returns

    def call_arguments(self, call: Call, params, types: dict, line: int, what: str) -> None:
        try:
            bound = bind(params, call, call.name)
        except EvaluationError as exc:
            self.problem(line, str(exc))
            return
        variant = bound.get("variant")
        variant = variant.text if isinstance(variant, Word) else None
        for param in params:
            values = bound[param.name] if param.variadic else [bound[param.name]]
            for value in values:
                if value is not None:
                    self.argument(call.name, param, value, types, line, variant, what)

    def argument(self, name: str, param, value, types: dict, line: int, variant, what: str) -> None:
        where = f"{name}(): {param.name}"
        if isinstance(value, Call) and what == "condition":
            self.problem(line, f"{where}: fits conditions take plain values, not {value.name}()")
            return
        if isinstance(value, Call) and what == "action" and any(
                FUNCTIONS.get(call.name) and FUNCTIONS[call.name].needs != "none" for call in value.calls()):
            self.problem(line, f"{where}: {value.name}() needs the model; compute it with 'let' in the question "
                               "and pass the $name")
            return
        if isinstance(value, Reference) and what == "condition":
            self.problem(line, f"{where}: fits conditions take plain values, not ${value.name}")
            return
        kind = self.expression(value, types, line)
        if kind is None or param.type == "text":
            return
        if param.type in ("layer", "layer-name", "column", "kind", "variant", *WORD_CHOICES):
            if param.type == "variant" and kind == "variant":
                return
            if kind != "word":
                self.problem(line, f"{where} is a name (a {param.type}), not {value}")
                return
            self.word(param.type, value.text, variant, line, where)
            return
        if kind == "word":
            wanted = "a unit" if param.type == "unit" else "a number"
            self.problem(line, f"{where} must be {wanted}, not {value.text!r}")
            return
        if kind not in ACCEPTED[param.type]:
            self.problem(line, f"{where} must be {param.type}, and {value} is {kind}")
            return
        if isinstance(value, Number):
            self.number(where, param, value.value, line)

    def word(self, kind: str, word: str, variant: str | None, line: int, where: str) -> None:
        if kind == "variant":
            from cnnviz.core.architectures import ARCHITECTURES

            if word not in ARCHITECTURES:
                self.problem(line, f"{where}: unknown variant {word!r} (the lab's: {', '.join(ARCHITECTURES)})")
        elif kind in WORD_CHOICES and word not in WORD_CHOICES[kind]:
            self.problem(line, f"{where} is one of {', '.join(WORD_CHOICES[kind])}, not {word!r}")
        elif kind in ("layer", "column"):
            self.words.append((kind, word, variant, line))

    def number(self, where: str, param, value, line: int) -> None:
        if param.type in ("channel", "int", "test-digit") and not isinstance(value, int):
            self.problem(line, f"{where} must be a whole number, not {value}")
            return
        low = 0 if param.type in ("channel", "test-digit") else param.low
        high = TEST_DIGITS - 1 if param.type == "test-digit" else param.high
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            self.problem(line, f"{where} must be {bounds}, not {value}")

    # --- on a model ------------------------------------------------------------------------------
    def against(self, engine: AnswerEngine, sample) -> list[Problem]:
        for line, reason in unmet_conditions(self.lesson, engine.model):
            self.problem(line, f"the lesson does not fit {engine.model.name}: {reason}")
        for kind, word, variant, line in self.words:
            try:
                if kind == "layer":
                    engine.spec(word, variant)
                else:
                    engine.table().check_column(word)
            except EvaluationError as exc:
                self.problem(line, str(exc))
        if self.problems:
            return self.problems
        probe = AnswerEngine(engine.model, sample if engine.model.forward is not None else None,
                             table_path=engine.table_path)
        for step in self.lesson.steps:
            for located in step.actions:
                self.resolved(located, {}, engine)
            if step.question is not None:
                self.computed(step.question, probe, engine)
        return self.problems

    def resolved(self, located, values: dict, engine: AnswerEngine) -> None:
        try:
            call = resolve_action(located.call, values, engine.model.specs)
        except EvaluationError as exc:
            self.problem(located.line, str(exc))
            return
        if call.name == "open-variant":
            from cnnviz.core.paths import resources_dir

            if not (resources_dir() / "architectures" / f"{call.params['variant']}.keras").is_file():
                self.problem(located.line, f"open-variant(): the lab ships no trained {call.params['variant']} model")

    def computed(self, question: Question, probe: AnswerEngine, engine: AnswerEngine) -> None:
        named = [(name, located.expression) for name, located in question.lets]
        named.append(("answer", question.answer.expression))
        lines = {name: located.line for name, located in question.lets} | {"answer": question.answer.line}
        values = compute_values(named, probe)
        for name, value in values.items():
            if isinstance(value, Unavailable) and value.reason == "error":
                self.problem(lines[name], f"cannot compute {'the answer' if name == 'answer' else name}: "
                                          f"{value.message}")
            elif isinstance(value, Unavailable) and value.reason == "input" and probe.image is not None:
                self.problem(lines[name], value.message)
        answer = values["answer"]
        if question.kind == "pick-channel":
            spec = engine.spec(question.layer)
            if len(spec.output_shape) != 3:
                self.problem(question.lines["layer"], f"{question.layer} has no channels to pick (it is flat)")
        if question.kind == "choice":
            self.choices(question, answer, probe)
        if question.kind == "number" and not isinstance(answer, Unavailable) and isinstance(answer, str):
            self.problem(question.answer.line, f"a number question's answer is a number, and this one is {answer!r}")
        for located in question.reveal:
            if not any(isinstance(values.get(name), Unavailable) for name in located.call.references()):
                self.resolved(located, values, engine)

    def choices(self, question: Question, answer, probe: AnswerEngine) -> None:
        options = [option.value for option in question.options]
        possible = self.possible_values(question.answer.expression, probe)
        if possible is None:
            possible = [] if isinstance(answer, Unavailable) else [option_text(answer)]
        missing = [value for value in possible if value not in options]
        if missing:
            self.problem(question.answer.line, f"the answer can be {', '.join(missing)}, which "
                                               f"{'is' if len(missing) == 1 else 'are'} not among the options "
                                               f"({', '.join(options)})")

    @staticmethod
    def possible_values(expression, probe: AnswerEngine) -> list[str] | None:
        """Every value a choice answer can take, when its function says (else None: use the computed one)."""
        if not isinstance(expression, Call):
            return None
        if expression.name == "prediction":
            return [str(i) for i in range(len(probe.model.class_names))]
        if expression.name == "compare":   # fixed by the model and the table, unless it is about the drawing or a run
            needs = {FUNCTIONS[call.name].needs for call in expression.calls() if call.name in FUNCTIONS}
            return list(COMPARE_VALUES) if needs & {"input", "run"} or expression.references() else None
        if expression.name in ("highest", "lowest"):
            listed = bind(FUNCTIONS[expression.name].params, expression, expression.name)["variants"]
            if listed:
                return [item.text for item in listed if isinstance(item, Word)]
            try:
                return list(probe.table().variants())
            except EvaluationError:
                return None
        return None


def signature_of(name: str) -> str:
    """How an action, a function or a condition is written, for messages and the docs."""
    for registry in (ACTIONS, FUNCTIONS, CONDITIONS):
        if name in registry:
            return signature(name, registry[name].params)
    raise KeyError(name)


def sample_drawing() -> "object":
    """A 28×28 model input of a drawn 7 (two strokes through MNIST's recipe), for checks that need a drawing."""
    import numpy as np

    from cnnviz.core.preprocess import CANVAS_SIZE, model_input

    canvas = np.zeros((CANVAS_SIZE, CANVAS_SIZE), np.float32)
    rows, cols = np.mgrid[0:CANVAS_SIZE, 0:CANVAS_SIZE]
    for (y0, x0), (y1, x1) in (((70, 80), (70, 200)), ((70, 200), (220, 120))):
        length = max(abs(y1 - y0), abs(x1 - x0))
        for t in np.linspace(0.0, 1.0, length + 1):
            y, x = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
            canvas[(rows - y) ** 2 + (cols - x) ** 2 <= 11 ** 2] = 1.0
    return model_input(canvas)


def shipped_lessons_dir() -> Path:
    from cnnviz.core.paths import resources_dir

    return resources_dir() / "lessons"
