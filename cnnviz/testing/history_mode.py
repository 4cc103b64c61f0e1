"""The `history-and-screenshot` autotest (see `testing/autotest.py`): issue 12 in the real app, as a user would.

1. Brings the Test set panel forward, waits for the shipped model's confusion matrix and clicks its
   largest mistake cell; once the gallery's thumbnails are in, saves `<PATH stem>_1_cell.png`.
2. Clicks the gallery's first thumbnail (the most confident mistake); once the inspector shows it,
   saves `<PATH stem>_2_opened.png`.
3. Scrubs to epoch 0 (History → Epoch 0, Alt+Home); once the maps, the prediction and the matrix are
   epoch 0's, saves `<PATH stem>_3_epoch0.png`, then the autotest saves PATH and quits.
Prints what it saw at each step.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QTimer

from cnnviz.testing.mode_steps import ModeSteps
from cnnviz.testing.screenshots import save_screenshot
from cnnviz.testing.user_input import click

SETTLE_MS = 600   # lets the last repaints land before a screenshot


def start(autotest) -> None:
    """Run the steps on `autotest` (an `autotest.Autotest` whose model is ready)."""
    _Steps.run(autotest)


class _Steps(ModeSteps):
    capability = "history"

    def __init__(self, autotest):
        super().__init__(autotest)
        self.panel = self.feature.panel
        self.cell = (0, 0)
        self.opened = -1

    def start(self) -> None:
        self.feature.focus_matrix()
        self.window.context.targets.widget("curves_dock").raise_()   # the scrubber's marker shows on the curves
        panel = self.panel
        self.autotest.when(lambda: panel.reply() is not None and not panel.matrix.confusion.stale,
                           self.click_cell)

    def click_cell(self) -> None:
        """Click the cell with the most mistakes, as the mouse would."""
        matrix = self.panel.reply().result.matrix
        mistakes = matrix - np.diag(np.diag(matrix))
        self.cell = tuple(int(i) for i in np.unravel_index(int(np.argmax(mistakes)), mistakes.shape))
        view = self.panel.matrix
        click(view.viewport(), QPointF(view.cell_rect(*self.cell).center()))
        gallery = self.panel.gallery
        self.autotest.when(lambda: len(gallery.indices()) > 0 and all(
            self.panel.test_image(int(i)) is not None for i in gallery.indices()),
            lambda: QTimer.singleShot(SETTLE_MS, self.cell_shown))

    def cell_shown(self) -> None:
        true, predicted = self.cell
        self._screenshot("1_cell")
        print(f"cnnviz autotest: clicked cell {true} -> {predicted}: {len(self.panel.gallery.indices())} digits",
              flush=True)
        gallery = self.panel.gallery
        self.opened = int(gallery.indices()[0])
        click(gallery.list.viewport(), QPointF(gallery.item_rect(0).center()))
        inspector = self.window.inspector
        digit = self.panel.test_image(self.opened) / np.float32(255)
        self.autotest.when(lambda: inspector.current_outputs() is not None and inspector.current_input() is not None
                           and np.array_equal(inspector.current_input(), digit),
                           lambda: QTimer.singleShot(SETTLE_MS, self.digit_shown))

    def digit_shown(self) -> None:
        outputs = self.window.inspector.current_outputs()
        self._screenshot("2_opened")
        label = int(self.panel.reply().result.labels[self.opened])
        print(f"cnnviz autotest: opened test digit #{self.opened} labelled {label}, predicted "
              f"{int(outputs[-1].argmax())}", flush=True)
        self.feature.first_action.trigger()          # History → Epoch 0 (Alt+Home)
        scrubbing, panel, inspector = self.feature.scrubbing, self.panel, self.window.inspector
        self.autotest.when(lambda: scrubbing.scrubbed == 0 and not scrubbing.is_busy()
                           and inspector.current_outputs() is not None and panel.reply() is not None
                           and panel.reply().checkpoint == 0 and not panel.matrix.confusion.stale,
                           lambda: QTimer.singleShot(SETTLE_MS, self.epoch_zero_shown))

    def epoch_zero_shown(self) -> None:
        outputs = self.window.inspector.current_outputs()
        self._screenshot("3_epoch0")
        accuracy = self.panel.reply().accuracy
        print(f"cnnviz autotest: scrubbed to epoch 0 (test accuracy {accuracy * 100:.1f} %): predicted "
              f"{int(outputs[-1].argmax())}; the slider says {self.feature.scrubber.label.text()!r}", flush=True)
        self.autotest.done()

    def _screenshot(self, step: str) -> None:
        save_screenshot(self.window, self.autotest.path.with_name(f"{self.autotest.path.stem}_{step}.png"))

