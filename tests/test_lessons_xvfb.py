"""Issue 20 in the real app under Xvfb: lesson 1's first question asked (the overview's size labels hidden,
1 typed) and revealed (conv2d_1's maps outlined, the verdict with its explanation); both screenshots are
kept in artifacts/ (`app_xvfb_lesson-and-screenshot*.png`) and are the README's pictures
(`scripts/make_screenshots.py`)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from test_app_xvfb import ARTIFACTS, run_app, x_display  # noqa: F401 (x_display is a fixture)

from cnnviz.gui.seam.targets import HIGHLIGHT_COLOUR

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]


def region(pixels: np.ndarray, rect: list[int]) -> np.ndarray:
    x, y, width, height = rect
    return pixels[y:y + height, x:x + width].astype(int)


def dark_share(pixels: np.ndarray) -> float:
    """The share of a light area's pixels that are text (much darker than the area's background)."""
    grey = pixels.mean(axis=2)
    return float((grey < np.median(grey) - 80).mean())


def outline_share(pixels: np.ndarray, rect: list[int]) -> float:
    """The share of the four edges of `rect` (within 4 pixels outside it) painted in the highlight colour."""
    x, y, width, height = rect
    colour = np.array([HIGHLIGHT_COLOUR.red(), HIGHLIGHT_COLOUR.green(), HIGHLIGHT_COLOUR.blue()])
    near = np.abs(pixels.astype(int) - colour).sum(axis=2) < 90
    edges = [near[y - 5:y + 1, x + 6:x + width - 6].any(axis=0), near[y + height - 1:y + height + 5,
             x + 6:x + width - 6].any(axis=0), near[y + 6:y + height - 6, x - 5:x + 1].any(axis=1),
             near[y + 6:y + height - 6, x + width - 1:x + width + 5].any(axis=1)]
    return float(np.concatenate(edges).mean())


def test_a_lesson_question_and_its_reveal_on_screen(x_display, tmp_path):  # noqa: F811
    done, reveal = run_app("lesson-and-screenshot", x_display, tmp_path)
    asked = re.search(r"lesson feature-maps step 2 asks 'Your digit has one channel\. How many maps \(channels\) "
                      r"will conv2d_1 output for it\?'; hidden pipeline; size labels at \[([\d, ]+)\]", done.stdout)
    assert asked, done.stdout
    answered = re.search(r"answered 1: wrong, the answer 32; showing conv2d_1; highlighted layer-grid \(layer_stack\) "
                         r"at \[([\d, ]+)\]; hidden now ''; size labels at \[([\d, ]+)\]", done.stdout)
    assert answered, done.stdout
    assert "explanation 'One channel in does not mean one channel out." in done.stdout
    labels = [int(v) for v in asked.group(1).split(",")]
    assert labels == [int(v) for v in answered.group(2).split(",")]
    with Image.open(tmp_path / "lesson-and-screenshot_question.png") as image:
        question = np.asarray(image.convert("RGB"))
    # Asked: the overview's size labels are covered (no text there); revealed: they are back.
    assert dark_share(region(question, labels)) < 0.002, dark_share(region(question, labels))
    assert dark_share(region(reveal, labels)) > 0.01, dark_share(region(reveal, labels))
    # Revealed: conv2d_1's maps outlined in the highlight colour, where the app says.
    outline = [int(v) for v in answered.group(1).split(",")]
    assert outline_share(reveal, outline) > 0.9, outline_share(reveal, outline)
    assert outline_share(question, outline) < 0.2
    regions = json.loads((tmp_path / "lesson-and-screenshot.json").read_text())
    x, y, width, height = regions["lesson_dock"]
    assert width >= 250 and x + width <= outline[0]          # the panel beside the views, left of the maps
    for name in ("lesson-and-screenshot_question.png", "lesson-and-screenshot.png"):
        shutil.copy(tmp_path / name, ARTIFACTS / f"app_xvfb_{name}")
