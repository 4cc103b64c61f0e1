"""Training architecture variants side by side and the results table (issue 13's `cnnviz compare`).

One row per variant: `architecture, params, last_conv_shape, last_conv_receptive_field,
seconds_per_epoch, train_accuracy, test_accuracy, train_test_gap` (the issue's contract, in that order),
then `epochs`. `train_accuracy` is the final model's accuracy on the digits it trained on, measured in a
separate pass like the test accuracy (Keras's running figure during the epoch lags behind it), so the gap
is a fair measure of overfitting. `seconds_per_epoch` is the median training time of an epoch, the test
pass excluded.

The CSV functions work for `ComparisonRow` and its subclasses (`seed_runs.RunRow`, one row per
(architecture, seed); `seed_statistics.SummaryRow`, means over seeds): a subclass's extra fields are
extra columns after these, and a reader that asks for `ComparisonRow` ignores them. An optional number
(`float | None`) is an empty cell when None.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from cnnviz.core.atomic import write_text_atomic
from cnnviz.core.data import Dataset

COMPARISON_FILE = "comparison.csv"  # the table's name in a folder of trained variants
COLUMNS = ("architecture", "params", "last_conv_shape", "last_conv_receptive_field", "seconds_per_epoch",
           "train_accuracy", "test_accuracy", "train_test_gap", "epochs")


@dataclass(frozen=True)
class ComparisonRow:
    """One variant's results (field names are the CSV columns)."""

    architecture: str
    params: int
    last_conv_shape: tuple[int, int, int]
    last_conv_receptive_field: int
    seconds_per_epoch: float
    train_accuracy: float
    test_accuracy: float
    train_test_gap: float
    epochs: int


@dataclass
class VariantRun:
    """A trained variant: the Keras model, how training ended, and its row (None when no epoch finished)."""

    name: str
    model: object
    result: object  # cnnviz.core.training.TrainResult
    row: ComparisonRow | None


def last_conv_geometry(specs, input_shape) -> tuple[tuple[int, int, int], int]:
    """The last convolution's output shape and the receptive field (pixels per side) of one of its units."""
    from cnnviz.core.architectures import last_conv_spec
    from cnnviz.core.receptive_field import geometries

    specs = list(specs)
    last = last_conv_spec(specs)
    return tuple(last.output_shape), geometries(specs, input_shape)[specs.index(last)].size


def comparison_row(name: str, specs, input_shape, history, train_accuracy: float, num_train: int) -> ComparisonRow:
    """A row from a variant's layer specs, its per-epoch history, its final accuracy on its `num_train`
    training digits."""
    shape, field_size = last_conv_geometry(specs, input_shape)
    last = history[-1]
    # EpochRecord.samples_per_second counts training digits over the training time alone.
    train_seconds = [num_train / record.samples_per_second for record in history]
    return ComparisonRow(name, sum(spec.num_params for spec in specs), shape, field_size,
                         statistics.median(train_seconds), train_accuracy, last.test_accuracy,
                         train_accuracy - last.test_accuracy, len(history))


def train_variant(name: str, data: Dataset, config, listener=None, control=None) -> VariantRun:
    """Build the variant, train it with the core Trainer on `data` (limited by `config.limit`), measure its row.

    A run stopped before its last epoch gets no row (its weights go back to the last finished epoch);
    a diverged run gets a row from the epochs it finished.
    """
    from cnnviz.core.architectures import build_architecture
    from cnnviz.core.network import input_shape_of, layer_specs
    from cnnviz.core.training import Trainer

    if config.seed is not None:  # before building: the seed fixes the initial weights too, not only the shuffles
        import keras

        keras.utils.set_random_seed(config.seed)
    model = build_architecture(name, config.optimizer, config.learning_rate, config.dropout)
    trainer = Trainer(model, data, config, listener=listener, control=control, keep="last_epoch")
    result = trainer.run()
    stopped_early = result.status == "stopped" and len(result.history) < config.epochs
    row = None
    if result.history and not stopped_early:
        train_accuracy = accuracy_on(model, trainer.data.x_train, trainer.data.y_train)
        row = comparison_row(name, layer_specs(model), input_shape_of(model), result.history, train_accuracy,
                             len(trainer.data.x_train))
    return VariantRun(name, model, result, row)


def accuracy_on(model, images, labels) -> float:
    """The fraction of uint8 digits (N, 28, 28) that `model` classifies right."""
    from cnnviz.core.training import make_datasets

    # make_datasets's test pipeline (unshuffled, batches of 1024, normalised like training) over these digits.
    _, pipeline = make_datasets(Dataset(images[:1], labels[:1], images, labels), batch_size=1024)
    _, accuracy = model.evaluate(pipeline, verbose=0)
    return float(accuracy)


def columns_of(kind: type = ComparisonRow) -> tuple[str, ...]:
    """The CSV columns of a row class: its field names in order (COLUMNS for ComparisonRow)."""
    return tuple(f.name for f in fields(kind))


