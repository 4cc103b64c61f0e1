"""Computing a question's values: the answer engine over the loaded model, the learner's input, the
lab's results table and the lesson's training run.

`ModelView` is what the engine needs of a model, as plain data plus two callables (every layer's
output for an image, a layer's weights); `ModelView.from_keras(model)` makes one in a process that
holds TensorFlow (the command line, the tests, the compute process). `AnswerEngine.evaluate(expression,
values)` computes one expression; `compute_values(named, engine)` computes a question's `let`s and
its answer in order, each later one seeing the earlier ones as $references.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.core.lessons.expressions import Call, Expression, Number, Reference, Word
from cnnviz.core.lessons.functions import FUNCTIONS, EvaluationError, NeedsInput, NeedsRun, Ranking, Unit
from cnnviz.core.network import LayerSpec, resolved_inputs
from cnnviz.core.robustness import shift_image

MAX_TABLE_BYTES = 1 << 20


@dataclass
class ModelView:
    """What the answer engine reads of a model.

    `forward(image)` returns every layer's output (no batch axis) for an image of `input_shape`;
    `probabilities(outputs)` the class probabilities among them; `weights(name)` a layer's
    `get_weights()`. The callables may be None where only the layers are known (then the input's
    and the weights' functions cannot be computed).
    """

    specs: tuple[LayerSpec, ...]
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    is_digit_model: bool
    forward: Callable[[np.ndarray], list[np.ndarray]] | None = None
    probabilities: Callable[[list[np.ndarray]], np.ndarray] | None = None
    weights: Callable[[str], list[np.ndarray]] | None = None
    name: str = "model"

    @classmethod
    def from_keras(cls, model, probe=None, info=None) -> ModelView:
        """A view of a Keras model (with its ActivationProbe, made here when not given). Pass the `info`
        that `open_model` returned, so the class names are the file's (`<model>.classes.json`)."""
        from cnnviz.core.activations import ActivationProbe
        from cnnviz.core.network import layer_specs

        probe = probe if probe is not None else ActivationProbe(model, info)
        info = probe.info
        return cls(tuple(layer_specs(model)), tuple(info.input_shape), tuple(info.class_names), info.is_digit_model,
                   probe, probe.probabilities_from, lambda name: model.get_layer(name).get_weights(), model.name)


    @classmethod
    def from_model_info(cls, info) -> ModelView:
        """A view of the GUI's `ModelInfo` (compute protocol): the layers and their weights, no forward pass
        (the compute process's `lesson_values` computes what needs one)."""
        specs = tuple(info.layers)
        position = {spec.name: index for index, spec in enumerate(specs)}
        description = info.description()
        return cls(specs, tuple(int(d) for d in info.input_shape), tuple(info.class_names), description.is_digit_model,
                   weights=lambda name: info.weights[position[name]], name=info.name)


@dataclass
class ResultsTable:
    """The lab's results, read by column name: one or more rows per variant (several seeds: their mean)."""

    rows: list[dict[str, str]]
    columns: tuple[str, ...]
    path: str = ""

    @classmethod
    def read(cls, path) -> ResultsTable:
        path = Path(path)
        try:
            if path.stat().st_size > MAX_TABLE_BYTES:
                raise EvaluationError(f"{path.name} is over {MAX_TABLE_BYTES // 1024} KB")
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                columns = tuple(reader.fieldnames or ())
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise EvaluationError(f"cannot read the lab's results {path}: {exc}") from None
        if "architecture" not in columns:
            raise EvaluationError(f"{path.name} has no 'architecture' column")
        return cls(rows, columns, str(path))

    def variants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(row["architecture"] for row in self.rows))

    def check_column(self, column: str) -> None:
        if column not in self.columns or column == "architecture":
            raise EvaluationError(f"the lab's results have no column {column!r} (columns: "
                                  f"{', '.join(c for c in self.columns if c != 'architecture')})")

    def value(self, variant: str, column: str):
        self.check_column(column)
        cells = [row[column] for row in self.rows if row["architecture"] == variant]
        if not cells:
            raise EvaluationError(f"the lab's results have no row for {variant!r} (rows: {', '.join(self.variants())})")
        try:
            numbers = [float(cell) for cell in cells]
        except (TypeError, ValueError):
            if len(set(cells)) > 1:
                raise EvaluationError(f"{variant}'s {column} differs between its rows: {', '.join(cells)}") from None
            return cells[0]
        mean = sum(numbers) / len(numbers)
        return int(mean) if mean == int(mean) and all("." not in c and "e" not in c.lower() for c in cells) else mean

    def extreme(self, column: str, variants: Sequence[str], largest: bool) -> str:
        names = list(variants) or list(self.variants())
        values = {name: self.value(name, column) for name in names}
        if any(isinstance(v, str) for v in values.values()):
            raise EvaluationError(f"{column} is not a number column")
        pick = max if largest else min
        return pick(names, key=lambda name: values[name])


