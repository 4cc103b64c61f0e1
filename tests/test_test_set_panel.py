"""Issue 12 in the app: the test-set panel. Its confusion matrix against one made here with plain Keras
and numpy, a cell's gallery in its order, opening a test digit, the keyboard, and the "confusion" handler."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from test_compute import Peer
from test_polish_gui import window  # noqa: F401 (the fixture: a shown 1280×800 main window, the shipped model)

WAIT_MS = 120_000


def keras_probabilities(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities by a plain Keras predict (independent of cnnviz's confusion code)."""
    return np.asarray(model.predict(images[..., None].astype(np.float32) / 255.0, batch_size=2000, verbose=0))


@pytest.fixture(scope="module")
def shipped_probabilities(shipped_model, mnist):
    return keras_probabilities(shipped_model, mnist.x_test)


def plain_confusion(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    matrix = np.zeros((10, 10), np.int64)
    for true, predicted in zip(labels, predictions):
        matrix[true, predicted] += 1
    return matrix


@pytest.fixture
def history(window):
    feature = window.capabilities["history"]
    feature.focus_matrix()
    return feature


def wait_for_matrix(qtbot, panel, checkpoint=None):
    qtbot.waitUntil(lambda: panel.reply() is not None and panel.reply().checkpoint == checkpoint
                    and not panel.matrix.confusion.stale, timeout=WAIT_MS)
    return panel.reply()


def test_matrix_gallery_and_opening_a_digit(window, history, qtbot, mnist, shipped_probabilities):
    panel = history.panel
    reply = wait_for_matrix(qtbot, panel)
    predictions = shipped_probabilities.argmax(axis=1)
    expected = plain_confusion(mnist.y_test, predictions)
    shown = panel.matrix.confusion
    np.testing.assert_array_equal(shown.matrix, expected)                   # rows true, columns predicted
    for true in range(10):
        for predicted in range(10):
            text = shown.index(true, predicted).data()
            assert text == (str(expected[true, predicted]) if expected[true, predicted] else "")
    accuracy = np.trace(expected) / len(mnist.y_test)
    assert reply.accuracy == pytest.approx(accuracy)
    assert f"{accuracy:.2%}" in panel.summary.text()
    assert shown.index(4, 10).data() == f"{expected[4, 4] / expected[4].sum():.1%}"   # per-class accuracy

    # Click the cell "4 taken for 9": its digits, the most confident mistake first.
    rect = panel.matrix.cell_rect(4, 9)
    QTest.mouseClick(panel.matrix.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())
    cell = np.flatnonzero((mnist.y_test == 4) & (predictions == 9))
    order = cell[np.argsort(-shipped_probabilities[cell, 9], kind="stable")]
    np.testing.assert_array_equal(panel.gallery.indices(), order)
    assert len(order) == expected[4, 9] and "taken for" in panel.gallery.title.text()
    qtbot.waitUntil(lambda: all(int(i) in panel._images for i in order), timeout=WAIT_MS)   # thumbnails
    np.testing.assert_array_equal(panel.test_image(int(order[0])), mnist.x_test[order[0]])

    # Click the first thumbnail: the digit opens in the inspector, and the model says 9.
    gallery = panel.gallery.list
    QTest.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     panel.gallery.item_rect(0).center())
    inspector = window.inspector
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None and inspector.current_input() is not None
                    and np.array_equal(inspector.current_input(), mnist.x_test[order[0]] / np.float32(255)),
                    timeout=WAIT_MS)
    assert int(inspector.current_outputs()[-1].argmax()) == 9

    # The keyboard: arrows move between cells (the gallery follows), Enter goes to the gallery, where the
    # arrows move and Enter opens the digit.
    panel.matrix.setFocus()
    panel.matrix.choose_cell(7, 7)
    QTest.keyClick(panel.matrix, Qt.Key.Key_Right)
    assert panel.matrix.chosen_cell() == (7, 8)
    QTest.keyClick(panel.matrix, Qt.Key.Key_Left)
    QTest.keyClick(panel.matrix, Qt.Key.Key_Right)
    QTest.keyClick(panel.matrix, Qt.Key.Key_Right)
    assert panel.matrix.chosen_cell() == (7, 9)
    cell = np.flatnonzero((mnist.y_test == 7) & (predictions == 9))
    order = cell[np.argsort(-shipped_probabilities[cell, 9], kind="stable")]
    np.testing.assert_array_equal(panel.gallery.indices(), order)
    QTest.keyClick(panel.matrix, Qt.Key.Key_Return)
    assert gallery.hasFocus() and gallery.currentIndex().row() == 0
    QTest.keyClick(gallery, Qt.Key.Key_Right)
    assert gallery.currentIndex().row() == 1
    QTest.keyClick(gallery, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: inspector.current_input() is not None
                    and np.array_equal(inspector.current_input(), mnist.x_test[order[1]] / np.float32(255)),
                    timeout=WAIT_MS)

    # A diagonal cell lists its digits the least sure first.
    panel.choose_cell(3, 3)
    threes = np.flatnonzero((mnist.y_test == 3) & (predictions == 3))
    np.testing.assert_array_equal(panel.gallery.indices(),
                                  threes[np.argsort(shipped_probabilities[threes, 3], kind="stable")])