def rows_to_csv(rows: list[ComparisonRow], kind: type = ComparisonRow) -> str:
    """The rows as CSV text with `kind`'s columns as the header; shapes as "3x3x64"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns_of(kind))
    for row in rows:
        writer.writerow([_csv_cell(getattr(row, name)) for name in columns_of(kind)])
    return out.getvalue()


def write_comparison_csv(rows: list[ComparisonRow], path, kind: type = ComparisonRow) -> None:
    """Write the rows atomically, so an interrupted comparison keeps the rows already finished."""
    write_text_atomic(path, rows_to_csv(rows, kind))


def replace_row(rows: list[ComparisonRow], row: ComparisonRow) -> list[ComparisonRow]:
    """`rows` with `row` in place of its variant's old row (if any), in ARCHITECTURES order (others last)."""
    from cnnviz.core.architectures import ARCHITECTURES

    kept = [old for old in rows if old.architecture != row.architecture] + [row]
    order = {name: position for position, name in enumerate(ARCHITECTURES)}
    return sorted(kept, key=lambda r: order.get(r.architecture, len(order)))


def save_variant(run: VariantRun, folder) -> Path:
    """Save a trained variant as `folder/NAME.keras` (without its optimizer state) with `NAME_history.csv`,
    and put its row into `folder/comparison.csv` (the layout `cnnviz compare --models` writes); the model's
    path."""
    from cnnviz.core.model import save_model
    from cnnviz.core.training import history_path_for, write_history_csv

    if run.row is None:
        raise ValueError(f"{run.name} finished no epoch: there is nothing to save")
    folder = Path(folder)
    path = save_model(run.model, folder / f"{run.name}.keras", include_optimizer=False)
    write_history_csv(run.result.history, history_path_for(path))
    csv_path = folder / COMPARISON_FILE
    write_comparison_csv(replace_row(read_comparison_csv(csv_path), run.row), csv_path)
    return path


def read_comparison_csv(path, kind: type = ComparisonRow) -> list:
    """The rows of a CSV written by `write_comparison_csv` as `kind`; [] when missing or unreadable."""
    try:
        return read_rows_csv(path, kind)
    except (OSError, ValueError):
        return []


def read_rows_csv(path, kind: type = ComparisonRow) -> list:
    """The rows of a CSV with (at least) `kind`'s columns, as `kind`. OSError when the file cannot be
    read, ValueError (saying which line) when it is not a table of `kind`."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [f.name for f in fields(kind) if f.name not in (reader.fieldnames or ()) and f.default is MISSING]
        if missing:   # a column with a default may be absent (a file from before it existed)
            raise ValueError(f"it has no column {missing[0]!r}")
        records = list(reader)
    rows = []
    for line, record in enumerate(records, 2):
        try:
            if any(record.get(f.name) is None and f.default is MISSING for f in fields(kind)):
                raise ValueError("too few cells")
            rows.append(kind(**{f.name: _parse_cell(f.type, record[f.name]) for f in fields(kind)
                                if record.get(f.name) is not None}))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"line {line} is not a row of {', '.join(columns_of(kind))}: {exc}") from None
    return rows


def format_comparison_table(rows: list[ComparisonRow]) -> str:
    """The rows as an aligned text table for the terminal."""
    header = ("architecture", "params", "last conv", "receptive field", "s/epoch", "train acc", "test acc",
              "gap", "epochs")
    cells = [(*geometry_cells(r), f"{r.seconds_per_epoch:.1f}", f"{r.train_accuracy:.4f}", f"{r.test_accuracy:.4f}",
              f"{r.train_test_gap:+.4f}", str(r.epochs))
             for r in rows]
    return aligned_table(header, cells)


def geometry_cells(row: ComparisonRow) -> tuple[str, str, str, str]:
    """A row's name, parameters, last conv shape and receptive field as table cells."""
    field_size = row.last_conv_receptive_field
    return (row.architecture, f"{row.params:,}", _shape_text(row.last_conv_shape, "×"), f"{field_size}×{field_size}")


def aligned_table(header: tuple[str, ...], cells: list[tuple[str, ...]]) -> str:
    """Text cells as a table: the first column left-aligned, the others right-aligned, a rule under the header."""
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]

    def line(values):
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, cells)])


def _shape_text(shape, sep: str = "x") -> str:
    return sep.join(str(n) for n in shape)


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return _shape_text(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _parse_cell(kind: str, text: str):
    """A cell as the field type `kind` (its annotation as text: these modules use postponed annotations)."""
    if kind == "str":
        return text
    if kind == "bool":
        if text.strip().lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not True or False")
        return text.strip().lower() == "true"
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "float | None":
        return float(text) if text.strip() else None
    if kind.startswith("tuple["):
        return tuple(int(n) for n in text.split("x"))
    raise TypeError(f"no CSV reading for {kind}")
