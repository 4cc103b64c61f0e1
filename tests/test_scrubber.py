"""Issue 12 in the app: checkpoints while training and the epoch scrubber.

The compute side over a threaded server (tests/test_compute.py's pattern): the shipped model's
checkpoints load with it, scrubbing serves a checkpoint's weights (compared with a probe of the
checkpoint file) without touching the model that trains and saves, a run in the app keeps its
checkpoints and sends them as events. The app side with pytest-qt on the session's compute process:
the scrubber moves the inspector's maps, prediction and weights and the curves' marker. And the real
app under Xvfb: a confusion cell, a misclassified digit from the gallery, epoch 0, screenshots.
"""

from __future__ import annotations

import multiprocessing
import re
import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from test_app_xvfb import ARTIFACTS, run_app, x_display  # noqa: F401  (x_display is a fixture)
from test_compute import Peer
from test_polish_gui import window  # noqa: F401 (the fixture: a shown 1280×800 main window, the shipped model)

WAIT_MS = 120_000
SEED = 3


def probe_of(model, image):
    from cnnviz.core.activations import ActivationProbe

    return ActivationProbe(model)(image)


def assert_outputs_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def shipped_checkpoints(shipped_model_path):
    from cnnviz.core.checkpoints import checkpoints_folder_for, read_checkpoints

    return read_checkpoints(checkpoints_folder_for(shipped_model_path))


@pytest.fixture(scope="module")
def first_checkpoint_model(shipped_checkpoints):
    from cnnviz.core.checkpoints import load_checkpoint_model

    return load_checkpoint_model(shipped_checkpoints[0])


# --- the compute process's side ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def peer(shipped_model_path):
    from cnnviz.compute.protocol import Hello, Shutdown
    from cnnviz.compute.server import run_in_thread

    ours, theirs = multiprocessing.Pipe()
    _server, thread = run_in_thread(theirs)
    assert ours.poll(10) and isinstance(ours.recv(), Hello)
    peer = Peer(ours)
    yield peer
    ours.send(Shutdown())
    thread.join(5)


@pytest.fixture
def shipped(peer, shipped_model_path):
    return peer.call("load_model", {"path": shipped_model_path})


def test_the_shipped_model_comes_with_its_checkpoints(peer, shipped, shipped_checkpoints):
    listed = peer.call("checkpoints")
    assert listed["source"] == "folder" and listed["last_is_current"] and listed["scrubbed"] is None
    assert [(c.epoch, c.batch) for c in listed["checkpoints"]] == [(c.epoch, c.batch) for c in shipped_checkpoints]
    assert all(c.weights is None for c in listed["checkpoints"])      # records only: the weights stay there


