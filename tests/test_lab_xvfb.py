"""The real app's Lab in a real X display (issue 13's done-when): two variants trained through the compute
process, their curves overlaid in their own colours, their maps side by side; the GUI never maps TensorFlow."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_app_xvfb import MapsCheck, run_app, x_display  # noqa: F401 (x_display is a fixture)

from cnnviz.gui.lab.data import VARIANT_COLOURS

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]


def colour_pixels(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are within `tolerance` of `colour` in every channel."""
    return int((np.abs(pixels.astype(int) - np.array(colour)).max(axis=-1) <= tolerance).sum())


def test_the_lab_trains_two_variants_and_shows_them_side_by_side(x_display, tmp_path, monkeypatch, mnist):  # noqa: F811
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))          # the Lab saves its variants here
    monkeypatch.setenv("CNNVIZ_ARCHITECTURES_DIR", str(tmp_path / "none"))  # only this run's curves
    maps = MapsCheck()
    done, pixels = run_app("lab-and-screenshot", x_display, tmp_path, maps.on_line)
    line = re.search(r"lab training finished: (.*) overlaid; test accuracy (.*); maps (.*); curves at (\d+),(\d+),"
                     r"(\d+),(\d+)", done.stdout)
    assert line, done.stdout + done.stderr[-2000:]
    assert line.group(1) == "seed, no-pooling"
    assert line.group(3) == "3x3x64 | 22x22x64"                           # the last conv maps of each
    accuracies = dict(part.split() for part in line.group(2).split(", "))
    assert set(accuracies) == {"seed", "no-pooling"} and all(0.1 < float(a) <= 1 for a in accuracies.values())
    saved = sorted(path.name for path in (tmp_path / "data" / "cnnviz" / "lab").iterdir())
    assert saved == ["comparison.csv", "no-pooling.keras", "no-pooling_history.csv", "seed.keras",
                     "seed_history.csv"]
    # Both variants' curves are on the plots, each in its colour.
    x, y, width, height = (int(v) for v in line.groups()[3:])
    curves = pixels[y:y + height, x:x + width]
    assert curves.size and curves.std() > 10, "the curves are blank"
    for name in ("seed", "no-pooling"):
        assert colour_pixels(curves, VARIANT_COLOURS[name]) > 300, f"no {name} curve in the picture"
    # Issue 8: the GUI process never maps TensorFlow, the Lab's training included.
    assert len(maps.gui) == 2 and maps.gui == [set(), set()], maps.gui
