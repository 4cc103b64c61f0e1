"""What the Lab shows, read from folders of trained variants (Qt-free, TensorFlow-free).

A folder holds what `cnnviz compare --models DIR` (and the Lab's own runs) write: `comparison.csv`
(one row per variant), and per variant `NAME.keras` with `NAME_history.csv`. Two folders count:
the **shipped** one (`resources/architectures/`, the full run made for the README; read-only) and the
user's **lab** folder, where the app saves the variants trained in the Lab. A variant trained by the
user is shown from the lab folder, every other one from the shipped folder.

**The full run over seeds** (issue 24): the shipped folder also holds `runs.csv` (one row per (variant,
seed)) and every seed's history (`NAME_seedS_history.csv`). The seeds the user adds in the Lab ("Train
extra seeds") go into the lab folder's own `runs.csv` and histories, never into the shipped folder. The
full run is both together: `full_run` summarises them (means, spreads, Welch's test against `seed`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.core.architectures import ARCHITECTURES, architecture_specs
from cnnviz.core.comparison import COMPARISON_FILE, ComparisonRow, last_conv_geometry, read_comparison_csv
from cnnviz.core.model import INPUT_SHAPE
from cnnviz.core.paths import resources_dir
from cnnviz.core.seed_runs import RunRow, RunSettings, RunsFileError, read_runs_csv, read_seed_histories
from cnnviz.core.seed_statistics import REFERENCE, SummaryRow, WelchResult, summarize, welch_against_seed
from cnnviz.core.training import EpochRecord, history_path_for, read_history_csv

SHIPPED_ENV = "CNNVIZ_ARCHITECTURES_DIR"  # overrides the shipped folder (development, tests)
LAB_ENV = "CNNVIZ_LAB_DIR"                # overrides the user's lab folder
SHIPPED, YOURS = "shipped", "yours"
RUNS_FILE = "runs.csv"                    # one row per (variant, seed): `cnnviz compare --runs`
TESTED_FIGURES = ("train_test_gap", "train_accuracy")   # tested against seed too, for the help's verdicts


def shipped_folder() -> Path:
    """The full run shipped with cnnviz: `resources/architectures/` (or $CNNVIZ_ARCHITECTURES_DIR)."""
    override = os.environ.get(SHIPPED_ENV)
    return Path(override).expanduser() if override else resources_dir() / "architectures"


def lab_folder() -> Path:
    """Where the Lab saves the variants the user trains: $CNNVIZ_LAB_DIR, else
    `$XDG_DATA_HOME/cnnviz/lab` (`~/.local/share/cnnviz/lab`)."""
    override = os.environ.get(LAB_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "cnnviz" / "lab"


@dataclass
class VariantResult:
    """One variant's results: its row, its per-epoch history and its model file, and where they came from."""

    name: str
    row: ComparisonRow | None = None
    history: list[EpochRecord] = field(default_factory=list)
    model_path: Path | None = None
    source: str | None = None          # SHIPPED, YOURS, or None when the variant has no results
    runs: list[RunRow] = field(default_factory=list)   # the full run's seeds that `row` is the mean of
    extra_seeds: int = 0               # how many of `runs` the user trained in the Lab
    seed_histories: dict[int, list[EpochRecord]] = field(default_factory=dict)  # {seed: history}, the full run
    test: WelchResult | None = None    # Welch's test of `runs`' test accuracies against seed's
    figure_tests: dict[str, WelchResult] = field(default_factory=dict)  # the same test of other figures

    @property
    def seeds(self) -> int:
        """How many seeds `row` is over (1 for a single run)."""
        if self.runs:
            return len(self.runs)
        return self.row.seeds if isinstance(self.row, SummaryRow) else int(self.row is not None)

    @property
    def summary(self) -> SummaryRow | None:
        """`row` when it is a mean over seeds (with its spreads), else None."""
        return self.row if isinstance(self.row, SummaryRow) else None


def read_folder(folder: Path | None, source: str) -> dict[str, VariantResult]:
    """The variants with results in `folder` (a row in its comparison.csv); {} when there is none."""
    if folder is None:
        return {}
    folder = Path(folder)
    results = {}
    for row in read_comparison_csv(folder / COMPARISON_FILE):
        if row.architecture not in ARCHITECTURES:
            continue
        model_path = folder / f"{row.architecture}.keras"
        results[row.architecture] = VariantResult(
            row.architecture, row, read_history_csv(history_path_for(model_path)),
            model_path if model_path.is_file() else None, source)
    return results


def lab_results(shipped: Path | None, lab: Path | None, yours_first: bool = True,
                full: dict[str, VariantResult] | None = None) -> dict[str, VariantResult]:
    """Every variant, in ARCHITECTURES order: the user's own Lab run where there is one (unless not
    `yours_first`), else the full run (shipped, with the user's extra seeds: `full`, read when None), else an
    empty VariantResult."""
    mine = read_folder(lab, YOURS) if yours_first else {}
    theirs = full if full is not None else full_run(shipped, lab)
    return {name: mine.get(name) or theirs.get(name) or VariantResult(name) for name in ARCHITECTURES}


