"""Issue 10's done-when in the real app under Xvfb: a unit of conv2d_3 hovered and clicked, its 18×18
receptive field outlined on the 28×28 input and on the drawing, the Unit panel explaining it; before
that, conv2d_2's Kernels view (its own picture, `_kernels.png`)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from test_app_xvfb import ARTIFACTS, run_app, x_display  # noqa: F401 (x_display is a fixture)

from cnnviz.gui.widgets.view_colours import FIELD

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]


def outlined_share(pixels: np.ndarray, rect: list[int]) -> float:
    """The share of the rectangle's four edges (±1 pixel) painted in the field's colour."""
    left, top, right, bottom = rect
    field = np.array([FIELD.red(), FIELD.green(), FIELD.blue()])
    near = np.abs(pixels.astype(int) - field).sum(axis=2) < 60
    edges = [near[top - 1:top + 2, left + 4:right - 4].any(axis=0),
             near[bottom - 2:bottom + 1, left + 4:right - 4].any(axis=0),
             near[top + 4:bottom - 4, left - 1:left + 2].any(axis=1),
             near[top + 4:bottom - 4, right - 2:right + 1].any(axis=1)]
    return float(np.concatenate(edges).mean())


def test_a_conv2d_3_unit_shows_its_18x18_field_on_the_input_and_the_drawing(x_display, tmp_path):  # noqa: F811
    done, pixels = run_app("unit-and-screenshot", x_display, tmp_path)
    unit = re.search(r"unit conv2d_3 channel (\d+) \(1, 1\) pinned; value ([\d.]+) = relu\(([-\d.]+)\), "
                     r"map shows ([\d.]+); field 18x18 at input rows 4-21, columns 4-21; "
                     r"label 'conv2d_3 \(1, 1\): 18×18'; unit panel shown", done.stdout)
    assert unit, done.stdout
    assert float(unit.group(2)) == pytest.approx(float(unit.group(4)), abs=1e-4)   # the arithmetic = the map
    assert float(unit.group(2)) > 0                        # the most active channel there
    where = re.search(r"field outline on input \[([\d, ]+)\] on drawing \[([\d, ]+)\]", done.stdout)
    on_input, on_canvas = ([int(v) for v in group.split(",")] for group in where.groups())
    assert on_canvas[2] - on_canvas[0] > 2 * (on_input[2] - on_input[0])   # the drawing is the larger view
    assert outlined_share(pixels, on_input) > 0.9, on_input
    assert outlined_share(pixels, on_canvas) > 0.9, on_canvas

    kernels = re.search(r"kernels of conv2d_2: 64 tiles of 15x31, colours ([-+\d.]+) to ([-+\d.]+), mode kernels; "
                        r"hover 'filter 9  ·  input channel 10, row 1, column 2  ·  weight [-+\d.]+", done.stdout)
    assert kernels, done.stdout
    assert float(kernels.group(1)) == pytest.approx(-float(kernels.group(2))) and float(kernels.group(2)) > 0
    picture = tmp_path / "unit-and-screenshot_kernels.png"
    shutil.copy(picture, ARTIFACTS / "app_xvfb_unit-and-screenshot_kernels.png")
    left, top, width, height = json.loads((tmp_path / "unit-and-screenshot.json").read_text())["layer_stack"]
    with Image.open(picture) as image:
        grid = np.asarray(image.convert("RGB"), dtype=int)[top:top + height, left:left + width]
    red = (grid[..., 0] - grid[..., 2] > 80).mean()
    blue = (grid[..., 2] - grid[..., 0] > 80).mean()
    assert red > 0.02 and blue > 0.02, (red, blue)        # weights of both signs, in diverging colours
