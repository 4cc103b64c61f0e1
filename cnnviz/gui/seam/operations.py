"""Named operations: how one capability (or a lesson) drives another's public actions without importing it.

A capability registers what others may ask of it under a dotted name, owner first; any other part
calls it by that name:

    context.operations.register("lab.show_variant", self.show_variant)       # the lab's installer
    context.operations.call("lab.show_variant", "no-pooling", beside="seed")  # a lesson step

Plain Python (no Qt): the call runs at once, on the caller's thread (the GUI thread), and returns what
the function returns. The names that exist are listed in docs/ARCHITECTURE.md ("Named operations").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")   # "owner.verb", e.g. "inspector.select_layer"


class UnknownOperation(KeyError):
    """No operation of that name is registered (its capability is not installed, or the name is wrong)."""


@dataclass(frozen=True)
class Operation:
    """One registered operation: its name, the function that does it and a one-line summary."""

    name: str
    function: Callable[..., Any]
    summary: str


class Operations:
    """The registry of named operations of one window (`CapabilityContext.operations`)."""

    def __init__(self):
        self._operations: dict[str, Operation] = {}

    def register(self, name: str, function: Callable[..., Any], summary: str = "") -> None:
        """Offer `function` as `name` ("owner.verb"); `summary` defaults to its docstring's first line.
        A name is registered once: a second registration raises ValueError."""
        if not NAME.fullmatch(name):
            raise ValueError(f"an operation's name is dotted lower-case words, owner first, not {name!r}")
        if name in self._operations:
            raise ValueError(f"an operation named {name!r} is registered already")
        if not summary:
            summary = (function.__doc__ or "").strip().split("\n")[0]
        self._operations[name] = Operation(name, function, summary)

    def call(self, name: str, /, *args, **kwargs) -> Any:
        """Do operation `name` with these arguments; UnknownOperation if nothing offers it."""
        operation = self._operations.get(name)
        if operation is None:
            known = ", ".join(sorted(self._operations)) or "none"
            raise UnknownOperation(f"no operation {name!r}; the operations are: {known}")
        return operation.function(*args, **kwargs)

    def has(self, name: str) -> bool:
        return name in self._operations

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._operations)

    def summary(self, name: str) -> str:
        """The one-line summary of operation `name`."""
        if name not in self._operations:
            raise UnknownOperation(name)
        return self._operations[name].summary
