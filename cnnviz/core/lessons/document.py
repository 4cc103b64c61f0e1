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

from cnnviz.core.lessons.parts import KEY_LINE, Lesson, Located, Problem, Step
from cnnviz.core.lessons.question_block import QuestionReader

MAX_LINES = 4000
MAX_LINE_LENGTH = 4000
MAX_STEPS = 40
MAX_ACTIONS = 8
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_FENCE = re.compile(r"(`{3,}|~{3,})[ \t]*([^`]*?)[ \t]*\Z")
FRONT_KEYS = {"id": True, "title": True, "concepts": True, "minutes": True, "summary": False, "fits": False}


def parse_lesson(text: str, path: str) -> tuple[Lesson | None, list[Problem]]:
    """The lesson in `text` (None when it has problems) and every problem found, by line."""
    reader = _Reader(path)
    lesson = reader.lesson(text)
    return (lesson if not reader.problems else None), reader.problems


class _Reader(QuestionReader):
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
            match = KEY_LINE.match(line)
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
