"""The GUI's ComputeClient and LatestRequest: callbacks on the GUI thread, stale replies dropped,
a crashed process restarted. These tests use requests that need no TensorFlow ("ping"), so
their compute processes start in about a second."""

from __future__ import annotations

import os
import signal
import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject  # noqa: E402

from cnnviz.compute.protocol import CRASHED, ComputeError  # noqa: E402
from cnnviz.gui.remote.compute_client import ComputeClient, describe_exit  # noqa: E402
from cnnviz.gui.remote.latest_request import LatestRequest  # noqa: E402

START_TIMEOUT_MS = 60_000
HANG_MS = 60_000   # bounds that only catch a hang


@pytest.fixture
def client(qtbot):
    """A ComputeClient with its own (TensorFlow-free until asked) compute process."""
    client = ComputeClient()
    with qtbot.waitSignal(client.ready, timeout=START_TIMEOUT_MS):
        client.start()
    yield client
    client.shutdown()


class Recorder(QObject):
    """Collects callbacks, and the thread they ran on."""

    def __init__(self):
        super().__init__()
        self.replies, self.errors, self.threads = [], [], []

    def on_reply(self, result):
        self.threads.append(threading.current_thread())
        self.replies.append(result)

    def on_error(self, error):
        self.errors.append(error)


def test_replies_arrive_on_the_gui_thread(qtbot, client):
    recorder = Recorder()
    client.request("ping", on_reply=recorder.on_reply, on_error=recorder.on_error)
    qtbot.waitUntil(lambda: bool(recorder.replies), timeout=10_000)
    assert recorder.replies[0]["pid"] == client.pid != 0
    assert recorder.threads == [threading.main_thread()]
    client.request("no_such_method", on_reply=recorder.on_reply, on_error=recorder.on_error)
    qtbot.waitUntil(lambda: bool(recorder.errors), timeout=10_000)
    assert isinstance(recorder.errors[0], ComputeError) and "no_such_method" in recorder.errors[0].message
    assert client.num_pending() == 0


def test_stale_and_forgotten_replies_are_dropped(qtbot, client):
    recorder = Recorder()
    first = client.request("ping", key="k", on_reply=recorder.on_reply, on_error=recorder.on_error)
    second = client.request("ping", key="k", on_reply=recorder.on_reply, on_error=recorder.on_error)
    forgotten = client.request("ping", on_reply=recorder.on_reply, on_error=recorder.on_error)
    client.forget(forgotten)
    qtbot.waitUntil(lambda: not client.is_pending(second), timeout=HANG_MS)
    last = Recorder()   # replies come in order: once this one is in, the others have been dealt with
    client.request("ping", on_reply=last.on_reply, on_error=last.on_error)
    qtbot.waitUntil(lambda: bool(last.replies), timeout=HANG_MS)
    assert len(recorder.replies) == 1 and not recorder.errors  # only the newest of key "k"
    assert not client.is_pending(first) and not client.is_pending(forgotten)


def test_no_callback_into_a_deleted_qobject(qtbot, client):
    """A reply whose receiver was deleted meanwhile is dropped: its method is not called (it would be:
    a bound Python method runs even on a deleted C++ object), and later replies still arrive."""
    import shiboken6

    calls = []

    class Receiver(QObject):
        def on_reply(self, result):
            calls.append(result)

    receiver, alive = Receiver(), Recorder()
    client.request("ping", on_reply=receiver.on_reply, on_error=receiver.on_reply)
    shiboken6.delete(receiver)
    client.request("ping", on_reply=alive.on_reply, on_error=alive.on_error)   # answered after the first
    qtbot.waitUntil(lambda: bool(alive.replies), timeout=HANG_MS)
    assert client.num_pending() == 0 and calls == [] and not alive.errors


def test_no_callback_through_a_lambda_into_a_deleted_qobject(qtbot, client):
    """The same for a lambda that captured its receiver (`lambda result: self._on_reply(result, x)`): the
    lambda itself is no QObject's method, so only what it closes over says it is dead."""
    import shiboken6

    calls = []

    class Receiver(QObject):
        def on_reply(self, result, extra):
            calls.append((result, extra))

        def ask(self):
            client.request("ping", on_reply=lambda result: self.on_reply(result, "extra"))

    receiver, alive = Receiver(), Recorder()
    receiver.ask()
    shiboken6.delete(receiver)
    client.request("ping", on_reply=alive.on_reply, on_error=alive.on_error)
    qtbot.waitUntil(lambda: bool(alive.replies), timeout=HANG_MS)
    assert client.num_pending() == 0 and calls == [] and not alive.errors


