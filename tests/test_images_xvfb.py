"""The real app in an Xvfb display opens a photo-like picture and shows the detected ink outlined."""

from __future__ import annotations

import numpy as np
import pytest
from test_app_xvfb import x_display, run_app  # noqa: F401 (x_display is a fixture)

from cnnviz.gui.widgets.drawing_canvas import OUTLINE_COLOUR

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]


def test_app_opens_a_photo_and_outlines_the_ink(x_display, tmp_path, mnist):  # noqa: F811
    done, pixels = run_app("open-image-and-screenshot", x_display, tmp_path)
    assert "cnnviz autotest: opened" in done.stdout, done.stdout
    assert "dark ink on light paper" in done.stdout and "predicted 7" in done.stdout, done.stdout
    outline = np.array([OUTLINE_COLOUR.red(), OUTLINE_COLOUR.green(), OUTLINE_COLOUR.blue()])
    outlined = (np.abs(pixels.astype(int) - outline).sum(axis=2) < 40).sum()
    # nothing else on screen has the outline's green; its length follows the canvas's size (63 pixels at the
    # 160-pixel canvas of a 1280×800 window showing the augmented-model and first-lesson notices above it)
    assert outlined > 40, "the detected ink is not outlined on screen"
