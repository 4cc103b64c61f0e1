"""The real app under Xvfb: the Grad-CAM overlay on a drawn 7, then conv2d_2's filter-pattern grid with a
filter's top digits and another filter switched off; both screenshots kept in artifacts/."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from PySide6.QtGui import QImage

from test_app_xvfb import ARTIFACTS, MapsCheck, run_app, x_display  # noqa: F401 (x_display is a fixture)

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]
MODE = "attribution-and-screenshot"


def rgb_pixels(path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, :3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def test_gradcam_overlay_and_filter_patterns_in_the_real_app(x_display, tmp_path, monkeypatch):  # noqa: F811
    # The app's steps wait for the compute process; at its usual nice +10 a busy machine can starve it past
    # the autotest's time limit. The check here is what the app shows, not how it shares the CPU.
    monkeypatch.setenv("CNNVIZ_COMPUTE_NICE", "0")
    maps = MapsCheck()
    done, patterns_shot = run_app(MODE, x_display, tmp_path, maps.on_line)
    out = done.stdout
    assert re.search(r"grad-cam why 7\? at conv2d_3 \(3x3\), peak [0-9.]+; occlusion drop up to", out), out
    assert re.search(r"patterns of conv2d_2: 64 filters in [0-9.]+ s, grid shows patterns \(64, 28, 28\)", out), out
    assert re.search(r"top digits of conv2d_2 channel 12: \[(\d+, ){8}\d+\]; switched off \{'conv2d_2': \[3\]\}, "
                     r"marked \[3\]", out), out
    assert maps.gui and all(not libraries for libraries in maps.gui), maps.gui   # no TensorFlow in the GUI

    gradcam_path = tmp_path / f"{MODE}_gradcam.png"
    assert gradcam_path.is_file()
    shutil.copy(gradcam_path, ARTIFACTS / f"app_xvfb_{MODE}_gradcam.png")
    gradcam = rgb_pixels(gradcam_path).astype(int)
    # The overlay's warm colours over the drawing (left column of the window): white strokes and the
    # black canvas are grey, only the heat is red-orange.
    left = gradcam[:, :320]
    warm = (left[..., 0] - left[..., 2] > 50) & (left[..., 0] > 90)
    assert warm.sum() > 5000, warm.sum()
    assert patterns_shot.std() > 20 and len(np.unique(patterns_shot.reshape(-1, 3), axis=0)) > 200
