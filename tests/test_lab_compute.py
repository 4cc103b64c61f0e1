"""The Lab's compute handlers on a threaded server: a variant trained, saved, tabulated and probed like
an independently loaded Keras model; files loaded on demand; a stopped variant keeps nothing."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time

import numpy as np
import pytest
from test_compute import TIMEOUT_S, Peer, keras_outputs

from cnnviz.compute.protocol import CANCELLED, Cancel, Event, Hello, Shutdown
from cnnviz.compute.server import run_in_thread
from cnnviz.core.architectures import architecture_specs
from cnnviz.core.comparison import read_comparison_csv
from cnnviz.core.data import Dataset
from cnnviz.core.training import TrainConfig, read_history_csv


@pytest.fixture(scope="module")
def lab_peer():
    """A Server on a thread of this process, no model loaded (the Lab does not need one)."""
    ours, theirs = multiprocessing.Pipe()
    _server, thread = run_in_thread(theirs)
    assert ours.poll(10) and isinstance(ours.recv(), Hello)
    yield Peer(ours)
    ours.send(Shutdown())
    thread.join(5)
    assert not thread.is_alive()


@pytest.fixture(scope="module")
def tiny_mnist(mnist):
    return Dataset(mnist.x_train[:256], mnist.y_train[:256], mnist.x_test[:300], mnist.y_test[:300], "tiny")


def wait_for_event(peer: Peer, request_id: int, kind: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while kind not in peer.kinds(request_id):
        assert peer.conn.poll(max(0.0, deadline - time.monotonic())), f"no {kind} event"
        message = peer.conn.recv()
        assert isinstance(message, Event), message
        peer.events.setdefault(message.id, []).append(message)


def test_a_trained_variant_is_saved_tabulated_and_probed_like_keras(lab_peer, tiny_mnist, tmp_path, digit_seven):
    import keras

    request = lab_peer.send("lab_train", {"name": "no-pooling", "config": TrainConfig(epochs=1, seed=2),
                                          "folder": tmp_path, "dataset": tiny_mnist})
    reply = lab_peer.wait(request)
    assert reply.ok, reply.details
    result, row, path = reply.result["result"], reply.result["row"], reply.result["path"]
    assert result.status == "finished" and reply.result["name"] == "no-pooling"
    kinds = lab_peer.kinds(request)
    assert kinds[0] == "preparing" and "progress" in kinds and kinds.count("epoch") == 1
    # Saved as `cnnviz compare --models` saves: the model, its history, its row in comparison.csv.
    assert path == tmp_path / "no-pooling.keras" and path.is_file()
    assert [r.epoch for r in read_history_csv(tmp_path / "no-pooling_history.csv")] == [1]
    [saved] = read_comparison_csv(tmp_path / "comparison.csv")
    numbers = ("seconds_per_epoch", "train_accuracy", "test_accuracy", "train_test_gap")
    assert [getattr(saved, name) for name in numbers] == pytest.approx([getattr(row, name) for name in numbers],
                                                                       rel=1e-5)  # the CSV keeps 6 digits
    assert dataclasses.replace(saved, **{name: 0.0 for name in numbers}) == \
        dataclasses.replace(row, **{name: 0.0 for name in numbers})
    assert (row.architecture, row.params, row.last_conv_shape, row.last_conv_receptive_field) == \
        ("no-pooling", 2_038_922, (22, 22, 64), 7)
    assert row.test_accuracy == result.history[0].test_accuracy

    # The stored variant answers probes exactly as the saved file does in plain Keras.
    probed = lab_peer.call("lab_probe", {"image": digit_seven, "variants": {"no-pooling": path}})
    assert probed["missing"] == []
    expected = keras_outputs(keras.models.load_model(path), digit_seven)
    outputs = probed["outputs"]["no-pooling"]
    assert [o.shape for o in outputs] == [spec.output_shape for spec in architecture_specs("no-pooling")]
    for ours, theirs in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)

    # A file changed since (here: touched) is not the stored one: missing until loaded again.
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert lab_peer.call("lab_probe", {"image": digit_seven, "variants": {"no-pooling": path}})["missing"] == \
        ["no-pooling"]
    garbage = tmp_path / "seed.keras"
    garbage.write_bytes(b"not a model")
    loaded = lab_peer.call("lab_load", {"variants": {"no-pooling": path, "seed": garbage}})
    assert loaded["loaded"] == ["no-pooling"] and "seed.keras" in loaded["failed"]["seed"]
    again = lab_peer.call("lab_probe", {"image": digit_seven, "variants": {"no-pooling": path, "seed": garbage}})
    assert again["missing"] == ["seed"]
    for ours, theirs in zip(again["outputs"]["no-pooling"], expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_a_stopped_variant_keeps_nothing_and_a_queued_one_is_dropped(lab_peer, tiny_mnist, tmp_path):
    running = lab_peer.send("lab_train", {"name": "seed", "config": TrainConfig(epochs=200), "folder": tmp_path,
                                          "dataset": tiny_mnist})
    queued = lab_peer.send("lab_train", {"name": "strided", "config": TrainConfig(epochs=1), "folder": tmp_path,
                                         "dataset": tiny_mnist})
    lab_peer.conn.send(Cancel(queued))
    assert lab_peer.wait(queued).error_type == CANCELLED
    wait_for_event(lab_peer, running, "progress")
    lab_peer.conn.send(Cancel(running))
    reply = lab_peer.wait(running)
    assert reply.ok, reply.details
    assert reply.result["result"].status == "stopped" and reply.result["row"] is None
    assert reply.result["path"] is None and list(tmp_path.iterdir()) == []
    unknown = lab_peer.wait(lab_peer.send("lab_train", {"name": "no-such-net", "config": TrainConfig()}))
    assert not unknown.ok and "no-such-net" in unknown.error


def test_an_extra_seed_goes_into_the_users_runs_file_with_its_history(lab_peer, tiny_mnist, tmp_path):
    """"lab_seed_run" (issue 24): one more seed with the full run's settings; the row joins the runs already in
    the user's file, the history lands beside it, and the same seed again is not trained twice."""
    from _lab_rows import run_row

    from cnnviz.core.seed_runs import RunSettings, read_runs_csv, seed_history_path, write_runs_csv

    runs = tmp_path / "runs.csv"
    settings = RunSettings(epochs=1, batch_size=64, train_digits=200)
    earlier = dataclasses.replace(run_row("seed", 6, 0.9), epochs=1, train_digits=200)
    write_runs_csv([earlier], runs)
    request = lab_peer.send("lab_seed_run", {"name": "strided", "seed": 7, "settings": settings, "runs": runs,
                                             "folder": tmp_path, "dataset": tiny_mnist})
    reply = lab_peer.wait(request)
    assert reply.ok, reply.details
    row = reply.result["row"]
    assert reply.result["status"] == "finished" and (reply.result["name"], reply.result["seed"]) == ("strided", 7)
    assert (row.architecture, row.seed, row.epochs, row.batch_size, row.train_digits) == ("strided", 7, 1, 64, 200)
    assert lab_peer.kinds(request).count("epoch") == 1 and "progress" in lab_peer.kinds(request)
    saved = {run.key: run for run in read_runs_csv(runs)}
    assert set(saved) == {("seed", 6), ("strided", 7)}                    # the earlier run is kept
    assert saved[("seed", 6)].test_accuracy == earlier.test_accuracy and saved[("seed", 6)].epochs == 1
    assert saved[("strided", 7)].test_accuracy == pytest.approx(row.test_accuracy, rel=1e-5)
    history = read_history_csv(seed_history_path(tmp_path, "strided", 7))
    assert [record.epoch for record in history] == [1]
    assert history[-1].test_accuracy == pytest.approx(row.test_accuracy, rel=1e-5)   # two files, one run
    assert not (tmp_path / "strided.keras").exists()                      # an extra seed keeps no model
    again = lab_peer.call("lab_seed_run", {"name": "strided", "seed": 7, "settings": settings, "runs": runs,
                                           "folder": tmp_path, "dataset": tiny_mnist})
    assert again["row"] == saved[("strided", 7)] and again["message"] == "already in your runs"


def test_an_extra_seed_is_refused_when_the_runs_or_the_digits_do_not_fit(lab_peer, tiny_mnist, tmp_path):
    from _lab_rows import run_row

    from cnnviz.core.seed_runs import RunSettings, write_runs_csv

    runs = tmp_path / "runs.csv"
    write_runs_csv([run_row("seed", 1, 0.99)], runs)                       # 5 epochs on 60,000 digits
    other = lab_peer.wait(lab_peer.send("lab_seed_run", {"name": "seed", "seed": 2, "runs": runs,
                                                         "settings": RunSettings(1, 64, 200), "dataset": tiny_mnist}))
    assert other.error_type == "RunsFileError" and "60,000 training digits" in other.error
    too_many = lab_peer.wait(lab_peer.send("lab_seed_run", {"name": "seed", "seed": 2, "runs": tmp_path / "new.csv",
                                                            "settings": RunSettings(1, 64, 60_000),
                                                            "dataset": tiny_mnist}))
    assert too_many.error_type == "DataError" and "60,000" in too_many.error and "256" in too_many.error
    assert not (tmp_path / "new.csv").exists()
