"""The answer functions a lesson's `answer:` and `let` lines may call, and what each computes.

Every function reads the loaded model (its layers, weights and outputs for the learner's current
input), the lab's shipped results table, or the last training run, through an `AnswerEngine`
(`cnnviz.core.lessons.engine`). A function declares its parameters (checked before anything runs),
what it returns (so a number question cannot get a channel), and what it needs:

- model: the layers only (shapes, parameters, receptive fields, weights)
- input: the learner's current input and the layers' outputs for it
- table: the lab's results (`resources/architectures/comparison.csv`, read by column name)
- run: the last training run of the lesson (`train-from-scratch`)

Numbers are plain: accuracies are fractions (0.9928) until `percent(...)` makes them 99.28.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnnviz.core.lessons.vocabulary import WORD_CHOICES, Param


class EvaluationError(ValueError):
    """A value that cannot be computed here (no such layer, a layer of the wrong kind, ...)."""


class NeedsInput(EvaluationError):
    """The value is about the learner's drawing, and there is none yet."""


class NeedsRun(EvaluationError):
    """The value is about a training run, and none has finished yet."""


@dataclass(frozen=True)
class Ranking:
    """Channels from strongest to weakest (`scores` in the same order); compares and shows as the best."""

    order: tuple[int, ...]
    scores: tuple[float, ...]

    @property
    def best(self) -> int:
        return self.order[0]

    def within_top(self, channel: int, count: int) -> bool:
        """True when `channel` scores at least as high as the `count`-th strongest (ties count)."""
        if channel not in self.order:
            return False
        threshold = self.scores[min(count, len(self.scores)) - 1]
        return self.scores[self.order.index(channel)] >= threshold


@dataclass(frozen=True)
class Unit:
    """One unit of a map: its channel and position."""

    channel: int
    y: int
    x: int


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[Param, ...]
    returns: str          # int, number, text, ranking, unit, class, variant
    needs: str            # none, model, input, table, run
    doc: str
    compute: Callable


FUNCTIONS: dict[str, Function] = {}
VARIANT = Param("variant", "variant", None)
RUN_COLUMNS = WORD_CHOICES["run-column"]
SHIFT_RANGE = 6   # stable-shift tries every shift up to this many pixels


def function(name: str, params: tuple[Param, ...], returns: str, needs: str, doc: str):
    def register(compute: Callable) -> Callable:
        FUNCTIONS[name] = Function(name, params, returns, needs, doc, compute)
        return compute
    return register


# --- the layers ----------------------------------------------------------------------------------
LAYER = Param("layer", "layer")


@function("map-size", (LAYER, VARIANT), "int", "model",
          "the side of LAYER's square maps, e.g. 26 for conv2d_1 (28 − 3 + 1)")
def map_size(engine, layer, variant):
    height, width, _ = engine.map_shape(layer, variant)
    if height != width:
        raise EvaluationError(f"{layer}'s maps are {height}×{width}, not square")
    return height


@function("positions", (LAYER, VARIANT), "int", "model",
          "how many positions each of LAYER's maps has: height × width (26 × 26 = 676 for conv2d_1)")
def positions(engine, layer, variant):
    height, width, _ = engine.map_shape(layer, variant)
    return height * width


@function("channels", (LAYER, VARIANT), "int", "model", "how many channels (maps) LAYER outputs")
def channels(engine, layer, variant):
    return int(engine.spec(layer, variant).output_shape[-1])


@function("units", (LAYER, VARIANT), "int", "model",
          "how many numbers LAYER outputs in all (flatten_1: 3 × 3 × 64 = 576)")
def units(engine, layer, variant):
    return int(np.prod(engine.spec(layer, variant).output_shape))


@function("params", (LAYER, VARIANT), "int", "model", "LAYER's parameter count (weights and biases)")
def params(engine, layer, variant):
    return int(engine.spec(layer, variant).num_params)


@function("total-params", (VARIANT,), "int", "model", "the whole network's parameter count")
def total_params(engine, variant):
    return int(sum(spec.num_params for spec in engine.specs(variant)))


@function("receptive-field", (LAYER, VARIANT), "int", "model",
          "the side, in input pixels, of the square one unit of LAYER sees (3, 4, 8, 10, 18 in the seed)")
def receptive_field(engine, layer, variant):
    geometry = engine.geometry(layer, variant)
    if geometry.size_y != geometry.size_x:
        raise EvaluationError(f"{layer}'s units see {geometry.size_y}×{geometry.size_x} pixels, not a square")
    return geometry.size_y


@function("jump", (LAYER, VARIANT), "int", "model",
          "how many input pixels apart two neighbouring units of LAYER look (1, 2, 2, 4, 4 in the seed)")
def jump(engine, layer, variant):
    geometry = engine.geometry(layer, variant)
    if geometry.jump_y != geometry.jump_x:
        raise EvaluationError(f"{layer}'s units are {geometry.jump_y} pixels apart down, {geometry.jump_x} across")
    return geometry.jump_y


