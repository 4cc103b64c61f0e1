"""The GUI's side of the compute process: start it, send requests, get replies as Qt callbacks, restart it.

    client = ComputeClient(parent)
    client.start()                                  # spawns the process (TensorFlow loads there)
    client.request("probe", {"image": image}, key="probe",
                   on_reply=self._on_outputs, on_error=self._on_probe_failed)

A reader thread blocks on the pipe and hands every message to the GUI thread through a queued Qt
signal (no polling timer). Callbacks run on the GUI thread. Stale replies are dropped: the reply to
a keyed request is delivered only if no newer request with that key was sent since (the compute
process answers superseded ones with a tiny SUPERSEDED reply, which is swallowed here), and nothing
is delivered for a request the GUI `forget`s or whose callback's QObject was deleted.

If the process dies (SIGKILL, out of memory, a TensorFlow abort), every pending request gets a
`ComputeError` whose `crashed` is True, `crashed(str)` says what happened, a new process is started
and `restarted` is emitted (the owner reloads its model then); `ready` follows when it listens.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from cnnviz.compute.protocol import (CRASHED, SUPERSEDED, Cancel, ComputeError, Event, Hello, Pause, Reply,
                                     Request, Resume, Shutdown)

SHUTDOWN_TIMEOUT_S = 1.5
MAX_RESTARTS = 3              # crashes within RESTART_WINDOW_S before the client gives up
RESTART_WINDOW_S = 60.0


@dataclass
class _Pending:
    method: str
    key: str | None
    on_reply: Callable | None
    on_error: Callable | None
    on_event: Callable | None


def _owners(callback: Callable | None) -> list:
    """The objects `callback` would run on: the instance of a bound method (through partials) and the
    QObjects a lambda or closure captured (`lambda result: self._on_reply(result, image)`)."""
    while isinstance(callback, functools.partial):
        callback = callback.func
    owners = [getattr(callback, "__self__", None)]
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            owners.append(cell.cell_contents)
        except ValueError:   # an empty cell
            continue
    return owners


def _alive(callback: Callable | None) -> bool:
    """False when `callback` is bound to, or closes over, a QObject whose C++ side was deleted."""
    return all(shiboken6.isValid(owner) for owner in _owners(callback) if isinstance(owner, QObject))


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, for people: "was killed (SIGKILL)", "exited with code 1"…"""
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":
            return "was killed (SIGKILL; out of memory?)"
        if name == "SIGABRT":
            return "aborted (SIGABRT, a TensorFlow error?)"
        return f"was stopped by {name}"
    return f"exited with code {exitcode}"


_early: tuple | None = None   # (process, connection) spawned by start_early, until a client takes it


def spawn_compute_process(preload: Path | None = None) -> tuple:
    """Start a compute process (it imports TensorFlow and, given a `preload` model file, loads it at
    once); returns (process, our end of its pipe). It ignores Ctrl+C (SIGINT reaches the whole process
    group from a terminal): the GUI decides when it ends."""
    import multiprocessing  # here, not at the top: the window paints before this is needed

    from cnnviz.compute.server import main

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=main, args=(theirs, os.getpid(), preload), name="cnnviz-compute",
                              daemon=True)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None   # inherited by it
    try:
        process.start()
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    theirs.close()
    return process, ours


def start_early(preload: Path | None = None) -> None:
    """Spawn the compute process now, before the window is built, so that TensorFlow's import and the
    model's load overlap with the GUI's own start; the first `ComputeClient.start()` takes it."""
    global _early
    if _early is None:
        _early = spawn_compute_process(preload)


