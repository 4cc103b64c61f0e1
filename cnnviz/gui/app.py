"""Start the desktop app: paint the window first, then load TensorFlow and the model in the background."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from cnnviz import __version__
from cnnviz.core.paths import resources_dir
from cnnviz.gui.autotest import autotest_request, start_autotest
from cnnviz.gui.qt_helpers import APPLICATION, ORGANISATION


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), named so that QSettings finds cnnviz's settings."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("cnnviz")
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    app.setWindowIcon(QIcon(str(resources_dir() / "cnnviz.svg")))
    # Training runs Keras's Python loop on a worker thread; a short GIL switch interval lets the
    # GUI thread take the GIL within ~1 ms instead of ~5 ms, which keeps repaints smooth.
    sys.setswitchinterval(0.001)
    return app


def run(model_path: str | Path | None = None, screenshot: str | Path | None = None) -> int:
    """Open the main window, start loading the model once it has painted, run the event loop."""
    app = make_application()
    from cnnviz.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    # Load after the first paint: the loader imports TensorFlow (~3.5 s) on another thread.
    QTimer.singleShot(50, lambda: window.load_model_file(model_path))
    mode, path = autotest_request(screenshot)
    if mode:
        autotest = start_autotest(window, mode, path)
        app.aboutToQuit.connect(autotest.deleteLater)
    return app.exec()
