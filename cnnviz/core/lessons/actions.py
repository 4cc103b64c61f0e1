"""Actions as the GUI receives them: a name from `vocabulary.ACTIONS` and plain, checked parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnviz.core.lessons.binding import bind
from cnnviz.core.lessons.engine import evaluate
from cnnviz.core.lessons.expressions import Call
from cnnviz.core.lessons.functions import EvaluationError, Ranking, Unit
from cnnviz.core.lessons.vocabulary import ACTIONS, TEST_DIGITS, WORD_CHOICES
from cnnviz.core.network import LayerSpec


@dataclass(frozen=True)
class ActionCall:
    """One action to perform (`kind` "app") or to ask of the learner ("learner"), e.g.
    ActionCall("enlarge-channel", "app", {"layer": "conv2d_1", "channel": 5})."""

    name: str
    kind: str
    params: dict = field(default_factory=dict, hash=False)

    @property
    def event(self) -> str | None:
        """The learner event that completes a learner action."""
        return ACTIONS[self.name].event

    def __str__(self) -> str:
        shown = ", ".join(f"{key}={value}" for key, value in self.params.items())
        return f"{self.name}({shown})"


def resolve_action(call: Call, values: dict | None = None, specs: Sequence[LayerSpec] | None = None) -> ActionCall:
    """The action `call` names, with its arguments as plain values ($references looked up in `values`)
    and checked: numbers in range, and with `specs`, layers, channels and units that exist there.
    EvaluationError says what is wrong."""
    spec = ACTIONS.get(call.name)
    if spec is None:
        raise EvaluationError(f"unknown action {call.name!r}")
    bound = bind(spec.params, call, call.name)
    params = {}
    for param in spec.params:
        params[param.name] = _plain(bound[param.name], param, values or {}, call.name)
    if specs is not None:
        _check_against(call.name, params, specs)
    return ActionCall(call.name, spec.kind, params)


def _plain(expression, param, values: dict, action: str):
    if expression is None:
        return None
    try:
        value = evaluate(expression, values)   # literals, $references and unit(...) / percent(...) / ...
    except EvaluationError as exc:
        raise EvaluationError(f"{action}(): {param.name}: {exc}") from None
    if param.type == "unit":
        if not isinstance(value, Unit):
            raise EvaluationError(f"{action}(): {param.name} must be a unit (unit(c, y, x), or a $reference to one)")
        return value
    if param.type in ("channel", "int", "test-digit"):
        value = value.best if isinstance(value, Ranking) else value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise EvaluationError(f"{action}(): {param.name} must be a whole number, not {value!r}")
        low = 0 if param.type in ("channel", "test-digit") else param.low
        high = TEST_DIGITS - 1 if param.type == "test-digit" else param.high
        if (low is not None and value < low) or (high is not None and value > high):
            raise EvaluationError(f"{action}(): {param.name} must be from {low} to {high}, not {value}")
        return value
    if param.type in WORD_CHOICES:
        if value not in WORD_CHOICES[param.type]:
            raise EvaluationError(f"{action}(): {param.name} is one of {', '.join(WORD_CHOICES[param.type])}, "
                                  f"not {value!r}")
        return value
    if param.type == "variant":
        from cnnviz.core.architectures import ARCHITECTURES

        if value not in ARCHITECTURES:
            raise EvaluationError(f"{action}(): unknown variant {value!r} (the lab's: {', '.join(ARCHITECTURES)})")
        return value
    return str(value)


def _check_against(action: str, params: dict, specs: Sequence[LayerSpec]) -> None:
    layer = params.get("layer")
    if layer is None:
        return
    spec = next((s for s in specs if s.name == layer), None)
    if spec is None:
        raise EvaluationError(f"{action}(): the model has no layer {layer!r}")
    needs_maps = action in ("enlarge-channel", "pin-unit", "hover-unit", "click-channel")
    if needs_maps and len(spec.output_shape) != 3:
        raise EvaluationError(f"{action}(): {layer} has no maps (it outputs a flat vector)")
    if action == "show-kernels" and "kernel_size" not in spec.config:
        raise EvaluationError(f"show-kernels(): {layer} is a {spec.kind} layer, it has no kernels")
    channel = params.get("channel")
    unit = params.get("unit")
    if unit is not None:
        channel = unit.channel
        height, width = spec.output_shape[:2]
        if not (0 <= unit.y < height and 0 <= unit.x < width):
            raise EvaluationError(f"{action}(): {layer}'s maps are {height}×{width}: no unit at y {unit.y}, x {unit.x}")
    if channel is not None and not 0 <= channel < spec.output_shape[-1]:
        raise EvaluationError(f"{action}(): {layer} has channels 0 to {spec.output_shape[-1] - 1}, not {channel}")
