"""Reading one lesson file: front matter, steps, action and question blocks, with line numbers.

A lesson is Markdown:

    ---
    id: padding                 front matter: key: value lines (`fits` may repeat)
    title: Border effects and padding
    concepts: padding, border-effects
    minutes: 5
    fits: digit-model()
    ---

    ## Why 28 becomes 26        each `## ` heading starts a step; its Markdown text follows

    ```action                   optional: actions performed when the step opens, one call a line
    select-layer(conv2d_1)
    ```

    ```question                 optional: one question, `key: value` lines (indented lines continue
    kind: number                the value above; `key ARG: value` for let/option/wrong)
    ask: How wide ...?
    answer: map-size(conv2d_1)
    right: ...
    wrong: ...
    ```

This module checks the shape of the file (keys, required parts, expression syntax); the names and
arguments of actions and functions are checked by `validate`, against a model by `validate` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cnnviz.core.lessons.expressions import Call, Expression, ExpressionError, parse_call, parse_expression

MAX_LINES = 4000
MAX_LINE_LENGTH = 4000
MAX_STEPS = 40
MAX_ACTIONS = 8
MAX_REPEATS = 20      # let, option, wrong ARG, reveal lines in one question
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_KEY_LINE = re.compile(r"([a-z][a-z-]*)(?:[ \t]+([^:]*?))?[ \t]*:(.*)\Z")
_FENCE = re.compile(r"(`{3,}|~{3,})[ \t]*([^`]*?)[ \t]*\Z")

FRONT_KEYS = {"id": True, "title": True, "concepts": True, "minutes": True, "summary": False, "fits": False}
# question keys: (required, takes an ARG, may repeat)
QUESTION_KEYS = {
    "kind": (True, False, False), "ask": (True, False, False), "answer": (True, False, False),
    "right": (True, False, False), "wrong": (True, None, False), "let": (False, True, True),
    "option": (False, True, True), "options": (False, False, False), "tolerance": (False, False, False),
    "accept-top": (False, False, False), "layer": (False, False, False), "reveal": (False, False, True),
    "highlight": (False, False, False),
}
KINDS_WITH_LAYER = ("pick-channel", "pick-pixel")


@dataclass(frozen=True)
class Problem:
    """Something wrong in a lesson file, at a line (1-based; 0 when it concerns the whole file)."""

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


def parse_lesson(text: str, path: str) -> tuple[Lesson | None, list[Problem]]:
    """The lesson in `text` (None when it has problems) and every problem found, by line."""
    reader = _Reader(path)
    lesson = reader.lesson(text)
    return (lesson if not reader.problems else None), reader.problems


class _Reader:
    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    # --- the file --------------------------------------------------------------------------------
    def lesson(self, text: str) -> Lesson | None:
        lines = text.split("\n")
        if len(lines) > MAX_LINES:
            self.problem(MAX_LINES + 1, f"the file has {len(lines):,} lines (at most {MAX_LINES:,})")
            return None
        for number, line in enumerate(lines, 1):
            if len(line) > MAX_LINE_LENGTH:
                self.problem(number, f"the line is {len(line):,} characters long (at most {MAX_LINE_LENGTH:,})")
                return None
        lines = [line.rstrip("\r") for line in lines]
        if not lines or lines[0].strip() != "---":
            self.problem(1, "a lesson starts with front matter: a line '---', key: value lines, a line '---'")
            return None
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            self.problem(1, "the front matter has no closing '---' line")
            return None
        front = self.front_matter(lines, 1, end)
        steps = self.steps(lines, end + 1)
        if front is None:
            return None
        return Lesson(front["id"], front["title"], front["concepts"], front["minutes"], tuple(steps), self.path,
                      front.get("summary", ""), tuple(front.get("fits", ())), front["lines"])

    def front_matter(self, lines: list[str], start: int, end: int) -> dict | None:
        values: dict = {"lines": {}, "fits": []}
        for index in range(start, end):
            number, line = index + 1, lines[index]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = _KEY_LINE.match(line)
            if match is None or match.group(2):
                self.problem(number, f"expected 'key: value' in the front matter, not {line.strip()!r}")
                continue
            key, value = match.group(1), match.group(3).strip()
            if key not in FRONT_KEYS:
                self.problem(number, f"unknown front-matter key {key!r} (known: {', '.join(FRONT_KEYS)})")
                continue
            if key in values["lines"] and key != "fits":
                self.problem(number, f"{key!r} is given twice (first on line {values['lines'][key]})")
                continue
            values["lines"].setdefault(key, number)
            parsed = self.front_value(key, value, number)
            if parsed is None:
                continue
            if key == "fits":
                values["fits"].append(parsed)
            else:
                values[key] = parsed
        missing = [key for key, required in FRONT_KEYS.items() if required and key not in values]
        for key in missing:
            if key not in values["lines"]:
                self.problem(start, f"the front matter needs {key!r}")
        return None if missing else values

    def front_value(self, key: str, value: str, number: int):
        if key == "id":
            if not SLUG.match(value):
                self.problem(number, f"id must be lower-case letters, digits and '-', not {value!r}")
                return None
            return value
        if key in ("title", "summary"):
            if not value:
                self.problem(number, f"{key} is empty")
                return None
            return value
        if key == "concepts":
            concepts = tuple(part.strip() for part in value.split(","))
            bad = [c for c in concepts if not SLUG.match(c)]
            if not value or bad:
                self.problem(number, "concepts is a comma-separated list of lower-case names such as "
                                     f"'max-pooling', not {value!r}")
                return None
            return concepts
        if key == "minutes":
            if not value.isdigit() or not 1 <= int(value) <= 60:
                self.problem(number, f"minutes must be a whole number from 1 to 60, not {value!r}")
                return None
            return int(value)
        return self.call(value, number, bare=True)     # fits

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

    # --- steps -----------------------------------------------------------------------------------
    def steps(self, lines: list[str], start: int) -> list[Step]:
        chunks: list[tuple[int, str, list[tuple[int, str]]]] = []
        fence_open: tuple[int, str] | None = None
        for index in range(start, len(lines)):
            number, line = index + 1, lines[index]
            fence = _FENCE.match(line.strip()) if not line.startswith("    ") else None
            if fence_open is None and fence:
                fence_open = (number, fence.group(1))
            elif fence_open is not None and fence and fence.group(2) == "" \
                    and fence.group(1)[0] == fence_open[1][0] and len(fence.group(1)) >= len(fence_open[1]):
                fence_open = None
            elif fence_open is None and line.startswith("## "):
                chunks.append((number, line[3:].strip(), []))
                continue
            if chunks:
                chunks[-1][2].append((number, line))
            elif line.strip() and not (line.startswith("# ") and not fence_open):
                self.problem(number, "text before the first step: a step starts with a '## ' heading")
                return []
        if fence_open is not None:
            self.problem(fence_open[0], "this fenced block is never closed")
            return []
        if not chunks:
            self.problem(start, "the lesson has no steps: each step starts with a '## ' heading")
        if len(chunks) > MAX_STEPS:
            self.problem(chunks[MAX_STEPS][0], f"more than {MAX_STEPS} steps")
            return []
        return [step for step in (self.step(*chunk) for chunk in chunks) if step is not None]

    def step(self, number: int, title: str, body: list[tuple[int, str]]) -> Step | None:
        if not title:
            self.problem(number, "the step's heading is empty")
        text_lines: list[str] = []
        actions: list[Located] = []
        question = None
        seen_actions = seen_question = None
        position = 0
        while position < len(body):
            line_number, line = body[position]
            fence = _FENCE.match(line.strip()) if not line.startswith("    ") else None
            info = fence.group(2) if fence else None
            if info not in ("action", "question"):
                if fence:   # someone else's fenced block (code): kept in the text, whole
                    closing = self.fence_end(body, position, fence.group(1))
                    text_lines.extend(text for _, text in body[position:closing + 1])
                    position = closing + 1
                    continue
                text_lines.append(line)
                position += 1
                continue
            closing = self.fence_end(body, position, fence.group(1))
            content = body[position + 1:closing]
            position = closing + 1
            if info == "action":
                if seen_actions:
                    self.problem(line_number, f"a step has one action block (the first is on line {seen_actions})")
                    continue
                seen_actions = line_number
                actions = self.actions(line_number, content)
            else:
                if seen_question:
                    self.problem(line_number, f"a step has one question (the first is on line {seen_question})")
                    continue
                seen_question = line_number
                question = self.question(line_number, content)
        text = "\n".join(text_lines).strip("\n")
        if not text.strip() and question is None and seen_question is None:
            self.problem(number, "the step has neither text nor a question")
        return Step(title, text, number, tuple(actions), question)

    @staticmethod
    def fence_end(body: list[tuple[int, str]], start: int, opening: str) -> int:
        for index in range(start + 1, len(body)):
            fence = _FENCE.match(body[index][1].strip())
            if fence and fence.group(2) == "" and fence.group(1)[0] == opening[0] \
                    and len(fence.group(1)) >= len(opening):
                return index
        return len(body) - 1   # (an unclosed fence was reported while splitting the steps)

    def actions(self, fence_line: int, content: list[tuple[int, str]]) -> list[Located]:
        found = []
        for number, line in content:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            located = self.call(line, number, bare=True)
            if located is not None:
                found.append(located)
        if not found:
            self.problem(fence_line, "the action block is empty")
        if len(found) > MAX_ACTIONS:
            self.problem(found[MAX_ACTIONS].line, f"more than {MAX_ACTIONS} actions in one step")
        return found

    # --- a question ------------------------------------------------------------------------------
    def question(self, fence_line: int, content: list[tuple[int, str]]) -> Question | None:
        entries = self.key_values(content)
        first: dict[str, int] = {}
        values: dict[str, object] = {}
        lets, options, reveal, wrong_for = [], [], [], []
        count_before = len(self.problems)
        for key, arg, value, number in entries:
            spec = QUESTION_KEYS.get(key)
            if spec is None:
                self.problem(number, f"unknown question key {key!r} (known: {', '.join(QUESTION_KEYS)})")
                continue
            _, takes_arg, repeats = spec
            if takes_arg is True and not arg:
                self.problem(number, f"{key} needs a name before the colon, e.g. '{key} NAME: ...'")
                continue
            if takes_arg is False and arg:
                self.problem(number, f"unexpected {arg!r} between {key!r} and ':'")
                continue
            if key in first and not repeats and not (key == "wrong" and arg):
                self.problem(number, f"{key!r} is given twice in this question (first on line {first[key]})")
                continue
            if not value and key != "option":     # an option without a label shows its value
                self.problem(number, f"{key} is empty")
                continue
            if not (key == "wrong" and arg):
                first.setdefault(key, number)
            if key == "let":
                if not re.fullmatch(r"[A-Za-z][\w-]*", arg) or arg in ("answer", "given"):
                    self.problem(number, f"let names are letters, digits, '_' and '-', and not answer or "
                                         f"given: {arg!r}")
                elif any(name == arg for name, _ in lets):
                    self.problem(number, f"let {arg!r} is defined twice")
                else:
                    located = self.expression(value, number)
                    if located is not None:
                        lets.append((arg, located))
            elif key == "option":
                options.append(Option(arg, value or arg, number))
            elif key == "options":
                options.extend(Option(part.strip(), part.strip(), number) for part in value.split(","))
            elif key == "reveal":
                located = self.call(value, number, bare=True)
                if located is not None:
                    reveal.append(located)
            elif key == "wrong" and arg:
                wrong_for.append((arg, value, number))
            else:
                values[key] = value
        for key, (required, _, _) in QUESTION_KEYS.items():
            if required and key not in first:
                self.problem(fence_line, f"the question needs {key!r}")
        for name, items in (("let", lets), ("option", options), ("reveal", reveal), ("wrong", wrong_for)):
            if len(items) > MAX_REPEATS:
                self.problem(fence_line, f"more than {MAX_REPEATS} {name} lines in one question")
        if len(self.problems) > count_before:
            return None
        return self.question_from(fence_line, first, values, lets, options, reveal, wrong_for)

    def question_from(self, fence_line, first, values, lets, options, reveal, wrong_for) -> Question | None:
        from cnnviz.core.lessons.vocabulary import QUESTION_KINDS

        kind = values["kind"]
        if kind not in QUESTION_KINDS:
            self.problem(first["kind"], f"unknown question kind {kind!r} (known: {', '.join(QUESTION_KINDS)})")
            return None
        answer = self.expression(values["answer"], first["answer"])
        tolerance, relative = self.tolerance(values.get("tolerance"), first.get("tolerance"), kind)
        accept_top = self.whole(values.get("accept-top", "1"), first.get("accept-top"), "accept-top", 1, 1000)
        if kind == "choice" and len(options) < 2:
            self.problem(fence_line, "a choice question needs at least two options ('option VALUE: label' lines)")
        if kind != "choice" and options:
            self.problem(options[0].line, f"options belong to choice questions, not {kind}")
        seen_values: set[str] = set()
        for option in options:
            if option.value in seen_values:
                self.problem(option.line, f"option {option.value!r} is listed twice")
            seen_values.add(option.value)
        if kind in KINDS_WITH_LAYER and "layer" not in values:
            self.problem(fence_line, f"a {kind} question names the layer the learner picks in: 'layer: NAME'")
        if "layer" in values and kind not in KINDS_WITH_LAYER:
            self.problem(first["layer"], f"'layer' belongs to pick-channel and pick-pixel questions, not {kind}")
        if "accept-top" in values and kind != "pick-channel":
            self.problem(first["accept-top"], "'accept-top' belongs to pick-channel questions")
        if "tolerance" in values and kind not in ("number", "pick-pixel"):
            self.problem(first["tolerance"], "'tolerance' belongs to number and pick-pixel questions")
        if answer is None or tolerance is None or accept_top is None:
            return None
        return Question(kind, values["ask"], answer, values["right"], values["wrong"], fence_line, first,
                        tuple(lets), tuple(options), tolerance, relative, accept_top, values.get("layer"),
                        tuple(reveal), values.get("highlight"), tuple(wrong_for))

    def tolerance(self, text: str | None, number: int | None, kind: str) -> tuple[float | None, bool]:
        if text is None:
            return 0.0, False
        relative = text.endswith("%") and kind == "number"
        try:
            value = float(text[:-1] if relative else text)
        except ValueError:
            value = -1.0
        if not (0 <= value < 1e9):
            self.problem(number, f"tolerance must be a number of at least 0 (or a percentage such as 5%), "
                                 f"not {text!r}")
            return None, False
        return value, relative

    def whole(self, text: str, number: int | None, key: str, low: int, high: int) -> int | None:
        if not text.isdigit() or not low <= int(text) <= high:
            self.problem(number, f"{key} must be a whole number from {low} to {high}, not {text!r}")
            return None
        return int(text)

    def key_values(self, content: list[tuple[int, str]]) -> list[tuple[str, str | None, str, int]]:
        """`key [arg]: value` entries; indented lines continue the value before them."""
        entries: list[list] = []
        for number, line in content:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t":
                if not entries:
                    self.problem(number, "an indented line continues a value, but no 'key: value' line is above it")
                    continue
                entries[-1][2] = f"{entries[-1][2]} {line.strip()}".strip()
                continue
            match = _KEY_LINE.match(line)
            if match is None:
                self.problem(number, f"expected 'key: value', not {line.strip()!r}")
                continue
            entries.append([match.group(1), (match.group(2) or "").strip() or None, match.group(3).strip(), number])
        return [tuple(entry) for entry in entries]


def placeholders(text: str) -> list[str]:
    """The {names} in a text ({{ and }} are literal braces)."""
    return PLACEHOLDER.findall(text.replace("{{", "").replace("}}", ""))
