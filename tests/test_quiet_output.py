"""No TensorFlow or CUDA start-up chatter in `cnnviz summary`, `predict` or a launch of the app.

Each command runs in a fresh process whose environment does *not* set TF_CPP_MIN_LOG_LEVEL:
cnnviz must quieten TensorFlow itself, before TensorFlow is imported. Each runs with oneDNN forced on
(as on a CPU with AVX-512, where TensorFlow prints absl lines that no log level stops) and off, so
both kinds of CPU are covered on any x86-64 machine (issue 25).
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


# (ids that CHATTER does not match: they appear in the tmp_path names the commands print)
ONEDNN = pytest.mark.parametrize("onednn", ["1", "0"], ids=["like-avx512", "like-older-cpus"])


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
@ONEDNN
def test_summary_and_predict_are_quiet(tmp_path, seven_png, onednn):
    env = _environment(tmp_path, TF_ENABLE_ONEDNN_OPTS=onednn)
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
    done = _run(["summary"], _environment(tmp_path, TF_CPP_MIN_LOG_LEVEL="0", TF_ENABLE_ONEDNN_OPTS="1"))
    assert done.returncode == 0 and CHATTER.search(done.stderr), done.stderr[-2000:]


def test_forcing_onednn_on_makes_tensorflow_chatter_on_any_cpu(tmp_path):
    """What the quiet checks above are up against: with oneDNN on, TensorFlow's import prints absl lines
    that its own log level does not stop (so the onednn-on checks can fail on any x86-64 machine)."""
    env = _environment(tmp_path, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="1")
    done = subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0 and "oneDNN custom operations are on" in done.stderr, done.stderr[-2000:]


@pytest.mark.slow
@ONEDNN
def test_launch_is_quiet(tmp_path, onednn):
    """The real app (offscreen): it loads the model in its compute process, draws a 7 and quits."""
    shot = tmp_path / "launch.png"
    env = _environment(tmp_path, QT_QPA_PLATFORM="offscreen", CNNVIZ_AUTOTEST=f"draw-and-screenshot:{shot}",
                       TF_ENABLE_ONEDNN_OPTS=onednn)
    done = _run([], env)
    _assert_quiet(done)
    assert "model ready" in done.stdout and shot.is_file(), done.stdout + done.stderr[-2000:]
