"""Your digits (issue 21) in a real window on the session's compute process: digits kept with the digit keys
land in a plain digit folder that `cnnviz evaluate --data-dir` and `cnnviz train --data-dir --from` read; the
gallery marks what the model reads and relabels and deletes; "Teach it my handwriting" reports before and
after, makes the taught model current, and a cancelled run leaves the model as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from _compute import call
from _handwriting import write_bubble_folder
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from cnnviz.core.data import Dataset
from cnnviz.core.own_digits import scan_digit_folder
from cnnviz.testing.user_input import draw_seven

WAIT_MS = 120_000
KEYS = [getattr(Qt.Key, f"Key_{digit}") for digit in range(10)]


def run_cli(*args, timeout=900):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "cnnviz", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def small_set(mnist):
    return Dataset(mnist.x_train[:2000], mnist.y_train[:2000], mnist.x_test[:1000], mnist.y_test[:1000], "small")


def open_panel(capability_window, qtbot, info, folder, dataset=None):
    window = capability_window("handwriting", dataset=dataset)
    window.show()
    window.show_model(info)
    feature = window.capabilities["handwriting"]
    window.context.operations.call("handwriting.set_folder", folder)
    feature.show()
    qtbot.waitUntil(lambda: all(action.isEnabled() for action in feature.key_actions), timeout=WAIT_MS)
    return window, feature


def checked(qtbot, feature, count: int, generation: int) -> dict:
    """The panel's reading of the folder by the model of `generation`, once it is there for `count` digits."""
    collection = feature.collection
    qtbot.waitUntil(lambda: collection.evaluation is not None and collection.evaluation["count"] == count
                    and collection.evaluation["generation"] == generation, timeout=WAIT_MS)
    return collection.evaluation


def test_digits_kept_with_their_keys_are_read_by_the_command_line(capability_window, qtbot, shipped_info, mnist,
                                                                  tmp_path):
    folder = tmp_path / "my-digits"
    window, feature = open_panel(capability_window, qtbot, shipped_info, folder)
    inspector = window.inspector
    window.activateWindow()
    kept = []
    feature.collection.kept.connect(lambda path, label: kept.append((path, label)))
    for index in range(12):                                   # the user shows digits and presses their keys
        assert inspector.show_test_digit(index)
        digit = mnist.x_test[index] / np.float32(255)
        qtbot.waitUntil(lambda: np.array_equal(inspector.current_input(), digit), timeout=WAIT_MS)
        QTest.keyClick(window, KEYS[int(mnist.y_test[index])])
    inspector.clear_input()
    draw_seven(inspector.canvas)                              # and draws one with the mouse
    qtbot.waitUntil(lambda: inspector.current_source_image() is not None, timeout=WAIT_MS)
    QTest.keyClick(window, KEYS[7])
    labels = [int(label) for label in mnist.y_test[:12]] + [7]
    assert [label for _, label in kept] == labels
    scan = scan_digit_folder(folder)
    assert sorted((entry.path, entry.label) for entry in scan.entries) == sorted(kept) and not scan.problems
    assert all(path.parent == folder / str(label) and path.suffix == ".png" for path, label in kept)
    assert not list(folder.rglob(".*"))                       # no temporary file left beside them
    ours = checked(qtbot, feature, len(labels), shipped_info.generation)
    assert set(feature.gallery.paths()) == {path for path, _ in kept}

    # The keys keep nothing while the panel is closed.
    feature.dock.close()
    qtbot.waitUntil(lambda: not any(action.isEnabled() for action in feature.key_actions), timeout=WAIT_MS)
    QTest.keyClick(window, KEYS[3])
    assert len(scan_digit_folder(folder).entries) == len(labels)

    theirs = json.loads(run_cli("evaluate", "--data-dir", str(folder), "--json").stdout)
    assert theirs["count"] == len(labels)
    np.testing.assert_array_equal(np.asarray(theirs["confusion"]), np.asarray(ours["confusion"]))
    assert theirs["accuracy"] == pytest.approx(ours["accuracy"])
    taught = tmp_path / "mine.keras"
    done = run_cli("train", "--data-dir", str(folder), "--from", "plain", "--epochs", "1", "--out", str(taught))
    assert taught.is_file(), done.stdout


