"""Issue 21's small hooks in the other capabilities, in real windows on the session's compute process: Augment
and Dropout of the Training panel and the Lab reach their compute requests (and the model trained has the
Dropout layer), and are remembered; the augmented model in the File menu; a picture opened on the notes'
untouched model is read by the augmented model, with a line saying so, unless the Input setting is off."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnviz.core.paths import default_model_path, shipped_model_path
from cnnviz.gui.widgets.qt_helpers import app_settings

WAIT_MS = 120_000


def record_requests(client, monkeypatch) -> list[tuple[str, dict]]:
    """Every request the window sends from now on, (method, args), still sent."""
    sent = []
    request = client.request

    def recording(method, args=None, **kwargs):
        sent.append((method, args))
        return request(method, args, **kwargs)

    monkeypatch.setattr(client, "request", recording)
    return sent


def test_the_training_panels_augment_and_dropout_reach_the_train_request(capability_window, qtbot, shipped_info,
                                                                         small_mnist, compute_client, monkeypatch):
    window = capability_window("training", dataset=small_mnist)
    window.show_model(shipped_info)
    training = window.capabilities["training"]
    panel = training.panel
    assert panel.config().augment is False and panel.config().dropout == 0.0      # the notes' defaults
    panel.regularisation.set_values(True, 0.3)
    panel.epochs.setValue(1)
    panel.limit.setValue(600)
    sent = record_requests(compute_client, monkeypatch)
    with qtbot.waitSignal(window.context.training_finished, timeout=WAIT_MS * 2) as finished:
        assert window.context.operations.call("training.start", from_scratch=True)
    config = next(args["config"] for method, args in sent if method == "train")
    assert config.augment is True and config.dropout == pytest.approx(0.3)
    assert finished.args[0].status == "finished"
    dropout = [layer for layer in window.current.layers if layer.kind == "Dropout"]
    assert len(dropout) == 1 and dropout[0].config["rate"] == pytest.approx(0.3)   # a layer of the model trained

    # Going on with the current model: Dropout cannot be added, and says why; Augment still can.
    panel.start_from.setCurrentIndex(panel.start_from.findData("current"))
    assert not panel.regularisation.dropout_box.isEnabled() and panel.config().dropout == 0.0
    assert "fresh" in panel.regularisation.dropout_box.toolTip() and panel.config().augment is True

    settings = app_settings()
    panel.save_settings(settings)
    again = capability_window("training").capabilities["training"].panel    # restores the window's settings
    again.restore_settings(settings)
    assert again.regularisation.augment() and again.regularisation.dropout_box.isChecked()
    assert again.regularisation.dropout_rate.value() == pytest.approx(0.3)


def test_the_labs_augment_and_dropout_reach_the_lab_train_request(capability_window, qtbot, small_mnist,
                                                                  compute_client, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_LAB_DIR", str(tmp_path / "lab"))
    lab = capability_window("lab").capabilities["lab"].lab
    lab.dataset = small_mnist
    lab.epochs.setValue(1)
    lab.limit.setValue(200)
    lab.regularisation.set_values(True, 0.25)
    assert lab.config().augment and lab.config().dropout == pytest.approx(0.25)
    sent = record_requests(compute_client, monkeypatch)
    with qtbot.waitSignal(lab.run_finished, timeout=WAIT_MS * 2):
        lab.train(["seed"])
    config = next(args["config"] for method, args in sent if method == "lab_train")
    assert config.augment is True and config.dropout == pytest.approx(0.25)
    saved = app_settings()
    saved.beginGroup("lab")
    assert saved.value("augment") in (True, "true") and float(saved.value("dropout")) == pytest.approx(0.25)


@pytest.fixture
def picture(tmp_path) -> Path:
    """A photo-like 7 on paper."""
    from PIL import Image

    from cnnviz.core.paths import resources_dir

    path = tmp_path / "seven.png"
    Image.open(resources_dir() / "example_seven.png").save(path)
    return path


def loaded(qtbot, window, path: Path) -> None:
    window.load_model_file(path)
    qtbot.waitUntil(lambda: window.current is not None and window.current.path == path and not window.is_loading(),
                    timeout=WAIT_MS)


def test_a_picture_opened_on_the_notes_model_is_read_by_the_augmented_model(capability_window, qtbot, picture):
    window = capability_window("models")
    window.show()
    models = window.capabilities["models"]
    loaded(qtbot, window, default_model_path())
    assert models.picture.action.isChecked() and models.picture.action in window.menu("Input").actions()
    assert window.inspector.open_image(picture)
    augmented = shipped_model_path("augmented")
    qtbot.waitUntil(lambda: window.current.path == augmented and window.inspector.current_input() is not None,
                    timeout=WAIT_MS)
    banner = models.banner
    assert banner.isVisible() and augmented.name in banner.text() and picture.name in banner.text()
    assert "Read pictures with the augmented model" in banner.text()

    # A model the user chose (here: the augmented one itself, or the notes' after training) is not swapped.
    window.inspector.clear_input()
    assert window.inspector.open_image(picture)
    assert window.current.path == augmented and not window.is_loading()
    loaded(qtbot, window, default_model_path())
    assert not banner.isVisible()                                   # the notes' model: nothing to say
    window.unsaved = True                                           # as after training it
    assert window.inspector.open_image(picture) and not window.is_loading()
    window.unsaved = False

    # Off: pictures are read by the model shown; the setting is remembered.
    models.picture.action.setChecked(False)
    window.inspector.clear_input()
    assert window.inspector.open_image(picture)
    qtbot.waitUntil(lambda: window.inspector.current_input() is not None, timeout=WAIT_MS)
    assert window.current.path == default_model_path() and not window.is_loading()
    settings = app_settings()
    models.picture.save_settings(settings)
    again = capability_window("models").capabilities["models"]
    assert not again.picture.action.isChecked()


def test_the_file_menu_opens_the_augmented_model(capability_window, qtbot):
    window = capability_window("models")
    models = window.capabilities["models"]
    assert models.open_augmented_action in window.menu("File").actions()
    models.open_augmented_action.trigger()
    augmented = shipped_model_path("augmented")
    qtbot.waitUntil(lambda: window.current is not None and window.current.path == augmented, timeout=WAIT_MS)
    assert window.windowTitle().startswith(augmented.name)
    window.context.operations.call("models.open", default_model_path())
    qtbot.waitUntil(lambda: window.current.path == default_model_path(), timeout=WAIT_MS)
