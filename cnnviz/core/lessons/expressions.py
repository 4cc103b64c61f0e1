"""The small call language of lesson files: `name(argument, key=argument)`, parsed, never executed.

Grammar (whitespace between tokens is free):

    expression := call | reference | number | word
    call       := NAME "(" [argument ("," argument)*] ")"
    argument   := [NAME "="] expression
    reference  := "$" NAME                 (a value the question computed: $answer, or a `let` name)
    number     := -?digits[.digits]
    word       := a name, e.g. conv2d_1, no-pooling, test_accuracy, x

A NAME is letters, digits, "_", "-" and "." starting with a letter. A bare NAME is a word; with
parentheses it is a call. Nothing here evaluates anything: `cnnviz.core.lessons.functions` gives the
calls their meaning, and only the names listed there (and in `vocabulary`) exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LENGTH = 400      # characters in one expression
MAX_DEPTH = 6         # calls nested inside calls
MAX_ARGUMENTS = 12    # arguments of one call


class ExpressionError(ValueError):
    """An expression that does not follow the grammar; the message says where and what."""


@dataclass(frozen=True)
class Number:
    value: int | float

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Word:
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Reference:
    name: str

    def __str__(self) -> str:
        return f"${self.name}"


@dataclass(frozen=True)
class Argument:
    key: str | None
    value: "Expression"

    def __str__(self) -> str:
        return f"{self.key}={self.value}" if self.key else str(self.value)


@dataclass(frozen=True)
class Call:
    name: str
    arguments: tuple[Argument, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.arguments))})"

    def calls(self):
        """This call and every call nested in its arguments, outermost first."""
        yield self
        for argument in self.arguments:
            if isinstance(argument.value, Call):
                yield from argument.value.calls()

    def references(self) -> set[str]:
        """The names of every $reference in this call, nested ones included."""
        found = set()
        for call in self.calls():
            found.update(a.value.name for a in call.arguments if isinstance(a.value, Reference))
        return found


Expression = Call | Reference | Number | Word

_TOKEN = re.compile(r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)(?![\w.-])|(?P<name>[A-Za-z][\w.-]*)"
                    r"|(?P<ref>\$[A-Za-z][\w-]*)|(?P<punct>[(),=]))")
NAME = re.compile(r"[A-Za-z][\w.-]*\Z")


def parse_expression(text: str) -> Expression:
    """The expression in `text`; ExpressionError (with the column) when it is not one."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long (at most {MAX_LENGTH})")
    tokens = _tokens(text)
    if not tokens:
        raise ExpressionError("an expression is missing")
    parser = _Parser(tokens, text)
    expression = parser.expression(0)
    if parser.position < len(tokens):
        kind, value, column = tokens[parser.position]
        raise ExpressionError(f"unexpected {value!r} at column {column} after a complete expression")
    return expression


def parse_call(text: str, bare_name_is_call: bool = False) -> Call:
    """A call (`name(...)`); with `bare_name_is_call`, `name` alone is the call `name()`."""
    expression = parse_expression(text)
    if isinstance(expression, Word) and bare_name_is_call:
        return Call(expression.text)
    if not isinstance(expression, Call):
        raise ExpressionError(f"expected a call such as name(...), not {text.strip()!r}")
    return expression


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            column = position + len(text[position:]) - len(text[position:].lstrip()) + 1
            raise ExpressionError(f"unexpected {text[column - 1]!r} at column {column}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind) + 1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens, text):
        self.tokens = tokens
        self.text = text
        self.position = 0

    def peek(self, offset: int = 0):
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else (None, None, len(self.text) + 1)

    def take(self, value: str) -> None:
        kind, text, column = self.peek()
        if text != value:
            found = "the end" if kind is None else repr(text)
            raise ExpressionError(f"expected {value!r} at column {column}, found {found}")
        self.position += 1

    def expression(self, depth: int) -> Expression:
        kind, text, column = self.peek()
        if kind is None:
            raise ExpressionError(f"an expression is missing at column {column}")
        self.position += 1
        if kind == "number":
            return Number(float(text) if "." in text else int(text))
        if kind == "ref":
            return Reference(text[1:])
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} at column {column}")
        if self.peek()[1] != "(":
            return Word(text)
        if depth >= MAX_DEPTH:
            raise ExpressionError(f"calls are nested more than {MAX_DEPTH} deep at column {column}")
        self.take("(")
        arguments = []
        if self.peek()[1] != ")":
            while True:
                arguments.append(self.argument(depth + 1))
                if len(arguments) > MAX_ARGUMENTS:
                    raise ExpressionError(f"{text}() has more than {MAX_ARGUMENTS} arguments")
                if self.peek()[1] != ",":
                    break
                self.take(",")
        self.take(")")
        return Call(text, tuple(arguments))

    def argument(self, depth: int) -> Argument:
        kind, text, _ = self.peek()
        if kind == "name" and self.peek(1)[1] == "=":
            self.position += 2
            return Argument(text, self.expression(depth))
        return Argument(None, self.expression(depth))
