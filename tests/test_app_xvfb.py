"""The real `cnnviz` app in a real X display: it starts, trains briefly and screenshots itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]
SCREEN = (1280, 800)
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def x_display():
    """A fresh Xvfb server on a free display number; yields its DISPLAY string."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    for number in range(91, 120):
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        server = subprocess.Popen([xvfb, f":{number}", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten",
                                   "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.poll() is None:
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                break
            time.sleep(0.1)
        if server.poll() is None:
            try:
                yield f":{number}"
            finally:
                server.terminate()
                server.wait(10)
            return
    pytest.fail("no free X display number for Xvfb")


def run_app(mode: str, display: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, np.ndarray]:
    """Run `python -m cnnviz` with the autotest `mode`; check it exited cleanly; return its screenshot."""
    shot = tmp_path / f"{mode}.png"
    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=display, CNNVIZ_AUTOTEST=f"{mode}:{shot}", XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = subprocess.run([sys.executable, "-m", "cnnviz"], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "QThread: Destroyed" not in done.stderr
    assert shot.is_file(), done.stdout + done.stderr[-2000:]
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / f"app_xvfb_{mode}.png")

    from PySide6.QtGui import QImage

    image = QImage(str(shot)).convertToFormat(QImage.Format.Format_RGB888)
    assert (image.width(), image.height()) == SCREEN
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return done, pixels[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()  # own the bytes


def test_app_trains_and_screenshots_itself(x_display, tmp_path, mnist):
    done, pixels = run_app("train-and-screenshot", x_display, tmp_path)
    assert "training finished, 1 epoch(s)" in done.stdout
    assert pixels.std() > 20, "the screenshot is blank"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200, "the screenshot has too few colours"


def test_app_draws_a_seven_and_shows_its_maps(x_display, tmp_path):
    """Issue 4's end-to-end check: a digit drawn with the mouse on the shipped model, in a real display."""
    done, pixels = run_app("draw-and-screenshot", x_display, tmp_path)
    assert "cnnviz autotest: predicted 7, channel 2" in done.stdout, done.stdout
    assert pixels.std() > 20, "the screenshot is blank"
