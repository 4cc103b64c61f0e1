"""The compute process: a receiver loop, a quick-request thread, a task thread and a watchdog.

`main(conn, parent_pid)` is the process entry (started by the GUI with multiprocessing's "spawn"
method). It lowers its own scheduling priority (the GUI gets the CPU when it needs it), makes sure
it never outlives the GUI (pipe EOF, a watchdog on `os.getppid()`, and Linux's PR_SET_PDEATHSIG),
then serves:

- the main thread receives messages and routes them;
- the quick thread runs quick handlers in arrival order, but the layer outputs of a stroke (`probe`)
  first (an explanation traced for the first time takes seconds). Before each round it drains its
  queue and keeps, for each request key, only the newest request (the older ones get a SUPERSEDED
  reply), so a burst of strokes costs one forward pass. After each round, and whenever training
  publishes new weights, it runs the state's idle hooks (live activations while training); only while a
  hook asks for a timer (a training run: the curves and the weights during a long compiled call) does it
  wake by itself;
- the task thread runs task handlers one at a time (training, loading, saving, exports, test-set
  passes), with events, cancel, pause and resume;
- `Shutdown` (or the GUI going away) stops a running task within a batch and exits at once.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import sys
import threading
import traceback
from collections import deque

from cnnviz.compute.handlers import HANDLER_MODULES
from cnnviz.compute.protocol import (CANCELLED, SUPERSEDED, UNKNOWN_METHOD, Cancel, Event, Hello, Pause, Reply,
                                     Request, Resume, Shutdown)
from cnnviz.compute.registry import HANDLERS, Cancelled, HandlerSpec, TaskContext
from cnnviz.compute.state import ComputeState
from cnnviz.core.lean_imports import lean_keras_import
from cnnviz.core.quiet import quiet_process, release_stderr

FIRST_METHODS = ("probe",)   # a round of quick requests answers these first: the maps of what the user draws
# Quick requests that change what later ones compute (the served weights, the switched-off filters, the
# options): a request of FIRST_METHODS never moves ahead of one of these sent before it.
STATE_CHANGING_METHODS = frozenset({"set_ablation", "scrub", "history_options", "edit_kernel", "undo_kernel_edit",
                                    "reset_kernel_filter", "reset_kernel_edits"})
GATHER_S = 0.003             # how long a round without those waits for more requests sent with it
QUICK_YIELD_MAX_S = 0.25     # how long a task yielding to quick requests waits for them at most
NICE_INCREMENT = 10          # the compute process yields the CPU to the GUI ($CNNVIZ_COMPUTE_NICE overrides)
WATCHDOG_INTERVAL_S = 0.5
SHUTDOWN_GRACE_S = 1.0       # how long a running task may take to stop before the process exits anyway
MAX_ERROR_CHARS = 4000
MALLOC_ARENAS = 2            # glibc malloc arenas ($CNNVIZ_MALLOC_ARENAS overrides; 0 keeps glibc's default)
_PR_SET_PDEATHSIG = 1
_M_ARENA_MAX = -8


def main(conn, parent_pid: int | None = None, preload=None) -> None:
    """Entry point of the compute process: serve `conn` until Shutdown or until the GUI is gone.

    With `preload` (the model file the app opens first), TensorFlow's import and that model's load start
    at once on a thread of their own, at the GUI's priority, while the GUI builds its window; the process
    takes its lower priority once they are done (`handlers.model.begin_preload`)."""
    quiet_process()   # first: TensorFlow's start-up lines never reach the GUI's stderr
    lean_keras_import()   # and Keras's import, which the first maps wait for, skips matplotlib
    dump_stacks_on_request()
    limit_malloc_arenas()
    die_with_parent(parent_pid)
    state = ComputeState()
    if preload is None:
        lower_priority()
    else:
        from cnnviz.compute.handlers.model import begin_preload

        threading.Thread(target=_preload, args=(begin_preload(state, preload),), name="cnnviz-preload",
                         daemon=True).start()
    server = Server(conn, state, load_handlers(), parent_pid)
    code = server.serve()
    release_stderr()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # do not wait for TensorFlow's thread pools to wind down


def dump_stacks_on_request() -> None:
    """`kill -USR1 <compute pid>` prints every thread's Python stack on stderr (diagnosing a hang: the test
    suite asks for it when a wait times out)."""
    import faulthandler

    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True, chain=False)


def _preload(preload) -> None:
    try:
        preload()
    finally:
        lower_priority_of_every_thread()


def lower_priority_of_every_thread(increment: int | None = None) -> None:
    """Nice every thread of this process (TensorFlow's pools included) and so every thread they start."""
    if increment is None:
        increment = int(os.environ.get("CNNVIZ_COMPUTE_NICE", NICE_INCREMENT))
    try:
        threads = [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]   # no /proc: this thread only
    for thread in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + increment))
        except (AttributeError, OSError):
            pass


