"""Issue 21's panels in the real app under Xvfb, driven by the mouse and keys as a user would: Move it (a test 7
dragged 3 pixels right beside the Lab's no-pooling) and Your digits (a collected handwriting, a drawn 7 kept
with its key, the gallery, then Teach it my handwriting). What the app prints is checked against a forward
pass of the shipped model in this process; the GUI process never maps TensorFlow."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_app_xvfb import MapsCheck, run_app, x_display  # noqa: F401 (x_display is a fixture)

from cnnviz.core.robustness import shift_image

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]


def test_dragging_the_digit_in_move_it_moves_what_the_model_reads(x_display, tmp_path, monkeypatch,  # noqa: F811
                                                                  mnist, shipped_model):
    monkeypatch.setenv("CNNVIZ_LAB_DIR", str(tmp_path / "lab"))   # the shipped Lab variants only
    maps = MapsCheck()
    done, pixels = run_app("move-it-and-screenshot", x_display, tmp_path, maps.on_line)
    line = re.search(r"moved (-?\d+) px right: read as (\d) P\((\d)\) ([\d.]+); curves at \+3: model ([\d.]+), "
                     r"no-pooling ([\d.]+); bars (.*)", done.stdout)
    assert line, done.stdout + done.stderr[-2000:]
    assert int(line.group(1)) == 3 and int(line.group(3)) == int(mnist.y_test[0]) == 7
    moved = shift_image(mnist.x_test[0] / np.float32(255), 3, 0)
    independent = np.asarray(shipped_model(moved[None, ..., None], training=False))[0]
    assert int(line.group(2)) == int(independent.argmax())
    assert float(line.group(4)) == pytest.approx(float(independent[7]), abs=2e-3)
    assert float(line.group(5)) == pytest.approx(float(independent[7]), abs=2e-3)   # the curve at the move
    assert 0 <= float(line.group(6)) <= 1
    bars = re.findall(r"(\w+) (-?[\d.]+)/(-?[\d.]+)", line.group(7))
    assert [name for name, _, _ in bars][:3] == ["conv2d_1", "max_pooling2d_1", "conv2d_2"], bars
    assert pixels.std() > 20, "the screenshot is blank"
    assert maps.gui and all(not libraries for libraries in maps.gui), maps.gui


def test_your_digits_are_kept_read_and_taught_in_the_real_app(x_display, tmp_path, shipped_model):  # noqa: F811
    from cnnviz.core.model_files import model_info
    from cnnviz.core.own_digits import read_digit_folder

    maps = MapsCheck()
    done, pixels = run_app("handwriting-and-screenshot", x_display, tmp_path, maps.on_line)
    kept = re.search(r"your digits: (\d+) kept, the notes' model reads (\d+) right \(([\d.]+)\); (\d+) marked",
                     done.stdout)
    taught = re.search(r"taught (\d+) epochs: your digits ([\d.]+) -> ([\d.]+) \(gallery ([\d.]+)\), "
                       r"MNIST test ([\d.]+) -> ([\d.]+), (\d+) changed", done.stdout)
    assert kept and taught, done.stdout + done.stderr[-2000:]
    folder = tmp_path / "handwriting-and-screenshot_digits"
    assert len(list((folder / "7").glob("*.png"))) == 11               # ten collected sevens and the drawn one
    own = read_digit_folder(folder, model_info(shipped_model))
    assert int(kept.group(1)) == len(own.labels) == 101
    reads = np.asarray(shipped_model(own.images, training=False)).argmax(axis=1)
    right = int((reads == own.labels).sum())
    assert int(kept.group(2)) == right and int(kept.group(4)) == len(own.labels) - right   # the marks: its mistakes
    assert int(taught.group(1)) == 3
    assert float(taught.group(2)) == pytest.approx(right / len(own.labels), abs=1e-4)   # printed to 4 places
    assert float(taught.group(3)) == pytest.approx(float(taught.group(4)))   # the gallery reads the taught model
    assert float(taught.group(3)) > float(taught.group(2))                   # it learnt the handwriting
    assert (tmp_path / "handwriting-and-screenshot_1_gallery.png").is_file()
    assert pixels.std() > 20, "the screenshot is blank"
    assert maps.gui and all(not libraries for libraries in maps.gui), maps.gui
