"""The compute process without Qt: protocol, handlers, superseding, tasks, and the process's own life.

Most tests run a `Server` on a thread of this process over a real multiprocessing Pipe (the same
code the spawned process runs); the last ones spawn the real process to check priority, shutdown
and orphan protection.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from cnnviz.compute.protocol import (CANCELLED, SUPERSEDED, UNKNOWN_METHOD, Cancel, Event, Hello, ModelInfo, Pause,
                                     Reply, Request, Resume, Shutdown)
from cnnviz.compute.server import load_handlers
from cnnviz.compute.server import _QuickQueue, run_in_thread
from cnnviz.core.training import BatchProgress, EpochRecord, TrainConfig

TIMEOUT_S = 120


class Peer:
    """The GUI's end of the pipe, driven by hand: send requests, collect replies and events."""

    def __init__(self, conn):
        self.conn = conn
        self.next_id = 1000
        self.events: dict[int, list[Event]] = {}
        self.replies: dict[int, Reply] = {}

    def send(self, method, args=None, key=None) -> int:
        self.next_id += 1
        self.conn.send(Request(self.next_id, method, dict(args or {}), key))
        return self.next_id

    def wait(self, request_id: int, timeout: float = TIMEOUT_S) -> Reply:
        """Receive until the reply to `request_id` arrived (keeping everything else)."""
        deadline = time.monotonic() + timeout
        while request_id not in self.replies:
            assert self.conn.poll(max(0.0, deadline - time.monotonic())), f"no reply to {request_id}"
            message = self.conn.recv()
            if isinstance(message, Event):
                self.events.setdefault(message.id, []).append(message)
            elif isinstance(message, Reply):
                assert message.id not in self.replies, "two replies to one request"
                self.replies[message.id] = message
        return self.replies[request_id]

    def call(self, method, args=None, key=None):
        reply = self.wait(self.send(method, args, key))
        assert reply.ok, f"{reply.error_type}: {reply.error}\n{reply.details}"
        return reply.result

    def kinds(self, request_id: int) -> list[str]:
        return [event.kind for event in self.events.get(request_id, [])]


@pytest.fixture(scope="module")
def peer(shipped_model_path):
    """A Server on a thread of this process, with the shipped model loaded."""
    ours, theirs = multiprocessing.Pipe()
    server, thread = run_in_thread(theirs)
    assert ours.poll(10) and isinstance(ours.recv(), Hello)
    peer = Peer(ours)
    peer.call("load_model", {"path": shipped_model_path})
    yield peer
    ours.send(Shutdown())
    thread.join(5)
    assert not thread.is_alive()


@pytest.fixture
def shipped(peer, shipped_model_path) -> ModelInfo:
    """The shipped model made current again (a test may have trained another)."""
    return peer.call("load_model", {"path": shipped_model_path})


def keras_outputs(model, image):
    """Every layer's output by an independent Keras feature extractor."""
    import keras

    extractor = keras.Model(model.inputs, [layer.output for layer in model.layers])
    return [np.asarray(o)[0] for o in extractor([image[None, :, :, None].astype(np.float32)], training=False)]


def model_from_info(info: ModelInfo):
    import keras

    from cnnviz.compute.state import set_layer_weights

    model = keras.models.model_from_json(info.architecture)
    set_layer_weights(model, info.weights)
    return model


def test_quick_queue_keeps_the_newest_request_of_each_key():
    queue = _QuickQueue()
    for request_id, key in enumerate(["stroke", "stroke", None, "cam", "stroke", None, "cam"]):
        queue.put(Request(request_id, "probe", {}, key))
    keep, dropped = queue.take(timeout=0)
    assert [r.id for r in keep] == [2, 4, 5, 6]           # arrival order, newest of each key
    assert sorted(r.id for r in dropped) == [0, 1, 3]
    assert queue.take(timeout=0) == ([], [])


def test_handlers_are_registered_by_module():
    handlers = load_handlers()
    kinds = {name: spec.kind for name, spec in handlers.items()}
    assert {name: kinds[name] for name in ("probe", "ping", "model_info")} == dict.fromkeys(
        ("probe", "ping", "model_info"), "quick")
    assert {name: kinds[name] for name in ("load_model", "restore_model", "save_model", "train", "test_mistakes",
                                           "export")} == dict.fromkeys(
        ("load_model", "restore_model", "save_model", "train", "test_mistakes", "export"), "task")
    from cnnviz.compute.registry import handler

    with pytest.raises(ValueError, match="two handlers"):
        handler("probe")(lambda state: None)