def test_the_gallery_marks_what_the_model_reads_and_relabels_and_deletes(capability_window, qtbot, shipped_info,
                                                                         shipped_model, mnist, tmp_path, monkeypatch):
    from cnnviz.core.model_files import model_info
    from cnnviz.core.model_input import prepare_file

    folder = tmp_path / "bubbles"
    indices = np.concatenate([np.flatnonzero(mnist.y_test == digit)[:3] for digit in range(10)])
    write_bubble_folder(folder, mnist.x_test[indices], mnist.y_test[indices])
    window, feature = open_panel(capability_window, qtbot, shipped_info, folder)
    gallery = feature.gallery
    checked(qtbot, feature, 30, shipped_info.generation)
    info = model_info(shipped_model)
    paths = gallery.paths()
    inputs = np.stack([prepare_file(path, info).array for path in paths])
    independent = np.asarray(shipped_model(inputs, training=False)).argmax(axis=1)
    assert [gallery.reading_of(path) for path in paths] == [int(guess) for guess in independent]
    mistakes = {path for path, guess in zip(paths, independent) if guess != gallery.label_of(path)}
    assert set(gallery.mistakes()) == mistakes and 0 < len(mistakes) < 30     # bubbles fool the notes' model
    first = sorted(mistakes)[0]
    assert gallery.item_for(first).text() == f"{gallery.label_of(first)} → {gallery.reading_of(first)}"

    # Double-click: the inspector shows the digit exactly as the model reads it.
    gallery.itemDoubleClicked.emit(gallery.item_for(first))
    read = prepare_file(first, info).array[..., 0]
    qtbot.waitUntil(lambda: np.array_equal(window.inspector.current_input(), read), timeout=WAIT_MS)

    # Relabel it as what the model reads: it moves to that class folder and is no mistake any more.
    guess = gallery.reading_of(first)
    gallery.relabel_requested.emit([first], guess)
    moved = folder / str(guess) / first.name
    assert moved.is_file() and not first.exists() and gallery.label_of(moved) == guess
    checked(qtbot, feature, 30, shipped_info.generation)
    assert moved not in gallery.mistakes() and len(gallery.mistakes()) == len(mistakes) - 1

    # Delete two, after saying yes.
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    doomed = gallery.paths()[:2]
    gallery.delete_requested.emit(doomed)
    assert not any(path.exists() for path in doomed) and len(gallery.paths()) == 28
    checked(qtbot, feature, 28, shipped_info.generation)


def test_teaching_reports_before_and_after_and_a_cancel_keeps_the_model(capability_window, qtbot, shipped_info,
                                                                        compute_client, mnist, small_set, tmp_path):
    folder = tmp_path / "bubbles"
    indices = np.concatenate([np.flatnonzero(mnist.y_train == digit)[:6] for digit in range(10)])
    write_bubble_folder(folder, mnist.x_train[indices], mnist.y_train[indices])
    window, feature = open_panel(capability_window, qtbot, shipped_info, folder, dataset=small_set)
    panel, collection = feature.panel, feature.collection
    before = checked(qtbot, feature, 60, shipped_info.generation)

    # Cancel: the run stops and the model is the one of before, weights and all.
    panel.epochs.setValue(50)
    progress = []
    assert window.context.operations.call("handwriting.teach", 50)
    collection.run.progress.connect(lambda fraction, text: progress.append(text))
    assert panel.cancel_action.isEnabled() and not panel.teach_action.isEnabled()
    qtbot.waitUntil(lambda: any(text.startswith("Epoch") for text in progress), timeout=WAIT_MS)
    panel.cancel_action.trigger()
    qtbot.waitUntil(lambda: collection.run is None, timeout=WAIT_MS)
    assert panel.progress.format().startswith("Cancelled") and panel.teach_action.isEnabled()
    assert window.current is shipped_info and not window.unsaved
    now = call(qtbot, compute_client, "model_info")
    assert now.generation == shipped_info.generation
    for ours, theirs in zip(now.weights, shipped_info.weights, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)

    # Teach two epochs: before/after on the user's digits and MNIST, the changed digits, the taught model current.
    taught = []
    collection.taught.connect(taught.append)
    panel.epochs.setValue(2)
    panel.teach_action.trigger()
    qtbot.waitUntil(lambda: bool(taught), timeout=WAIT_MS * 3)
    result = taught[0]
    assert window.current.generation > shipped_info.generation and window.unsaved and window.current.path is None
    assert result.before.own_accuracy == pytest.approx(before["accuracy"])     # the gallery's reading before
    after = checked(qtbot, feature, 60, window.current.generation)              # … and after, by the taught model
    assert result.after.own_accuracy == pytest.approx(after["accuracy"]) and after["accuracy"] > before["accuracy"]
    assert panel.results.isVisible() and panel.results.result() is result
    assert panel.results.cells["own", "before"].text() == f"{result.before.own_accuracy:.1%}"
    assert f"{result.after.mnist_accuracy:.2%}" in panel.results.cells["mnist", "after"].text()
    changed = {str(path) for path, a, b in zip(before["paths"], before["predictions"], after["predictions"]) if a != b}
    assert {c.path for c in result.changed} == changed and panel.results.changed.count() == len(changed)
