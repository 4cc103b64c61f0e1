"""The Export dialog: choose a folder and how the maps look, then export in the compute process.

`ExportDialog` holds the options; `start_export()` hands the arrays the inspector shows to the
compute process's "export" task (the core exporter) and returns at once: `exported(folder)` or
`export_failed(message)` follows, and `accept()` closes the dialog when the export worked.
`run_export()` waits for the result (tests and scripts). `export_with_dialog` is the thin
modal wrapper the main window calls. While the compute process makes the files a progress bar
counts them; Cancel stops the export there (nothing is written: the exporter renames a finished
hidden folder into place) and closes the dialog once the compute process has stopped.
The folder, scale, figure format, colour bar, labels and scope are remembered in QSettings;
colormap and normalisation start as the inspector shows them, so the files match the screen.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressBar,
                               QPushButton, QRadioButton, QSpinBox, QVBoxLayout, QWidget)

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.colormaps import COLORMAPS, NORMALISATIONS
from cnnviz.core.export import (DEFAULT_FIGURE_FORMAT, DEFAULT_SCALE, FIGURE_FORMATS, MAX_SCALE, ExportError,
                                ExportOptions, check_target)
from cnnviz.gui.widgets.qt_helpers import app_settings

SCOPES = ("channel", "layer", "all")
_SETTINGS_GROUP = "export"
_NOTE = "Writes each map as a PNG, the figures in the format chosen, the exact activations (.npy) and manifest.json."
FIGURE_FORMAT_LABELS = {"png": "PNG", "svg": "SVG (text stays text)", "pdf": "PDF"}


class ExportDialog(QDialog):
    """Options for exporting the inspector's current activations; `result_path` after success."""

    exported = Signal(object)      # the folder written
    export_failed = Signal(str)    # why nothing was written ("" when the user declined to replace a folder)
    export_cancelled = Signal()    # the user cancelled a running export: nothing was written

    def __init__(self, inspector, scope: str = "all", layer: int = 0, channel: int = -1,
                 model_path: str | Path | None = None, parent: QWidget | None = None,
                 settings: QSettings | None = None, client=None):
        super().__init__(parent)
        self.setWindowTitle("Export feature maps")
        self.setMinimumWidth(480)   # room for a folder path
        self.inspector = inspector
        self.client = client
        self._request: int | None = None
        self._close_when_done = False
        self._cancelling = False
        self.layer = layer
        self.channel = channel
        self.model_path = model_path
        self.result_path: Path | None = None
        self.last_error: str | None = None
        self._settings = settings or app_settings()
        self._names = list(inspector.layer_names())
        self._build()
        self._restore(scope)

    def _build(self) -> None:
        """Create the form: folder, name, look, scope."""
        self.folder_edit = QLineEdit()
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._on_browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("A new folder with this name is created inside the folder above")
        self.scale_spin = QSpinBox()
        self.scale_spin.setRange(1, MAX_SCALE)
        self.scale_spin.setSuffix(" px per activation")
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(COLORMAPS)
        self.normalisation_combo = QComboBox()
        for mode in NORMALISATIONS:
            self.normalisation_combo.addItem(f"per {mode}", mode)
        self.figure_format_combo = QComboBox()
        for fmt in FIGURE_FORMATS:
            self.figure_format_combo.addItem(FIGURE_FORMAT_LABELS.get(fmt, fmt.upper()), fmt)
        self.figure_format_combo.setToolTip("The format of the grids, strips and one-channel figures (for slides "
                                            "and papers); the single-map images are always exact PNGs")
        self.colorbar_check = QCheckBox("Colour bar")
        self.labels_check = QCheckBox("Labels (title, channel numbers)")
        plain = "on grids, strips and the one-channel figure; single-map PNGs stay plain (pixels are data)"
        self.colorbar_check.setToolTip(f"A colour bar {plain}")
        self.labels_check.setToolTip(f"Text {plain}")

        layer_name = self._names[self.layer] if 0 <= self.layer < len(self._names) else "?"
        self.scope_buttons = {
            "channel": QRadioButton(f"This channel ({layer_name}, channel {self.channel})"
                                    if self.channel >= 0 else "This channel"),
            "layer": QRadioButton(f"This layer ({layer_name})"),
            "all": QRadioButton(f"All {len(self._names)} layers"),
        }
        self.scope_buttons["channel"].setEnabled(self.channel >= 0 and self._is_spatial(self.layer))
        self.scope_buttons["layer"].setEnabled(0 <= self.layer < len(self._names))
        self._scope_group = QButtonGroup(self)
        scope_box = QVBoxLayout()
        for button in self.scope_buttons.values():
            self._scope_group.addButton(button)
            scope_box.addWidget(button)
        self._scope_group.buttonToggled.connect(self._on_scope_toggled)
        self._suggested = ""

        form = QFormLayout()
        form.addRow("Save in:", folder_row)
        form.addRow("New folder:", self.name_edit)
        form.addRow("Scale:", self.scale_spin)
        form.addRow("Colormap:", self.colormap_combo)
        form.addRow("Colour range:", self.normalisation_combo)
        form.addRow("Figures as:", self.figure_format_combo)
        form.addRow("", self.colorbar_check)
        form.addRow("", self.labels_check)
        form.addRow("Export:", scope_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self._note = QLabel(_NOTE)
        self._note.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v of %m files")
        self.progress_bar.setToolTip("Files made so far (in memory: nothing is written until all are made)")
        self.progress_bar.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._note)
        layout.addWidget(self.progress_bar)
        layout.addWidget(buttons)

    def _is_spatial(self, layer: int) -> bool:
        outputs = self.inspector.current_outputs()
        return outputs is not None and 0 <= layer < len(outputs) and getattr(outputs[layer], "ndim", 0) == 3

    def _restore(self, scope: str) -> None:
        """Fill the fields from QSettings and the inspector; `scope` preselects what to export."""
        s = self._settings
        s.beginGroup(_SETTINGS_GROUP)
        folder = s.value("folder", str(Path.home()))
        scale = int(s.value("scale", DEFAULT_SCALE))
        colorbar = s.value("colorbar", True, type=bool)
        labels = s.value("labels", True, type=bool)
        figure_format = str(s.value("figure_format", DEFAULT_FIGURE_FORMAT))
        s.endGroup()
        self.figure_format_combo.setCurrentIndex(max(self.figure_format_combo.findData(figure_format), 0))
        self.folder_edit.setText(str(folder))
        self.scale_spin.setValue(scale)
        self.colorbar_check.setChecked(colorbar)
        self.labels_check.setChecked(labels)
        self.set_colormap(self.inspector.colormap())
        index = self.normalisation_combo.findData(self.inspector.normalisation())
        self.normalisation_combo.setCurrentIndex(max(index, 0))
        self.set_scope(scope)
        self._suggested = self.suggested_name()
        self.name_edit.setText(self._suggested)

    def _save(self) -> None:
        s = self._settings
        s.beginGroup(_SETTINGS_GROUP)
        s.setValue("folder", self.folder_edit.text())
        s.setValue("scale", self.scale_spin.value())
        s.setValue("colorbar", self.colorbar_check.isChecked())
        s.setValue("labels", self.labels_check.isChecked())
        s.setValue("figure_format", self.figure_format_combo.currentData())
        s.endGroup()
        s.sync()

    def set_colormap(self, name: str) -> None:
        index = self.colormap_combo.findText(name)
        self.colormap_combo.setCurrentIndex(max(index, 0))

    def set_scope(self, scope: str) -> None:
        """Select `scope` ("channel", "layer" or "all"), falling back to a broader one if disabled."""
        order = SCOPES[SCOPES.index(scope):] if scope in SCOPES else ("all",)
        for candidate in order:
            if self.scope_buttons[candidate].isEnabled():
                self.scope_buttons[candidate].setChecked(True)
                return

    def scope(self) -> str:
        return next(name for name, button in self.scope_buttons.items() if button.isChecked())

    def suggested_name(self) -> str:
        """A new folder name: what is exported and when, e.g. cnnviz_conv2d_1_20260102-153000."""
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        scope = self.scope()
        what = "all_layers" if scope == "all" else self._names[self.layer]
        if scope == "channel":
            what += f"_ch{self.channel:02d}"
        return f"cnnviz_{what}_{stamp}"

    def target(self) -> Path:
        """The folder the export will create."""
        return Path(self.folder_edit.text()).expanduser() / self.name_edit.text().strip()

    def options(self) -> ExportOptions:
        return ExportOptions(scale=self.scale_spin.value(), colormap=self.colormap_combo.currentText(),
                             normalisation=self.normalisation_combo.currentData(),
                             colorbar=self.colorbar_check.isChecked(), labels=self.labels_check.isChecked(),
                             figure_format=self.figure_format_combo.currentData())

    def _on_scope_toggled(self, button, checked: bool) -> None:
        """Follow the scope in the suggested folder name, unless the user typed their own."""
        if checked and self._suggested and self.name_edit.text() == self._suggested:
            self._suggested = self.suggested_name()
            self.name_edit.setText(self._suggested)

    def _on_browse(self) -> None:
        """Pick the folder to save in."""
        folder = QFileDialog.getExistingDirectory(self, "Save the export in", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def start_export(self, overwrite: bool = False) -> bool:
        """Hand the export to the compute process; False (and an error box) if the fields or the
        inspector leave nothing to export. `exported` or `export_failed` follows."""
        self.last_error = None
        self.result_path = None
        if not self.folder_edit.text().strip() or not self.name_edit.text().strip():
            self._fail("Choose a folder to save in and a name for the new folder.")
            return False
        model_input = self.inspector.current_input()
        outputs = self.inspector.current_outputs()
        if model_input is None or outputs is None:
            self._fail("There is nothing to export yet: draw or open a digit first.")
            return False
        if self.client is None:
            self._fail("Exporting needs the compute process, which is not running.")
            return False
        scope = self.scope()
        kinds = self.inspector.layer_kinds() if hasattr(self.inspector, "layer_kinds") else None
        arguments = dict(out_dir=self.target(), model_input=model_input, outputs=outputs, layer_names=self._names,
                         layer_kinds=kinds, source_image=self.inspector.current_source_image(),
                         source="cnnviz app input", model_path=self.model_path or None, options=self.options(),
                         layers=None if scope == "all" else [self.layer],
                         channel=self.channel if scope == "channel" else None, overwrite=overwrite)
        self._set_exporting(True)
        self._request = self.client.request("export", arguments, on_reply=self._on_exported,
                                            on_error=self._on_export_error, on_event=self._on_export_event)
        return True

    def _on_export_event(self, kind: str, payload) -> None:
        """Count the files made so far."""
        if kind != "progress" or not isinstance(payload, dict) or "total" not in payload:
            return
        self.progress_bar.setRange(0, int(payload["total"]))
        self.progress_bar.setValue(int(payload["done"]))

    def is_exporting(self) -> bool:
        return self._request is not None

    def run_export(self) -> Path | None:
        """Export with the current fields and wait for it; the folder, or None (after an error box)."""
        if not self.start_export():
            return None
        loop = QEventLoop()
        self.exported.connect(loop.quit)
        self.export_failed.connect(loop.quit)
        self.export_cancelled.connect(loop.quit)
        if self.is_exporting():
            loop.exec()
        return self.result_path

    def _on_exported(self, result) -> None:
        """The folder is in place (even if a cancel came too late to stop it)."""
        self._set_exporting(False)
        self._save()
        self.result_path = result.folder
        self.exported.emit(result.folder)
        if self._close_when_done or self._cancelling:
            self._cancelling = False
            super().accept()

    def _on_export_error(self, error: ComputeError) -> None:
        """Replace an earlier export if the user agrees; otherwise say why nothing was written."""
        self._set_exporting(False)
        if self._cancelling:   # stopped (CANCELLED), or failed before the cancel landed: nothing written
            self._cancelling = False
            self.export_cancelled.emit()
            super().reject()
            return
        if error.error_type == "TargetExistsError":
            try:   # the exporter's own check: a folder that is not only a cnnviz export is never offered
                check_target(self.target(), overwrite=True)
            except ExportError as exc:
                self._fail(str(exc))
                return
        if error.error_type == "TargetExistsError" and self._ask_overwrite(self.target()):
            self.start_export(overwrite=True)
            return
        if error.error_type == "TargetExistsError":
            self.export_failed.emit("")
            return
        self._fail(error.message)

    def _set_exporting(self, exporting: bool) -> None:
        """While the compute process exports: a progress bar, Export disabled, Cancel stops it."""
        if not exporting:
            self._request = None
        self.export_button.setEnabled(not exporting)
        self.cancel_button.setEnabled(True)
        self._note.setText("Exporting… (Cancel stops it; nothing is written then)" if exporting else _NOTE)
        self.progress_bar.setRange(0, 0)   # busy until the first count arrives
        self.progress_bar.setVisible(exporting)

    def _ask_overwrite(self, folder: Path) -> bool:
        """Ask before replacing an existing, non-empty folder."""
        answer = QMessageBox.question(
            self, "Replace the folder?",
            f"{folder} already exists and is not empty.\n\nReplace it with this export? "
            "(Only an earlier cnnviz export can be replaced.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _fail(self, message: str) -> None:
        self.last_error = message
        QMessageBox.critical(self, "Export failed", message)
        self.export_failed.emit(message)

    def accept(self) -> None:
        """Export; close only when it worked (after an error the options stay open to fix)."""
        self._close_when_done = True
        if not self.start_export():
            self._close_when_done = False

    def reject(self) -> None:
        """Cancel: stop a running export (nothing is written; the dialog closes when the compute process
        has stopped it), else close."""
        if self._request is None:
            super().reject()
            return
        if not self._cancelling:
            self._cancelling = True
            self.client.cancel(self._request)
            self.cancel_button.setEnabled(False)
            self._note.setText("Cancelling…")


def export_with_dialog(parent: QWidget | None, inspector, scope: str, layer: int, channel: int,
                       model_path: str | Path | None, client) -> Path | None:
    """Show the export dialog for `inspector`'s current digit; the folder written, or None."""
    if inspector.current_input() is None or inspector.current_outputs() is None:
        QMessageBox.information(parent, "Nothing to export", "Draw or open a digit first.")
        return None
    dialog = ExportDialog(inspector, scope, layer, channel, model_path, parent, client=client)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.result_path
        return None
    finally:
        dialog.deleteLater()
