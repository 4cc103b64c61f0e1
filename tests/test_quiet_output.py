"""No TensorFlow or CUDA start-up chatter in `cnnviz summary`, `predict` or a launch of the app.

Each command runs in a fresh process whose environment does *not* set TF_CPP_MIN_LOG_LEVEL:
cnnviz must quieten TensorFlow itself, before TensorFlow is imported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from _png import write_png

# absl log lines (I0000 00:00:… cpu_feature_guard.cc] …), CUDA probing, oneDNN and TF-TRT notices.
CHATTER = re.compile(r"^[IWEF]\d{4} \d\d:\d\d|absl::|cuda|cudart|cuInit|cuDNN|cuFFT|cuBLAS|TF-TRT|oneDNN|"
                     r"cpu_feature_guard|tensorflow/|This TensorFlow binary", re.IGNORECASE | re.MULTILINE)


def _environment(tmp_path, **extra) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    return env


def _run(args, env, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnviz", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _assert_quiet(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, done.stderr[-2000:]
    for stream in (done.stderr, done.stdout):
        found = CHATTER.findall(stream)
        assert not found, f"TensorFlow chatter {found}:\n{stream[-2000:]}"


@pytest.fixture(scope="module")
def seven_png(tmp_path_factory, mnist):
    folder = tmp_path_factory.mktemp("quiet")
    return write_png(folder / "seven.png", 255 - np.kron(mnist.x_test[0], np.ones((3, 3), np.uint8)))


@pytest.mark.slow
def test_summary_and_predict_are_quiet(tmp_path, seven_png):
    env = _environment(tmp_path)
    summary = _run(["summary"], env)
    _assert_quiet(summary)
    assert "conv2d_1" in summary.stdout and "93,322" in summary.stdout
    predict = _run(["predict", str(seven_png)], env)
    _assert_quiet(predict)
    assert predict.stdout.split("\t")[1] == "7"
    assert predict.stderr == ""


@pytest.mark.slow
def test_the_chatter_check_can_fail(tmp_path):
    """A user who asks for TensorFlow's logs gets them: cnnviz only sets a default, and CHATTER sees them."""
    done = _run(["summary"], _environment(tmp_path, TF_CPP_MIN_LOG_LEVEL="0"))
    assert done.returncode == 0 and CHATTER.search(done.stderr), done.stderr[-2000:]


@pytest.mark.slow
def test_launch_is_quiet(tmp_path):
    """The real app (offscreen): it loads the model in its compute process, draws a 7 and quits."""
    shot = tmp_path / "launch.png"
    env = _environment(tmp_path, QT_QPA_PLATFORM="offscreen", CNNVIZ_AUTOTEST=f"draw-and-screenshot:{shot}")
    done = _run([], env)
    _assert_quiet(done)
    assert "model ready" in done.stdout and shot.is_file(), done.stdout + done.stderr[-2000:]
