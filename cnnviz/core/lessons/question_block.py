"""Reading a ```question block: `key: value` lines (indented lines continue a value; `let`, `option`,
`wrong` and `reveal` may repeat, `let NAME:`, `option VALUE:`, `wrong VALUE:` name something before the
colon) into a `Question`, with the line of each problem."""

from __future__ import annotations

import re

from cnnviz.core.lessons.parts import KEY_LINE, LineReader, Option, Question

MAX_REPEATS = 20      # let, option, wrong ARG, reveal lines in one question
# question keys: (required, takes an ARG (None: may), may repeat)
QUESTION_KEYS = {
    "kind": (True, False, False), "ask": (True, False, False), "answer": (True, False, False),
    "right": (True, False, False), "wrong": (True, None, False), "let": (False, True, True),
    "option": (False, True, True), "options": (False, False, False), "tolerance": (False, False, False),
    "accept-top": (False, False, False), "layer": (False, False, False), "reveal": (False, False, True),
    "highlight": (False, False, False), "conceal": (False, False, False),
}
KINDS_WITH_LAYER = ("pick-channel", "pick-pixel")


class QuestionReader(LineReader):
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
                        tuple(reveal), values.get("highlight"), tuple(wrong_for),
                        tuple(part.strip() for part in values.get("conceal", "").split(",") if part.strip()))

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
            match = KEY_LINE.match(line)
            if match is None:
                self.problem(number, f"expected 'key: value', not {line.strip()!r}")
                continue
            entries.append([match.group(1), (match.group(2) or "").strip() or None, match.group(3).strip(), number])
        return [tuple(entry) for entry in entries]
