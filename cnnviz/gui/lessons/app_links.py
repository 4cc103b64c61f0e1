"""How a lesson's words reach the window: every app action of the lesson vocabulary
(`cnnviz.core.lessons.vocabulary.ACTIONS`) as the named operations of the capabilities that own it, and
every highlight target (`HIGHLIGHT_TARGETS`) as a named target of the window (docs/ARCHITECTURE.md, "The
seam"). Nothing here imports another capability: a part that is not installed is said to be missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cnnviz.core.lessons.actions import ActionCall
from cnnviz.core.lessons.vocabulary import ACTIONS, HIGHLIGHT_TARGETS
from cnnviz.gui.seam.operations import Operations

# issue 21's Move it panel (not merged yet): its dock's name and the operation that moves the digit there.
MOVE_IT_TARGET = "move_it_dock"
MOVE_IT_SHIFT = "robustness.shift"
TRAINING_DEFAULTS = {"batch_size": 64, "optimizer": "rmsprop", "learning_rate": "", "dataset": "mnist"}


@dataclass(frozen=True)
class Place:
    """Where a lesson's target is in the window: named `targets` (the first is outlined, all are covered
    while concealed), an operation that brings it into view first (a tab), and how to name it."""

    targets: tuple[str, ...]
    about: str
    show: str | None = None


PLACES: dict[str, Place] = {
    "canvas": Place(("canvas",), "the drawing canvas"),
    "model-input": Place(("model_input",), "the 28×28 input"),
    "prediction": Place(("prediction", "top_guess"), "the prediction"),
    "pipeline": Place(("pipeline",), "the network overview"),
    "layer-grid": Place(("layer_stack",), "the layer's maps"),
    "channel": Place(("side_panel",), "the enlarged channel"),
    "unit-panel": Place(("unit_dock",), "the Unit panel"),
    "receptive-field": Place(("receptive_field",), "the receptive field on your drawing"),
    "kernels": Place(("layer_stack",), "the Kernels view"),
    "training-panel": Place(("training_dock",), "the Training panel"),
    "training-curves": Place(("curves_dock",), "the training curves"),
    "lab-results": Place(("lab_results",), "the Lab's results table", "lab.show_results"),
    "lab-side-by-side": Place(("lab_side_by_side",), "the Lab's side-by-side maps", "lab.show"),
    "lab-curves": Place(("lab_curves",), "the Lab's curves", "lab.show_curves"),
    "move-it": Place((MOVE_IT_TARGET,), "the Move it panel"),
}
assert set(PLACES) == set(HIGHLIGHT_TARGETS), "every lesson target has its place in the window"


def _select_layer(call, params) -> bool:
    return call("inspector.select_layer", params["layer"])


def _enlarge_channel(call, params) -> bool:
    return (call("inspector.set_layer_mode", "maps") and call("inspector.select_layer", params["layer"])
            and call("inspector.select_channel", params["channel"]))


def _pin_unit(call, params) -> bool:
    unit = params["unit"]
    return call("inspector.set_layer_mode", "maps") and call("units.pin", params["layer"], unit.channel, unit.y,
                                                              unit.x)


def _train_from_scratch(call, params) -> bool:
    return call("training.start", epochs=params["epochs"], limit=params["digits"], from_scratch=True,
                seed=params["seed"], **TRAINING_DEFAULTS)


# action -> (what performs it through the named operations: a truthy or None result is done, what it does)
LINKS: dict[str, tuple[Callable, str]] = {
    "select-layer": (_select_layer, "select the layer"),
    "enlarge-channel": (_enlarge_channel, "enlarge the channel"),
    "pin-unit": (_pin_unit, "pin the unit"),
    "scale-maps": (lambda call, p: call("inspector.set_normalisation", p["mode"]), "scale the maps' colours"),
    "show-kernels": (lambda call, p: call("units.show_kernels", p["layer"]), "show the kernels"),
    "load-test-digit": (lambda call, p: call("inspector.show_test_digit", p["index"]), "load the test digit"),
    "shift-digit": (lambda call, p: call("lessons.shift_digit", p["dx"], p["dy"]), "move your digit (draw one)"),
    "open-variant": (lambda call, p: call("lab.show_variant", p["variant"], beside="seed"), "open the variant"),
    "show-lab-results": (lambda call, p: call("lab.show_results"), "show the Lab's results"),
    "train-from-scratch": (_train_from_scratch, "start the training run (one run at a time)"),
    "open-shipped-model": (lambda call, p: call("models.open_shipped"), "open the shipped model while the "
                           "window trains or loads"),
}
assert set(LINKS) == {name for name, spec in ACTIONS.items() if spec.kind == "app"}, "every app action is linked"


class MissingOperation(LookupError):
    """The window has no part that offers this operation (its capability is not installed)."""


def perform(operations: Operations, action: ActionCall) -> str:
    """Do `action` through the window's named operations; "" when done, else one sentence saying why not."""
    def call(name: str, *args, **kwargs):
        if not operations.has(name):
            raise MissingOperation(name)
        return operations.call(name, *args, **kwargs)

    link, does = LINKS[action.name]
    try:
        done = link(call, action.params)
    except MissingOperation as missing:
        return f"{action.name}: this window has no {missing.args[0]} (that part is not installed)."
    return "" if done is None or done else f"{action.name}: could not {does}."


def place_of(name: str) -> Place:
    """The window's place for lesson target `name` (a key of HIGHLIGHT_TARGETS)."""
    return PLACES[name]
