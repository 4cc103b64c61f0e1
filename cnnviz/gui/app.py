"""Start the desktop app: the compute process first (it imports TensorFlow and opens the model while this
process imports Qt and builds the window), then the window.

Qt is imported inside the functions, so that `run` spawns the compute process before anything heavy."""

from __future__ import annotations

import importlib
import os
import signal
import socket
import sys
from pathlib import Path

from cnnviz import __version__
from cnnviz.core.paths import default_model_path, resources_dir

AUTOTEST_ENV = "CNNVIZ_AUTOTEST"  # asks for the test-only hook: cnnviz.testing.autotest, imported by name then only
AUTOTEST_MODULE = "cnnviz.testing.autotest"


def make_application(argv: list[str] | None = None):
    """The QApplication (created once), named so that QSettings finds cnnviz's settings."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from cnnviz.gui.widgets.qt_helpers import APPLICATION, ORGANISATION

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("cnnviz")
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    app.setWindowIcon(QIcon(str(resources_dir() / "cnnviz.svg")))
    return app


def run(model_path: str | Path | None = None, screenshot: str | Path | None = None,
        lessons_dir: str | Path | None = None) -> int:
    """Start the compute process (opening the model at once), then open the main window, which loads the
    model there (the compute process has it ready, or nearly). With `lessons_dir`, the Lessons panel shows
    that lesson pack (a folder of lesson files)."""
    interrupted: list[bool] = []   # Ctrl+C before the window is up: it closes as soon as it is
    signal.signal(signal.SIGINT, lambda *args: interrupted.append(True))
    from cnnviz.gui.remote.compute_client import start_early

    start_early(Path(model_path) if model_path else default_model_path())
    from PySide6.QtCore import QTimer

    app = make_application()
    from cnnviz.gui.shell.main_window import MainWindow

    window = MainWindow()
    window.show()
    operations = window.context.operations
    if lessons_dir is not None and operations.has("lessons.open_pack"):
        operations.call("lessons.open_pack", lessons_dir)
    # The terminal's Ctrl+C reaches the whole process group: the compute process ignores it (it was
    # spawned with SIG_IGN) and leaves ending it to the GUI, which closes its window on Ctrl+C.

    def start() -> None:
        window.load_model_file(model_path)
        close_on_interrupt(app, window)
        if interrupted:
            window.close()

    # After the window's first events: the client takes the process started above and asks for the model.
    QTimer.singleShot(0, start)
    if screenshot or os.environ.get(AUTOTEST_ENV):   # test support lives outside the product's packages
        autotest = importlib.import_module(AUTOTEST_MODULE).start(window, screenshot)
        if autotest is not None:
            app.aboutToQuit.connect(autotest.deleteLater)
    return app.exec()


def close_on_interrupt(app, window) -> None:
    """Ctrl+C (SIGINT) from the terminal closes `window` as its close button would.

    Qt's event loop is C++: Python's own handler would run only when some Python code next does.
    The C-level handler writes the signal to Python's wakeup fd, a socket that a QSocketNotifier
    watches, so the event loop wakes at once and closes the window through its usual closeEvent.
    """
    from PySide6.QtCore import QSocketNotifier

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    signal.signal(signal.SIGINT, lambda *args: None)  # the notifier below does the work
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def on_signal() -> None:
        try:
            received = reader.recv(64)
        except OSError:
            return
        if signal.SIGINT in received:
            window.close()

    notifier.activated.connect(on_signal)
    app._interrupt_sockets = (reader, writer, notifier)  # they live as long as the app