class ComputeClient(QObject):
    """Owns the compute process and the pipe to it (see the module docstring)."""

    ready = Signal()            # the compute process is listening (after start and after every restart)
    crashed = Signal(str)       # it died unexpectedly; what happened
    restarted = Signal()        # a new process replaced the one that died (reload your model now)
    gave_up = Signal(str)       # it died too often: no more restarts
    _received = Signal(object, int)   # reader thread -> GUI thread: (message, process number)
    _lost = Signal(int)               # reader thread -> GUI thread: the pipe closed (process number)

    def __init__(self, parent: QObject | None = None, *, restart: bool = True):
        super().__init__(parent)
        self.restart_on_crash = restart
        self._process = None
        self._conn = None
        self._reader: threading.Thread | None = None
        self._number = 0               # which process the reader thread's messages come from
        self._next_id = 1
        self._pending: dict[int, _Pending] = {}
        self._latest_by_key: dict[str, int] = {}
        self._is_ready = False
        self._closing = False
        self._crash_times: list[float] = []
        self._received.connect(self._on_received)
        self._lost.connect(self._on_lost)

    # --- the process ------------------------------------------------------------------------------
    def start(self) -> None:
        """Spawn the compute process, or take the one `start_early` spawned (returns at once; `ready`
        when it listens)."""
        if self.is_running():
            return
        global _early
        early, _early = _early, None
        process, ours = early if early is not None and early[0].is_alive() else spawn_compute_process()
        self._closing = False
        self._is_ready = False
        self._number += 1
        self._process, self._conn = process, ours
        self._reader = threading.Thread(target=self._read, args=(ours, self._number), name="cnnviz-compute-reader",
                                        daemon=True)
        self._reader.start()

    def is_running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def is_ready(self) -> bool:
        """True once the current process has said hello."""
        return self._is_ready

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def shutdown(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
        """Ask the process to stop (a running fit stops within a batch); kill it if it has not
        exited within `timeout_s`. Pending requests get no reply."""
        self._closing = True
        process, conn = self._process, self._conn
        self._pending.clear()
        self._latest_by_key.clear()
        if process is None:
            return
        try:
            conn.send(Shutdown())
        except (OSError, ValueError):
            pass
        process.join(timeout_s)
        if process.is_alive():
            process.kill()
            process.join(1.0)
        if self._reader is not None:
            self._reader.join(0.5)  # it sees EOF now that the process is gone
        conn.close()
        self._process = self._conn = None
        self._is_ready = False

    def kill(self) -> None:
        """SIGKILL the process as a crash would (tests and benchmarks of the recovery)."""
        if self._process is not None and self._process.pid:
            os.kill(self._process.pid, signal.SIGKILL)

    # --- requests -----------------------------------------------------------------------------------
    def request(self, method: str, args: dict | None = None, *, key: str | None = None,
                on_reply: Callable[[object], None] | None = None,
                on_error: Callable[[ComputeError], None] | None = None,
                on_event: Callable[[str, object], None] | None = None) -> int:
        """Send a request; returns its id. Callbacks run on the GUI thread: `on_reply(result)`,
        `on_error(ComputeError)`, `on_event(kind, payload)` for progress. A newer request with
        the same `key` makes this one stale (its reply is dropped)."""
        request_id = self._next_id
        self._next_id += 1
        self._pending[request_id] = _Pending(method, key, on_reply, on_error, on_event)
        if key is not None:
            self._latest_by_key[key] = request_id
        if not self._send(Request(request_id, method, dict(args or {}), key)):
            pending = self._pending.pop(request_id)
            error = ComputeError("the compute process is not running", CRASHED, method)
            QTimer.singleShot(0, self, functools.partial(self._deliver_error, pending, error))
        return request_id

    def probe(self, image, on_reply: Callable[[dict], None], on_error: Callable | None = None,
              key: str = "probe") -> int:
        """Every layer's output for `image` ({"outputs": [...], "generation": n}); newest per key wins."""
        return self.request("probe", {"image": image}, key=key, on_reply=on_reply, on_error=on_error)

    def cancel(self, request_id: int) -> None:
        """Ask the compute process to drop or stop request `request_id` (its reply still comes)."""
        if request_id in self._pending:
            self._send(Cancel(request_id))

    def pause(self, request_id: int) -> None:
        self._send(Pause(request_id))

    def resume(self, request_id: int) -> None:
        self._send(Resume(request_id))

    def forget(self, request_id: int) -> None:
        """Deliver nothing more for `request_id` (the GUI no longer wants it)."""
        pending = self._pending.pop(request_id, None)
        if pending is not None and pending.key is not None and self._latest_by_key.get(pending.key) == request_id:
            del self._latest_by_key[pending.key]

    def is_pending(self, request_id: int) -> bool:
        return request_id in self._pending

    def num_pending(self) -> int:
        return len(self._pending)

    def _send(self, message) -> bool:
        if self._conn is None or self._closing:
            return False
        try:
            self._conn.send(message)
            return True
        except (OSError, ValueError):
            return False  # the reader thread reports the death

    # --- the reader thread --------------------------------------------------------------------------
    def _read(self, conn, number: int) -> None:
        """Block on the pipe; hand every message to the GUI thread (queued signal)."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError, ValueError):
                self._lost.emit(number)
                return
            except Exception:  # noqa: BLE001 a message that cannot be unpickled: skip it
                continue
            self._received.emit(message, number)

    # --- delivery (GUI thread) ----------------------------------------------------------------------
    @Slot(object, int)
    def _on_received(self, message, number: int) -> None:
        """Route one message to its callbacks."""
        if number != self._number:
            return  # from a process that has been replaced
        if isinstance(message, Hello):
            self._is_ready = True
            self.ready.emit()
        elif isinstance(message, Event):
            pending = self._pending.get(message.id)
            if pending is not None and pending.on_event is not None and _alive(pending.on_event):
                pending.on_event(message.kind, message.payload)
        elif isinstance(message, Reply):
            self._on_reply(message)

    def _on_reply(self, reply: Reply) -> None:
        pending = self._pending.pop(reply.id, None)
        if pending is None or reply.error_type == SUPERSEDED:
            return
        if pending.key is not None:
            if self._latest_by_key.get(pending.key) != reply.id:
                return  # a newer request with this key was sent: this answer is stale
            del self._latest_by_key[pending.key]
        if reply.ok:
            if pending.on_reply is not None and _alive(pending.on_reply):
                pending.on_reply(reply.result)
        else:
            self._deliver_error(pending, ComputeError.from_reply(reply))

    @staticmethod
    def _deliver_error(pending: _Pending, error: ComputeError) -> None:
        if pending.on_error is not None and _alive(pending.on_error):
            pending.on_error(error)

    @Slot(int)
    def _on_lost(self, number: int) -> None:
        """The pipe closed: a shutdown we asked for, or a crash to recover from."""
        if number != self._number or self._closing:
            return
        process = self._process
        if process is not None:
            process.join(1.0)
        ended = describe_exit(None if process is None else process.exitcode)
        what = f"The compute process {ended}."
        self._process = self._conn = None
        self._is_ready = False
        pending, self._pending = self._pending, {}
        self._latest_by_key.clear()
        now = time.monotonic()
        self._crash_times = [t for t in self._crash_times if now - t < RESTART_WINDOW_S] + [now]
        restart = self.restart_on_crash and len(self._crash_times) <= MAX_RESTARTS
        self.crashed.emit(what)
        if restart:
            self.start()  # before the errors go out, so a callback may send its request again
        for entry in pending.values():
            self._deliver_error(entry, ComputeError(f"The compute process {ended} before answering.", CRASHED,
                                                    entry.method))
        if restart:
            self.restarted.emit()
        elif self.restart_on_crash:
            self.gave_up.emit(f"{what} It stopped {len(self._crash_times)} times within a minute, so cnnviz "
                              "no longer restarts it. Save what you can and restart cnnviz.")
