"""The parts of a parsed lesson (plain data, with line numbers) and the line reader both parsers share.

`document.parse_lesson` reads a file into a `Lesson`; `question_block` reads its question blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cnnviz.core.lessons.expressions import Call, Expression, ExpressionError, parse_call, parse_expression

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
KEY_LINE = re.compile(r"([a-z][a-z-]*)(?:[ \t]+([^:]*?))?[ \t]*:(.*)\Z")


@dataclass(frozen=True)
class Problem:
    """Something wrong in a lesson file, at a line (1-based; 1 when it concerns the whole file)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Located:
    """A call (an action, a condition) or an expression (a let, an answer) with its line."""

    expression: Expression
    line: int

    @property
    def call(self) -> Call:
        return self.expression


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    line: int


@dataclass(frozen=True)
class Question:
    kind: str
    ask: str
    answer: Located
    right: str
    wrong: str
    line: int                                   # the ```question fence
    lines: dict = field(default_factory=dict)   # key → line of its (first) occurrence
    lets: tuple[tuple[str, Located], ...] = ()
    options: tuple[Option, ...] = ()
    tolerance: float = 0.0
    tolerance_relative: bool = False            # "5%": 5 % of the answer
    accept_top: int = 1
    layer: str | None = None
    reveal: tuple[Located, ...] = ()
    highlight: str | None = None
    wrong_for: tuple[tuple[str, str, int], ...] = ()   # (the learner's answer, explanation, line)
    conceal: tuple[str, ...] = ()               # targets hidden while the question is asked


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    line: int
    actions: tuple[Located, ...] = ()
    question: Question | None = None


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    concepts: tuple[str, ...]
    minutes: int
    steps: tuple[Step, ...]
    path: str
    summary: str = ""
    fits: tuple[Located, ...] = ()
    lines: dict = field(default_factory=dict)

    @property
    def num_questions(self) -> int:
        return sum(step.question is not None for step in self.steps)


class LineReader:
    """Collects problems by line, and parses calls and expressions into `Located` ones (None on a problem)."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def call(self, text: str, number: int, bare: bool = False) -> Located | None:
        try:
            return Located(parse_call(text, bare_name_is_call=bare), number)
        except ExpressionError as exc:
            self.problem(number, f"{exc} in {text.strip()!r}")
            return None

    def expression(self, text: str, number: int) -> Located | None:
        try:
            return Located(parse_expression(text), number)
        except ExpressionError as exc:
            self.problem(number, f"{exc} in {text.strip()!r}")
            return None


def placeholders(text: str) -> list[str]:
    """The {names} in a text ({{ and }} are literal braces)."""
    return PLACEHOLDER.findall(text.replace("{{", "").replace("}}", ""))
