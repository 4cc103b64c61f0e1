"""The user's own digits in one window: the folder, keeping the digit on the canvas, the gallery's marks, and
teaching the model (issue 21).

The folder is a plain digit folder (`DIR/0/*.png … DIR/9/*.png`, `core.own_digits`), by default
`$XDG_DATA_HOME/cnnviz/my-digits` (`~/.local/share/cnnviz/my-digits`; `$CNNVIZ_DIGITS_DIR` overrides),
remembered once chosen. Keeping writes the picture the user drew or opened (the inspector's source image,
white ink on black) into `DIR/<label>/` atomically (`core.own_digits.save_digit`); `cnnviz evaluate
--data-dir` and `cnnviz train --data-dir` read the same folder. What the model reads is asked of the
compute process ("own_digits_evaluate": each picture read as `cnnviz predict` reads it) whenever the
folder, the model or the digits change and the panel can be seen; "Teach it my handwriting" is
`teach_run.py` ("teach_handwriting").
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.own_digits import DigitFolderError, delete_digit, relabel_digit, save_digit, scan_digit_folder
from cnnviz.gui.handwriting.teach_run import TeachRun
from cnnviz.gui.remote.latest_request import LatestRequest
from cnnviz.gui.widgets.model_words import is_digit_model

FOLDER_ENV = "CNNVIZ_DIGITS_DIR"
SETTINGS_KEY = "handwriting/folder"
CHECK_DELAY_MS = 300   # changes in a burst (keeping several digits) are checked once


def default_digit_folder() -> Path:
    """$CNNVIZ_DIGITS_DIR, else `$XDG_DATA_HOME/cnnviz/my-digits` (`~/.local/share/cnnviz/my-digits`)."""
    override = os.environ.get(FOLDER_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "cnnviz" / "my-digits"


def shown_path(path: Path) -> str:
    """`path` as the user reads it: under the home folder as ~/…"""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if text == home or text.startswith(home + os.sep) else text


class DigitCollection(QObject):
    """What the Your digits panel does, for one window (`context`)."""

    kept = Signal(object, int)     # the Path of a digit just kept, its label
    checked = Signal()             # the gallery shows what the current model reads
    taught = Signal(object)        # the FineTuneResult of a finished teaching run

    def __init__(self, context, panel, parent: QObject | None = None):
        super().__init__(parent)
        self._context = context
        self.panel = panel
        self.gallery = panel.gallery
        self.folder = default_digit_folder()
        self.scan = None                                  # the folder's FolderScan (None: unreadable)
        self.evaluation: dict | None = None               # the last "own_digits_evaluate" reply shown
        self.run: TeachRun | None = None
        self._check = LatestRequest("own_digits_evaluate", self._on_checked, self._on_check_failed, context.client,
                                    self)
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check)
        panel.keep_requested.connect(self.keep)
        panel.choose_folder_requested.connect(self._on_choose_folder)
        panel.open_folder_requested.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder))))
        panel.teach_requested.connect(self.teach)
        panel.cancel_requested.connect(self.cancel)
        panel.gallery.show_requested.connect(self.show_digit)
        panel.results.show_requested.connect(self.show_digit)
        panel.gallery.relabel_requested.connect(self.relabel)
        panel.gallery.delete_requested.connect(self._on_delete_requested)
        self.set_folder(self.folder)

    # --- the folder ---------------------------------------------------------------------------------------
    def set_folder(self, folder: str | Path) -> None:
        """Use `folder` from now on (made when the first digit is kept)."""
        self.folder = Path(folder).expanduser()
        self.panel.show_folder(self.folder, shown_path(self.folder))
        self.gallery.set_readings(None)
        self.rescan()

    def rescan(self) -> None:
        """List the folder's pictures again, then check what the model reads."""
        self.evaluation = None
        if not self.folder.exists():
            self.scan = None
            self.gallery.set_entries([])
            self.panel.show_message("")
            self._say_summary()
            return
        try:
            self.scan = scan_digit_folder(self.folder)
        except DigitFolderError as exc:
            self.scan = None
            self.gallery.set_entries([])
            self.panel.show_message(str(exc), "error")
            self._say_summary()
            return
        self.gallery.set_entries(self.scan.entries)
        problems = self.scan.problems
        self.panel.show_message(
            "" if not problems else f"{problems[0]}" + (f" ({len(problems) - 1} more)" if len(problems) > 1 else "")
            + ". cnnviz reads a digit folder whole: move what is not a digit picture out of it.", "warning")
        self._say_summary()
        self.schedule_check()

    def count(self) -> int:
        return 0 if self.scan is None else len(self.scan.entries)

    # --- keeping, relabelling, deleting -------------------------------------------------------------------
    def keep(self, label: int) -> Path | None:
        """Keep the picture on the canvas (what the user drew or opened) as a `label`; its path, or None."""
        picture = self._context.inspector.current_source_image()
        if picture is None:
            self._context.status("Draw a digit or open a picture first, then keep it with its digit key.", 6000)
            return None
        try:
            path = save_digit(self.folder, int(label), np.asarray(picture, np.float32))
        except (DigitFolderError, OSError) as exc:
            self.panel.show_message(f"Could not keep the digit: {exc}", "error")
            return None
        self._context.status(f"Kept as a {label}: {shown_path(path)}", 5000)
        self.rescan()
        self.kept.emit(path, int(label))
        return path

    def relabel(self, paths: list[Path], label: int) -> None:
        """Move these pictures into the class folder of `label`."""
        try:
            for path in paths:
                relabel_digit(path, int(label))
        except (DigitFolderError, OSError) as exc:
            self.panel.show_message(f"Could not relabel: {exc}", "error")
        self.rescan()

    def delete(self, paths: list[Path]) -> None:
        """Remove these pictures from the folder."""
        try:
            for path in paths:
                delete_digit(path)
        except (DigitFolderError, OSError) as exc:
            self.panel.show_message(f"Could not delete: {exc}", "error")
        self.rescan()

    def _on_delete_requested(self, paths: list[Path]) -> None:
        if not paths:
            return
        what = "this digit" if len(paths) == 1 else f"these {len(paths)} digits"
        answer = QMessageBox.question(self._context.dialog_parent(), "Delete digits",
                                      f"Delete {what} from {shown_path(self.folder)}? The files are removed.")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(paths)

    def show_digit(self, path: Path) -> bool:
        """Show a kept picture in the inspector as the current model reads it (read as `predict` reads it)."""
        from cnnviz.core.images import ImageFileError
        from cnnviz.core.model_input import prepare_file

        model = self._context.current_model()
        if model is None or not is_digit_model(model):
            self._context.status("Your digits are read by a digit model (28×28, classes 0 to 9).", 6000)
            return False
        try:
            prepared = prepare_file(path, model.description(), "digit")
        except ImageFileError as exc:
            self._context.status(str(exc), 6000)
            return False
        if prepared.array is None:
            self._context.status(f"{Path(path).name} holds no digit ({prepared.note or 'blank'}).", 6000)
            return False
        self._context.inspector.show_input(prepared.array[..., 0])
        label = self.gallery.label_of(path)
        self._context.status(f"{Path(path).name}, labelled {label}, as the model reads it.", 5000)
        return True

    def _on_choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self._context.dialog_parent(), "Folder of your digits",
                                                  str(self.folder if self.folder.exists() else self.folder.parent))
        if chosen:
            self.set_folder(chosen)

    # --- what the model reads ----------------------------------------------------------------------------
    def schedule_check(self) -> None:
        self._check_timer.start()

    def check(self) -> None:
        """Ask what the current model reads for every digit (when the panel can be seen and it can tell)."""
        model = self._context.current_model()
        if self.count() == 0 or (self.scan is not None and self.scan.problems) or model is None \
                or not is_digit_model(model) or not self.panel.isVisible():
            self._check.clear()
            return
        self._check.submit({"folder": str(self.folder)}, tag=(model.generation, self.folder))

    def _on_checked(self, reply: dict, tag) -> None:
        model = self._context.current_model()
        if model is None or tag != (model.generation, self.folder) or reply["generation"] != model.generation:
            return
        self.evaluation = reply
        self.gallery.set_readings({Path(path): int(guess) for path, guess in zip(reply["paths"],
                                                                                 reply["predictions"])})
        self._say_summary()
        self.checked.emit()

    def _on_check_failed(self, error: ComputeError, _tag) -> None:
        if not error.crashed:
            self.panel.set_summary(f"{self._counts_text()} The model cannot read them: {error.message}")

    def _say_summary(self) -> None:
        text = self._counts_text()
        reply = self.evaluation
        if reply is not None:
            right = int(round(reply["accuracy"] * reply["count"]))
            text += f" The model reads <b>{right} of {reply['count']}</b> right ({reply['accuracy']:.1%})."
        self.panel.set_summary(text)
        self._update_teach()

    def _counts_text(self) -> str:
        if self.count() == 0:
            return "No digits yet: draw one (or open a picture) and press its key, 0 to 9."
        counts = ", ".join(f"{digit}: {n}" for digit, n in enumerate(self.scan.counts) if n)
        return f"{self.count():,} digit{'s' if self.count() != 1 else ''} ({counts})."

    # --- teaching ----------------------------------------------------------------------------------------------
    def teach(self, epochs: int) -> bool:
        """Start "Teach it my handwriting" for `epochs` epochs; False (saying why) when it cannot start."""
        context = self._context
        model = context.current_model()
        why = ("Teaching is going on already." if self.run is not None else
               "Wait for the model to load." if model is None or context.session.is_loading() else
               "Wait until training has finished." if context.is_training() else
               "Keep some digits first." if self.count() == 0 else
               "Teaching needs a digit model (28×28, classes 0 to 9)." if not is_digit_model(model) else "")
        if why:
            self.panel.show_message(why, "info")
            return False
        self.panel.show_message("")
        self.run = TeachRun(context.client, self.folder, epochs, context.dataset, self)
        self.run.progress.connect(self.panel.show_progress)
        self.run.finished.connect(self._on_taught)
        self.run.cancelled.connect(lambda: self._end_run("Cancelled: the model is as it was."))
        self.run.failed.connect(self._on_teach_failed)
        self.panel.set_teaching(True)
        context.set_busy("Teaching the model your handwriting")
        self.run.start()
        return True

    def cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()

    def abandon(self) -> None:
        """The window closes: stop teaching and hear nothing more of it."""
        if self.run is not None:
            self.run.abandon()
            self.run = None

    def _on_taught(self, reply: dict) -> None:
        run, result, info = self.run, reply["result"], reply["info"]
        self._end_run(f"Finished: {len(result.training.history)} epochs.")
        self.panel.results.show_result(result, self.count(), len(result.training.history) or run.config.epochs)
        if info is not None:
            self._context.session.show_model(info, unsaved=True)
        self.taught.emit(result)

    def _on_teach_failed(self, message: str, crashed: bool) -> None:
        self._end_run("Stopped: the compute process was restarted." if crashed else "Failed.")
        if not crashed:
            self.panel.show_message(f"Teaching failed: {message}", "error")

    def _end_run(self, text: str) -> None:
        if self.run is not None:
            self.run.deleteLater()
        self.run = None
        self.panel.end_progress(text)
        self._update_teach()
        self._context.set_busy("")

    def _update_teach(self) -> None:
        self.panel.set_teaching(self.run is not None, can_teach=self.count() > 0)

    # --- settings --------------------------------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue(SETTINGS_KEY, str(self.folder))

    def restore_settings(self, settings: QSettings) -> None:
        folder = settings.value(SETTINGS_KEY, None)
        if folder and not os.environ.get(FOLDER_ENV):
            self.set_folder(str(folder))
