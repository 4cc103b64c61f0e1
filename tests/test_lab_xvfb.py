"""The real app's Lab in a real X display (issue 13's done-when): two variants trained through the compute
process, their curves overlaid in their own colours, their maps side by side; then the shipped full run over
seeds with its error bars (issue 24); the GUI never maps TensorFlow."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_app_xvfb import MapsCheck, run_app, x_display  # noqa: F401 (x_display is a fixture)

from cnnviz.core.comparison import read_comparison_csv
from cnnviz.core.seed_statistics import SummaryRow
from cnnviz.gui.lab.data import VARIANT_COLOURS, shipped_folder

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]


def png_pixels(path) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def colour_pixels(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are within `tolerance` of `colour` in every channel."""
    return int((np.abs(pixels.astype(int) - np.array(colour)).max(axis=-1) <= tolerance).sum())


def test_the_lab_trains_two_variants_and_shows_them_side_by_side(x_display, tmp_path, monkeypatch, mnist):  # noqa: F811
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))          # the Lab saves its variants here
    maps = MapsCheck()
    done, pixels = run_app("lab-and-screenshot", x_display, tmp_path, maps.on_line)
    line = re.search(r"lab training finished: (.*) overlaid; test accuracy (.*); maps (.*); curves at (\d+),(\d+),"
                     r"(\d+),(\d+)", done.stdout)
    assert line, done.stdout + done.stderr[-2000:]
    assert {"seed", "no-pooling"} <= set(line.group(1).split(", "))
    assert line.group(3) == "3x3x64 | 22x22x64"                           # the last conv maps of each
    accuracies = dict(part.split() for part in line.group(2).split(", "))
    assert set(accuracies) == {"seed", "no-pooling"} and all(0.1 < float(a) <= 1 for a in accuracies.values())
    saved = sorted(path.name for path in (tmp_path / "data" / "cnnviz" / "lab").iterdir())
    assert saved == ["comparison.csv", "no-pooling.keras", "no-pooling_history.csv", "seed.keras",
                     "seed_history.csv"]
    # Both variants' curves are on the plots, each in its colour (the picture of the Curves tab).
    x, y, width, height = (int(v) for v in line.groups()[3:])
    curves = png_pixels(tmp_path / "lab-and-screenshot_curves.png")[y:y + height, x:x + width]
    assert curves.size and curves.std() > 10, "the curves are blank"
    for name in ("seed", "no-pooling"):
        assert colour_pixels(curves, VARIANT_COLOURS[name]) > 300, f"no {name} curve in the picture"
    # Then the full run over seeds: the error bars are the shipped CSV's, each drawn in its variant's colour.
    bars = re.search(r"lab error bars: (.*); bars at (\d+),(\d+),(\d+),(\d+)", done.stdout)
    assert bars, done.stdout
    summary = {row.architecture: row for row in read_comparison_csv(shipped_folder() / "comparison.csv", SummaryRow)}
    shown = dict(part.split(" ", 1) for part in bars.group(1).split("; "))
    assert sorted(shown) == sorted(summary)
    for name, text in shown.items():
        mean, low, high = (float(v) for v in re.match(r"([\d.]+) \[([\d.]+), ([\d.]+)\]", text).groups())
        row = summary[name]
        assert (mean, low, high) == pytest.approx((row.test_accuracy, row.test_accuracy_ci_low,
                                                   row.test_accuracy_ci_high), abs=6e-5)
        assert text.endswith("reference" if name == "seed" else
                             {"yes": "≠ beyond noise", "no": "≈ within noise"}[row.differs_from_seed])
    x, y, width, height = (int(v) for v in bars.groups()[1:])
    column = pixels[y:y + height, x:x + width]        # the error bars' column only (no colour icons)
    for name in summary:
        assert colour_pixels(column, VARIANT_COLOURS[name], tolerance=45) > 40, f"no error bar of {name}"
    # Issue 8: the GUI process never maps TensorFlow, the Lab's training included.
    assert len(maps.gui) == 2 and maps.gui == [set(), set()], maps.gui