def test_scrubbing_serves_a_checkpoint_and_never_touches_the_model(peer, shipped, shipped_model, shipped_probe,
                                                                    first_checkpoint_model, digit_seven, tmp_path):
    from cnnviz.compute.state import layer_weights
    from cnnviz.core.model import load_model

    scrubbed = peer.call("scrub", {"index": 0, "image": digit_seven})
    expected = probe_of(first_checkpoint_model, digit_seven)
    assert_outputs_equal(scrubbed["outputs"], expected)
    for ours, theirs in zip(scrubbed["weights"], layer_weights(first_checkpoint_model)):
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    assert_outputs_equal(peer.call("probe", {"image": digit_seven})["outputs"], expected)   # strokes follow it
    assert peer.call("checkpoints")["scrubbed"] == 0
    # The model that trains and saves still has its own weights.
    for ours, theirs in zip(peer.call("model_info").weights, layer_weights(shipped_model)):
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    saved = peer.call("save_model", {"path": tmp_path / "saved.keras"})["path"]
    for a, b in zip(load_model(saved).get_weights(), shipped_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    back = peer.call("scrub", {"index": None, "image": digit_seven})
    assert back["index"] is None
    assert_outputs_equal(back["outputs"], shipped_probe(digit_seven))
    assert_outputs_equal(peer.call("probe", {"image": digit_seven})["outputs"], shipped_probe(digit_seven))


def test_a_run_keeps_its_checkpoints_and_sends_them(peer, shipped, mnist, digit_seven):
    import keras

    from cnnviz.core.confusion import compute_confusion
    from cnnviz.core.data import Dataset
    from cnnviz.core.model import build_seed_model
    from cnnviz.core.training import TrainConfig

    data = Dataset(mnist.x_train[:2560], mnist.y_train[:2560], mnist.x_test[:500], mnist.y_test[:500], "part")
    train = peer.send("train", {"config": TrainConfig(epochs=2, seed=SEED), "from_scratch": True, "dataset": data})
    reply = peer.wait(train)
    assert reply.ok, reply.details
    events = [e.payload for e in peer.events[train] if e.kind == "checkpoint"]
    # 40 batches an epoch, 32 per compiled call in the app (the headless trainer's): batches 10 and 30 both land
    # on 32, the end of the first call, kept once (100, 300: past the end).
    from cnnviz.compute.handlers.training import APP_STEPS_PER_EXECUTION

    assert APP_STEPS_PER_EXECUTION == 32
    assert [(e["checkpoint"].epoch, e["checkpoint"].batch) for e in events] == [(0, 0), (0, 32), (1, 0), (2, 0)]
    assert [e["index"] for e in events] == list(range(4)) and all(e["from_scratch"] for e in events)
    assert [e["confusion"] is not None for e in events] == [False, False, True, True]   # after epochs
    last = events[-1]["confusion"].result
    assert last.num_images == 500 and events[-1]["checkpoint"].test_accuracy == pytest.approx(last.accuracy,
                                                                                               abs=1e-6)
    # The last epoch's matrix is the trained model's (computed here from the weights the run returned).
    from cnnviz.compute.state import set_layer_weights

    info = reply.result["info"]
    trained = keras.models.model_from_json(info.architecture)
    set_layer_weights(trained, info.weights)
    np.testing.assert_array_equal(last.matrix, compute_confusion(trained, data.x_test, data.y_test).matrix)

    listed = peer.call("checkpoints")
    assert listed["source"] == "training" and listed["last_is_current"] and len(listed["checkpoints"]) == 4
    # Checkpoint 0 is the seed model as built with the run's seed (built again here, independently).
    keras.utils.set_random_seed(SEED)
    seed_model = build_seed_model()
    scrubbed = peer.call("scrub", {"index": 0, "image": digit_seven})
    assert_outputs_equal(scrubbed["outputs"], probe_of(seed_model, digit_seven))
    inner = peer.call("scrub", {"index": 1, "image": digit_seven})["outputs"]
    assert not np.allclose(inner[-1], scrubbed["outputs"][-1])      # 32 batches changed the prediction
    peer.call("scrub", {"index": None})


# --- the app ---------------------------------------------------------------------------------------------
@pytest.fixture
def history(window, qtbot):
    feature = window.capabilities["history"]
    qtbot.waitUntil(lambda: len(feature.scrubbing.stops) == 10, timeout=WAIT_MS)
    return feature


def test_the_scrubber_takes_the_inspector_through_the_checkpoints(window, history, qtbot, mnist, shipped_probe,
                                                                   shipped_checkpoints, first_checkpoint_model):
    from cnnviz.compute.state import layer_weights
    from cnnviz.core.checkpoints import load_checkpoint_model

    inspector, scrubber = window.inspector, history.scrubber
    assert scrubber.position() == 9 and "epoch 5" in scrubber.label.text() and "current" in scrubber.label.text()
    own_weights = window.current.weights
    digit = mnist.x_test[0] / np.float32(255)
    inspector.show_test_digit(0)
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None, timeout=WAIT_MS)

    def scrubbed_to(index):
        return lambda: history.scrubbing.scrubbed == index and not history.scrubbing.is_busy()

    history.first_action.trigger()                                     # Alt+Home
    qtbot.waitUntil(scrubbed_to(0), timeout=WAIT_MS)
    assert scrubber.label.text().startswith("epoch 0 · random filters")
    assert_outputs_equal(inspector.current_outputs(), probe_of(first_checkpoint_model, digit))
    epoch0_guess = int(probe_of(first_checkpoint_model, digit)[-1].argmax())   # the status bar says it
    status = window.statusBar().currentMessage()
    assert status.startswith("Checkpoint epoch 0 · random filters"), status
    assert f": the model says {epoch0_guess} (" in status, status
    for ours, theirs in zip(inspector.model().weights, layer_weights(first_checkpoint_model)):   # the kernels
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    assert window.current.weights is own_weights                       # the model itself is unchanged
    assert window.capabilities["training"].curves.marker() == 0.0

    QTest.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)   # Alt+→: batch 16 of epoch 1
    qtbot.waitUntil(scrubbed_to(1), timeout=WAIT_MS)
    assert scrubber.label.text().startswith("batch 16 of epoch 1")
    second = load_checkpoint_model(shipped_checkpoints[1])
    assert_outputs_equal(inspector.current_outputs(), probe_of(second, digit))
    assert window.capabilities["training"].curves.marker() == pytest.approx(shipped_checkpoints[1].position)

    inspector.show_test_digit(1)                                       # a new input uses the checkpoint too
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None
                    and np.array_equal(inspector.current_input(), mnist.x_test[1] / np.float32(255)),
                    timeout=WAIT_MS)
    assert_outputs_equal(inspector.current_outputs(), probe_of(second, mnist.x_test[1] / np.float32(255)))

    history.current_action.trigger()                                   # Alt+End: the current weights
    qtbot.waitUntil(scrubbed_to(9), timeout=WAIT_MS)
    assert_outputs_equal(inspector.current_outputs(), shipped_probe(mnist.x_test[1] / np.float32(255)))
    assert inspector.model() is window.current

    # Play runs from epoch 0 to the end, one checkpoint at a time.
    shown = []
    history.scrubbing.checkpoint_shown.connect(lambda index, label: shown.append(index))
    history.play_action.trigger()
    qtbot.waitUntil(lambda: not scrubber.is_playing(), timeout=WAIT_MS)
    assert shown == list(range(10))


