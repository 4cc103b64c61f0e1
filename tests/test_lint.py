"""`ruff check` (configured in pyproject.toml) finds nothing in cnnviz/, tests/ and scripts/ (issue 25.7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["cnnviz", "tests", "scripts"]


def _ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    pytest.importorskip("ruff", reason="ruff is in the test extra (scripts/setup.sh --test)")
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    done = _ruff(*CHECKED)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]


def _redefined_definitions(*paths: str, cwd: Path = ROOT) -> list[str]:
    """pyflakes' redefinitions (F811) in `paths` that are a `def` or `class`, not a fixture parameter."""
    done = _ruff("--isolated", "--select", "F811", "--output-format", "json", *paths, cwd=cwd)   # not the ignores
    redefined = []
    for finding in json.loads(done.stdout or "[]"):
        row, column = finding["location"]["row"], finding["location"]["column"]
        line = Path(finding["filename"]).read_text(encoding="utf-8").splitlines()[row - 1]
        before = line[:column - 1].split()
        if before and before[-1] in ("def", "class"):
            redefined.append(f"{Path(finding['filename']).name}:{row}: {finding['message']}")
    return redefined


def test_no_test_function_is_defined_twice():
    """F811 is off in tests/ (fixtures imported by name and taken as parameters look like redefinitions), but a
    second `def test_x` would hide the first from pytest: that kind of redefinition still fails."""
    assert _redefined_definitions("tests") == []


def test_the_settings_catch_an_unused_import_a_long_line_and_a_redefined_test(tmp_path):
    """The checks above can fail: the project's settings, on a file with the slips they are there for."""
    sample = tmp_path / "tests" / "test_sample.py"
    sample.parent.mkdir()
    sample.write_text("import os\n\nfrom x import fixture\n\n\ndef test_a(fixture):\n    x = '" + "a" * 120 + "'\n"
                      "    assert x\n\n\ndef test_a():\n    pass\n")
    done = _ruff("--config", str(ROOT / "pyproject.toml"), "--output-format", "json", str(sample), cwd=tmp_path)
    codes = sorted(finding["code"] for finding in json.loads(done.stdout))
    assert codes == ["E501", "F401", "F401"], done.stdout   # os and fixture; F811 is off in tests/
    assert _redefined_definitions(str(sample), cwd=tmp_path) == [
        "test_sample.py:11: Redefinition of unused `test_a` from line 6: `test_a` redefined here"]
