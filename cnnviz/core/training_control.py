"""Stopping and pausing a training run from any thread, or from Ctrl+C and SIGTERM.

`TrainingControl` holds thread-safe stop and pause flags that `training.Trainer` honours between
batches (a stop also closes its data gate through `on_stop`); `stop_on_signals` turns SIGINT and
SIGTERM into a stop while a compiled TensorFlow call holds the main thread (`cnnviz train`).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from typing import Callable


class TrainingControl:
    """Thread-safe stop and pause flags, set from any thread, honoured between batches."""

    def __init__(self):
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._stop_hooks: list[Callable[[], None]] = []
        self._pause_hooks: list[Callable[[bool], None]] = []
        self._hooks_lock = threading.Lock()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop
        with self._hooks_lock:
            hooks = list(self._stop_hooks)
        for hook in hooks:
            hook()
        self._tell_pause_hooks(False)

    def on_stop(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook()` (from the stopping thread) when a stop is asked for, at once if it already
        was; returns a function that removes the hook."""
        with self._hooks_lock:
            self._stop_hooks.append(hook)
        if self._stop.is_set():
            hook()

        def remove() -> None:
            with self._hooks_lock:
                if hook in self._stop_hooks:
                    self._stop_hooks.remove(hook)

        return remove

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()
            self._tell_pause_hooks(True)

    def resume(self) -> None:
        self._running.set()
        self._tell_pause_hooks(False)

    def on_pause(self, hook: Callable[[bool], None]) -> Callable[[], None]:
        """Call `hook(True)` when a pause is asked for, `hook(False)` on resume or stop (from that thread);
        returns a function that removes the hook."""
        with self._hooks_lock:
            self._pause_hooks.append(hook)

        def remove() -> None:
            with self._hooks_lock:
                if hook in self._pause_hooks:
                    self._pause_hooks.remove(hook)

        return remove

    def _tell_pause_hooks(self, paused: bool) -> None:
        with self._hooks_lock:
            hooks = list(self._pause_hooks)
        for hook in hooks:
            hook(paused)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, poll_s: float = 0.1) -> None:
        """Block while paused; return at once when resumed or stopped."""
        while not self._running.wait(poll_s):
            if self._stop.is_set():
                return


@contextlib.contextmanager
def stop_on_signals(control: TrainingControl, on_signal: Callable[[int], None] | None = None,
                    abort_if: Callable[[], bool] | None = None,
                    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)):
    """While inside, SIGINT (Ctrl+C) and SIGTERM stop `control` at once, and a second SIGINT
    raises KeyboardInterrupt (abort), as does any of them while `abort_if()` is true (say, while
    nothing would be kept: no point waiting for TensorFlow to finish tracing). Enter from the main
    thread.

    Python runs signal handlers only between bytecodes of the main thread, which may sit in a
    compiled TensorFlow call for seconds; so the signal is also written to a socket (Python's
    wakeup fd, done by the C-level handler) that a watcher thread reads: it stops `control`
    (closing the Trainer's data gate) while the call runs, and calls `on_signal(signum)`.
    """
    wanted = set(signals)
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    interrupts = []

    def handler(signum, frame):
        control.stop()
        if signum == signal.SIGINT:
            interrupts.append(signum)
        if len(interrupts) > 1 or (abort_if is not None and abort_if()):
            raise KeyboardInterrupt

    def watch():
        while True:
            try:
                received = reader.recv(64)
            except OSError:
                return
            if not received:
                return
            for signum in received:
                if signum in wanted:
                    control.stop()
                    if on_signal is not None:
                        on_signal(signum)

    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {}
    watcher = threading.Thread(target=watch, name="cnnviz-signals", daemon=True)
    watcher.start()
    try:
        for signum in signals:
            previous[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        signal.set_wakeup_fd(previous_fd)
        writer.close()  # the watcher reads the end of the stream and returns
        watcher.join(1.0)
        reader.close()
