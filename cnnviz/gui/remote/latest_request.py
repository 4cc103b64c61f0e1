"""Ask the compute process about the newest input only: at most one request in flight, newest waiting.

A view that computes something for what the user is doing (a stroke's layer outputs, later its
Grad-CAM or a unit's arithmetic) submits a request for every change. If one is already in flight,
the new one waits (replacing any older waiting one) and goes out when the reply arrives. So the
compute process is never more than one request behind, a burst of strokes costs a few forward
passes, and every reply is delivered, even while a newer input waits: the maps keep moving
during a long stroke, and the last reply is always for the last input.
"""

from __future__ import annotations

import functools
from typing import Callable

from PySide6.QtCore import QObject

from cnnviz.compute.protocol import ComputeError


class LatestRequest(QObject):
    """Requests of one `method` for the newest arguments; results go to `on_result(result, tag)`."""

    def __init__(self, method: str, on_result: Callable[[object, object], None],
                 on_error: Callable[[ComputeError, object], None] | None = None, client=None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.method = method
        self.key = f"{method}:{id(self)}"
        self._on_result = on_result
        self._on_error = on_error
        self._client = client
        self._in_flight: int | None = None
        self._waiting: tuple[dict, object] | None = None

    def set_client(self, client) -> None:
        """Use `client` from now on (None: nothing is sent)."""
        self.clear()
        self._client = client

    def submit(self, args: dict, tag: object = None) -> None:
        """Compute for `args`; `tag` (e.g. the input image) comes back with the result."""
        self._waiting = (args, tag)
        if self._in_flight is None:
            self._send_waiting()

    def clear(self) -> None:
        """Forget the waiting request and drop the reply of the one in flight."""
        self._waiting = None
        if self._in_flight is not None and self._client is not None:
            self._client.forget(self._in_flight)
        self._in_flight = None

    def busy(self) -> bool:
        return self._in_flight is not None or self._waiting is not None

    def _send_waiting(self) -> None:
        if self._client is None or self._waiting is None:
            return
        args, tag = self._waiting
        self._waiting = None
        self._in_flight = self._client.request(self.method, args, key=self.key,
                                               on_reply=functools.partial(self._on_reply, tag),
                                               on_error=functools.partial(self._on_failed, tag))

    def _on_reply(self, tag, result) -> None:
        self._in_flight = None
        self._on_result(result, tag)
        self._send_waiting()

    def _on_failed(self, tag, error: ComputeError) -> None:
        self._in_flight = None
        if self._on_error is not None:
            self._on_error(error, tag)
        if not error.crashed:  # after a crash the owner submits again once the model is back
            self._send_waiting()
        else:
            self._waiting = None
