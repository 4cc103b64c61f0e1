"""Shared fixtures. Qt runs offscreen; settings and caches are per-test unless a test needs MNIST."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from cnnviz.core.lean_imports import lean_keras_import
from cnnviz.core.quiet import quiet_process

quiet_process()   # the suite's own TensorFlow import prints no absl lines either (issue 25)
lean_keras_import()   # and imports Keras as the app does (without matplotlib; exports import it later)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Each test gets its own QSettings folder, so remembered settings never leak between tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    try:
        from PySide6.QtCore import QSettings
    except ImportError:
        return
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST (fetched by `.ci/run` with `cnnviz data --fetch` before the tests)."""
    from cnnviz.core.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """600 training and 500 test digits of real MNIST, for quick training runs."""
    from cnnviz.core.data import Dataset

    return Dataset(mnist.x_train[:600], mnist.y_train[:600], mnist.x_test[:500], mnist.y_test[:500], "small")


@pytest.fixture(scope="session")
def shipped_model_path():
    from cnnviz.core.paths import default_model_path

    path = default_model_path()
    assert path.is_file(), f"the shipped model is missing at {path}"
    return path


@pytest.fixture(scope="session")
def shipped_model(shipped_model_path):
    from cnnviz.core.model import load_model

    return load_model(shipped_model_path)


@pytest.fixture(scope="session")
def shipped_probe(shipped_model):
    from cnnviz.core.activations import ActivationProbe

    return ActivationProbe(shipped_model)


@pytest.fixture
def fresh_model():
    """A newly built, untrained seed convnet (seeded for repeatability)."""
    import keras

    from cnnviz.core.model import build_seed_model

    keras.utils.set_random_seed(0)
    return build_seed_model()


@pytest.fixture
def digit_seven(mnist):
    """The first test digit (a 7) as a (28, 28) float32 image in [0, 1]."""
    assert mnist.y_test[0] == 7
    return mnist.x_test[0].astype(np.float32) / 255.0


# --- pytest-qt's waits only catch hangs --------------------------------------------------------------
HANG_MS = 60_000   # the least time any qtbot wait gives an event before the test fails (issue 25)
_WAITS = ("waitUntil", "waitSignal", "waitSignals", "waitCallback", "waitExposed", "waitActive")


@pytest.fixture
def qtbot(qtbot):
    """pytest-qt's qtbot whose waits give up after HANG_MS at the earliest (pytest-qt's default is 5 s,
    and some tests named 2 s or 10 s): on a loaded machine an event that comes late is not a failure,
    so a wait is an event wait with a bound that only catches a hang, never a timing assertion.
    Speed claims live in scripts/bench_*.py."""
    for name in _WAITS:
        setattr(qtbot, name, _waiting_at_least(getattr(qtbot, name), HANG_MS))
    return qtbot


def _waiting_at_least(wait, least_ms: int):
    """`wait` (a qtbot method) with its `timeout` raised to `least_ms` (0 or None, "forever", are kept)."""
    import functools

    @functools.wraps(wait)
    def patient(*args, timeout=least_ms, **kwargs):
        try:
            return wait(*args, timeout=max(timeout, least_ms) if timeout else timeout, **kwargs)
        except Exception as exc:
            if type(exc).__name__ == "TimeoutError":   # pytest-qt's
                dump_compute_stacks()
            raise

    return patient


def dump_compute_stacks() -> None:
    """A wait timed out: every compute process of this test (the child processes that catch SIGUSR1) prints
    its threads' stacks on stderr, which pytest shows with the failure (`compute.server.dump_stacks_on_request`;
    a lesson's answer once waited 600 s for its values in a full suite and never in a run of its own)."""
    import signal
    import time

    import psutil

    asked = 0
    for child in psutil.Process().children(recursive=True):
        try:
            with open(f"/proc/{child.pid}/status") as status:
                caught = next(int(line.split()[1], 16) for line in status if line.startswith("SigCgt:"))
            if caught & (1 << (signal.SIGUSR1 - 1)):
                os.kill(child.pid, signal.SIGUSR1)
                asked += 1
        except (OSError, StopIteration, psutil.Error):
            pass
    if asked:
        time.sleep(1.0)   # the processes write their dumps themselves


# --- the GUI's compute process --------------------------------------------------------------------
@pytest.fixture(scope="session")
def compute_client(qapp):
    """ONE real compute process for the GUI tests, spawned once (its TensorFlow import is paid once);
    tests reset it by loading a model (`shipped_info`)."""
    from cnnviz.gui.remote.compute_client import ComputeClient

    client = ComputeClient()
    client.start()
    yield client
    client.shutdown()


@pytest.fixture
def shipped_info(qtbot, compute_client, shipped_model_path):
    """The shipped model loaded into the shared compute process (its ModelInfo)."""
    from _compute import call

    return call(qtbot, compute_client, "load_model", {"path": shipped_model_path})


@pytest.fixture
def capability_window(qtbot, compute_client, monkeypatch):
    """`capability_window(*names, dataset=None)`: a MainWindow on the shared compute process with only the
    capabilities `names` installed (none named: all of CAPABILITIES); its `context` is theirs."""
    from cnnviz.gui.shell import capabilities
    from cnnviz.gui.shell.main_window import MainWindow

    def make(*names: str, dataset=None):
        if names:
            monkeypatch.setattr(capabilities, "CAPABILITIES", names)
        window = MainWindow(dataset=dataset, client=compute_client)
        qtbot.addWidget(window)
        return window

    return make
