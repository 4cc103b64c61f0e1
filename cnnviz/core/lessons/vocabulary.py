"""The fixed vocabulary of lesson files, in one place: actions, highlight targets, question kinds.

The GUI implements exactly these names (each action is one public operation of a view, each target
one part of the window it can highlight); `docs/LESSONS.md` documents each; the validator refuses
any other name. Answer functions (what a question's answer is computed from) are listed in
`cnnviz.core.lessons.functions.FUNCTIONS`, model-fit conditions in `cnnviz.core.lessons.fit.CONDITIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """One argument of an action, a function or a condition.

    `type` is one of: layer (a layer name of the model, or of `variant=` when given), channel (a
    whole number from 0), int (a whole number, `low`…`high`), number, variant (a lab variant),
    column (a column of the lab's results table), run-column (a figure of a training run's epoch),
    axis (x or y), scaling (layer or channel), unit (a unit value: `unit(c, y, x)`, `strongest-unit(...)`
    or a $reference to one), kind (a Keras layer class, or `pooling`), padding (valid or same), test-digit (0…9999),
    text (any word).
    """

    name: str
    type: str
    default: object = REQUIRED
    low: int | None = None
    high: int | None = None
    variadic: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and not self.variadic


@dataclass(frozen=True)
class ActionSpec:
    """An action: `app` ones the app performs; `learner` ones the app asks the learner to do,
    and the step notes as done when the GUI reports the matching `event`."""

    name: str
    kind: str                  # "app" or "learner"
    params: tuple[Param, ...]
    does: str                  # what the app must do (the GUI phase implements exactly this)
    event: str | None = None   # learner actions: the event that completes them


TEST_DIGITS = 10_000
# Parameters that are one of a few words.
WORD_CHOICES = {"axis": ("x", "y"), "padding": ("valid", "same"), "scaling": ("layer", "channel"),
                "run-column": ("loss", "accuracy", "test_loss", "test_accuracy")}
MAX_SHIFT = 10

ACTIONS: dict[str, ActionSpec] = {spec.name: spec for spec in (
    ActionSpec("select-layer", "app", (Param("layer", "layer"),),
               "select LAYER in the network overview: the grid shows its channel maps"),
    ActionSpec("enlarge-channel", "app", (Param("layer", "layer"), Param("channel", "channel")),
               "select LAYER and enlarge CHANNEL (the big view with its colour bar)"),
    ActionSpec("pin-unit", "app", (Param("layer", "layer"), Param("unit", "unit")),
               "select LAYER, enlarge the unit's channel and pin the unit: the unit panel shows its "
               "arithmetic and the input shows the box of pixels it sees"),
    ActionSpec("scale-maps", "app", (Param("mode", "scaling"),),
               "colour the maps scaled per MODE: `layer` (one scale for all channels, so maps compare) or "
               "`channel` (each map its own scale), as View → scaled per"),
    ActionSpec("show-kernels", "app", (Param("layer", "layer"),),
               "select LAYER in the Kernels mode: its filters' weights instead of its maps"),
    ActionSpec("load-test-digit", "app", (Param("index", "test-digit"),),
               "make MNIST test digit INDEX the input (as Input → test digit by index)"),
    ActionSpec("shift-digit", "app", (Param("dx", "int", low=-MAX_SHIFT, high=MAX_SHIFT),
                                      Param("dy", "int", 0, low=-MAX_SHIFT, high=MAX_SHIFT)),
               "show the learner's digit moved DX pixels right and DY pixels down from where it was drawn "
               "or loaded (of the 28×28 model input, the background filling in; not added to an earlier move: "
               "shift-digit(0, 0) puts it back); the maps and the prediction follow"),
    ActionSpec("open-variant", "app", (Param("variant", "variant"),),
               "open the Lab with VARIANT's shipped trained model beside the seed in Side by side, "
               "fed the current input"),
    ActionSpec("show-lab-results", "app", (),
               "open the Lab on its Results tab: the shipped comparison table"),
    ActionSpec("train-from-scratch", "app",
               (Param("digits", "int", low=100, high=60_000), Param("epochs", "int", low=1, high=30),
                Param("seed", "int", 1, low=0, high=2**32 - 1)),
               "train a fresh seed network on the first DIGITS training digits for EPOCHS epochs (batch 64, "
               "rmsprop, SEED) in the Training panel, curves shown; when it ends, hand its per-epoch history "
               "to the lesson (the `run` answers)"),
    ActionSpec("open-shipped-model", "app", (),
               "make the shipped MNIST model (resources/mnist_convnet.keras) the current model again"),
    ActionSpec("draw-digit", "learner", (Param("hint", "text", ""),),
               "ask the learner to draw a digit (HINT, when given, says which); done on a new drawing",
               event="drew"),
    ActionSpec("hover-unit", "learner", (Param("layer", "layer"),),
               "ask the learner to hover the maps of LAYER; done when a unit of LAYER is hovered",
               event="hovered-unit"),
    ActionSpec("click-channel", "learner", (Param("layer", "layer"),),
               "ask the learner to click a channel of LAYER; done when one is enlarged",
               event="clicked-channel"),
    ActionSpec("move-digit", "learner", (),
               "ask the learner to move the digit (the Move it panel, or shift-digit's arrows); done when "
               "the input is shifted", event="moved-digit"),
)}

APP_ACTIONS = tuple(name for name, spec in ACTIONS.items() if spec.kind == "app")
LEARNER_ACTIONS = tuple(name for name, spec in ACTIONS.items() if spec.kind == "learner")
LEARNER_EVENTS = tuple(ACTIONS[name].event for name in LEARNER_ACTIONS)

# Parts of the window a reveal can highlight (the GUI draws a frame around it) and a question can conceal
# while it is asked (the GUI covers it, or hides the numbers in it, until the reveal).
HIGHLIGHT_TARGETS: dict[str, str] = {
    "canvas": "the drawing canvas",
    "model-input": "the 28×28 input as the model sees it",
    "prediction": "the ten class probabilities and the top guess",
    "pipeline": "the network overview across the top: every layer's shape, drawn to scale",
    "layer-grid": "the selected layer's grid of channel maps",
    "channel": "the enlarged channel and its colour bar",
    "unit-panel": "the unit panel: a unit's window × kernel + bias → activation",
    "receptive-field": "the box on the input that the pinned or hovered unit sees",
    "kernels": "the Kernels view: the selected layer's filter weights",
    "training-panel": "the Training panel: settings, progress, start/stop",
    "training-curves": "the training curves: loss and accuracy on training and test digits",
    "lab-results": "the Lab's results table",
    "lab-side-by-side": "the Lab's side-by-side maps of two variants",
    "lab-curves": "the Lab's curves of every variant",
    "move-it": "the Move it panel: the prediction as the digit shifts",
}

# What a learner answers with, per question kind.
QUESTION_KINDS: dict[str, str] = {
    "number": "types a number; right when it is within `tolerance` of the answer",
    "choice": "picks one of the `option`s; right when it is the answer",
    "pick-channel": "clicks a channel of `layer`'s grid; right when it is among the `accept-top` strongest",
    "pick-pixel": "clicks a pixel of the 28×28 input; right when it lies in the answer unit's receptive "
                  "field (of `layer`), grown by `tolerance` pixels",
}
