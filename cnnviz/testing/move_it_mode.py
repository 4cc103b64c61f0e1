"""The `move-it-and-screenshot` autotest mode (see `autotest.py`): issue 21's Move it panel in the real app.

MNIST test digit 0 (a 7) goes on the canvas; Input → Move it opens the panel; the Lab's no-pooling variant is
put beside the notes' model ("vs"); the digit is dragged DRAG_PX input pixels to the right with the mouse on
the panel's 28×28 input. Once the inspector shows the moved digit's outputs and both curves and the layer
bars are in, it prints what it sees (the prediction now, each curve's probability at the move, the bars)
and the autotest saves PATH.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QTimer

from cnnviz.core.robustness import SHIFTS, shift_image
from cnnviz.gui.robustness.robustness_plot import MODEL, VARIANT
from cnnviz.testing.mode_steps import ModeSteps
from cnnviz.testing.user_input import send_mouse

DIGIT = 0
DRAG_PX = 3
VARIANT_NAME = "no-pooling"
SETTLE_MS = 800
MOVE_GAP_MS = 40


def start(autotest) -> None:
    """Run the steps on `autotest` (an `autotest.Autotest` whose model is ready)."""
    _Steps.run(autotest)


class _Steps(ModeSteps):
    capability = "robustness"

    def __init__(self, autotest):
        super().__init__(autotest)
        self.panel = self.feature.panel
        self.digit = None

    def start(self) -> None:
        self.inspector.show_test_digit(DIGIT)
        self.feature.show_action.trigger()                 # Input → Move it
        self.panel.variant_choice.setCurrentText(VARIANT_NAME)
        self.panel.beside.setChecked(True)
        self.autotest.when(lambda: self.panel.original() is not None and self.panel.plot.result(MODEL) is not None
                           and self.panel.plot.curve(VARIANT) is not None, self.drag)

    def drag(self) -> None:
        """Press on the digit, move the mouse DRAG_PX input pixels right in steps, release."""
        self.digit = self.panel.original()
        view = self.panel.controls.view
        start = QPointF(view.width() / 2, view.height() / 2)
        pixel = view.pixel_size()
        send_mouse(view, QEvent.Type.MouseButtonPress, start)
        for step in range(1, DRAG_PX + 1):
            QTimer.singleShot(step * MOVE_GAP_MS, lambda step=step: send_mouse(
                view, QEvent.Type.MouseMove, start + QPointF(step * pixel, 0)))
        QTimer.singleShot((DRAG_PX + 1) * MOVE_GAP_MS, lambda: send_mouse(
            view, QEvent.Type.MouseButtonRelease, start + QPointF(DRAG_PX * pixel, 0)))
        moved = shift_image(self.digit, DRAG_PX, 0)
        self.autotest.when(lambda: self.inspector.current_outputs() is not None
                           and np.array_equal(self.inspector.current_input(), moved) and self.panel.bars.rows(),
                           lambda: QTimer.singleShot(SETTLE_MS, self.report))

    def report(self) -> None:
        panel = self.panel
        outputs = self.inspector.current_outputs()[-1].ravel()
        target = panel.plotted_class()
        at = SHIFTS.index(DRAG_PX)
        ours, theirs = panel.plot.curve(MODEL)[1][at], panel.plot.curve(VARIANT)[1][at]
        bars = ", ".join(f"{f.name} {f.correlation:.2f}/{f.invariance:.2f}" for f in panel.bars.rows())
        print(f"cnnviz autotest: moved {panel.current_move().dx} px right: read as {int(outputs.argmax())} "
              f"P({target}) {outputs[target]:.4f}; curves at +{DRAG_PX}: model {ours:.4f}, {VARIANT_NAME} "
              f"{theirs:.4f}; bars {bars}", flush=True)
        self.autotest.done()