def test_compute_modules_import_neither_qt_nor_tensorflow():
    code = ("import sys, cnnviz.compute.server, cnnviz.compute.protocol, cnnviz.compute.state; "
            "from cnnviz.compute.server import load_handlers; load_handlers(); "
            "bad = [m for m in ('tensorflow', 'keras', 'PySide6', 'pyqtgraph') if m in sys.modules]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_probe_equals_an_independent_keras_pass(peer, shipped, shipped_model, digit_seven):
    assert shipped.layers and shipped.class_names == [str(d) for d in range(10)]
    result = peer.call("probe", {"image": digit_seven})
    assert result["generation"] == shipped.generation
    for ours, theirs in zip(result["outputs"], keras_outputs(shipped_model, digit_seven), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_keyed_requests_supersede_older_ones(peer, shipped, digit_seven):
    ids = [peer.send("probe", {"image": digit_seven * (i + 1) / 10}, key="stroke") for i in range(10)]
    replies = [peer.wait(request_id) for request_id in ids]
    assert replies[-1].ok
    assert all(r.ok or r.error_type == SUPERSEDED for r in replies)
    assert any(r.error_type == SUPERSEDED for r in replies), "a burst of strokes costs fewer forward passes"
    assert len(peer.replies.keys() & set(ids)) == 10  # every request got exactly one reply


def test_errors_are_replies_with_their_type(peer, shipped, tmp_path):
    reply = peer.wait(peer.send("no_such_method"))
    assert not reply.ok and reply.error_type == UNKNOWN_METHOD
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a zip" * 50)
    reply = peer.wait(peer.send("load_model", {"path": garbage}))
    assert not reply.ok and reply.error_type == "ModelFileError"
    assert "garbage.keras" in reply.error and "Traceback" in reply.details
    reply = peer.wait(peer.send("probe", {"image": np.zeros((3, 3))}))  # a bad argument
    assert not reply.ok and reply.error and reply.error_type
    assert peer.call("ping")["generation"] == shipped.generation  # the process carried on


def test_model_info_restore_and_save(peer, shipped, shipped_model, tmp_path, digit_seven):
    from cnnviz.core.training import read_history_csv

    for ours, theirs in zip([w for layer in shipped.weights for w in layer], shipped_model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    changed = [[w * 0.5 for w in layer] for layer in shipped.weights]
    restored = peer.call("restore_model", {"architecture": shipped.architecture, "weights": changed,
                                           "history": shipped.history[:2]})
    assert restored.generation > shipped.generation and restored.path is None
    expected = keras_outputs(model_from_info(restored), digit_seven)
    for ours, theirs in zip(peer.call("probe", {"image": digit_seven})["outputs"], expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    saved = peer.call("save_model", {"path": tmp_path / "half"})["path"]
    assert saved == tmp_path / "half.keras"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["half.keras", "half_history.csv"]
    assert [r.epoch for r in read_history_csv(tmp_path / "half_history.csv")] == [1, 2]
    assert peer.call("model_info", {"include_weights": False}).path == saved


def test_test_mistakes_match_keras_predict(peer, shipped, shipped_model, mnist):
    result = peer.call("test_mistakes")
    guesses = np.argmax(shipped_model.predict(mnist.x_test[..., None] / np.float32(255), verbose=0), axis=1)
    np.testing.assert_array_equal(result["indices"], np.flatnonzero(guesses != mnist.y_test))
    assert len(result["indices"]) == round((1 - shipped.test_accuracy) * 10_000)  # as its history says


def test_training_streams_events_and_the_serving_copy_follows(peer, shipped, small_mnist, digit_seven):
    peer.call("probe", {"image": digit_seven})  # the live input
    train = peer.send("train", {"config": TrainConfig(epochs=2, seed=3), "from_scratch": True,
                                "dataset": small_mnist})
    reply = peer.wait(train)
    assert reply.ok, reply.details
    result, info = reply.result["result"], reply.result["info"]
    assert result.status == "finished" and [r.epoch for r in result.history] == [1, 2]
    assert reply.result["kept"] and reply.result["from_scratch"] and reply.result["batches_done"] == 20
    kinds = peer.kinds(train)
    assert kinds[0] == "preparing" and "model" in kinds and kinds.count("epoch") == 2
    events = peer.events[train]
    progress = [e.payload for e in events if e.kind == "progress"]
    assert progress and all(isinstance(p, BatchProgress) for p in progress)
    assert progress[-1].batch == progress[-1].num_batches == 10 and progress[-1].epoch == 1
    epochs = [e.payload for e in events if e.kind == "epoch"]
    assert all(isinstance(e["record"], EpochRecord) for e in epochs)
    for ours, final in zip(epochs[-1]["weights"], info.weights, strict=True):  # the last epoch's weights
        for a, b in zip(ours, final, strict=True):
            np.testing.assert_array_equal(a, b)
    live = [e.payload for e in events if e.kind == "activations"]
    assert live and all(np.array_equal(p["image"], digit_seven) for p in live)
    assert info.path is None and [r.epoch for r in info.history] == [1, 2] and info.generation > shipped.generation
    # After the run the serving copy has the trained weights.
    expected = keras_outputs(model_from_info(info), digit_seven)
    for ours, theirs in zip(peer.call("probe", {"image": digit_seven})["outputs"], expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_training_on_from_the_current_weights_extends_the_history(peer, shipped, small_mnist):
    reply = peer.wait(peer.send("train", {"config": TrainConfig(epochs=1), "from_scratch": False,
                                          "dataset": small_mnist}))
    info = reply.result["info"]
    assert [r.epoch for r in info.history] == [*(r.epoch for r in shipped.history), 1]
    assert info.path == shipped.path  # the same file, now with unsaved changes


def test_pause_resume_and_cancel(peer, shipped, small_mnist):
    train = peer.send("train", {"config": TrainConfig(epochs=500), "from_scratch": True, "dataset": small_mnist})
    queued = peer.send("test_mistakes")
    peer.conn.send(Cancel(queued))  # a queued task is dropped at once
    assert peer.wait(queued).error_type == CANCELLED

    def progress_count():
        while peer.conn.poll(0.05):
            message = peer.conn.recv()
            assert isinstance(message, Event), message
            peer.events.setdefault(message.id, []).append(message)
        return peer.kinds(train).count("progress")

    def second_epoch_under_way():  # past the first test pass (it traces Keras's test step: seconds here)
        progress_count()
        kinds = peer.kinds(train)
        return "epoch" in kinds and "progress" in kinds[kinds.index("epoch"):]

    deadline = time.monotonic() + TIMEOUT_S
    while not second_epoch_under_way() and time.monotonic() < deadline:
        pass
    while_training = peer.call("probe", {"image": np.zeros((28, 28), np.float32)})
    assert while_training["weights_age_s"] >= 0.0  # the serving copy follows the run (bench: how closely)
    try:
        peer.conn.send(Pause(train))
        # The pause lands after the current call (or the call after a test pass under way).
        held = progress_count()
        while time.monotonic() < deadline:
            time.sleep(1.5)
            if progress_count() == held:
                break
            held = progress_count()
        assert held <= progress_count() == held and time.monotonic() < deadline
        peer.conn.send(Resume(train))
        while progress_count() < held + 3 and time.monotonic() < deadline:
            pass
        assert progress_count() >= held + 3
    finally:
        peer.conn.send(Cancel(train))
    reply = peer.wait(train)
    assert reply.ok and reply.result["result"].status == "stopped"
    assert peer.call("probe", {"image": np.zeros((28, 28), np.float32)})["weights_age_s"] is None


def test_export_task_writes_the_arrays_it_is_given(peer, shipped, tmp_path, digit_seven):
    import json

    outputs = peer.call("probe", {"image": digit_seven})["outputs"]
    request = peer.send("export", {"out_dir": tmp_path / "out", "model_input": digit_seven, "outputs": outputs,
                                   "layer_names": shipped.layer_names, "layer_kinds": shipped.layer_kinds,
                                   "layers": [0]})
    result = peer.wait(request).result
    assert result.folder == tmp_path / "out" and set(peer.kinds(request)) == {"progress"}
    counts = [event.payload for event in peer.events[request]][1:]   # after {"stage": "writing"}: files made
    assert counts and counts[-1]["done"] == counts[-1]["total"] == len(result.files)
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "L1_conv2d_1.npy"), outputs[0])
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["prediction"]["digit"] == 7
    again = peer.wait(peer.send("export", {"out_dir": tmp_path / "out", "model_input": digit_seven,
                                           "outputs": outputs, "layer_names": shipped.layer_names}))
    assert again.error_type == "TargetExistsError"


# --- the real process ---------------------------------------------------------------------------------
def spawn_compute():
    from cnnviz.compute.server import main

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=main, args=(theirs, os.getpid()), daemon=True)
    process.start()
    theirs.close()
    assert ours.poll(60) and isinstance(ours.recv(), Hello)
    return process, ours


def test_the_process_runs_niced_and_exits_on_shutdown_or_eof():
    import psutil

    process, conn = spawn_compute()
    assert psutil.Process(process.pid).nice() >= psutil.Process().nice() + 5
    conn.send(Shutdown())
    process.join(5)
    assert process.exitcode == 0
    process, conn = spawn_compute()
    conn.close()  # the GUI's end of the pipe is gone
    process.join(5)
    assert process.exitcode == 0


def test_the_process_exits_when_the_gui_is_killed(tmp_path):
    """No orphans: SIGKILL the parent (which keeps its end of the pipe open in no one) and the
    compute process follows (PR_SET_PDEATHSIG, the watchdog)."""
    import psutil

    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing, os, sys, time
        from cnnviz.compute.server import main
        if __name__ == "__main__":
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe()
            process = context.Process(target=main, args=(theirs, os.getpid()))
            process.start()
            ours.recv()
            print(process.pid, flush=True)
            time.sleep(600)
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    assert child.is_running()
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    gone, alive = psutil.wait_procs([child], timeout=10)
    assert child in gone and not alive
