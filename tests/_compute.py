"""Helpers for tests that talk to a compute process through a ComputeClient."""

from __future__ import annotations

REPLY_TIMEOUT_MS = 120_000  # the first request waits for TensorFlow to import in the new process


def call(qtbot, client, method: str, args: dict | None = None, timeout: int = REPLY_TIMEOUT_MS):
    """Send one request and wait for its reply: the result, or the ComputeError raised."""
    box = {}
    client.request(method, args, on_reply=lambda result: box.setdefault("result", result),
                   on_error=lambda error: box.setdefault("error", error))
    qtbot.waitUntil(lambda: bool(box), timeout=timeout)
    if "error" in box:
        raise box["error"]
    return box["result"]
