"""Issue 22's Experiments in the real app under Xvfb, driven as a user would (`cnnviz/testing/experiments_mode.py`):
a hand-made vertical-edge detector and the digits it fires on, a 7 attacked until it reads as 3, the
sanity-check strip. The three screenshots are kept in artifacts/ (the README's pictures are cut from them
by scripts/make_screenshots.py)."""

from __future__ import annotations

import ast
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from test_app_xvfb import ARTIFACTS, run_app, x_display  # noqa: F401 (x_display is a fixture)

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]
MODE = "experiments-and-screenshot"


def region(tmp_path, picture: str, name: str) -> np.ndarray:
    """The pixels of target `name` in screenshot `picture` (its rectangle from the `.json` beside it)."""
    path = tmp_path / picture
    left, top, width, height = json.loads(path.with_suffix(".json").read_text())[name]
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=int)[top:top + height, left:left + width]


def share(pixels: np.ndarray, rule) -> float:
    return float(rule(pixels[..., 0], pixels[..., 1], pixels[..., 2]).mean())


def test_edge_detector_attack_and_sanity_strip_in_the_real_app(x_display, tmp_path):  # noqa: F811
    done, _pixels = run_app(MODE, x_display, tmp_path)
    for suffix in ("_kernel", "_attack"):
        shutil.copy(tmp_path / f"{MODE}{suffix}.png", ARTIFACTS / f"app_xvfb_{MODE}{suffix}.png")

    kernel = re.search(r"kernel conv2d_1:5=vertical-edge; painter (\[\[.*?\]\]); prediction (\d) ([\d.]+)%; "
                       r"channel 5 of conv2d_1; firing: <b>conv2d_1 filter 5</b>: Fires most on (\d), (\d) and (\d)",
                       done.stdout)
    assert kernel, done.stdout
    assert ast.literal_eval(kernel.group(1)) == [[-1.0, 0.0, 1.0]] * 3          # painted by the preset button
    dock = region(tmp_path, f"{MODE}_kernel.png", "experiments_dock")
    assert share(dock, lambda r, g, b: (r > 230) & (g > 150) & (g < 190) & (b < 80)) > 0.005   # the accent bars
    painter = region(tmp_path, f"{MODE}_kernel.png", "weight_painter")
    assert share(painter, lambda r, g, b: (b - r) > 50) > 0.1 and share(painter, lambda r, g, b: (r - b) > 50) > 0.1

    attack = re.search(r"attack test digit 510 pgd target 3: 7 ([\d.]+)% -> (\d) ([\d.]+)% at epsilon ([\d.]+) "
                       r"\(smallest found ([\d.]+)\); linf ([\d.]+)", done.stdout)
    assert attack, done.stdout
    assert attack.group(2) == "3" and float(attack.group(1)) > 99
    epsilon, smallest, linf = (float(attack.group(i)) for i in (4, 5, 6))
    assert smallest <= epsilon < smallest + 0.0051 and linf <= epsilon + 1e-6 and epsilon < 0.1
    images = region(tmp_path, f"{MODE}_attack.png", "attack_images")
    assert share(images, lambda r, g, b: (r - b) > 80) > 0.01 and share(images, lambda r, g, b: (b - r) > 80) > 0.002

    sanity = re.search(r"sanity columns (\[.*?\]); scores (\{.*\})", done.stdout)
    assert sanity, done.stdout
    columns = ast.literal_eval(sanity.group(1))
    scores = ast.literal_eval(sanity.group(2))
    assert columns == ["trained", "dense_2", "dense_1", "conv2d_3", "conv2d_2", "conv2d_1"]
    assert set(scores) == {"gradcam", "occlusion", "gradient"} and all(len(v) == 5 for v in scores.values())
    assert min(scores["gradient"]) > 0.5                 # the plain gradient keeps the digit's outline
    strip = region(tmp_path, f"{MODE}.png", "sanity_strip")
    assert share(strip, lambda r, g, b: (r > 200) & (g > 150) & (b < 120)) > 0.01   # inferno's yellows: maps drawn