def load_handlers() -> dict[str, HandlerSpec]:
    """Import every module of `handlers.HANDLER_MODULES` (each registers its handlers); the registry."""
    for module in HANDLER_MODULES:
        importlib.import_module(f"cnnviz.compute.handlers.{module}")
    return HANDLERS


def lower_priority(increment: int | None = None) -> None:
    """Nice this thread, and so every thread it starts later (Linux nice values are per thread)."""
    if increment is None:
        increment = int(os.environ.get("CNNVIZ_COMPUTE_NICE", NICE_INCREMENT))
    try:
        os.nice(increment)
    except (AttributeError, OSError):
        pass


def limit_malloc_arenas(arenas: int | None = None) -> None:
    """Cap glibc's malloc arenas (before any thread starts): TensorFlow's many threads otherwise
    each get an arena, and the process keeps far more memory than it uses."""
    if arenas is None:
        arenas = int(os.environ.get("CNNVIZ_MALLOC_ARENAS", MALLOC_ARENAS))
    if arenas > 0 and sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas)
        except (OSError, AttributeError):
            pass


def die_with_parent(parent_pid: int | None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(3)


def _first_methods_first(requests: list[Request]) -> list[Request]:
    """`requests` in arrival order, except that FIRST_METHODS go first within each run of requests between
    two state-changing ones (a probe sent after `set_ablation` must see the filters switched off)."""
    ordered, run = [], []
    for request in requests:
        if request.method in STATE_CHANGING_METHODS:
            ordered += sorted(run, key=lambda r: r.method not in FIRST_METHODS) + [request]   # stable sort
            run = []
        else:
            run.append(request)
    return ordered + sorted(run, key=lambda r: r.method not in FIRST_METHODS)


class _QuickQueue:
    """Quick requests waiting to run; `take` drains it, keeping the newest request of each key."""

    def __init__(self):
        self._items: list[Request] = []
        self._running = 0      # requests taken and not yet done
        self._ready = threading.Condition()

    def put(self, request: Request) -> None:
        with self._ready:
            self._items.append(request)
            self._ready.notify_all()   # the quick thread, and no task waits for it to be idle any more

    def done(self, count: int = 1) -> None:
        """`count` taken requests have been answered."""
        with self._ready:
            self._running = max(0, self._running - count)
            if not self._running and not self._items:
                self._ready.notify_all()

    def wait_idle(self, timeout: float) -> None:
        """Wait (at most `timeout` s) until no quick request is waiting or running."""
        with self._ready:
            self._ready.wait_for(lambda: not self._items and not self._running, timeout)

    def remove(self, request_id: int) -> Request | None:
        with self._ready:
            for request in self._items:
                if request.id == request_id:
                    self._items.remove(request)
                    return request
        return None

    def wake(self) -> None:
        with self._ready:
            self._ready.notify_all()

    def take(self, timeout: float | None = None) -> tuple[list[Request], list[Request]]:
        """(requests to run in arrival order, superseded requests); waits for one, or for `wake()`
        (or `timeout` seconds)."""
        with self._ready:
            if not self._items:
                self._ready.wait(timeout)
            if self._items and not any(r.method in FIRST_METHODS for r in self._items):
                # What the GUI sends together (a new model: the maps, then the explanations) arrives a
                # moment apart: wait that moment, so that the maps are not left behind a slower request.
                self._ready.wait(GATHER_S)
            items, self._items = self._items, []
        newest = {request.key: request.id for request in items if request.key is not None}
        keep = [r for r in items if r.key is None or newest[r.key] == r.id]
        keep = _first_methods_first(keep)
        dropped = [r for r in items if r.key is not None and newest[r.key] != r.id]
        with self._ready:
            self._running += len(keep)
        return keep, dropped


class Server:
    """Routes messages from `conn` to the handlers; see the module docstring."""

    def __init__(self, conn, state: ComputeState, handlers: dict[str, HandlerSpec], parent_pid: int | None = None):
        self.conn = conn
        self.state = state
        self.handlers = handlers
        self.parent_pid = parent_pid
        self._send_lock = threading.Lock()
        self._stopping = threading.Event()
        self._quick = _QuickQueue()
        self._tasks: deque[tuple[Request, TaskContext]] = deque()
        self._task_ready = threading.Condition()
        self._running: TaskContext | None = None
        state.wake_quick = self._quick.wake  # new weights: the idle hooks have work
        self._threads = [threading.Thread(target=self._quick_loop, name="cnnviz-quick", daemon=True),
                         threading.Thread(target=self._task_loop, name="cnnviz-task", daemon=True)]
        if parent_pid is not None:
            self._threads.append(threading.Thread(target=self._watchdog, name="cnnviz-watchdog", daemon=True))

    # --- the receiver (main thread) ---------------------------------------------------------------
    def serve(self) -> int:
        """Receive and route messages until Shutdown or EOF; returns the exit code."""
        for thread in self._threads:
            thread.start()
        self.send(Hello(os.getpid()))
        while not self._stopping.is_set():
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break  # the GUI closed its end or died
            if isinstance(message, Shutdown):
                break
            self._route(message)
        self.stop()
        return 0

    def _route(self, message) -> None:
        if isinstance(message, Request):
            spec = self.handlers.get(message.method)
            if spec is None:
                self._reply_error(message, f"the compute process has no handler {message.method!r}", UNKNOWN_METHOD)
            elif spec.kind == "quick":
                self._quick.put(message)
            else:
                with self._task_ready:
                    self._tasks.append((message, TaskContext(message.id, message.method, self._send_event,
                                                             self._wait_quick_idle)))
                    self._task_ready.notify()
        elif isinstance(message, Cancel):
            self._cancel(message.id)
        elif isinstance(message, (Pause, Resume)):
            running = self._running
            if running is not None and running.id == message.id:
                running.pause() if isinstance(message, Pause) else running.resume()

    def _cancel(self, request_id: int) -> None:
        """Drop a queued request (answering it CANCELLED) or ask a running task to stop."""
        running = self._running
        if running is not None and running.id == request_id:
            running.cancel()
            return
        dropped = self._quick.remove(request_id)
        if dropped is None:
            with self._task_ready:
                for request, context in self._tasks:
                    if request.id == request_id:
                        self._tasks.remove((request, context))
                        dropped = request
                        break
        if dropped is not None:
            self._reply_error(dropped, f"{dropped.method} was cancelled", CANCELLED)

    def stop(self) -> None:
        """Stop the threads: a running task is cancelled and given SHUTDOWN_GRACE_S to return."""
        self._stopping.set()
        running = self._running
        if running is not None:
            running.cancel()
        self._quick.wake()
        with self._task_ready:
            self._task_ready.notify_all()
        self._threads[1].join(SHUTDOWN_GRACE_S)

    # --- sending (any thread) ---------------------------------------------------------------------
    def send(self, message) -> bool:
        """Send one message; False if the GUI is gone. A result that cannot be pickled becomes an error reply."""
        with self._send_lock:
            try:
                self.conn.send(message)
                return True
            except (BrokenPipeError, EOFError, ConnectionError, OSError):
                self._stopping.set()
                return False
            except Exception as exc:  # pickling failed before anything was written
                if not isinstance(message, Reply):
                    raise
                failure = Reply(message.id, message.method, False, error=f"cannot send the result: {exc}",
                                error_type=type(exc).__name__)
                self.conn.send(failure)
                return False

    def _wait_quick_idle(self) -> None:
        self._quick.wait_idle(QUICK_YIELD_MAX_S)

    def _send_event(self, request_id: int, kind: str, payload) -> None:
        self.send(Event(request_id, kind, payload))

    def _reply_error(self, request: Request, error: str, error_type: str, details: str = "") -> None:
        self.send(Reply(request.id, request.method, False, error=error, error_type=error_type, details=details))

    # --- running handlers ---------------------------------------------------------------------------
    def _run(self, request: Request, task: TaskContext | None = None) -> None:
        """Call the handler and send its one reply."""
        spec = self.handlers[request.method]
        try:
            args = dict(request.args or {})
            result = spec.function(self.state, task=task, **args) if task else spec.function(self.state, **args)
        except Cancelled as exc:
            self._reply_error(request, str(exc), CANCELLED)
        except Exception as exc:  # every failure is the GUI's to show; the process carries on
            message = str(exc).strip()[:MAX_ERROR_CHARS] or type(exc).__name__
            self._reply_error(request, message, type(exc).__name__, traceback.format_exc())
        else:
            self.send(Reply(request.id, request.method, True, result))

    def _quick_loop(self) -> None:
        while not self._stopping.is_set():
            requests, superseded = self._quick.take(self.state.idle_interval())
            for request in superseded:
                self._reply_error(request, "superseded by a newer request", SUPERSEDED)
            for done, request in enumerate(requests):
                if self._stopping.is_set():
                    self._quick.done(len(requests) - done)
                    return
                try:
                    self._run(request)
                finally:
                    self._quick.done()
            try:
                self.state.run_idle_hooks()
            except Exception:  # an idle hook must never stop the quick thread
                traceback.print_exc()

    def _task_loop(self) -> None:
        while True:
            with self._task_ready:
                while not self._tasks and not self._stopping.is_set():
                    self._task_ready.wait()
                if self._stopping.is_set():
                    return
                request, context = self._tasks.popleft()
                self._running = context
            try:
                self._run(request, context)
            finally:
                self._running = None

    def _watchdog(self) -> None:
        """Exit when the GUI process is gone (re-parented), even if the pipe stays open."""
        while not self._stopping.wait(WATCHDOG_INTERVAL_S):
            if os.getppid() != self.parent_pid:
                os._exit(3)


def run_in_thread(conn) -> tuple[Server, threading.Thread]:
    """A Server on `conn` in a thread of this process (tests of the protocol without a new process)."""
    server = Server(conn, ComputeState(), load_handlers())
    thread = threading.Thread(target=server.serve, name="cnnviz-server", daemon=True)
    thread.start()
    return server, thread
