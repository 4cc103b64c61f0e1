"""The `attribution-and-screenshot` autotest (see `testing/autotest.py`): the real app, driven as a user would.

Draws a 7, switches the Grad-CAM overlay on (Explain → Grad-CAM overlay) and brings the "Where the
network looks" panel forward; once the overlay and the occlusion map are painted, saves
`<PATH stem>_gradcam.png`. Then shows conv2d_2's filter patterns (Explain → Show filter patterns),
selects a channel, finds the top test digits and switches another filter of the layer off; once
all of that is on screen, the autotest saves PATH and quits. Prints what it saw at each step.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from cnnviz.testing.mode_steps import ModeSteps
from cnnviz.testing.screenshots import save_screenshot
from cnnviz.testing.user_input import draw_seven

PATTERN_LAYER = "conv2d_2"
SELECTED_CHANNEL = 12    # a conv2d_2 filter with a clear pattern (a slanted grating)
SWITCHED_OFF = 3         # a filter switched off to show the cross in the grid
SETTLE_MS = 600          # lets the last repaints land before a screenshot
STALL_REPORT_MS = 20_000  # how often a slow run says what it still waits for


def start(autotest) -> None:
    """Run the steps on `autotest` (an `autotest.Autotest` whose model is ready)."""
    _Steps.run(autotest)


class _Steps(ModeSteps):
    capability = "attribution"

    def __init__(self, autotest):
        super().__init__(autotest)
        self.started = 0.0
        self.ready = autotest.ready_at   # when the model was ready

    def start(self) -> None:
        draw_seven(self.inspector.canvas)
        menu = self.feature.menu
        if not menu.overlay_action.isChecked():
            menu.overlay_action.trigger()
        menu.panel_action.trigger()
        overlay, occlusion = self.feature.overlay, self.feature.occlusion
        self._report_stalls({"maps": lambda: self.inspector.current_outputs() is not None,
                             "grad-cam": lambda: overlay.result() is not None and not overlay.busy(),
                             "occlusion": lambda: occlusion.result() is not None and not occlusion.busy(),
                             "overlay on the drawing": lambda: self.inspector.canvas.heat_overlay() is not None,
                             "patterns": lambda: self.feature.patterns.patterns(PATTERN_LAYER) is not None,
                             "top digits": lambda: self.feature.filter_view.shown() is not None})
        self.autotest.when(lambda: self.inspector.current_outputs() is not None and overlay.result() is not None
                           and not overlay.busy() and occlusion.result() is not None and not occlusion.busy()
                           and self.inspector.canvas.heat_overlay() is not None,
                           lambda: QTimer.singleShot(SETTLE_MS, self.grad_cam_shown))

    def _report_stalls(self, steps: dict, every_ms: int = STALL_REPORT_MS) -> None:
        """Every `every_ms`, print which of `steps` (name -> done?) are not done yet (a slow machine or a
        stuck step: the test's output says which); stops once all are done."""
        def report() -> None:
            waiting = [name for name, done in steps.items() if not done()]
            if waiting and not self.autotest.is_done():
                print(f"cnnviz autotest: {time.monotonic() - self.ready:.0f} s after the model was ready, still "
                      f"waiting for: {', '.join(waiting)}", flush=True)
                QTimer.singleShot(every_ms, report)

        QTimer.singleShot(every_ms, report)

    def grad_cam_shown(self) -> None:
        result, occlusion = self.feature.overlay.result(), self.feature.occlusion.result()
        rows, cols = result.heatmap.shape
        path = self.autotest.path.with_name(self.autotest.path.stem + "_gradcam.png")
        save_screenshot(self.window, path)
        print(f"cnnviz autotest: grad-cam {self.feature.overlay.label()} at {result.layer} ({rows}x{cols}), "
              f"peak {float(result.heatmap.max()):.3f}; occlusion drop up to {float(occlusion.pixel_map.max()):.4f}; "
              f"saved {path.name} ({time.monotonic() - self.ready:.1f} s after the model was ready)", flush=True)
        self.inspector.select_layer(PATTERN_LAYER)
        self.started = time.monotonic()
        self.feature.menu.patterns_action.trigger()
        patterns = self.feature.patterns
        self.autotest.when(lambda: patterns.patterns(PATTERN_LAYER) is not None, self.patterns_shown)

    def patterns_shown(self) -> None:
        patterns = self.feature.patterns.patterns(PATTERN_LAYER)
        print(f"cnnviz autotest: patterns of {PATTERN_LAYER}: {len(patterns)} filters in "
              f"{time.monotonic() - self.started:.1f} s, grid shows {self.inspector.current_layer_mode()} "
              f"{tuple(self.inspector.layer_grid.maps().shape)}", flush=True)
        self.inspector.select_channel(SELECTED_CHANNEL)
        self.feature.ablation.switch_off(PATTERN_LAYER, SWITCHED_OFF)
        self.feature.menu.top_digits_action.trigger()
        view = self.feature.filter_view
        self.autotest.when(lambda: view.shown() is not None and self.inspector.current_outputs() is not None,
                           lambda: QTimer.singleShot(SETTLE_MS, self.top_digits_shown))

    def top_digits_shown(self) -> None:
        top = self.feature.filter_view.shown()
        outputs = self.inspector.current_outputs()
        print(f"cnnviz autotest: top digits of {top.layer} channel {top.channel}: {[int(i) for i in top.indices]}; "
              f"switched off {self.feature.ablation.switched_off()}, "
              f"marked {sorted(self.inspector.layer_grid.marked())}; "
              f"predicted {int(outputs[-1].argmax())}", flush=True)
        self.autotest.done()
