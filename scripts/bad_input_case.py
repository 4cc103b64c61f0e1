"""A bad-input sweep case and how it ended (scripts/bad_input_sweep.py, scripts/sweep_runner.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

TRACEBACK = "Traceback (most recent call last)"
MEMORY_TARGET_MB = 1024


SWEEP_USER = "cnnviz-sweep"   # the user that is not root, for unreadable inputs and read-only folders
# How a case runs as that user: the system's Python (the venv's is a link into /root) with the venv's site folder
# only (`-S`: no system dist-packages, whose older numpy would shadow the venv's).
USER_BOOT = ("import runpy, site, sys; site.addsitedir(sys.argv.pop(1)); sys.argv[0] = 'cnnviz'; "
             "runpy.run_module('cnnviz', run_name='__main__', alter_sys=True)")


@dataclass
class Case:
    """One command line; `expect` "refuse" (non-zero exit), "accept" (exit 0) or "either"."""

    name: str
    argv: list
    expect: str = "refuse"
    guards: list = field(default_factory=list)     # paths that must be the same afterwards
    forbidden: list = field(default_factory=list)  # paths that must not appear (code from a data file ran)
    env: dict = field(default_factory=dict)        # None as a value: the variable is unset
    user: bool = False                             # run as SWEEP_USER (not root)
    limits: dict = field(default_factory=dict)     # {"fsize": bytes}: a full disk, as RLIMIT_FSIZE
    check: Callable[[str], bool] | None = None     # for an accepted case: is its output right? (gets stdout)


@dataclass
class Outcome:
    case: Case
    exit_code: int | None     # None: timed out
    last_line: str
    peak_mb: float
    seconds: float
    changed: list             # guarded paths that changed
    appeared: list            # the case's marker or forbidden paths that appeared
    traceback: bool
    left: list = field(default_factory=list)   # temporary files left in the case's TMPDIR
    unescaped: bool = False   # a raw terminal escape reached stdout or stderr
    correct: bool | None = None  # the case's check on an accepted run
    above_baseline: float = 0.0

    @property
    def verdict(self) -> str:
        if self.exit_code is None:
            return "TIMEOUT"
        if self.traceback or self.exit_code < 0:
            return "TRACEBACK" if self.traceback else f"KILLED ({-self.exit_code})"
        if self.changed:
            return "DATA LOST"
        if self.appeared:
            return "CODE RAN"
        if self.left:
            return "TEMP LEFT"
        if self.unescaped:
            return "UNESCAPED"
        if self.above_baseline > MEMORY_TARGET_MB:
            return "MEMORY"
        if self.case.expect == "refuse" and self.exit_code == 0:
            return "ACCEPTED"   # a refusal was expected: fails the sweep
        if self.case.expect == "accept" and self.exit_code != 0:
            return "REFUSED"
        if self.exit_code == 0 and self.correct is False:
            return "WRONG"
        return "ok" if self.exit_code == 0 else "clear"

    @property
    def failed(self) -> bool:
        return self.verdict not in ("ok", "clear")
