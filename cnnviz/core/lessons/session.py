"""Playing one lesson: the state machine the lesson panel displays and drives (Qt-free).

    session = LessonSession(lesson, model_view)       # model_view: the loaded model (engine.ModelView)
    session.fits, session.fit_message                  # does the lesson fit it? (else offer open-shipped-model)
    for action in session.entry_actions(): perform(action)       # the step opens
    session.learner_task                               # e.g. draw-digit: wait, or let the learner skip
    session.learner_event("drew")                      # the GUI reports what the learner did
    values = compute_values(session.needed_values(), engine)     # here, or by the compute process
    session.ask_text(values)                           # the question, before any answer is visible
    verdict = session.commit(given, values)            # right/wrong, explanation, reveal actions, highlight
    # "pending" when the answer comes from a training run the reveal starts; when it has ended:
    verdict = session.complete(compute_values(session.needed_values(), engine_with_run))
    session.next(); session.progress                   # steps done, answers right (first tries)

A wrong answer is a normal path: the verdict explains, the reveal still happens, `next()` goes on;
`retry()` asks again (progress keeps the first try).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from cnnviz.core.lessons.actions import ActionCall, resolve_action
from cnnviz.core.lessons.engine import AnswerEngine, ModelView, Unavailable
from cnnviz.core.lessons.functions import EvaluationError, Ranking, Unit, format_value, option_text, rounded_answer
from cnnviz.core.lessons.parts import PLACEHOLDER, Lesson, Question

SHIPPED_MODEL_OFFER = ActionCall("open-shipped-model", "app", {})


class AnswerError(ValueError):
    """The learner's answer is not of the kind asked (not a number, not an option, ...)."""


class AnswerUnavailable(ValueError):
    """The answer cannot be computed now (e.g. nothing is drawn yet); the message says what to do."""


class LessonStateError(RuntimeError):
    """A call that does not fit the session's state (commit while nothing is asked, ...)."""


@dataclass(frozen=True)
class Verdict:
    status: str                          # "right", "wrong" or "pending" (waits for a training run)
    given: object
    given_text: str
    answer: object = None
    answer_text: str = ""
    explanation: str = ""
    actions: tuple[ActionCall, ...] = ()  # the reveal's actions, to perform now
    highlight: str | None = None         # the part of the window to highlight (vocabulary.HIGHLIGHT_TARGETS)

    @property
    def right(self) -> bool:
        return self.status == "right"


@dataclass(frozen=True)
class Progress:
    step: int                            # the current step, 0-based
    steps: int
    steps_done: int
    questions: int
    answered: int
    right: int                           # questions answered right at the first try

    @property
    def finished(self) -> bool:
        return self.steps_done == self.steps


