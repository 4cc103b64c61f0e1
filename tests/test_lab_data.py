"""What the Lab reads and writes without Qt or TensorFlow: folders of trained variants, layer positions,
the help template filled from comparison.csv."""

from __future__ import annotations

import re

import pytest

from cnnviz.core.architectures import ARCHITECTURES
from cnnviz.core.comparison import ComparisonRow, replace_row, write_comparison_csv
from cnnviz.core.paths import resources_dir
from cnnviz.core.training import EpochRecord, write_history_csv
from cnnviz.gui.lab.data import (
    SHIPPED,
    YOURS,
    common_positions,
    lab_results,
    position_label,
    spatial_positions,
    variant_shape,
)
from cnnviz.core.seed_statistics import SummaryRow, WelchResult
from cnnviz.gui.lab.help import MISSING, P_TOKENS, fill_help, help_markdown

# The issue's table, worked out by hand: parameters, last conv output, one last-conv unit's field.
EXPECTED_SHAPES = {
    "seed": (93_322, (3, 3, 64), 18),
    "conv-conv-pool-pool": (121_994, (4, 4, 64), 16),
    "no-pooling": (2_038_922, (22, 22, 64), 7),
    "average-pooling": (93_322, (3, 3, 64), 18),
    "strided": (121_994, (4, 4, 64), 15),
    "same-padding": (257_162, (7, 7, 64), 18),
}


def row(name: str, test_accuracy: float = 0.99, seconds: float = 10.0, gap: float = 0.005) -> ComparisonRow:
    params, shape, field = EXPECTED_SHAPES[name]
    return ComparisonRow(name, params, shape, field, seconds, test_accuracy + gap, test_accuracy, gap, 5)


def seeded(name: str) -> SummaryRow:
    """A made-up row of a summary over 5 seeds ("yes" for every variant but seed)."""
    base = row(name, 0.99)
    return SummaryRow(*(getattr(base, field) for field in ComparisonRow.__dataclass_fields__), 5, 0.001, 0.0007,
                      0.9888, 0.9912, "no" if name == "seed" else "yes")


def write_folder(folder, rows, with_models=True):
    write_comparison_csv(rows, folder / "comparison.csv")
    for r in rows:
        write_history_csv([EpochRecord(1, 0.5, 0.9, 0.4, r.test_accuracy, 3.0, 1000.0)],
                          folder / f"{r.architecture}_history.csv")
        if with_models:
            (folder / f"{r.architecture}.keras").write_bytes(b"stand-in")


def test_variant_shapes_follow_the_issue_table():
    assert {name: tuple(variant_shape(name).__dict__.values()) for name in ARCHITECTURES} == EXPECTED_SHAPES


def test_positions_line_variants_up_by_layer_name():
    assert spatial_positions("seed") == {"conv2d_1": 0, "pooling_1": 1, "conv2d_2": 2, "pooling_2": 3, "conv2d_3": 4}
    assert spatial_positions("conv-conv-pool-pool") == {"conv2d_1": 0, "conv2d_2": 1, "pooling_1": 2,
                                                         "pooling_2": 3, "conv2d_3": 4}
    assert common_positions("seed", "no-pooling") == ["conv2d_1", "conv2d_2", "conv2d_3"]
    assert common_positions("seed", "average-pooling") == list(spatial_positions("seed"))  # max ~ average
    assert position_label("conv2d_3") == "3rd convolution (conv2d_3)"
    assert position_label("pooling_1") == "1st pooling"


def test_your_results_replace_the_shipped_ones_variant_by_variant(tmp_path):
    shipped, lab = tmp_path / "shipped", tmp_path / "lab"
    shipped.mkdir()
    lab.mkdir()
    write_folder(shipped, [row("seed", 0.99), row("no-pooling", 0.98)])
    write_folder(lab, [row("no-pooling", 0.90)])
    write_folder(lab, replace_row([row("no-pooling", 0.90)], row("strided", 0.95)), with_models=False)
    results = lab_results(shipped, lab)
    assert list(results) == list(ARCHITECTURES)
    assert (results["seed"].source, results["seed"].row.test_accuracy) == (SHIPPED, 0.99)
    assert (results["no-pooling"].source, results["no-pooling"].row.test_accuracy) == (YOURS, 0.90)
    assert results["no-pooling"].model_path == lab / "no-pooling.keras"
    assert [r.test_accuracy for r in results["no-pooling"].history] == [0.90]
    assert results["strided"].source == YOURS and results["strided"].model_path is None  # a row without its file
    assert results["average-pooling"].row is None and results["average-pooling"].source is None
    assert lab_results(tmp_path / "nowhere", None)["seed"].row is None