def test_a_killed_process_is_reported_and_restarted(qtbot, client):
    """A request in flight when the process dies gets a ComputeCrashed error. The process is stopped
    (SIGSTOP) before the request is sent, so it cannot answer it first: without that, a fast machine
    let it reply "no model loaded" before the SIGKILL landed (CI stop 28)."""
    recorder = Recorder()
    old_pid = client.pid
    client.request("ping", on_reply=recorder.on_reply, on_error=recorder.on_error)
    qtbot.waitUntil(lambda: bool(recorder.replies), timeout=10_000)
    with qtbot.waitSignal(client.crashed, timeout=10_000) as crashed, \
            qtbot.waitSignal(client.restarted, timeout=10_000):
        os.kill(client.pid, signal.SIGSTOP)
        client.request("test_mistakes", on_reply=recorder.on_reply, on_error=recorder.on_error)
        client.kill()
    assert "killed (SIGKILL" in crashed.args[0]
    assert [e.error_type for e in recorder.errors] == [CRASHED] and recorder.errors[0].crashed
    with qtbot.waitSignal(client.ready, timeout=START_TIMEOUT_MS):
        pass
    assert client.pid != old_pid and client.is_running()
    client.request("ping", on_reply=recorder.on_reply)
    qtbot.waitUntil(lambda: len(recorder.replies) == 2, timeout=10_000)
    assert recorder.replies[-1]["pid"] == client.pid


def test_it_gives_up_after_crashing_again_and_again(qtbot, client):
    messages = []
    client.gave_up.connect(messages.append)
    for _ in range(4):
        with qtbot.waitSignal(client.crashed, timeout=10_000):
            client.kill()
        if not messages:
            qtbot.waitUntil(client.is_running, timeout=10_000)
    assert messages and "no longer restarts it" in messages[0]
    assert not client.is_running()
    errors = []
    client.request("ping", on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=2000)  # fails at once, on a later pass of the event loop
    assert errors[0].crashed


def test_shutdown_ends_the_process(qtbot, client):
    """The process exits by itself (code 0, not killed) when asked; how fast: scripts/bench_gui.py close."""
    process = client._process
    client.shutdown(HANG_MS / 1000)
    assert not process.is_alive() and process.exitcode == 0
    assert not client.is_running()


def test_exit_descriptions():
    assert describe_exit(-9) == "was killed (SIGKILL; out of memory?)"
    assert describe_exit(-6).startswith("aborted (SIGABRT")
    assert describe_exit(3) == "exited with code 3"


class FakeClient:
    """Records requests; the test answers them by hand."""

    def __init__(self):
        self.sent = []

    def request(self, method, args, key=None, on_reply=None, on_error=None):
        self.sent.append((args, on_reply, on_error))
        return len(self.sent)

    def forget(self, request_id):
        self.sent[request_id - 1] = None


def test_latest_request_keeps_one_in_flight_and_delivers_every_reply(qtbot):
    client, results = FakeClient(), []
    latest = LatestRequest("probe", lambda result, tag: results.append((result, tag)), client=client)
    for i in range(5):
        latest.submit({"i": i}, tag=i)
    assert [args["i"] for args, *_ in client.sent] == [0]  # the others wait; only the newest is kept
    client.sent[0][1]("r0")
    assert results == [("r0", 0)] and [args["i"] for args, *_ in client.sent] == [0, 4]
    client.sent[1][1]("r4")
    assert results[-1] == ("r4", 4) and len(client.sent) == 2 and not latest.busy()
    latest.submit({"i": 5}, tag=5)
    latest.submit({"i": 6}, tag=6)
    client.sent[2][2](ComputeError("gone", CRASHED))  # a crash: the waiting request is dropped too
    assert len(client.sent) == 3 and not latest.busy()
    latest.submit({"i": 7}, tag=7)
    latest.clear()  # the reply to a cleared request is not wanted
    assert client.sent[3] is None and not latest.busy()


def test_sigusr1_prints_the_compute_process_stacks_and_it_goes_on(qtbot, tmp_path):
    """What the suite asks a compute process for when a wait times out (conftest.dump_compute_stacks)."""
    log = tmp_path / "compute-stderr.txt"
    saved = os.dup(2)
    with open(log, "wb") as stream:   # the process's stderr: this file (its descriptor 2 is inherited at start)
        os.dup2(stream.fileno(), 2)
        try:
            client = ComputeClient()
            with qtbot.waitSignal(client.ready, timeout=START_TIMEOUT_MS):
                client.start()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    try:
        os.kill(client.pid, signal.SIGUSR1)
        qtbot.waitUntil(lambda: "server.py" in log.read_text(errors="replace"), timeout=10_000)
        assert "most recent call first" in log.read_text(errors="replace")
        recorder = Recorder()
        client.request("ping", on_reply=recorder.on_reply, on_error=recorder.on_error)
        qtbot.waitUntil(lambda: bool(recorder.replies), timeout=10_000)
        assert recorder.replies[0]["pid"] == client.pid and client.is_running()
    finally:
        client.shutdown()
