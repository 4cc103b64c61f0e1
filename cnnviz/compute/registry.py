"""Handlers: the functions the compute process runs for each request method.

    from cnnviz.compute.registry import handler

    @handler("probe")                       # quick: runs on the quick-request thread
    def probe(state, image):
        return {"outputs": state.probe(image)}

    @handler("train", kind="task")          # task: one at a time on the task thread, with progress
    def train(state, task, config):
        task.emit("progress", ...)
        task.check_cancelled()

A handler is a plain function `fn(state, **args)` (tasks also get `task`, a `TaskContext`) that
returns plain data. Quick handlers should take milliseconds (they share the serving model and
answer strokes); anything longer is a task. Exceptions become error replies whose `error_type`
is the exception's class name. Handler modules are listed in `cnnviz.compute.handlers.HANDLER_MODULES`, and
`cnnviz.compute.server.load_handlers()` imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cnnviz.core.training import TrainingControl

KINDS = ("quick", "task")


@dataclass(frozen=True)
class HandlerSpec:
    name: str
    function: Callable
    kind: str


HANDLERS: dict[str, HandlerSpec] = {}


def handler(name: str, kind: str = "quick") -> Callable[[Callable], Callable]:
    """Register the decorated function as the handler of request method `name`."""
    if kind not in KINDS:
        raise ValueError(f"handler kind must be one of {KINDS}, not {kind!r}")

    def register(function: Callable) -> Callable:
        if name in HANDLERS and HANDLERS[name].function is not function:
            raise ValueError(f"two handlers for {name!r}: {HANDLERS[name].function.__module__} and "
                             f"{function.__module__}")
        HANDLERS[name] = HandlerSpec(name, function, kind)
        return function

    return register


class Cancelled(Exception):
    """Raised by `TaskContext.check_cancelled()` when the client cancelled the task."""


class TaskContext:
    """What a task handler gets besides its arguments: events, cancellation and pause.

    `control` is a core `TrainingControl` (stop = cancel), so a task can hand it straight to the
    Trainer: a cancel lands within one batch, a pause holds between batches.
    """

    def __init__(self, request_id: int, method: str, send_event: Callable[[int, str, object], None],
                 quick_idle: Callable[[], None] | None = None):
        self.id = request_id
        self.method = method
        self.control = TrainingControl()
        self._send_event = send_event
        self._quick_idle = quick_idle

    def emit(self, kind: str, payload: object = None) -> None:
        """Send an Event for this task to the GUI (thread-safe)."""
        self._send_event(self.id, kind, payload)

    @property
    def cancelled(self) -> bool:
        return self.control.stop_requested

    def check_cancelled(self) -> None:
        """Raise Cancelled if the client cancelled this task."""
        if self.cancelled:
            raise Cancelled(f"{self.method} was cancelled")

    def cancel(self) -> None:
        self.control.stop()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def wait_while_paused(self) -> None:
        self.control.wait_while_paused()

    def yield_to_quick(self) -> None:
        """Between two batches of a long background pass (a test set through a checkpoint): let the quick
        requests waiting now (a stroke's maps, a scrub) run first, on the cores this pass would take."""
        if self._quick_idle is not None:
            self._quick_idle()