class LessonSession:
    def __init__(self, lesson: Lesson, model: ModelView):
        self.lesson = lesson
        self.set_model(model)
        self.index = 0
        self._done: set[int] = set()
        self._learner_done: set[int] = set()
        self._answers: dict[int, dict] = {}          # step → {"given", "status", "first"}
        self._pending: dict[int, tuple[object, set[int]]] = {}   # step → (given, reveal actions already sent)
        self._revealed: set[int] = set()

    def set_model(self, model: ModelView) -> None:
        """Another model became current (opened, or made by a training run): check the fit again."""
        from cnnviz.core.lessons.validate import check_against

        self.model = model
        self.fit_problems = [problem.message for problem in check_against(self.lesson, AnswerEngine(model))]

    # --- fit -------------------------------------------------------------------------------------
    @property
    def fits(self) -> bool:
        return not self.fit_problems

    @property
    def fit_message(self) -> str:
        """One paragraph saying why the lesson does not fit the model ("" when it does)."""
        if self.fits:
            return ""
        reasons = "; ".join(dict.fromkeys(self.fit_problems))
        return (f"“{self.lesson.title}” does not fit {self.model.name}: {reasons}. Open the shipped MNIST model "
                f"to follow it.")

    @property
    def offer(self) -> ActionCall | None:
        """What to offer when the lesson does not fit: open the shipped MNIST model."""
        return None if self.fits else SHIPPED_MODEL_OFFER

    # --- steps -----------------------------------------------------------------------------------
    @property
    def step(self):
        return self.lesson.steps[self.index]

    @property
    def question(self) -> Question | None:
        return self.step.question

    @property
    def phase(self) -> str:
        """"reading" (no question), "asking", "pending" (waits for a run) or "revealed"."""
        if self.question is None:
            return "reading"
        if self.index in self._pending:
            return "pending"
        return "revealed" if self.index in self._revealed else "asking"

    @property
    def concealed(self) -> tuple[str, ...]:
        """The parts of the window to hide while the question is asked (or pending): they would show the
        answer. Empty once it is revealed."""
        if self.phase not in ("asking", "pending"):
            return ()
        return self.question.conceal

    def entry_actions(self) -> tuple[ActionCall, ...]:
        """The app actions to perform as the step opens."""
        return tuple(call for call in self._resolved(self.step.actions, {}) if call.kind == "app")

    @property
    def learner_task(self) -> ActionCall | None:
        """What the step asks the learner to do (draw, hover, click, move), or None."""
        return next((call for call in self._resolved(self.step.actions, {}) if call.kind == "learner"), None)

    @property
    def learner_done(self) -> bool:
        return self.index in self._learner_done

    def learner_event(self, event: str, layer: str | None = None, **details) -> bool:
        """The GUI reports what the learner did (vocabulary.LEARNER_EVENTS); True when it completes the
        step's learner task."""
        task = self.learner_task
        if task is None or task.event != event or ("layer" in task.params and task.params["layer"] != layer):
            return False
        self._learner_done.add(self.index)
        return True

    def next(self) -> bool:
        """Go to the next step (always allowed: a question left unanswered leaves its step not done)."""
        if self.question is None or self.index in self._answers:
            self._done.add(self.index)
        if self.index + 1 >= len(self.lesson.steps):
            return False
        self.index += 1
        return True

    def back(self) -> bool:
        if self.index == 0:
            return False
        self.index -= 1
        return True

    # --- the question ----------------------------------------------------------------------------
    def needed_values(self) -> list[tuple[str, object]]:
        """(name, expression) of the question's lets and answer, in order, to compute on the current input."""
        question = self._asked()
        named = [(name, located.expression) for name, located in question.lets]
        return named + [("answer", question.answer.expression)]

    def ask_text(self, values: dict) -> str:
        return _fill(self._asked().ask, values)

    def commit(self, given, values: dict) -> Verdict:
        """Judge the learner's answer against the computed one. AnswerError for an answer of the wrong
        kind, AnswerUnavailable when the answer cannot be computed now (nothing drawn yet)."""
        question = self._asked()
        if self.phase != "asking":
            raise LessonStateError(f"the question of step {self.index + 1} is {self.phase}, not asking")
        given = self._checked_given(question, given)
        if "answer" not in values:
            raise AnswerUnavailable("the answer is not computed yet: compute needed_values() first")
        answer = values["answer"]
        if isinstance(answer, Unavailable) and answer.reason != "run":
            raise AnswerUnavailable(answer.message)
        if isinstance(answer, Unavailable):
            ready = self._reveal_now(question, values, sent=set())
            self._pending[self.index] = (given, {position for position, _ in ready})
            return Verdict("pending", given, self._given_text(question, given), actions=tuple(a for _, a in ready),
                           highlight=question.highlight)
        return self._judge(question, given, values, sent=set())

    def complete(self, values: dict) -> Verdict:
        """The verdict of a pending question, once the run its answer needs has ended."""
        if self.phase != "pending":
            raise LessonStateError(f"the question of step {self.index + 1} is {self.phase}, not pending")
        answer = values.get("answer")
        if isinstance(answer, Unavailable):
            raise AnswerUnavailable(answer.message)
        given, sent = self._pending.pop(self.index)
        return self._judge(self._asked(), given, values, sent)

    def retry(self) -> None:
        """Ask the revealed question again (the first answer still counts for progress)."""
        if self.phase != "revealed":
            raise LessonStateError("only a revealed question can be asked again")
        self._revealed.discard(self.index)

    @property
    def progress(self) -> Progress:
        answered = list(self._answers.values())
        return Progress(self.index, len(self.lesson.steps), len(self._done), self.lesson.num_questions,
                        len(answered), sum(record["first"] == "right" for record in answered))

    def to_json(self) -> dict:
        """The progress to remember between sessions (JSON-able)."""
        return {"lesson": self.lesson.id, "step": self.index, "done": sorted(self._done),
                "answers": {str(step): record for step, record in self._answers.items()}}

    def restore(self, data: dict) -> None:
        """Progress saved by `to_json` (of this lesson; anything that does not fit it is ignored)."""
        if not isinstance(data, dict) or data.get("lesson") != self.lesson.id:
            return
        count = len(self.lesson.steps)
        step = data.get("step")
        self.index = step if isinstance(step, int) and 0 <= step < count else 0
        self._done = {i for i in data.get("done", []) if isinstance(i, int) and 0 <= i < count}
        for key, record in (data.get("answers") or {}).items():
            if str(key).isdigit() and int(key) < count and isinstance(record, dict) and "first" in record:
                self._answers[int(key)] = {"given": record.get("given"), "status": record.get("status"),
                                           "first": record["first"]}
                self._revealed.add(int(key))

    # --- helpers ---------------------------------------------------------------------------------
    def _asked(self) -> Question:
        if self.question is None:
            raise LessonStateError(f"step {self.index + 1} asks no question")
        return self.question

    def _resolved(self, located_calls, values: dict) -> list[ActionCall]:
        return [resolve_action(located.call, values, self.model.specs) for located in located_calls]

    def _reveal_now(self, question: Question, values: dict, sent: set) -> list[tuple[int, ActionCall]]:
        """The reveal's actions whose values are known, that were not sent already."""
        ready = []
        for position, located in enumerate(question.reveal):
            if position in sent:
                continue
            if any(isinstance(values.get(name), Unavailable) or name not in values
                   for name in located.call.references()):
                continue
            ready.append((position, resolve_action(located.call, values, self.model.specs)))
        return ready

    def _judge(self, question: Question, given, values: dict, sent: set) -> Verdict:
        answer = values["answer"]
        right = self._is_right(question, given, answer)
        texts = dict(values)
        texts["given"] = given if question.kind == "choice" else format_value(given)
        template = question.right if right else self._wrong_text(question, given)
        actions = tuple(call for _, call in self._reveal_now(question, values, sent))
        status = "right" if right else "wrong"
        record = self._answers.setdefault(self.index, {"first": status})
        record.update(given=_json_given(given), status=status)
        self._revealed.add(self.index)
        return Verdict(status, given, self._given_text(question, given), answer, self._answer_text(question, answer),
                       _fill(template, texts), actions, question.highlight)

    def _is_right(self, question: Question, given, answer) -> bool:
        if question.kind == "number":
            expected = rounded_answer(answer)
            allowed = question.tolerance * abs(expected) / 100 if question.tolerance_relative else question.tolerance
            return abs(given - expected) <= allowed + 1e-9
        if question.kind == "choice":
            return given == option_text(answer)
        if question.kind == "pick-channel":
            if isinstance(answer, Ranking):
                return answer.within_top(given, question.accept_top)
            return given == int(answer)
        return self._in_field(question, given, answer)

    def _in_field(self, question: Question, pixel: tuple[int, int], unit: Unit) -> bool:
        from cnnviz.core.receptive_field import geometries, unit_box

        specs = self.model.specs
        index = [spec.name for spec in specs].index(question.layer)
        box = unit_box(geometries(specs, self.model.input_shape)[index], unit.y, unit.x, self.model.input_shape[:2])
        grow = question.tolerance
        row, col = pixel
        return (box.top - grow <= row < box.bottom + grow) and (box.left - grow <= col < box.right + grow)

    def _checked_given(self, question: Question, given):
        if question.kind == "number":
            try:
                number = read_number(given) if isinstance(given, str) else float(given)
            except (TypeError, ValueError):
                raise AnswerError(f"type a number, not {given!r}") from None
            if not math.isfinite(number):
                raise AnswerError("type a number")
            return number
        if question.kind == "choice":
            values = [option.value for option in question.options]
            if str(given) not in values:
                raise AnswerError(f"choose one of {', '.join(values)}")
            return str(given)
        if question.kind == "pick-channel":
            channels = self._layer_shape(question.layer)[-1]
            if isinstance(given, bool) or not isinstance(given, int) or not 0 <= given < channels:
                raise AnswerError(f"pick a channel of {question.layer}, 0 to {channels - 1}")
            return given
        height, width = self.model.input_shape[:2]
        try:
            row, col = (int(v) for v in given)
        except (TypeError, ValueError):
            raise AnswerError("pick a pixel: (row, column)") from None
        if not (0 <= row < height and 0 <= col < width):
            raise AnswerError(f"pick a pixel of the {height}×{width} input")
        return row, col

    def _layer_shape(self, layer: str) -> tuple:
        for spec in self.model.specs:
            if spec.name == layer:
                return spec.output_shape
        raise EvaluationError(f"the model has no layer {layer!r}")

    def _wrong_text(self, question: Question, given) -> str:
        for value, text, _ in question.wrong_for:
            if question.kind == "choice" and value == given:
                return text
            if question.kind != "choice" and float(value) == float(given):
                return text
        return question.wrong

    @staticmethod
    def _given_text(question: Question, given) -> str:
        if question.kind == "choice":
            return next(option.label for option in question.options if option.value == given)
        return format_value(given)

    @staticmethod
    def _answer_text(question: Question, answer) -> str:
        if question.kind == "choice":
            key = option_text(answer)
            return next((option.label for option in question.options if option.value == key), key)
        return format_value(answer)


def read_number(text: str) -> float:
    """A number as a learner types it: "1,000" and "1000" are 1000 (thousands), "2,5" is 2.5 (a decimal comma)."""
    text = text.strip().replace(" ", "").replace("\u2212", "-")
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    elif text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def _fill(template: str, values: dict) -> str:
    """{name} → the value's text ("…" for one not computed); {{ and }} are literal braces."""
    def one(match) -> str:
        value = values.get(match.group(1))
        if value is None or isinstance(value, Unavailable):
            return "…"
        return value if isinstance(value, str) else format_value(value)

    parts = template.replace("{{", "\0").replace("}}", "\1")
    return PLACEHOLDER.sub(one, parts).replace("\0", "{").replace("\1", "}")


def _json_given(given):
    return list(given) if isinstance(given, tuple) else given
