"""Start the desktop app: show the window first, then start the compute process (which imports
TensorFlow and loads the model while the user takes a first look)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from cnnviz import __version__
from cnnviz.core.paths import resources_dir
from cnnviz.gui.qt_helpers import APPLICATION, ORGANISATION

AUTOTEST_ENV = "CNNVIZ_AUTOTEST"  # cnnviz.gui.autotest's hook, imported only when asked for


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), named so that QSettings finds cnnviz's settings."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("cnnviz")
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    app.setWindowIcon(QIcon(str(resources_dir() / "cnnviz.svg")))
    return app


def run(model_path: str | Path | None = None, screenshot: str | Path | None = None) -> int:
    """Open the main window; once it is shown, start the compute process and load the model there."""
    app = make_application()
    from cnnviz.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    # After the window's first events: spawning costs the GUI a few ms, TensorFlow loads over there.
    QTimer.singleShot(0, lambda: window.load_model_file(model_path))
    if screenshot or os.environ.get(AUTOTEST_ENV):
        from cnnviz.gui.autotest import autotest_request, start_autotest

        mode, path = autotest_request(screenshot)
    else:
        mode = None
    if mode:
        autotest = start_autotest(window, mode, path)
        app.aboutToQuit.connect(autotest.deleteLater)
    return app.exec()