def test_replace_row_keeps_the_variants_order():
    rows = replace_row([row("strided"), row("seed")], row("no-pooling"))
    assert [r.architecture for r in rows] == ["seed", "no-pooling", "strided"]
    assert [r.architecture for r in replace_row(rows, row("seed", 0.5))] == ["seed", "no-pooling", "strided"]
    assert replace_row(rows, row("seed", 0.5))[0].test_accuracy == 0.5


def test_help_tokens_are_filled_from_the_rows():
    rows = [row("seed", 0.9912, seconds=10.0, gap=0.0031), row("no-pooling", 0.9876, seconds=42.0, gap=0.0123)]
    text = ("{{results_table}}\nseed {{seed.test_accuracy}} gap {{ seed.train_test_gap }}; "
            "{{no-pooling.params}} weights, {{no-pooling.last_conv_shape}}, "
            "sees {{no-pooling.last_conv_receptive_field}}; "
            "{{no-pooling.seconds_per_epoch/seed.seconds_per_epoch}} slower; {{strided.test_accuracy}} "
            "{{seed.nonsense}} {{strided.seconds_per_epoch/seed.seconds_per_epoch}}")
    filled = fill_help(text, rows)
    table, sentence = filled.split("\n", 2)[0:2], filled.splitlines()[-1]
    assert "| variant |" in table[0]
    assert filled.count("| seed | 93,322 | 3×3×64 | 18×18 | 10.0 s | 99.43% | 99.12% | +0.31 points | 5 |") == 1
    assert sentence == (f"seed 99.12% gap +0.31 points; 2,038,922 weights, 22×22×64, sees 7×7; 4.2× slower; "
                        f"{MISSING} {MISSING} {MISSING}")
    assert "not in this copy" in fill_help("{{results_table}}", [])


def test_the_shipped_help_names_only_real_cells_and_fills_completely(tmp_path):
    template = (resources_dir() / "lab_help.md").read_text(encoding="utf-8")
    template = re.sub(r"<!--.*?-->", "", template, flags=re.DOTALL)  # the comment explains the tokens
    tokens = re.findall(r"\{\{\s*([^{}]+?)\s*\}\}", template)
    assert "results_table" in tokens and len(tokens) > 10
    fields = set(SummaryRow.__dataclass_fields__) | set(P_TOKENS)
    for token in tokens:
        for reference in token.split("/"):
            if reference != "results_table":
                name, field = reference.rsplit(".", 1)
                assert name in ARCHITECTURES and field in fields, token
    rows = [seeded(name) for name in ARCHITECTURES]
    tests = {name: WelchResult(-2.0, 7.5, 0.04) for name in ARCHITECTURES if name != "seed"}
    tests.update({f"{name}.{figure}": WelchResult(1.0, 7.0, 0.3) for name in ARCHITECTURES if name != "seed"
                  for figure in ("train_test_gap", "train_accuracy")})
    markdown = help_markdown(rows, tests=tests)
    assert "{{" not in markdown and "<!--" not in markdown
    assert markdown.count(MISSING) == template.count(MISSING)  # no token left unfilled ("…" is also in the text)
    assert markdown.count("| same-padding | 257,162 |") == 1
    assert "| strided | 121,994 | 4×4×64 | 15×15 | 10.0 s | 99.50% | **99.00%** ± 0.10 | 98.88%–99.12% | " \
           "+0.50 ± 0.07 points | **yes** (p = 0.040) |" in markdown
    assert "(Welch p = 0.040)" in markdown and "p = 0.300" in markdown
    assert help_markdown([]).count(MISSING) > template.count(MISSING)  # before the full run: placeholders
    assert "could not be read" in help_markdown([], tmp_path / "missing.md")


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_every_variant_has_two_positions_in_common_with_the_seed(name):
    assert {"conv2d_1", "conv2d_3"} <= set(common_positions("seed", name))
