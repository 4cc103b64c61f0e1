"""The Export dialog, driven without blocking: fields, remembered settings, errors, overwrite.

The export itself runs in the (shared) compute process, as in the app."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from cnnviz.gui.export import export_dialog
from cnnviz.gui.export.export_dialog import ExportDialog, export_with_dialog
from cnnviz.gui.widgets.qt_helpers import app_settings


def read_png(path):
    """A PNG's pixels as decoded by Pillow."""
    with Image.open(path) as image:
        return np.asarray(image)


class FakeInspector:
    """The part of InspectorWidget the dialog uses, fed with the shipped model's real outputs."""

    def __init__(self, probe, image, source=None, colormap="magma", normalisation="layer"):
        self._probe = probe
        self._input = image
        self._outputs = None if image is None else probe(image)
        self._source = source
        self._colormap = colormap
        self._normalisation = normalisation

    def current_input(self):
        return self._input

    def current_source_image(self):
        return self._source

    def current_outputs(self):
        return self._outputs

    def colormap(self):
        return self._colormap

    def normalisation(self):
        return self._normalisation

    def layer_names(self):
        return list(self._probe.layer_names)


@pytest.fixture
def inspector(shipped_probe, digit_seven):
    source = np.kron(digit_seven, np.ones((10, 10), np.float32))  # as if drawn on a 280×280 canvas
    return FakeInspector(shipped_probe, digit_seven, source)


@pytest.fixture
def messages(monkeypatch):
    """Record message boxes instead of showing them; `answers` holds the replies to questions."""
    seen = {"critical": [], "information": [], "question": [], "answers": []}

    def critical(parent, title, text, *args):
        seen["critical"].append(text)
        return QMessageBox.StandardButton.Ok

    def information(parent, title, text, *args):
        seen["information"].append(text)
        return QMessageBox.StandardButton.Ok

    def question(parent, title, text, *args):
        seen["question"].append(text)
        return seen["answers"].pop(0)

    monkeypatch.setattr(QMessageBox, "critical", critical)
    monkeypatch.setattr(QMessageBox, "information", information)
    monkeypatch.setattr(QMessageBox, "question", question)
    return seen


@pytest.fixture
def make_dialog(compute_client):
    def make(qtbot, inspector, scope="layer", layer=2, channel=5, model_path=None):
        dialog = ExportDialog(inspector, scope, layer, channel, model_path, client=compute_client)
        qtbot.addWidget(dialog)
        return dialog

    return make


def test_fields_start_from_the_inspector_and_the_scope(qtbot, inspector, make_dialog):
    dialog = make_dialog(qtbot, inspector, scope="channel", layer=2, channel=5)
    assert dialog.colormap_combo.currentText() == "magma"
    assert dialog.normalisation_combo.currentData() == "layer"
    assert dialog.scale_spin.value() == 8
    assert dialog.colorbar_check.isChecked() and dialog.labels_check.isChecked()
    assert dialog.scope() == "channel"
    assert "conv2d_2, channel 5" in dialog.scope_buttons["channel"].text()
    assert dialog.name_edit.text().startswith("cnnviz_conv2d_2_ch05_")
    dialog.scope_buttons["all"].setChecked(True)  # the suggested name follows the scope …
    assert dialog.name_edit.text().startswith("cnnviz_all_layers_")
    dialog.name_edit.setText("mine")  # … until the user names the folder
    dialog.scope_buttons["layer"].setChecked(True)
    assert dialog.name_edit.text() == "mine"
    # No channel, or a dense layer: "this channel" is not offered.
    assert make_dialog(qtbot, inspector, scope="channel", layer=2, channel=-1).scope() == "layer"
    dense = make_dialog(qtbot, inspector, scope="channel", layer=6, channel=3)
    assert dense.scope() == "layer" and not dense.scope_buttons["channel"].isEnabled()
    assert make_dialog(qtbot, inspector, scope="all").scope() == "all"


def test_export_one_layer(qtbot, inspector, tmp_path, shipped_model_path, messages, make_dialog):
    dialog = make_dialog(qtbot, inspector, scope="layer", layer=2, model_path=shipped_model_path)
    dialog.folder_edit.setText(str(tmp_path))
    dialog.name_edit.setText("layer")
    dialog.scale_spin.setValue(3)
    dialog.set_colormap("plasma")
    dialog.labels_check.setChecked(False)
    with qtbot.waitSignal(dialog.exported, timeout=120_000):
        dialog.accept()
        assert not dialog.export_button.isEnabled()  # while the compute process writes
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_path == tmp_path / "layer"
    manifest = json.loads((tmp_path / "layer" / "manifest.json").read_text())
    expected = {"scale": 3, "colormap": "plasma", "normalisation": "layer", "colorbar": True, "labels": False}
    assert {key: manifest["options"][key] for key in expected} == expected
    assert manifest["selection"] == {"layers": ["conv2d_2"], "channel": None}
    assert manifest["prediction"]["digit"] == 7
    np.testing.assert_array_equal(np.load(tmp_path / "layer" / "L3_conv2d_2.npy"), inspector.current_outputs()[2])
    assert read_png(tmp_path / "layer" / "00_input.png").shape == (280, 280)
    assert not messages["critical"]
    # The look and the folder are remembered for next time.
    again = make_dialog(qtbot, inspector)
    assert again.folder_edit.text() == str(tmp_path)
    assert again.scale_spin.value() == 3 and not again.labels_check.isChecked()
    assert again.colormap_combo.currentText() == "magma"  # the colormap follows the inspector


