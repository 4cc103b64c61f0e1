"""Trainings in N worker processes at once on this machine (`cnnviz compare --jobs N`, issue 24).

N spawned processes (spawn, not fork: TensorFlow's threads do not survive a fork) each load the digits
once, give TensorFlow their share of the cores (`prepare_worker_process`), and train one RunTask after
another from a shared queue; each finished run comes back as a RunOutcome to `on_outcome`, in this
process's main thread, in the order they finish.

Stopping: the workers never see the terminal's Ctrl+C (SIGINT is blocked while they start and ignored in
them); when `control` is stopped, the pool terminates them at once (a run cut short has no row to keep),
kills any that has not gone within TERMINATE_WAIT_S, and returns: outcomes already handed over are kept.
A worker that dies (out of memory, killed) fails the run it was on, and the others go on.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time

from cnnviz.core.seed_runs import RunTask, failed_outcome

POLL_S = 0.2             # how often the pool looks at the stop flag and its workers while it waits
TERMINATE_WAIT_S = 1.0   # then SIGKILL
PARENT_CHECK_S = 1.0     # a worker whose parent is gone ends itself within this


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """TensorFlow threads for each of `jobs` trainings at once, so that together they do not exceed the cores."""
    return max(1, (cores or available_cores()) // max(1, jobs))


def prepare_worker_process(threads: int) -> None:
    """What every cnnviz worker process (`compare --jobs`, Ray tasks) runs first: quiet TensorFlow, then
    give it `threads` threads for one training (intra-op: the threads of one convolution; inter-op: 1, the
    ops of a training step mostly wait for each other). No effect on a process whose TensorFlow is
    already running (a Ray worker reused for a second run keeps its first setting, the same one).
    """
    from cnnviz.core.lean_imports import lean_keras_import
    from cnnviz.core.quiet import quiet_process

    quiet_process()   # before TensorFlow is imported below: its absl/oneDNN start-up lines stay off stderr
    lean_keras_import()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # each new variant traces anew: no retracing warning
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # "cannot be modified after initialization"
        pass


def run_in_processes(tasks: list[RunTask], jobs: int, on_outcome, control, data_path=None,
                     dataset: str = "mnist", threads: int | None = None) -> None:
    """Train `tasks` in min(jobs, len(tasks)) spawned processes, each with `threads` TensorFlow threads
    (default: its share of the cores), reading the digits from `data_path` or the usual cache (the caller
    has loaded them once already, so they are there). Returns when every task has an outcome or `control`
    was stopped; the workers are gone either way."""
    if not tasks:
        return
    context = multiprocessing.get_context("spawn")
    todo, results = context.Queue(), context.Queue()
    num_workers = min(jobs, len(tasks))
    threads = threads or threads_per_job(num_workers)
    workers = []
    try:
        with _sigint_blocked():  # the children inherit the mask: a Ctrl+C while they start is not theirs
            for number in range(num_workers):
                worker = context.Process(target=_worker_main, args=(threads, data_path, dataset, todo, results),
                                         name=f"cnnviz-job-{number + 1}", daemon=True)
                worker.start()
                workers.append(worker)
        for index, task in enumerate(tasks):
            todo.put((index, task))
        for _ in workers:
            todo.put(None)
        _collect(tasks, workers, results, on_outcome, control)
    finally:
        _end(workers)
        for channel in (todo, results):
            channel.cancel_join_thread()  # never wait at exit to flush to a process that is gone
            channel.close()


def _collect(tasks, workers, results, on_outcome, control) -> None:
    pending = set(range(len(tasks)))
    running: dict[int, int] = {}  # worker pid -> the task index it is on

    def handle(message) -> None:
        kind, index, payload = message
        if kind == "started":
            running[payload] = index
        elif kind == "done" and index in pending:
            pending.discard(index)
            running.pop(payload.pid, None)
            on_outcome(payload.outcome)
        elif kind == "broken":  # a worker could not start: the others cannot either
            for lost in sorted(pending):
                on_outcome(failed_outcome(tasks[lost], payload))
            pending.clear()

    while pending and not control.stop_requested:
        try:
            handle(results.get(timeout=POLL_S))
            continue
        except queue.Empty:
            pass
        dead = {worker.pid: worker.exitcode for worker in workers if not worker.is_alive()}
        if not dead:
            continue
        while True:  # what a dead worker sent before it died is in the pipe already: take it first
            try:
                handle(results.get_nowait())
            except queue.Empty:
                break
        for pid, exitcode in dead.items():
            index = running.pop(pid, None)
            if index is not None and index in pending:
                pending.discard(index)
                on_outcome(failed_outcome(tasks[index], f"its process ended unexpectedly ({_exit_text(exitcode)})"))
        if len(dead) == len(workers):
            for lost in sorted(pending):
                on_outcome(failed_outcome(tasks[lost], "no worker process was left to train it"))
            pending.clear()


class _Done:
    """A finished task's outcome and the worker that sent it."""

    def __init__(self, pid: int, outcome):
        self.pid = pid
        self.outcome = outcome


def _worker_main(threads: int, data_path, dataset: str, todo, results) -> None:
    """A worker: ignore Ctrl+C (the parent ends us), set up TensorFlow, load the digits, train tasks until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # (POSIX)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _exit_with_parent()
    prepare_worker_process(threads)
    from cnnviz.core.data import DataError, load_dataset
    from cnnviz.core.seed_runs import train_run

    try:
        data = load_dataset(dataset, data_path, allow_download=False)
    except DataError as exc:
        results.put(("broken", None, str(exc).splitlines()[0]))
        return
    while True:
        item = todo.get()
        if item is None:
            return
        index, task = item
        results.put(("started", index, os.getpid()))
        try:
            outcome = train_run(task, data)
        except Exception as exc:  # noqa: BLE001 one failed run must not end the others
            outcome = failed_outcome(task, f"{type(exc).__name__}: {exc}".splitlines()[0])
        results.put(("done", index, _Done(os.getpid(), outcome)))


def _exit_with_parent() -> None:
    """End this worker when its parent is gone (killed without the chance to end its workers)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="cnnviz-parent-watch", daemon=True).start()


def _end(workers) -> None:
    """Terminate the workers still running, then kill those that do not go within TERMINATE_WAIT_S."""
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    deadline = time.monotonic() + TERMINATE_WAIT_S
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.is_alive():
            worker.kill()
            worker.join(TERMINATE_WAIT_S)


@contextlib.contextmanager
def _sigint_blocked():
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _exit_text(exitcode) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"
