"""What the Lab shows, read from folders of trained variants (Qt-free, TensorFlow-free).

A folder holds what `cnnviz compare --models DIR` (and the Lab's own runs) write: `comparison.csv`
(one row per variant), and per variant `NAME.keras` with `NAME_history.csv`. Two folders count:
the **shipped** one (`resources/architectures/`, the full run made for the README; read-only) and the
user's **lab** folder, where the app saves the variants trained in the Lab. A variant trained by the
user is shown from the lab folder, every other one from the shipped folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.core.architectures import ARCHITECTURES, architecture_specs
from cnnviz.core.comparison import COMPARISON_FILE, ComparisonRow, last_conv_geometry, read_comparison_csv
from cnnviz.core.model import INPUT_SHAPE
from cnnviz.core.paths import resources_dir
from cnnviz.core.training import EpochRecord, history_path_for, read_history_csv

SHIPPED_ENV = "CNNVIZ_ARCHITECTURES_DIR"  # overrides the shipped folder (development, tests)
LAB_ENV = "CNNVIZ_LAB_DIR"                # overrides the user's lab folder
SHIPPED, YOURS = "shipped", "yours"


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


def lab_results(shipped: Path | None, lab: Path | None) -> dict[str, VariantResult]:
    """Every variant, in ARCHITECTURES order: the user's result where there is one, else the shipped
    one, else an empty VariantResult."""
    mine, theirs = read_folder(lab, YOURS), read_folder(shipped, SHIPPED)
    return {name: mine.get(name) or theirs.get(name) or VariantResult(name) for name in ARCHITECTURES}


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