def test_exported_grid_reads_back_in_qt(qtbot, inspector, tmp_path, messages, make_dialog):
    """Two independent PNG decoders (Qt's and Pillow's) see the same pixels."""
    dialog = make_dialog(qtbot, inspector, scope="channel", layer=0, channel=3, model_path="")
    dialog.folder_edit.setText(str(tmp_path))
    dialog.name_edit.setText("ch")
    assert dialog.run_export() == tmp_path / "ch"
    # The main window passes "" for a model without a file: recorded as no file, not an error.
    assert json.loads((tmp_path / "ch" / "manifest.json").read_text())["model"] == {"path": None, "sha256": None}
    for name in ("L1_conv2d_1/ch03.png", "L1_conv2d_1_ch03_figure.png"):
        path = tmp_path / "ch" / name
        qimage = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
        assert not qimage.isNull()
        ours = read_png(path)
        assert (qimage.width(), qimage.height()) == (ours.shape[1], ours.shape[0])
        raw = np.frombuffer(qimage.constBits(), np.uint8).reshape(qimage.height(), qimage.bytesPerLine())
        np.testing.assert_array_equal(raw[:, :ours.shape[1] * 3].reshape(ours.shape), ours)


def test_unwritable_folder_shows_an_error_and_stays_open(qtbot, inspector, tmp_path, messages, make_dialog):
    (tmp_path / "file.txt").write_text("x")
    dialog = make_dialog(qtbot, inspector, scope="all")
    dialog.folder_edit.setText(str(tmp_path / "file.txt"))
    dialog.name_edit.setText("out")
    with qtbot.waitSignal(dialog.export_failed, timeout=120_000):
        dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.result_path is None
    assert len(messages["critical"]) == 1 and "cannot write the export to" in messages["critical"][0]
    assert dialog.last_error == messages["critical"][0]
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_empty_name_is_an_error(qtbot, inspector, messages, make_dialog):
    dialog = make_dialog(qtbot, inspector)
    dialog.name_edit.setText("  ")
    assert dialog.run_export() is None
    assert "Choose a folder" in messages["critical"][0]


def test_asks_before_overwriting(qtbot, inspector, tmp_path, messages, make_dialog):
    target = tmp_path / "out"
    first = make_dialog(qtbot, inspector, scope="layer", layer=7)
    first.folder_edit.setText(str(tmp_path))
    first.name_edit.setText("out")
    assert first.run_export() == target
    before = (target / "manifest.json").read_bytes()

    second = make_dialog(qtbot, inspector, scope="layer", layer=6)
    second.folder_edit.setText(str(tmp_path))
    second.name_edit.setText("out")
    messages["answers"].append(QMessageBox.StandardButton.No)
    assert second.run_export() is None
    assert len(messages["question"]) == 1 and str(target) in messages["question"][0]
    assert (target / "manifest.json").read_bytes() == before and not messages["critical"]

    messages["answers"].append(QMessageBox.StandardButton.Yes)
    assert second.run_export() == target
    assert (target / "L7_dense_1.npy").is_file() and not (target / "L8_dense_2.npy").exists()


def test_a_folder_that_is_not_an_export_is_never_replaced(qtbot, inspector, tmp_path, messages, make_dialog):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    dialog = make_dialog(qtbot, inspector, scope="all")
    dialog.folder_edit.setText(str(tmp_path))
    dialog.name_edit.setText("out")
    messages["answers"].append(QMessageBox.StandardButton.Yes)
    assert dialog.run_export() is None
    assert "is not a cnnviz export" in messages["critical"][0]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["thesis.tex"]


def test_browse_sets_the_folder(qtbot, inspector, tmp_path, monkeypatch, make_dialog):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path))
    dialog = make_dialog(qtbot, inspector)
    dialog.browse_button.click()
    assert dialog.folder_edit.text() == str(tmp_path)


def test_export_with_dialog(qtbot, inspector, tmp_path, shipped_model_path, monkeypatch, messages, compute_client):
    settings = app_settings()
    settings.setValue("export/folder", str(tmp_path))
    settings.sync()

    def run_modal(self):
        self.name_edit.setText("all")
        with qtbot.waitSignal(self.exported, timeout=120_000):
            self.accept()
        return self.result()

    monkeypatch.setattr(ExportDialog, "exec", run_modal)
    folder = export_with_dialog(None, inspector, "all", 0, -1, str(shipped_model_path), compute_client)
    assert folder == tmp_path / "all"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["selection"]["layers"] == list(inspector.layer_names())
    assert manifest["model"]["sha256"] is not None
    assert len(list(folder.glob("L*/ch*.png"))) == 256

    monkeypatch.setattr(ExportDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    assert export_with_dialog(None, inspector, "all", 0, -1, str(shipped_model_path), compute_client) is None


def test_nothing_to_export(qtbot, shipped_probe, messages, monkeypatch):
    monkeypatch.setattr(export_dialog.ExportDialog, "exec", lambda self: pytest.fail("no dialog expected"))
    empty = FakeInspector(shipped_probe, None)
    assert export_with_dialog(None, empty, "all", 0, -1, None, None) is None
    assert messages["information"] == ["Draw or open a digit first."]
