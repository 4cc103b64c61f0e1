"""One background computation of a view at a time: a compute-process task with progress and Cancel.

`TaskRequest(client, method)`: `start(args)` (a running one is cancelled and forgotten first),
`cancel()`, `is_running()`; signals `progress(fraction)` (-1 while the task waits its turn or cannot
say), `finished(result)`, `failed(message)` (not for a crash: the window's banner says that),
`cancelled()`, and `ended()` after every one of them (a crash included), so a view resets its
progress bar in one place.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import ComputeError


def fraction_of(payload) -> float:
    """A "progress" event's payload as a fraction: (done, total), a number, or -1 if it says neither."""
    if isinstance(payload, (tuple, list)) and len(payload) == 2 and payload[1]:
        return min(max(float(payload[0]) / float(payload[1]), 0.0), 1.0)
    if isinstance(payload, (int, float)):
        return min(max(float(payload), 0.0), 1.0)
    return -1.0


class TaskRequest(QObject):
    """A compute task `method` for one view (see the module docstring)."""

    progress = Signal(float)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, client, method: str, parent: QObject | None = None):
        super().__init__(parent)
        self._client = client
        self.method = method
        self._request: int | None = None

    def start(self, args: dict) -> bool:
        """Run the task with `args` (instead of one still running); False when there is no compute process."""
        self.forget()
        if self._client is None:
            return False
        self._request = request = self._client.request(
            self.method, args, on_reply=lambda result: self._on_reply(request, result),
            on_error=lambda error: self._on_error(request, error),
            on_event=lambda kind, payload: self._on_event(request, kind, payload))
        self.progress.emit(-1.0)
        return True

    def cancel(self) -> None:
        """Ask the task to stop (`cancelled` follows when it has)."""
        if self._request is not None and self._client is not None:
            self._client.cancel(self._request)

    def forget(self) -> None:
        """Stop the running task, if any, and deliver nothing more of it."""
        if self._request is not None and self._client is not None:
            self._client.cancel(self._request)
            self._client.forget(self._request)
        had = self._request is not None
        self._request = None
        if had:
            self.ended.emit()

    def is_running(self) -> bool:
        return self._request is not None

    def _on_event(self, request: int, kind: str, payload) -> None:
        if request == self._request and kind == "progress":
            self.progress.emit(fraction_of(payload))

    def _on_reply(self, request: int, result) -> None:
        if request != self._request:
            return
        self._request = None
        self.finished.emit(result)
        self.ended.emit()

    def _on_error(self, request: int, error: ComputeError) -> None:
        if request != self._request:
            return
        self._request = None
        if error.cancelled:
            self.cancelled.emit()
        elif not error.crashed:
            self.failed.emit(error.message)
        self.ended.emit()
