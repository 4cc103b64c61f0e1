"""ONNX models in the app (issue 23): File → Open offers `.onnx`, File → Open the shipped PyTorch model opens
the LeNet trained in PyTorch, a model file dropped on the window opens as the model (a picture still goes to
the canvas), and Save proposes `NAME.keras` for a model opened from `.onnx` (cnnviz writes Keras files) and
says so. What the app shows of the converted model is checked against onnxruntime, the reference runtime."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from cnnviz.core.paths import default_model_path, resources_dir
from cnnviz.gui.shell.model_file_actions import save_proposal
from cnnviz.gui.widgets.message_banner import BANNER_COLOURS
from test_app_xvfb import run_app, x_display  # noqa: F401 (the real-app runner and its X display)

LENET = resources_dir() / "pytorch_lenet.onnx"
PICTURE = resources_dir() / "example_seven.png"   # MNIST test digit 0 (a 7) rendered as a photo
MODEL_TIMEOUT_MS = 120_000   # the first ONNX conversion in the shared compute process imports onnx


def models_window(capability_window, shipped_info):
    """A window with only the models capability, on the shipped Keras model."""
    window = capability_window("models")
    window.show_model(shipped_info)
    return window


def wait_opened(qtbot, window, path: Path) -> None:
    qtbot.waitUntil(lambda: window.current is not None and window.current.path == Path(path)
                    and not window.is_loading(), timeout=MODEL_TIMEOUT_MS)


def wait_outputs(qtbot, inspector) -> list:
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None, timeout=MODEL_TIMEOUT_MS)
    return inspector.current_outputs()


def onnxruntime_scores(image: np.ndarray) -> np.ndarray:
    """The shipped ONNX file's class scores for a (28, 28) image, computed by onnxruntime (PyTorch's numbers)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(LENET), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": image[None, None].astype(np.float32)})[0][0]


