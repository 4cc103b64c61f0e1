"""TensorFlow's start-up lines never reach the user: `quiet_process()`, first thing in every process entry.

On a CPU where TensorFlow turns its oneDNN kernels on (AVX-512 and newer, or any x86-64 CPU with
`TF_ENABLE_ONEDNN_OPTS=1`), `import tensorflow` writes, from C++ and before absl's logging is set up
(so `TF_CPP_MIN_LOG_LEVEL` cannot stop them), twice per process:

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796664080.634462   10087 port.cc:153] oneDNN custom operations are on. …

`quiet_process()` sets `TF_CPP_MIN_LOG_LEVEL`'s default (2: warnings and errors of TensorFlow's own
logging stay hidden, a user's setting wins) and arranges that the process's first `import tensorflow`
runs with file descriptor 2 redirected into a pipe. A small helper process (this file run as a script,
standard library only) passes every line on to the real stderr in order, except absl log lines below the
level in force and absl's note about them. Anything else (an error line, a Python warning, cnnviz's own
output) reaches the user unchanged and in order, also when the process dies inside the import (the
helper reads to the end of the pipe). With `TF_CPP_MIN_LOG_LEVEL=0` nothing is held back. Once the
import is done, descriptor 2 is the user's again: nothing is redirected while a command runs.

Call `release_stderr()` before `os._exit` in a path that can run during the import (the Ctrl+C
handler of `cnnviz.cli`): it gives descriptor 2 back and waits until what was held is passed on.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import subprocess
import sys

DEFAULT_LOG_LEVEL = "2"          # TF_CPP_MIN_LOG_LEVEL when the user set none
NOISY_MODULES = ("tensorflow",)  # top-level modules whose first import runs with descriptor 2 filtered
DRAIN_TIMEOUT_S = 10.0           # how long giving descriptor 2 back waits for the helper to pass lines on

# An absl log line: severity letter, MMDD, time, thread id, file:line] message.
_ABSL_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]\s]+:\d+\] ")
_ABSL_NOTE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# cpu_feature_guard's message goes on over a second line that does not look like a log line.
_CONTINUATIONS = (b"To enable the following instructions:",)
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


def quiet_process() -> None:
    """Keep TensorFlow's start-up lines off this process's stderr (see the module docstring).

    Call it first in every process entry that may import TensorFlow: the `cnnviz` command, the compute
    process, worker processes. Idempotent; does nothing once TensorFlow has been imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_LOG_LEVEL)
    if any(isinstance(finder, _QuietImport) for finder in sys.meta_path):
        return
    if not any(name in sys.modules for name in NOISY_MODULES):
        sys.meta_path.insert(0, _QuietImport())


def release_stderr() -> None:
    """Give file descriptor 2 back now if an import holds it, once what it held has been passed on."""
    capture = _Capture.active
    if capture is not None:
        capture.release()


def log_level() -> int:
    """The `TF_CPP_MIN_LOG_LEVEL` in force (0 when unset or not a number, as TensorFlow reads it)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def shown_lines(lines, level: int):
    """The lines (bytes) of `lines` that the user sees at TensorFlow log level `level`: absl log lines of
    a lower severity, absl's note about them and the known continuation of a hidden line are dropped;
    everything else is kept, line ends and all."""
    hid_previous = False
    for line in lines:
        text = line.rstrip(b"\r\n")
        match = _ABSL_LINE.match(text)
        hide = ((match is not None and _SEVERITY[match.group(1)] < level)
                or (level >= 1 and text == _ABSL_NOTE)
                or (hid_previous and text.startswith(_CONTINUATIONS)))
        hid_previous = hide and match is not None
        if not hide:
            yield line


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds the first import of a NOISY_MODULES module and gives it a loader that filters descriptor 2."""

    def find_spec(self, name, path=None, target=None):
        if name not in NOISY_MODULES:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)   # once: the next finder does the finding
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or log_level() < 1:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    """The real loader, run while descriptor 2 is filtered."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = module.__loader__ = self.loader   # what importlib.resources and others read
        capture = _Capture.start(log_level())
        try:
            self.loader.exec_module(module)
        finally:
            if capture is not None:
                capture.release()


class _Capture:
    """Descriptor 2 redirected into a pipe that a helper process reads and filters onto the real stderr."""

    active: _Capture | None = None

    def __init__(self, saved: int, helper: subprocess.Popen):
        self.saved = saved
        self.helper = helper

    @classmethod
    def start(cls, level: int) -> _Capture | None:
        """Redirect descriptor 2, or None (nothing changed) when that cannot be done here."""
        if cls.active is not None or not sys.executable:   # (an embedded interpreter has no executable)
            return None
        _flush_stderr()
        saved = read_end = write_end = None
        try:
            saved = os.dup(2)
            read_end, write_end = os.pipe()
            helper = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__), str(level)],
                                      stdin=read_end, stdout=saved, stderr=subprocess.DEVNULL, close_fds=True,
                                      start_new_session=True)   # a Ctrl+C for the command does not end it
            os.dup2(write_end, 2)
        except (OSError, ValueError, subprocess.SubprocessError):
            if saved is not None:
                os.close(saved)
            return None
        finally:
            for end in (read_end, write_end):
                if end is not None:
                    os.close(end)
        cls.active = capture = cls(saved, helper)
        return capture

    def release(self) -> None:
        """Descriptor 2 back to what it was; waits until the helper has passed everything on."""
        if _Capture.active is not self:
            return
        _Capture.active = None
        _flush_stderr()
        os.dup2(self.saved, 2)    # the pipe's last write end closes: the helper reads to its end and exits
        os.close(self.saved)
        try:
            self.helper.wait(DRAIN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass   # a process started during the import still holds the pipe: the helper goes on without us


def _flush_stderr() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _pass_on(level: int, source: int = 0, target: int = 1) -> None:
    """The helper's loop: the lines from `source` that `shown_lines` keeps, to `target`, until end of input."""
    for line in shown_lines(_read_lines(source), level):
        _write_all(target, line)


def _read_lines(source: int):
    """Each line read from descriptor `source` as it comes, with its line end (the last maybe without)."""
    pending = b""
    while chunk := os.read(source, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        yield from (line + b"\n" for line in lines)
    if pending:
        yield pending


def _write_all(target: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(target, data):]
        except OSError:
            return   # nobody reads stderr any more


if __name__ == "__main__":   # the helper process
    _pass_on(int(sys.argv[1]))