def test_training_in_the_app_streams_checkpoints_to_the_scrubber(window, history, qtbot, mnist):
    from cnnviz.core.data import Dataset

    window.set_dataset(Dataset(mnist.x_train[:2560], mnist.y_train[:2560], mnist.x_test[:500], mnist.y_test[:500],
                               "part"))
    history.focus_matrix()
    events, matrices = [], []
    window.training_started.connect(lambda run: run.checkpoint_kept.connect(events.append))
    history.panel.shown.connect(lambda reply: matrices.append((history.training, reply)))
    panel = window.capabilities["training"].panel
    panel.epochs.setValue(2)
    panel.start_from.setCurrentIndex(panel.start_from.findData("fresh"))
    with qtbot.waitSignal(window.training_finished, timeout=WAIT_MS):
        panel.start_action.trigger()
        qtbot.waitUntil(lambda: history.training, timeout=WAIT_MS)
        assert not history.scrubber.slider.isEnabled() and not history.first_action.isEnabled()
        # Train brought the Training panel forward: the matrix behind it is not computed at each epoch (it took
        # half the training's time); the learner brings it back to watch it, and each epoch's matrix comes.
        assert not history.panel.front.seen()
        history.focus_matrix()
        assert history.panel.front.seen()
    assert [(e["checkpoint"].epoch, e["checkpoint"].batch) for e in events] == [(0, 0), (0, 32), (1, 0), (2, 0)]
    during = [reply for training, reply in matrices if training]
    assert [reply.checkpoint for reply in during] == [2, 3] and during[-1].result.num_images == 500
    # After the run: the run's checkpoints, the slider at the end (the trained weights), usable.
    qtbot.waitUntil(lambda: len(history.scrubbing.stops) == 4 and history.scrubber.slider.isEnabled(),
                    timeout=WAIT_MS)
    assert history.scrubber.position() == 3 and "epoch 2" in history.scrubber.label.text()
    window.inspector.show_test_digit(0)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=WAIT_MS)
    trained = window.inspector.current_outputs()[-1].copy()
    history.first_action.trigger()
    qtbot.waitUntil(lambda: history.scrubbing.scrubbed == 0 and not history.scrubbing.is_busy(), timeout=WAIT_MS)
    assert history.scrubber.label.text().startswith("epoch 0 · random filters")
    assert not np.allclose(window.inspector.current_outputs()[-1], trained)


# --- the real app --------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.xvfb
def test_app_opens_a_mistake_from_the_matrix_and_scrubs_to_epoch_0(x_display, tmp_path):  # noqa: F811
    done, pixels = run_app("history-and-screenshot", x_display, tmp_path)
    out = done.stdout
    cell = re.search(r"clicked cell (\d) -> (\d): (\d+) digits", out)
    assert cell and cell.group(1) != cell.group(2) and int(cell.group(3)) > 0, out
    opened = re.search(r"opened test digit #(\d+) labelled (\d), predicted (\d)", out)
    assert opened and opened.group(2) == cell.group(1) and opened.group(3) == cell.group(2), out
    scrubbed = re.search(r"scrubbed to epoch 0 \(test accuracy ([\d.]+) %\): predicted (\d)", out)
    assert scrubbed and float(scrubbed.group(1)) < 20, out
    steps = sorted(tmp_path.glob("history-and-screenshot_*.png"))
    assert [p.stem.split("_", 1)[1] for p in steps] == ["1_cell", "2_opened", "3_epoch0"], steps
    for step in steps:
        shutil.copy(step, ARTIFACTS / f"app_xvfb_{step.name}")
    assert pixels.std() > 20