def test_the_matrix_follows_the_scrubbed_checkpoint(window, history, qtbot, mnist, shipped_model_path):
    from cnnviz.core.checkpoints import checkpoints_folder_for, load_checkpoint_model, read_checkpoints

    panel = history.panel
    wait_for_matrix(qtbot, panel)
    qtbot.waitUntil(lambda: len(history.scrubbing.stops) == 10, timeout=WAIT_MS)
    history.first_action.trigger()                       # Alt+Home: epoch 0, the random filters
    reply = wait_for_matrix(qtbot, panel, checkpoint=0)
    first = read_checkpoints(checkpoints_folder_for(shipped_model_path))[0]
    expected = plain_confusion(mnist.y_test, keras_probabilities(load_checkpoint_model(first), mnist.x_test)
                               .argmax(axis=1))
    np.testing.assert_array_equal(panel.matrix.confusion.matrix, expected)
    assert "epoch 0" in panel.source.text() and reply.accuracy < 0.2
    assert "test accuracy" in history.scrubber.label.text()   # the scrubber learned the checkpoint's accuracy
    history.current_action.trigger()                     # Alt+End: the current weights, their matrix again
    wait_for_matrix(qtbot, panel, checkpoint=None)
    assert panel.reply().accuracy > 0.99


@pytest.fixture(scope="module")
def peer(shipped_model_path):
    """A compute Server on a thread of this process (tests/test_compute.py's pattern)."""
    from cnnviz.compute.protocol import Hello, Shutdown
    from cnnviz.compute.server import run_in_thread

    ours, theirs = multiprocessing.Pipe()
    _server, thread = run_in_thread(theirs)
    assert ours.poll(10) and isinstance(ours.recv(), Hello)
    peer = Peer(ours)
    peer.call("load_model", {"path": shipped_model_path})
    yield peer
    ours.send(Shutdown())
    thread.join(5)


def test_confusion_handler_equals_plain_keras_and_reports_progress(peer, mnist, shipped_probabilities):
    request = peer.send("confusion")
    reply = peer.wait(request)
    assert reply.ok, reply.details
    result = reply.result
    np.testing.assert_array_equal(result.result.matrix, plain_confusion(mnist.y_test,
                                                                        shipped_probabilities.argmax(axis=1)))
    np.testing.assert_allclose(result.result.probabilities, shipped_probabilities, atol=1e-5)
    assert result.dataset == "mnist" and result.class_names == [str(d) for d in range(10)]
    assert np.trace(result.result.matrix) / 10_000 == pytest.approx(result.accuracy)
    progress = [e.payload for e in peer.events[request] if e.kind == "progress"]
    assert progress[0] == (0, 10_000) and progress[-1] == (10_000, 10_000)
    images = peer.call("test_images", {"dataset": "mnist", "indices": [5, 0, 9999]})
    np.testing.assert_array_equal(images, mnist.x_test[[5, 0, 9999]])


def test_every_count_fits_its_cell(qtbot):
    """A diagonal's four digits (1,135 ones) are drawn whole in the matrix's narrow cells, smaller if need be."""
    from PySide6.QtGui import QFontMetricsF

    from cnnviz.gui.history.confusion_view import CELL_WIDTH, ConfusionView, fitting_font

    view = ConfusionView()
    qtbot.addWidget(view)
    font, width = view.font(), CELL_WIDTH - 5
    for text in ("7", "85", "1135", "10000"):
        fitted = fitting_font(font, text, width)
        assert QFontMetricsF(fitted).horizontalAdvance(text) <= width + 0.5, text
        assert fitted.pointSizeF() <= font.pointSizeF()
    assert fitting_font(font, "7", width) is font          # short counts keep the view's font
    assert fitting_font(font, "1135", width).pointSizeF() < font.pointSizeF()