@function("stride", (LAYER, VARIANT), "int", "model", "how many cells LAYER's window moves at a time")
def stride(engine, layer, variant):
    from cnnviz.core.receptive_field import as_pair

    config = engine.window_layer(layer, variant).config
    window = config.get("kernel_size", config.get("pool_size"))
    return as_pair(config.get("strides") or window)[0]


@function("window-values", (LAYER, VARIANT), "int", "model",
          "how many input numbers one unit's window holds: 3 × 3 × 1 = 9 for conv2d_1, 3 × 3 × 32 = 288 for "
          "conv2d_2, 2 × 2 = 4 for a 2×2 pooling")
def window_values(engine, layer, variant):
    from cnnviz.core.receptive_field import as_pair

    spec = engine.window_layer(layer, variant)
    if "pool_size" in spec.config:
        rows, cols = as_pair(spec.config["pool_size"])
        return rows * cols
    rows, cols = as_pair(spec.config["kernel_size"])
    return rows * cols * engine.input_channels(layer, variant)


@function("bias", (LAYER, Param("channel", "channel")), "number", "model",
          "the bias of CHANNEL (a filter, or a dense unit) of LAYER in the loaded model")
def bias(engine, layer, channel):
    weights = engine.weights(layer)
    if len(weights) < 2:
        raise EvaluationError(f"{layer} has no biases")
    if not 0 <= channel < len(weights[1]):
        raise EvaluationError(f"{layer} has channels 0 to {len(weights[1]) - 1}, not {channel}")
    return float(weights[1][channel])


# --- the learner's input -------------------------------------------------------------------------
DX = Param("dx", "int", 0, low=-10, high=10)
DY = Param("dy", "int", 0, low=-10, high=10)
UNIT = Param("unit", "unit")


@function("prediction", (DX, DY), "class", "input",
          "the class the model predicts for the current input, moved DX pixels right and DY down")
def prediction(engine, dx, dy):
    return int(np.argmax(engine.probabilities(dx, dy)))


@function("confidence", (DX, DY), "number", "input",
          "the predicted class's probability in percent, for the input moved DX right and DY down")
def confidence(engine, dx, dy):
    return float(np.max(engine.probabilities(dx, dy)) * 100.0)


@function("stable-shift", (Param("axis", "axis", "x"),), "int", "input",
          f"the largest N (0 to {SHIFT_RANGE}) such that moving the input by any whole number of pixels from −N "
          "to N along AXIS keeps the prediction")
def stable_shift(engine, axis):
    unshifted = prediction(engine, 0, 0)
    for distance in range(1, SHIFT_RANGE + 1):
        for sign in (1, -1):
            dx, dy = (sign * distance, 0) if axis == "x" else (0, sign * distance)
            if prediction(engine, dx, dy) != unshifted:
                return distance - 1
    return SHIFT_RANGE


@function("strongest-channel", (LAYER,), "ranking", "input",
          "the channel of LAYER whose map holds the largest value for the current input (all channels are "
          "ranked, for accept-top)")
def strongest_channel(engine, layer):
    peaks = engine.maps(layer).max(axis=(0, 1))
    order = sorted(range(len(peaks)), key=lambda c: (-float(peaks[c]), c))
    return Ranking(tuple(order), tuple(float(peaks[c]) for c in order))


@function("strongest-unit", (LAYER, Param("channel", "channel", None)), "unit", "input",
          "the unit of LAYER (of CHANNEL, when given) with the largest value for the current input")
def strongest_unit(engine, layer, channel):
    maps = engine.maps(layer)
    if channel is not None:
        engine.check_channel(layer, channel)
        y, x = np.unravel_index(int(np.argmax(maps[:, :, channel])), maps.shape[:2])
        return Unit(channel, int(y), int(x))
    y, x, c = np.unravel_index(int(np.argmax(maps)), maps.shape)
    return Unit(int(c), int(y), int(x))


@function("unit", (Param("channel", "channel"), Param("y", "int", low=0), Param("x", "int", low=0)), "unit",
          "none", "the unit of CHANNEL at row Y, column X (for pin-unit and unit-value)")
def unit(engine, channel, y, x):
    return Unit(channel, y, x)


@function("unit-value", (LAYER, UNIT), "number", "input", "the value of UNIT of LAYER for the current input")
def unit_value(engine, layer, unit):
    maps = engine.maps(layer)
    engine.check_unit(layer, unit)
    return float(maps[unit.y, unit.x, unit.channel])


@function("peak", (LAYER, Param("channel", "channel")), "number", "input",
          "the largest value in CHANNEL's map of LAYER for the current input")
def peak(engine, layer, channel):
    engine.check_channel(layer, channel)
    return float(engine.maps(layer)[:, :, channel].max())


