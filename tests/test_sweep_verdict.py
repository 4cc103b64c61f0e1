"""Issue 25.4: the bad-input sweep cannot pass by accident.

An independent read found that a case expected to be refused but exiting 0 was left out of the
verdict, that "no code ran" was watched in 20 cases only (with one marker shared by every case, deleted
by each as it started), that only paths named on the command line were guarded, and that the memory
bound applied to refused inputs only. Each test here runs the sweep's own runner on a stand-in command
that does the bad thing, and checks that the verdict fails.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import hostile_files as hostile  # noqa: E402
import sweep_runner  # noqa: E402
from bad_input_case import Case, Outcome  # noqa: E402


@pytest.fixture
def workspace(tmp_path):
    for name in ("markers", "tmp", "env/user_home"):
        (tmp_path / name).mkdir(parents=True)
    return tmp_path


def run(monkeypatch, workspace, code: str, case: Case, number: int = 1, always=()) -> Outcome:
    """Run `case` through the sweep's runner, with `python -c code` standing in for cnnviz."""
    monkeypatch.setattr(sweep_runner, "command_line", lambda case, nice, user: [sys.executable, "-c", code])
    return sweep_runner.run_case(case, number, workspace, dict(os.environ), 60, 0, list(always), None)


def test_a_refusal_that_exits_0_fails_the_verdict(monkeypatch, workspace, capsys):
    accepted = run(monkeypatch, workspace, "pass", Case("hostile input", ["x"], "refuse"))
    assert accepted.verdict == "ACCEPTED" and accepted.failed
    baseline = run(monkeypatch, workspace, "pass", Case("baseline", [], "accept"))
    assert sweep_runner.report([accepted], baseline, []) == 1
    assert "Targets NOT met." in capsys.readouterr().out
    refused = run(monkeypatch, workspace, "raise SystemExit(2)", Case("hostile input", ["x"], "refuse"))
    assert refused.verdict == "clear" and sweep_runner.report([refused], baseline, []) == 0


def test_every_case_has_its_own_marker_and_code_that_ran_is_caught(monkeypatch, workspace):
    first = run(monkeypatch, workspace, hostile.TOUCH_MARKER + "; raise SystemExit(2)", Case("a", []), number=1)
    assert first.verdict == "CODE RAN" and first.appeared == [str(workspace / "markers" / "case-001")]
    second = run(monkeypatch, workspace, "raise SystemExit(2)", Case("b", []), number=2)
    assert second.verdict == "clear" and (workspace / "markers" / "case-001").exists()   # not deleted by case 2


def test_a_payload_module_that_is_imported_is_caught(monkeypatch, workspace):
    hostile.write_payload_module(workspace / "payload")
    monkeypatch.setenv("PYTHONPATH", str(workspace / "payload"))
    outcome = run(monkeypatch, workspace, f"import {hostile.PAYLOAD_MODULE}; raise SystemExit(2)", Case("c", []))
    assert outcome.verdict == "CODE RAN"


def test_a_link_target_and_a_parent_that_is_a_file_are_guarded(monkeypatch, workspace):
    precious = workspace / "precious.keras"
    precious.write_text("model")
    link = workspace / "link.png"
    link.symlink_to(precious)
    (workspace / "a_file").write_text("mine")
    case = Case("writes through", ["--out", str(link), "--npy", str(workspace / "a_file" / "x.npy")])
    assert set(sweep_runner.guarded_paths(case, workspace, [])) >= {link, precious, workspace / "a_file"}
    outcome = run(monkeypatch, workspace, f"open({str(precious)!r}, 'w').write('PNG'); raise SystemExit(2)", case)
    assert outcome.verdict == "DATA LOST" and str(precious) in outcome.changed


def test_the_sweep_wide_guards_cover_files_no_case_names(monkeypatch, workspace):
    cache = workspace / "mnist.npz"
    cache.write_bytes(b"dataset")
    outcome = run(monkeypatch, workspace, f"open({str(cache)!r}, 'ab').write(b'!'); raise SystemExit(2)", Case("d", []),
                  always=[cache])
    assert outcome.verdict == "DATA LOST"


def test_temporary_files_left_and_raw_escapes_fail(monkeypatch, workspace):
    left = run(monkeypatch, workspace, "import tempfile; tempfile.mkstemp(prefix='__autograph_generated_file')",
               Case("e", [], "accept"))
    assert left.verdict == "TEMP LEFT"
    escapes = run(monkeypatch, workspace, "print('\\x1b]0;owned\\x07')", Case("f", [], "accept"))
    assert escapes.verdict == "UNESCAPED"
    assert sweep_runner.leftover_temporaries(workspace) == []
    (workspace / "out").mkdir()
    (workspace / "out" / ".a.png.partial-123-abcdefgh.png").write_text("")
    assert len(sweep_runner.leftover_temporaries(workspace)) == 1


def test_the_memory_bound_applies_to_accepted_cases_too(monkeypatch, workspace):
    baseline = run(monkeypatch, workspace, "pass", Case("baseline", [], "accept"))
    big = run(monkeypatch, workspace, "import time; b = bytearray(1_300 * 2**20); b[::4096] = b'x' * len(b[::4096]); "
                                      "time.sleep(0.3)", Case("a giant picture, accepted", [], "accept"))
    big.above_baseline = big.peak_mb - baseline.peak_mb
    assert big.exit_code == 0 and big.verdict == "MEMORY" and big.failed


def test_a_wrong_output_of_an_accepted_case_fails(monkeypatch, workspace):
    outcome = run(monkeypatch, workspace, "print('3')", Case("g", [], "accept", check=lambda out: out.strip() == "7"))
    assert outcome.verdict == "WRONG"
