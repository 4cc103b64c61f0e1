"""The `handwriting-and-screenshot` autotest mode (see `autotest.py`): issue 21's Your digits in the real app.

A made-up handwriting (`handwriting_style`: "bubble" digits, each stroke drawn as its outline; PER_DIGIT of each
digit from MNIST's test set) stands for digits the user collected earlier, in `<PATH stem>_digits/`. The
panel opens on that folder (Input → Your digits…); a 7 is drawn with the mouse and kept with the key 7. Once
the gallery shows what the notes' model reads, `<PATH stem>_1_gallery.png` is saved and the numbers
printed; then "Teach it my handwriting" runs TEACH_EPOCHS epochs on real MNIST in the compute process, and
once the results and the taught model's readings are in, it prints before/after and the autotest saves PATH.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from cnnviz.testing.handwriting_style import write_bubble_folder
from cnnviz.testing.mode_steps import ModeSteps
from cnnviz.testing.screenshots import save_screenshot
from cnnviz.testing.user_input import draw_seven

PER_DIGIT = 10
TEACH_EPOCHS = 3
SETTLE_MS = 800


def start(autotest) -> None:
    """Run the steps on `autotest` (an `autotest.Autotest` whose model is ready)."""
    _Steps.run(autotest)


class _Steps(ModeSteps):
    capability = "handwriting"

    def __init__(self, autotest):
        super().__init__(autotest)
        self.collection = self.feature.collection
        self.folder = autotest.path.with_name(autotest.path.stem + "_digits")
        self.taught = None

    def start(self) -> None:
        from cnnviz.core.data import load_mnist

        mnist = load_mnist(allow_download=False)
        chosen = np.concatenate([np.flatnonzero(mnist.y_test == digit)[:PER_DIGIT] for digit in range(10)])
        write_bubble_folder(self.folder, mnist.x_test[chosen], mnist.y_test[chosen])
        self.window.context.operations.call("handwriting.set_folder", self.folder)
        self.feature.show_action.trigger()                    # Input → Your digits…
        draw_seven(self.inspector.canvas)
        self.autotest.when(lambda: self.inspector.current_source_image() is not None
                           and all(action.isEnabled() for action in self.feature.key_actions), self.keep)

    def keep(self) -> None:
        """The user clicks into the main window (the panel opened as a window of its own), then presses 7."""
        self.window.activateWindow()
        self.autotest.when(lambda: QApplication.activeWindow() is self.window, self.press_seven)

    def press_seven(self) -> None:
        QTest.keyClick(self.window, Qt.Key.Key_7)
        count = 10 * PER_DIGIT + 1
        self.autotest.when(lambda: self.collection.count() == count and self._checked(count),
                           lambda: QTimer.singleShot(SETTLE_MS, self.gallery_shown))

    def _checked(self, count: int) -> bool:
        reply, model = self.collection.evaluation, self.window.current
        return reply is not None and reply["count"] == count and reply["generation"] == model.generation \
            and self.feature.gallery.thumbnails_loaded()

    def gallery_shown(self) -> None:
        save_screenshot(self.window, self.autotest.path.with_name(self.autotest.path.stem + "_1_gallery.png"))
        reply = self.collection.evaluation
        print(f"cnnviz autotest: your digits: {reply['count']} kept, the notes' model reads "
              f"{round(reply['accuracy'] * reply['count'])} right ({reply['accuracy']:.4f}); "
              f"{len(self.feature.gallery.mistakes())} marked", flush=True)
        self.collection.taught.connect(self._on_taught)
        self.feature.panel.epochs.setValue(TEACH_EPOCHS)
        self.feature.panel.teach_action.trigger()

    def _on_taught(self, result) -> None:
        self.taught = result
        count = self.collection.count()
        self.autotest.when(lambda: self._checked(count), lambda: QTimer.singleShot(SETTLE_MS, self.report))

    def report(self) -> None:
        result, reply = self.taught, self.collection.evaluation
        print(f"cnnviz autotest: taught {len(result.training.history)} epochs: your digits "
              f"{result.before.own_accuracy:.4f} -> {result.after.own_accuracy:.4f} "
              f"(gallery {reply['accuracy']:.4f}), "
              f"MNIST test {result.before.mnist_accuracy:.4f} -> {result.after.mnist_accuracy:.4f}, "
              f"{len(result.changed)} changed; model {self.window.windowTitle()}", flush=True)
        self.autotest.done()