def shipped_table_path() -> Path:
    from cnnviz.core.comparison import COMPARISON_FILE
    from cnnviz.core.paths import resources_dir

    return resources_dir() / "architectures" / COMPARISON_FILE


def evaluate(expression: Expression, values: dict | None = None, engine: AnswerEngine | None = None):
    """The value of `expression`, $references looked up in `values`. Without an `engine` only functions
    that need nothing (unit, percent, difference, ratio, compare) can be computed."""
    values = values or {}
    if isinstance(expression, Number):
        return expression.value
    if isinstance(expression, Word):
        return expression.text
    if isinstance(expression, Reference):
        if expression.name not in values:
            raise EvaluationError(f"${expression.name} is not defined")
        value = values[expression.name]
        if isinstance(value, Unavailable):
            raise (NeedsRun if value.reason == "run" else NeedsInput if value.reason == "input"
                   else EvaluationError)(value.message)
        return value
    return _call(expression, values, engine)


def _call(call: Call, values: dict, engine: AnswerEngine | None):
    from cnnviz.core.lessons.binding import bind

    spec = FUNCTIONS.get(call.name)
    if spec is None:
        raise EvaluationError(f"unknown function {call.name}()")
    if engine is None and spec.needs != "none":
        raise EvaluationError(f"{call.name}() needs the model: compute it with 'let'")
    bound = bind(spec.params, call, spec.name)
    arguments = {}
    for param in spec.params:
        expression = bound[param.name]
        if isinstance(expression, list):
            arguments[param.name] = [evaluate(item, values, engine) for item in expression]
        elif expression is None:
            arguments[param.name] = None
        else:
            value = evaluate(expression, values, engine)
            if isinstance(value, Ranking) and param.type in ("channel", "int", "number"):
                value = value.best   # a ranking stands for its strongest channel
            arguments[param.name] = value
    try:
        return spec.compute(engine, **arguments)
    except EvaluationError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError) as exc:
        raise EvaluationError(f"{call.name}(): {exc}") from None


@dataclass(frozen=True)
class Unavailable:
    """A value that could not be computed, and why: `reason` is "input" (no drawing yet), "run" (no
    training run yet) or "error"."""

    reason: str
    message: str


