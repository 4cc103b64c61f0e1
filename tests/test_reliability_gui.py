"""Issue 15.1 in the app: the Export dialog never offers to replace a folder that is not only a cnnviz export,
and never replaces one (the same core check as `cnnviz export --overwrite`)."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from test_export_dialog import inspector, make_dialog, messages  # noqa: F401 (its fixtures, reused)
from test_reliability import tree


def _dialog_onto(folder, qtbot, inspector, make_dialog):  # noqa: F811
    dialog = make_dialog(qtbot, inspector, scope="layer", layer=7)
    dialog.folder_edit.setText(str(folder.parent))
    dialog.name_edit.setText(folder.name)
    return dialog


def test_a_web_project_with_a_manifest_is_neither_offered_nor_replaced(qtbot, inspector, messages, make_dialog,  # noqa: F811
                                                                        tmp_path):
    web = tmp_path / "w"
    (web / "src").mkdir(parents=True)
    (web / "manifest.json").write_text('{"name":"app"}\n')
    (web / "index.html").write_text("x\n")
    before = tree(web)
    messages["answers"].append(QMessageBox.StandardButton.Yes)   # were it asked, the user would agree
    assert _dialog_onto(web, qtbot, inspector, make_dialog).run_export() is None
    assert messages["question"] == []
    assert "is not a cnnviz export (its manifest.json is not one cnnviz wrote)" in messages["critical"][0]
    assert tree(web) == before


def test_an_export_holding_a_users_file_is_neither_offered_nor_replaced(qtbot, inspector, messages, make_dialog,  # noqa: F811
                                                                         tmp_path):
    target = tmp_path / "e"
    assert _dialog_onto(target, qtbot, inspector, make_dialog).run_export() == target
    (target / "notes.txt").write_text("precious")
    before = tree(target)
    assert _dialog_onto(target, qtbot, inspector, make_dialog).run_export() is None
    assert messages["question"] == []
    assert "is not a cnnviz export alone (it also holds notes.txt)" in messages["critical"][0]
    assert tree(target) == before