def read_runs(folder: Path | None) -> list[RunRow]:
    """The runs file of `folder`; [] when there is none or it is not one."""
    if folder is None:
        return []
    try:
        return read_runs_csv(Path(folder) / RUNS_FILE)
    except RunsFileError:
        return []


def full_run_settings(shipped: Path | None) -> RunSettings | None:
    """The settings of the shipped full run's seeds (None without a runs file, or with runs of several)."""
    settings = {run.settings for run in read_runs(shipped)}
    return settings.pop() if len(settings) == 1 else None


def full_run(shipped: Path | None, lab: Path | None = None) -> dict[str, VariantResult]:
    """The variants of the shipped full run, with the user's extra seeds (the lab folder's runs made with the
    same settings; a seed the shipped run has stays the shipped one): rows that are means over the seeds,
    Welch's test of each against `seed`, every seed's history. Without a shipped runs file, the shipped
    comparison.csv as it is."""
    results = read_folder(shipped, SHIPPED)
    shipped_runs = read_runs(shipped)
    settings = full_run_settings(shipped)
    if not shipped_runs or settings is None:
        return results
    have = {run.key for run in shipped_runs}
    extra = [run for run in read_runs(lab) if run.settings == settings and run.key not in have]
    runs = shipped_runs + extra
    summaries = {row.architecture: row for row in summarize(runs, ARCHITECTURES)}
    tests = welch_against_seed(runs)
    other_tests = {figure: welch_against_seed(runs, figure) for figure in TESTED_FIGURES}
    for name, summary in summaries.items():
        if name not in ARCHITECTURES:
            continue
        own = [run for run in runs if run.architecture == name]
        mine = {run.seed for run in extra if run.architecture == name}
        histories = {seed: history for seed, history in read_seed_histories(shipped, name).items()
                     if seed in have_seeds(shipped_runs, name)}
        if mine and lab is not None:
            histories.update({seed: history for seed, history in read_seed_histories(lab, name).items()
                              if seed in mine})
        base = results.get(name) or VariantResult(name, source=SHIPPED)
        results[name] = VariantResult(name, summary, base.history, base.model_path,
                                      SHIPPED, own, len(mine), dict(sorted(histories.items())),
                                      None if name == REFERENCE else tests.get(name),
                                      {figure: found[name] for figure, found in other_tests.items()
                                       if name in found and name != REFERENCE})
    return results


def have_seeds(runs: list[RunRow], name: str) -> set[int]:
    return {run.seed for run in runs if run.architecture == name}


def next_seeds(result: VariantResult, count: int) -> list[int]:
    """The `count` smallest seeds (from 1) that the variant's full run does not have yet."""
    taken = {run.seed for run in result.runs}
    seeds, seed = [], 1
    while len(seeds) < count:
        if seed not in taken:
            seeds.append(seed)
        seed += 1
    return seeds


@dataclass(frozen=True)
class VariantShape:
    """What a variant's layers make of a 28×28 digit, known without training (from its LayerSpecs)."""

    params: int
    last_conv_shape: tuple[int, int, int]
    last_conv_receptive_field: int


def variant_shape(name: str) -> VariantShape:
    """Parameters, last conv shape and the receptive field of one of its units, by arithmetic."""
    specs = architecture_specs(name)
    shape, field_size = last_conv_geometry(specs, INPUT_SHAPE)
    return VariantShape(sum(spec.num_params for spec in specs), shape, field_size)


def spatial_positions(name: str) -> dict[str, int]:
    """The variant's conv and pooling layers by position name → layer index.

    Positions are what lines variants up: "conv2d_2" is the second convolution everywhere, and
    "pooling_1" is the first pooling whether it is max or average.
    """
    positions = {}
    for index, spec in enumerate(architecture_specs(name)):
        if spec.kind == "Conv2D":
            positions[spec.name] = index
        elif spec.kind.endswith("Pooling2D"):
            positions["pooling_" + spec.name.rsplit("_", 1)[-1]] = index
    return positions


def position_label(position: str) -> str:
    """"conv2d_3" -> "3rd convolution (conv2d_3)", "pooling_1" -> "1st pooling"."""
    kind, number = position.rsplit("_", 1)
    ordinal = {"1": "1st", "2": "2nd", "3": "3rd"}.get(number, f"{number}th")
    return f"{ordinal} convolution ({position})" if kind == "conv2d" else f"{ordinal} pooling"


def common_positions(first: str, second: str) -> list[str]:
    """The positions both variants have, in the first one's layer order."""
    theirs = spatial_positions(second)
    return [position for position in spatial_positions(first) if position in theirs]


# One colour per variant, the same in the curves, the table and the side-by-side titles (RGB, readable
# on the plots' black and on the window's light background).
VARIANT_COLOURS: dict[str, tuple[int, int, int]] = {
    "seed": (66, 150, 255),
    "conv-conv-pool-pool": (255, 150, 40),
    "no-pooling": (240, 70, 110),
    "average-pooling": (60, 190, 90),
    "strided": (170, 110, 255),
    "same-padding": (215, 190, 30),
}