@dataclass
class AnswerEngine:
    """Computes answer expressions for one model, one input and (optionally) one training run."""

    model: ModelView
    image: np.ndarray | None = None                 # the current model input, (H, W) or (H, W, C)
    run: list | None = None                         # EpochRecords of the lesson's last training run
    table_path: str | Path | None = None            # the lab's results (default: the shipped ones)
    _outputs: dict = field(default_factory=dict, repr=False)
    _table: ResultsTable | None = field(default=None, repr=False)

    # --- evaluating ------------------------------------------------------------------------------
    def evaluate(self, expression: Expression, values: dict | None = None):
        """The value of `expression`; $references are looked up in `values`. EvaluationError if it
        cannot be computed (NeedsInput / NeedsRun when a drawing or a run is missing)."""
        return evaluate(expression, values, self)

    # --- the layers --------------------------------------------------------------------------------
    def specs(self, variant: str | None = None) -> tuple[LayerSpec, ...]:
        if variant is None:
            return self.model.specs
        from cnnviz.core.architectures import architecture_specs

        try:
            return architecture_specs(variant)
        except ValueError as exc:
            raise EvaluationError(str(exc)) from None

    def spec(self, layer: str, variant: str | None = None) -> LayerSpec:
        for spec in self.specs(variant):
            if spec.name == layer:
                return spec
        owner = f"the {variant} variant" if variant else self.model.name
        raise EvaluationError(f"{owner} has no layer {layer!r}")

    def map_shape(self, layer: str, variant: str | None = None) -> tuple[int, int, int]:
        spec = self.spec(layer, variant)
        if len(spec.output_shape) != 3:
            raise EvaluationError(f"{layer} outputs a flat vector, not maps")
        return tuple(spec.output_shape)

    def geometry(self, layer: str, variant: str | None = None):
        from cnnviz.core.receptive_field import geometries

        specs = self.specs(variant)
        index = [spec.name for spec in specs].index(self.spec(layer, variant).name)
        geometry = geometries(specs, self.input_shape(variant))[index]
        if geometry is None:
            raise EvaluationError(f"{layer}'s units see the whole input: it has no receptive field of its own")
        return geometry

    def input_shape(self, variant: str | None = None) -> tuple[int, int, int]:
        if variant is None:
            return self.model.input_shape
        from cnnviz.core.model import INPUT_SHAPE

        return INPUT_SHAPE

    def window_layer(self, layer: str, variant: str | None = None) -> LayerSpec:
        spec = self.spec(layer, variant)
        if "kernel_size" not in spec.config and "pool_size" not in spec.config:
            raise EvaluationError(f"{layer} is a {spec.kind} layer: it has no sliding window")
        return spec

    def input_channels(self, layer: str, variant: str | None = None) -> int:
        specs = self.specs(variant)
        shapes = {"input": self.input_shape(variant), **{s.name: s.output_shape for s in specs}}
        feeding = dict(zip((s.name for s in specs), resolved_inputs(specs)))[layer]
        return int(sum(shapes[name][-1] for name in feeding))

    def weights(self, layer: str) -> list[np.ndarray]:
        self.spec(layer)
        if self.model.weights is None:
            raise EvaluationError("the model's weights are not available here")
        return self.model.weights(layer)

    # --- the input ---------------------------------------------------------------------------------
    def outputs(self, dx: int = 0, dy: int = 0) -> list[np.ndarray]:
        if self.image is None:
            raise NeedsInput("draw a digit first: this is about your drawing")
        if self.model.forward is None:
            raise EvaluationError("the model cannot be run here")
        key = (int(dx), int(dy))
        if key not in self._outputs:
            image = np.asarray(self.image, np.float32).reshape(self.model.input_shape)
            self._outputs[key] = self.model.forward(shift_image(image, *key) if key != (0, 0) else image)
        return self._outputs[key]

    def probabilities(self, dx: int = 0, dy: int = 0) -> np.ndarray:
        return np.asarray(self.model.probabilities(self.outputs(dx, dy)))

    def maps(self, layer: str) -> np.ndarray:
        self.map_shape(layer)
        index = [spec.name for spec in self.model.specs].index(layer)
        return np.asarray(self.outputs()[index])

    def check_channel(self, layer: str, channel: int) -> None:
        count = self.map_shape(layer)[2]
        if not 0 <= channel < count:
            raise EvaluationError(f"{layer} has channels 0 to {count - 1}, not {channel}")

    def check_unit(self, layer: str, unit: Unit) -> None:
        height, width, _ = self.map_shape(layer)
        self.check_channel(layer, unit.channel)
        if not (0 <= unit.y < height and 0 <= unit.x < width):
            raise EvaluationError(f"{layer}'s maps are {height}×{width}: there is no unit at y {unit.y}, x {unit.x}")

    def pool_window(self, layer: str, unit: Unit) -> np.ndarray:
        from cnnviz.core.unit_explanation import POOLING_MODES, explain_pool

        spec = self.spec(layer)
        if spec.kind not in POOLING_MODES:
            raise EvaluationError(f"{layer} is a {spec.kind} layer, not a pooling layer")
        self.check_unit(layer, unit)
        index = [s.name for s in self.model.specs].index(layer)
        feeding = resolved_inputs(self.model.specs)[index][0]
        outputs = self.outputs()
        previous = (np.asarray(self.image, np.float32).reshape(self.model.input_shape) if feeding == "input"
                    else outputs[[s.name for s in self.model.specs].index(feeding)])
        return explain_pool(spec, previous, unit.channel, unit.y, unit.x).window

    def ink_box(self) -> tuple[int, int, int, int]:
        from cnnviz.core.preprocess import ink_box

        if self.image is None:
            raise NeedsInput("draw a digit first: this is about your drawing")
        image = np.asarray(self.image, np.float32)
        box = ink_box(image.reshape(image.shape[:2]) if image.ndim == 2 or image.shape[-1] == 1 else image.max(-1))
        if box is None:
            raise NeedsInput("the input is blank: draw a digit first")
        return box

    # --- the table and the run ---------------------------------------------------------------------
    def table(self) -> ResultsTable:
        if self._table is None:
            self._table = ResultsTable.read(self.table_path or shipped_table_path())
        return self._table

    def run_history(self) -> list:
        if not self.run:
            raise NeedsRun("this answer comes from the training run: it is computed when the run ends")
        return self.run


def compute_values(named: Sequence[tuple[str, Expression]], engine: AnswerEngine) -> dict:
    """Each (name, expression) in order; a value that cannot be computed is `Unavailable` (and so is
    every later one that refers to it)."""
    values: dict = {}
    for name, expression in named:
        try:
            values[name] = engine.evaluate(expression, values)
        except NeedsRun as exc:
            values[name] = Unavailable("run", str(exc))
        except NeedsInput as exc:
            values[name] = Unavailable("input", str(exc))
        except EvaluationError as exc:
            values[name] = Unavailable("error", str(exc))
    return values
