"""The runs of a seeded comparison: one training per (architecture, seed), its row, and resuming (issue 24).

`cnnviz compare --seeds 1,2,3 --runs runs.csv` writes one `RunRow` per (architecture, seed): the
comparison's columns, then `seed`, `batch_size`, `train_digits` (how many training digits it learnt
from), `augment` and `dropout` (issue 21's regularisation; files from before they existed read as False
and 0). `epochs`, `batch_size`, `train_digits`, `augment` and `dropout` are the run's *settings*: a later
comparison with the same settings reuses a run already in the file instead of training it again, so a
long comparison can be extended with more seeds or resumed after Ctrl+C. One runs file holds one set of
settings (its rows are one per (architecture, seed)); a comparison with other settings needs another
file. Settings that do not change what is computed (`steps_per_execution`) or that `compare` does not
offer (optimizer, learning rate) are not in the key; nor is the dataset file: a runs file is for one copy
of MNIST.

`RunTask` is what one training needs and `train_run` does it, in this process or in a worker (spawned
process, Ray task); its `RunOutcome` is plain data that crosses process boundaries: the row, the
per-epoch history, and, when asked for, the trained model as `.keras` bytes without its optimizer state.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.core.comparison import ComparisonRow, read_rows_csv, write_comparison_csv
from cnnviz.core.training import EpochRecord, TrainConfig

FINISHED, STOPPED, DIVERGED, FAILED = "finished", "stopped", "diverged", "failed"


@dataclass(frozen=True)
class RunRow(ComparisonRow):
    """One variant trained with one seed: the comparison's columns, then the seed and the other settings."""

    seed: int
    batch_size: int
    train_digits: int
    augment: bool = False
    dropout: float = 0.0

    @property
    def key(self) -> tuple[str, int]:
        return self.architecture, self.seed

    @property
    def settings(self) -> RunSettings:
        return RunSettings(self.epochs, self.batch_size, self.train_digits, self.augment, self.dropout)


@dataclass(frozen=True)
class RunSettings:
    """What must match for a run in a runs file to count as the run a comparison asks for."""

    epochs: int
    batch_size: int
    train_digits: int
    augment: bool = False
    dropout: float = 0.0

    def describe(self) -> str:
        return (f"{self.epochs} epoch(s), batch {self.batch_size}, {self.train_digits:,} training digits"
                + (", augmented" if self.augment else "") + (f", dropout {self.dropout:g}" if self.dropout else ""))


class RunsFileError(ValueError):
    """A runs file that cannot be read or resumed; the message says why and what to do."""


@dataclass(frozen=True)
class RunTask:
    """One training of a comparison: the variant, its TrainConfig (the seed in it), whether to send the model back."""

    architecture: str
    config: TrainConfig
    keep_model: bool = False

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def label(self) -> str:
        return f"{self.architecture}, seed {self.seed}"


@dataclass
class RunOutcome:
    """How a RunTask ended: FINISHED with a row, or STOPPED, DIVERGED or FAILED without one (`message` says why)."""

    task: RunTask
    status: str
    message: str = ""
    row: RunRow | None = None
    history: list[EpochRecord] = field(default_factory=list)
    model_file: bytes | None = None  # the .keras file, when the task asked for it and the run finished


def read_runs_csv(path) -> list[RunRow]:
    """The runs in a runs file; [] when there is none yet. RunsFileError when it is not a runs file or
    names an (architecture, seed) twice."""
    try:
        rows = read_rows_csv(path, RunRow)
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise RunsFileError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:
        raise RunsFileError(f"{path} is not a runs file: {exc}") from None
    seen = set()
    for row in rows:
        if row.key in seen:
            raise RunsFileError(f"{path} holds {row.architecture} with seed {row.seed} twice")
        seen.add(row.key)
    return rows


def write_runs_csv(rows: list[RunRow], path) -> None:
    """Write the runs atomically, sorted by architecture (the lab's order) and seed."""
    write_comparison_csv(sort_runs(rows), path, RunRow)


