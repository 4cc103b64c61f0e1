"""Matching a call's arguments to the parameters of an action, a function or a condition."""

from __future__ import annotations

from collections.abc import Sequence

from cnnviz.core.lessons.expressions import Call, Expression, Number, Word
from cnnviz.core.lessons.functions import EvaluationError
from cnnviz.core.lessons.vocabulary import Param


class ArgumentError(EvaluationError):
    """A call whose arguments do not match its parameters."""


def bind(params: Sequence[Param], call: Call, what: str) -> dict[str, Expression | list[Expression] | None]:
    """Each parameter's expression: positional arguments in order (a variadic parameter takes the rest),
    then `key=value` ones; defaults as literals (None stays None). ArgumentError names what is wrong."""
    bound: dict[str, Expression | list[Expression] | None] = {}
    positional = [argument.value for argument in call.arguments if argument.key is None]
    if any(argument.key is None for argument in call.arguments[len(positional):]):
        raise ArgumentError(f"{what}(): write positional arguments before key=value ones")
    index = 0
    for param in params:
        if param.variadic:
            bound[param.name] = positional[index:]
            index = len(positional)
        elif index < len(positional):
            bound[param.name] = positional[index]
            index += 1
    if index < len(positional):
        raise ArgumentError(f"{what}() takes {_count(params)}, not {len(positional)}")
    names = {param.name: param for param in params}
    for argument in call.arguments:
        if argument.key is None:
            continue
        if argument.key not in names or names[argument.key].variadic:
            known = ", ".join(p.name for p in params if not p.variadic) or "none"
            raise ArgumentError(f"{what}() has no argument {argument.key!r} (its arguments: {known})")
        if argument.key in bound:
            raise ArgumentError(f"{what}(): {argument.key} is given twice")
        bound[argument.key] = argument.value
    for param in params:
        if param.name in bound:
            continue
        if param.required:
            raise ArgumentError(f"{what}() needs {param.name} ({_signature(what, params)})")
        bound[param.name] = _literal(param.default)
    return bound


def _literal(value) -> Expression | None:
    if value is None:
        return None
    return Word(value) if isinstance(value, str) else Number(value)


def _count(params: Sequence[Param]) -> str:
    low, high = sum(p.required for p in params), len(params)
    return f"{high} argument{'s' * (high != 1)}" if low == high else f"{low} to {high} arguments"


def _signature(what: str, params: Sequence[Param]) -> str:
    parts = [f"{p.name}..." if p.variadic else p.name if p.required else f"{p.name}=" for p in params]
    return f"{what}({', '.join(parts)})"


def signature(what: str, params: Sequence[Param]) -> str:
    """How a call is written, e.g. 'map-size(layer, variant=)'."""
    return _signature(what, params)
