"""What the command line prints is printable: control characters that came from files are escaped.

A layer name in a model's configuration, a class name in `*.classes.json` or a file name can hold
terminal escape sequences (`\\x1b]0;…\\x07` retitles the window, `\\x1b[2J` clears the screen).
Rather than escape them at each of the dozens of places that print a name, the command line wraps
stdout and stderr once (`escaping_controls`): every C0 control character but tab, newline and
carriage return (which cnnviz's own output uses), DEL and every C1 control (`\\x9b` is a one-byte
CSI) is written as a visible escape (`\\x1b`). JSON output is unaffected: `json.dumps` already
escapes these characters (except C1 with ensure_ascii=False, which this catches too).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator, TextIO

_KEPT = {"\t", "\n", "\r"}
ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(code) not in _KEPT}


def escape_controls(text: str) -> str:
    """`text` with terminal control characters (not tab, newline, carriage return) as `\\xNN`."""
    return text.translate(ESCAPES)


class ControlEscapingStream:
    """A text stream that writes through to `stream` with `escape_controls` applied."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(escape_controls(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    @property
    def wrapped(self) -> TextIO:
        return self._stream

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def escaping_controls() -> Iterator[None]:
    """While inside, `sys.stdout` and `sys.stderr` escape control characters; restored afterwards."""
    saved = sys.stdout, sys.stderr
    if sys.stdout is not None and not isinstance(sys.stdout, ControlEscapingStream):
        sys.stdout = ControlEscapingStream(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, ControlEscapingStream):
        sys.stderr = ControlEscapingStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