def drop(widget, path: Path) -> bool:
    """Drag `path` from a file manager onto `widget` and drop it there; whether the drag was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    enter.setAccepted(False)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    dropped = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, dropped)
    return dropped.isAccepted()


def test_file_open_offers_onnx_and_the_app_shows_pytorchs_numbers(capability_window, qtbot, shipped_info,
                                                                   digit_seven, monkeypatch):
    window = models_window(capability_window, shipped_info)
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *args: asked.append(args) or (str(LENET), ""))
    assert ".onnx" in window.files.open_action.toolTip() and "PyTorch" in window.files.open_action.toolTip()
    window.files.open_action.trigger()
    first_filter = asked[0][3].split(";;")[0]   # the one the dialog shows first
    assert all(f"*{suffix}" in first_filter for suffix in (".keras", ".h5", ".onnx")), first_filter
    wait_opened(qtbot, window, LENET)
    assert window.current.layer_names == [n.name for n in onnx.load(LENET).graph.node]

    inspector = window.inspector
    inspector.show_input(digit_seven)
    outputs = wait_outputs(qtbot, inspector)
    expected = onnxruntime_scores(inspector.current_input())
    np.testing.assert_allclose(outputs[-1], expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert inspector.top_guess.label() == "7" == str(int(np.argmax(expected)))
    banner = window.capabilities["models"].banner
    assert not banner.isHidden() and "ONNX model, converted node by node into 12 Keras layers" in banner.text()
    assert "Save model writes it as pytorch_lenet.keras" in banner.text()


def test_the_shipped_pytorch_model_entry_sits_beside_fashions_and_follows_open(capability_window, qtbot,
                                                                                 shipped_info):
    window = models_window(capability_window, shipped_info)
    models = window.capabilities["models"]
    entries = [action for action in window.menu("File").actions() if not action.isSeparator()]
    assert entries.index(models.open_pytorch_action) == entries.index(models.open_fashion_action) + 1
    assert entries.index(models.open_pytorch_action) < entries.index(window.files.save_action)
    assert "PyTorch" in models.open_pytorch_action.toolTip()
    assert models.open_pytorch_action.isEnabled()
    models.open_pytorch_action.trigger()
    assert window.is_loading() and not models.open_pytorch_action.isEnabled()   # as Open model… while loading
    wait_opened(qtbot, window, LENET)
    assert models.open_pytorch_action.isEnabled() and window.current.input_shape == (28, 28, 1)
    assert window.windowTitle().startswith("pytorch_lenet.onnx")


def test_a_dropped_model_file_opens_as_the_model_and_a_picture_still_goes_to_the_canvas(
        capability_window, qtbot, shipped_info):
    window = models_window(capability_window, shipped_info)
    inspector = window.inspector
    assert drop(inspector, LENET)                    # onto the maps
    wait_opened(qtbot, window, LENET)
    assert inspector.current_input() is None          # the model was opened, not read as a picture

    assert drop(window, PICTURE)                     # beside the inspector (a panel, the toolbar): the window
    qtbot.waitUntil(lambda: inspector.current_input() is not None, timeout=MODEL_TIMEOUT_MS)
    outputs = wait_outputs(qtbot, inspector)
    assert window.current.path == LENET and int(np.argmax(outputs[-1])) == 7

    said = []
    window.statusBar().messageChanged.connect(said.append)
    window.load_model_file(default_model_path())     # while a model loads, a dropped one is not opened
    assert drop(window, LENET)
    qtbot.waitUntil(lambda: any("pytorch_lenet.onnx not opened" in text for text in said), timeout=MODEL_TIMEOUT_MS)
    wait_opened(qtbot, window, default_model_path())


def test_saving_a_model_opened_from_onnx_proposes_a_keras_file_and_says_so(capability_window, qtbot, shipped_info,
                                                                             digit_seven, tmp_path, monkeypatch):
    window = models_window(capability_window, shipped_info)
    before = hashlib.sha256(LENET.read_bytes()).hexdigest()
    window.load_model_file(LENET)
    wait_opened(qtbot, window, LENET)
    window.inspector.show_input(digit_seven)
    scores = wait_outputs(qtbot, window.inspector)[-1]
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda parent, caption, proposed, file_filter: asked.append((caption, proposed, file_filter))
                        or (str(tmp_path / Path(proposed).name), ""))
    with qtbot.waitSignal(window.model_saved, timeout=MODEL_TIMEOUT_MS) as saved:
        window.files.save_action.trigger()
    caption, proposed, file_filter = asked[0]
    assert Path(proposed).name == "pytorch_lenet.keras" and file_filter == "Keras models (*.keras)"
    assert ".keras" in caption and "pytorch_lenet.onnx is left as it is" in caption
    target = tmp_path / "pytorch_lenet.keras"
    assert saved.args[0] == target and target.is_file() and window.current.path == target
    assert hashlib.sha256(LENET.read_bytes()).hexdigest() == before
    assert window.windowTitle().startswith("pytorch_lenet.keras")
    assert window.capabilities["models"].banner.isHidden()   # a Keras digit model now: nothing to say

    window.load_model_file(target)                   # the saved file is the converted network, weights and all
    wait_opened(qtbot, window, target)
    np.testing.assert_allclose(wait_outputs(qtbot, window.inspector)[-1], scores, rtol=1e-5, atol=1e-5)


def test_save_proposal_keeps_the_name_and_says_when_the_format_changes():
    class Current:
        def __init__(self, path):
            self.path = path

    assert save_proposal(None) == ("cnnviz-model.keras", "Save model")
    assert save_proposal(Current(None)) == ("cnnviz-model.keras", "Save model")
    assert save_proposal(Current(Path("/m/net.keras"))) == ("net.keras", "Save model")
    name, caption = save_proposal(Current(Path("/m/Net.ONNX")))
    assert name == "Net.keras" and "Net.ONNX is left as it is" in caption
    name, caption = save_proposal(Current(Path("/m/old.h5")))
    assert name == "old.keras" and "old.h5" in caption and caption != "Save model"


@pytest.mark.slow
@pytest.mark.xvfb
def test_the_real_app_opens_the_shipped_pytorch_model_from_its_menu(x_display, tmp_path):  # noqa: F811
    """Under Xvfb: the shipped Keras model first, then File → Open the shipped PyTorch model, a drawn 7, a map
    enlarged and hovered (the README's picture); the banner is on the screen in its info colours."""
    done, pixels = run_app("pytorch-model-and-screenshot", x_display, tmp_path)
    assert "cnnviz autotest: model ready" in done.stdout
    assert "opened pytorch_lenet.onnx: 12 layers (node_conv2d, node_relu, node_max_pool2d, …), input 28x28x1" \
        in done.stdout, done.stdout
    assert re.search(r"predicted 7 \(\d+\.\d%\)", done.stdout), done.stdout
    assert re.search(r"channel 1 enlarged, hover: channel 1 .* value ", done.stdout), done.stdout
    regions = json.loads((tmp_path / "pytorch-model-and-screenshot.json").read_text())
    x, y, width, height = regions["model_banner"]
    background = np.array([int(BANNER_COLOURS["info"][0][i:i + 2], 16) for i in (1, 3, 5)])
    banner = pixels[y:y + height, x:x + width].astype(int)
    assert (np.abs(banner - background).sum(axis=-1) < 12).mean() > 0.5   # mostly the info strip's blue