@function("silent-channels", (LAYER,), "int", "input",
          "how many of LAYER's channels are 0 everywhere for the current input (their pattern is absent)")
def silent_channels(engine, layer):
    return int((engine.maps(layer).max(axis=(0, 1)) <= 0).sum())


@function("pool-window", (LAYER, UNIT), "text", "input",
          "the values in the window of pooling layer LAYER's UNIT, row by row (\"0.12, 0.80 / 0.33, 0\")")
def pool_window(engine, layer, unit):
    window = engine.pool_window(layer, unit)
    return " / ".join(", ".join(format_number(float(v)) for v in row if np.isfinite(v)) for row in window)


@function("window-mean", (LAYER, UNIT), "number", "input",
          "the mean of the window of pooling layer LAYER's UNIT: what average pooling would output there")
def window_mean(engine, layer, unit):
    window = engine.pool_window(layer, unit)
    return float(np.nanmean(window))


@function("ink-height", (), "int", "input", "how many rows of the 28×28 input hold ink (the digit's height)")
def ink_height(engine):
    top, _, bottom, _ = engine.ink_box()
    return bottom - top


@function("ink-width", (), "int", "input", "how many columns of the 28×28 input hold ink (the digit's width)")
def ink_width(engine):
    _, left, _, right = engine.ink_box()
    return right - left


# --- the lab's results and the lesson's training run ---------------------------------------------
COLUMN = Param("column", "column")


@function("table", (Param("variant", "variant"), COLUMN), "number", "table",
          "VARIANT's value in COLUMN of the lab's results (a mean when the table has several rows for it)")
def table(engine, variant, column):
    return engine.table().value(variant, column)


@function("highest", (COLUMN, Param("variants", "variant", variadic=True)), "variant", "table",
          "which variant has the largest value in COLUMN (among VARIANTS, when listed)")
def highest(engine, column, variants):
    return engine.table().extreme(column, variants, largest=True)


@function("lowest", (COLUMN, Param("variants", "variant", variadic=True)), "variant", "table",
          "which variant has the smallest value in COLUMN (among VARIANTS, when listed)")
def lowest(engine, column, variants):
    return engine.table().extreme(column, variants, largest=False)


@function("run", (Param("column", "run-column"),), "number", "run",
          "a figure of the last epoch of the lesson's training run: " + ", ".join(RUN_COLUMNS))
def run(engine, column):
    return float(getattr(engine.run_history()[-1], column))


@function("run-gap", (), "number", "run",
          "training accuracy minus test accuracy after the run's last epoch, in percentage points")
def run_gap(engine):
    last = engine.run_history()[-1]
    return float((last.accuracy - last.test_accuracy) * 100.0)


# --- arithmetic on other values ------------------------------------------------------------------
A, B = Param("a", "number"), Param("b", "number")


@function("percent", (Param("value", "number"),), "number", "none", "VALUE × 100 (0.9928 → 99.28)")
def percent(engine, value):
    return float(value) * 100.0


@function("difference", (A, B), "number", "none", "A − B")
def difference(engine, a, b):
    return float(a) - float(b)


@function("ratio", (A, B), "number", "none", "A ÷ B")
def ratio(engine, a, b):
    if float(b) == 0:
        raise EvaluationError("ratio(): B is 0")
    return float(a) / float(b)


@function("compare", (A, B), "text", "none", "more, less or same: how A compares with B")
def compare(engine, a, b):
    a, b = round(float(a), 6), round(float(b), 6)
    return "more" if a > b else "less" if a < b else "same"


COMPARE_VALUES = ("more", "less", "same")


def format_number(value: float | int) -> str:
    """A number as lessons show it: whole numbers with thousands separators (93,322), others rounded to
    2 decimals without trailing zeros (99.28, 0.39, 4.1)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    rounded = round(float(value), 2)
    if rounded == int(rounded):
        return f"{int(rounded):,}"
    return f"{rounded:,.2f}".rstrip("0")


def format_value(value) -> str:
    """Any computed value as text: numbers as `format_number`, a ranking as its best channel, a unit as
    'channel C at y Y, x X', a pixel (row, column) as 'row R, column C'."""
    if isinstance(value, Ranking):
        return str(value.best)
    if isinstance(value, Unit):
        return f"channel {value.channel} at y {value.y}, x {value.x}"
    if isinstance(value, tuple) and len(value) == 2:
        return f"row {value[0]}, column {value[1]}"
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return format_number(value)
    return str(value)


def option_text(value) -> str:
    """A value as a choice option spells it: whole numbers plainly (7, 1000), names as they are."""
    if isinstance(value, Ranking):
        return str(value.best)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value) == int(value):
        return str(int(value))
    return str(value)


def rounded_answer(value) -> float:
    """A numeric answer as the learner sees it (2 decimals): what their number is compared with."""
    if isinstance(value, Ranking):
        return float(value.best)
    return round(float(value), 2)
