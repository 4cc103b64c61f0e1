"""Start the desktop app: paint the window first, then load TensorFlow and the model in the background."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from cnnviz import __version__
from cnnviz.gui.qt_helpers import APPLICATION, ORGANISATION

# A hidden testing hook: `CNNVIZ_AUTOTEST=train-and-screenshot:PATH` (or `cnnviz gui --screenshot PATH`)
# trains briefly after the model has loaded, saves a screenshot of the window to PATH and quits.
AUTOTEST_ENV = "CNNVIZ_AUTOTEST"
AUTOTEST_LIMIT = 3000  # digits trained in the autotest run
AUTOTEST_TIMEOUT_MS = 120_000


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), named so that QSettings finds cnnviz's settings."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("cnnviz")
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
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
    screenshot = screenshot or _autotest_path()
    if screenshot:
        autotest = _Autotest(window, Path(screenshot))
        app.aboutToQuit.connect(autotest.deleteLater)
    return app.exec()


def _autotest_path() -> str | None:
    mode, _, path = os.environ.get(AUTOTEST_ENV, "").partition(":")
    return path if mode == "train-and-screenshot" and path else None


class _Autotest(QObject):
    """Trains a little once the model is shown, then screenshots the window and quits."""

    def __init__(self, window, path: Path):
        super().__init__(window)
        self.window = window
        self.path = path
        window.remember_settings = False  # the short run's settings are not the user's
        self._training_started = False
        self._done = False
        window.model_ready.connect(self._on_model_ready)
        window.model_failed.connect(self._on_done)
        window.training_finished.connect(self._on_training_finished)
        QTimer.singleShot(AUTOTEST_TIMEOUT_MS, self._on_done)

    @Slot()
    def _on_model_ready(self) -> None:
        """Show a test digit, then train a short run."""
        if self._training_started:
            return
        self._training_started = True
        _trigger(self.window.inspector.input_actions(), "random")
        panel = self.window.panel
        panel.epochs.setValue(1)
        panel.limit.setValue(AUTOTEST_LIMIT)
        panel.start_action.trigger()

    @Slot(object)
    def _on_training_finished(self, result) -> None:
        """Let the last repaint land, then take the picture."""
        print(f"cnnviz autotest: training {result.status}, {len(result.history)} epoch(s)", flush=True)
        QTimer.singleShot(500, self._on_done)

    @Slot()
    def _on_done(self) -> None:
        """Save the screenshot and quit."""
        if self._done:
            return
        self._done = True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        screen = self.window.screen()
        image = screen.grabWindow(0) if screen is not None else self.window.grab()
        if image.isNull():
            image = self.window.grab()
        image.save(str(self.path), "PNG")
        print(f"cnnviz autotest: saved {self.path} ({image.width()}x{image.height()})", flush=True)
        self.window.close()
        QApplication.instance().quit()


def _trigger(actions, word: str) -> None:
    """Trigger the first action whose text mentions `word` (case-insensitive)."""
    for action in actions:
        if word in action.text().replace("&", "").lower() and action.isEnabled():
            action.trigger()
            return
