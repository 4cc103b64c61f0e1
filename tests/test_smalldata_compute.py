"""The compute side of issue 21 on a threaded server: "robustness" (quick), "own_digits_evaluate" and
"teach_handwriting" (tasks), against the core functions and independent Keras passes."""

from __future__ import annotations

import numpy as np
import pytest
from _handwriting import write_bubble_folder
from test_compute import TIMEOUT_S, Peer, model_from_info, peer, shipped  # noqa: F401 (fixtures)
from test_lab_compute import wait_for_event

from cnnviz.compute.protocol import CANCELLED, Cancel
from cnnviz.core.data import Dataset
from cnnviz.core.training import TrainConfig


@pytest.fixture(scope="module")
def small_set(mnist):
    return Dataset(mnist.x_train[:2000], mnist.y_train[:2000], mnist.x_test[:1000], mnist.y_test[:1000], "small")


@pytest.fixture(scope="module")
def bubble_folder(tmp_path_factory, mnist):
    folder = tmp_path_factory.mktemp("mine")
    indices = np.concatenate([np.flatnonzero(mnist.y_train == d)[:6] for d in range(10)])
    write_bubble_folder(folder, mnist.x_train[indices], mnist.y_train[indices])
    return folder


def test_robustness_on_the_serving_copy_equals_the_core_and_a_missing_variant_says_so(peer, shipped, shipped_model,
                                                                                      digit_seven):
    from cnnviz.core.robustness import probe_robustness

    reply = peer.call("robustness", {"image": digit_seven})
    expected = probe_robustness(shipped_model, digit_seven)
    result = reply["result"]
    assert reply["missing"] is False and reply["generation"] == shipped.generation
    np.testing.assert_allclose(result.shift_probabilities, expected.shift_probabilities, atol=2e-4)
    np.testing.assert_allclose(result.rotation_probabilities, expected.rotation_probabilities, atol=2e-4)
    assert [(f.name, f.shift) for f in result.layers] == [(f.name, f.shift) for f in expected.layers]
    np.testing.assert_allclose([f.correlation for f in result.layers], [f.correlation for f in expected.layers],
                               atol=1e-4)
    absent = peer.call("robustness", {"image": digit_seven, "variant": "no-pooling", "variant_path": "/nowhere.keras"})
    assert absent["missing"] is True and absent["result"] is None


def test_own_digits_evaluate_matches_an_independent_pass(peer, shipped, shipped_model, bubble_folder):
    from cnnviz.core.model_files import model_info
    from cnnviz.core.model_input import prepare_file

    request = peer.send("own_digits_evaluate", {"folder": bubble_folder})
    reply = peer.wait(request)
    assert reply.ok, reply.details
    result = reply.result
    assert result["count"] == 60 and peer.kinds(request)[-1] == "reading"
    info = model_info(shipped_model)
    inputs = np.stack([prepare_file(path, info).array for path in result["paths"]])
    predicted = np.asarray(shipped_model(inputs, training=False)).argmax(axis=1)
    labels = np.asarray([int(path.split("/")[-2]) for path in result["paths"]])
    np.testing.assert_array_equal(result["predictions"], predicted)
    np.testing.assert_array_equal(result["labels"], labels)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == labels))
    assert int(np.trace(result["confusion"])) == int(np.sum(predicted == labels))
    refused = peer.wait(peer.send("own_digits_evaluate", {"folder": bubble_folder / "nothing"}))
    assert not refused.ok and refused.error_type == "DigitFolderError"


def test_teaching_cancelled_leaves_the_model_and_a_finished_run_becomes_current(peer, shipped, bubble_folder,
                                                                                small_set):
    before = peer.call("model_info")
    running = peer.send("teach_handwriting", {"folder": bubble_folder, "config": TrainConfig(epochs=300, seed=1),
                                             "dataset": small_set})
    wait_for_event(peer, running, "progress")
    peer.conn.send(Cancel(running))
    reply = peer.wait(running)
    assert not reply.ok and reply.error_type == CANCELLED
    after_cancel = peer.call("model_info")
    assert after_cancel.generation == before.generation
    for ours, theirs in zip(after_cancel.weights, before.weights, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)

    request = peer.send("teach_handwriting", {"folder": bubble_folder, "config": TrainConfig(epochs=2, seed=1),
                                             "dataset": small_set})
    reply = peer.wait(request)
    assert reply.ok, reply.details
    result, info = reply.result["result"], reply.result["info"]
    kinds = peer.kinds(request)
    assert "reading" in kinds and "progress" in kinds and kinds.count("epoch") == 2
    assert info.generation > before.generation and info.path is None
    assert len(info.history) == len(before.history) + 2
    assert result.after.own_accuracy > result.before.own_accuracy
    # before/after are the figures of the model before and of the one now current, on the same digits
    taught = model_from_info(info)
    from cnnviz.core.model_files import model_info
    from cnnviz.core.own_digits import read_digit_folder

    own = read_digit_folder(bubble_folder, model_info(taught))
    assert result.after.own_accuracy == pytest.approx(
        np.mean(np.asarray(taught(own.images, training=False)).argmax(1) == own.labels))
    changed = {c.path for c in result.changed}
    assert changed == {str(p) for p, a, b in zip(own.paths, result.own_predictions_before,
                                                  result.own_predictions_after) if a != b}
