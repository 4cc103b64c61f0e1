"""Issue 25.5: the suite's own rules. pytest-qt's waits only catch hangs; the Xvfb tests fail instead of
skipping where every test must run (CI, scripts/run-tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, QTimer, Signal  # noqa: E402

from conftest import HANG_MS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Later(QObject):
    done = Signal()


def test_a_wait_that_names_a_short_timeout_still_waits_for_a_late_event(qtbot):
    """An event 300 ms away, waited for with 1 ms: with pytest-qt's own timeout this fails; the suite's
    waits give it up to HANG_MS, so only a hang fails."""
    later = Later()
    fired = []
    QTimer.singleShot(300, lambda: (fired.append(True), later.done.emit()))
    qtbot.waitUntil(lambda: bool(fired), timeout=1)
    QTimer.singleShot(300, later.done.emit)
    with qtbot.waitSignal(later.done, timeout=1):
        pass
    assert HANG_MS >= 30_000


def _run_an_xvfb_test(env: dict) -> subprocess.CompletedProcess:
    """test_app_xvfb's first test in a pytest of its own, on a PATH without Xvfb."""
    env = {**env, "PATH": str(Path(sys.executable).parent)}   # python, but no Xvfb
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rsf",
                           "tests/test_app_xvfb.py::test_app_trains_and_screenshots_itself"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("variable", ["CI", "CNNVIZ_FULL_SUITE"])
def test_a_missing_xvfb_fails_where_every_test_must_run(variable):
    quiet = {key: value for key, value in os.environ.items() if key not in ("CI", "CNNVIZ_FULL_SUITE")}
    skipped = _run_an_xvfb_test(quiet)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout[-2000:]
    failed = _run_an_xvfb_test({**quiet, variable: "true" if variable == "CI" else "1"})
    assert failed.returncode == 1 and "1 error" in failed.stdout, failed.stdout[-2000:]   # (in the fixture)
    assert "Xvfb is not installed (apt-get install xvfb): CI and scripts/run-tests run every test" in failed.stdout


def test_run_tests_says_every_test_must_run():
    assert "export CNNVIZ_FULL_SUITE=1" in (ROOT / "scripts" / "run-tests").read_text()