def sort_runs(rows: list[RunRow]) -> list[RunRow]:
    from cnnviz.core.architectures import ARCHITECTURES

    order = {name: position for position, name in enumerate(ARCHITECTURES)}
    return sorted(rows, key=lambda row: (order.get(row.architecture, len(order)), row.architecture, row.seed))


def plan_runs(names, seeds, settings: RunSettings, existing: list[RunRow], path=None):
    """(the runs of `existing` that the comparison of `names` × `seeds` reuses, the (name, seed) pairs still
    to train, seeds outermost so that every variant has a run before any has two).

    RunsFileError when `existing` holds runs made with other settings: one file, one set of settings.
    """
    other = sorted({row.settings for row in existing if row.settings != settings}, key=str)
    if other:
        raise RunsFileError(
            f"{path or 'the runs file'} holds runs with {other[0].describe()}, not {settings.describe()}: "
            "give the same --epochs, --batch-size, --limit, --augment and --dropout to extend it, or another "
            "--runs file")
    have = {row.key: row for row in existing}
    wanted = [(name, seed) for seed in seeds for name in names]
    reused = [have[key] for key in wanted if key in have]
    return reused, [key for key in wanted if key not in have]


def as_run(row: ComparisonRow, seed: int, batch_size: int, train_digits: int, augment: bool = False,
           dropout: float = 0.0) -> RunRow:
    """A comparison row (e.g. from a `compare --seed S` table) as the run it is, with its seed and settings."""
    return RunRow(*(getattr(row, name) for name in ComparisonRow.__dataclass_fields__), seed, batch_size,
                  train_digits, augment, dropout)


def train_run(task: RunTask, data, listener=None, control=None) -> RunOutcome:
    """Train `task` on `data` (limited by its config) with `core.comparison.train_variant`.

    Only a run that finished every epoch gets a row: a stopped one has none, and a diverged one is
    left out too (its fewer epochs would be averaged with the others').
    """
    from cnnviz.core.comparison import train_variant

    run = train_variant(task.architecture, data, task.config, listener=listener, control=control)
    result = run.result
    if result.status != FINISHED or run.row is None:
        return RunOutcome(task, result.status if result.status != FINISHED else STOPPED, result.message,
                          history=list(result.history))
    model_file = model_file_bytes(run.model) if task.keep_model else None
    row = as_run(run.row, task.seed, task.config.batch_size, len(data.limited(task.config.limit).x_train),
                 task.config.augment, task.config.dropout)
    return RunOutcome(task, FINISHED, "", row, list(result.history), model_file)


def failed_outcome(task: RunTask, what: str) -> RunOutcome:
    return RunOutcome(task, FAILED, what)


def model_file_bytes(model) -> bytes:
    """`model` as the bytes of a `.keras` file without its optimizer state (to send to another process)."""
    from cnnviz.core.model import save_model

    with tempfile.TemporaryDirectory(prefix="cnnviz-run-") as folder:
        return save_model(model, Path(folder) / "model.keras", include_optimizer=False).read_bytes()


def seed_history_path(folder, name: str, seed: int) -> Path:
    """Where `compare --models DIR` keeps one seed's history of a variant: `DIR/NAME_seedS_history.csv`."""
    return Path(folder) / f"{name}_seed{seed}_history.csv"


def read_seed_histories(folder, name: str) -> dict[int, list[EpochRecord]]:
    """{seed: history} of a variant's per-seed histories in `folder` (the files `seed_history_path` names);
    unreadable ones are left out."""
    from cnnviz.core.training import read_history_csv

    prefix, suffix = f"{name}_seed", "_history.csv"
    histories = {}
    try:
        entries = os.listdir(folder)
    except OSError:
        return {}
    for entry in entries:
        number = entry[len(prefix):-len(suffix)] if entry.startswith(prefix) and entry.endswith(suffix) else ""
        if number.isdigit():
            history = read_history_csv(Path(folder) / entry)
            if history:
                histories[int(number)] = history
    return dict(sorted(histories.items()))
