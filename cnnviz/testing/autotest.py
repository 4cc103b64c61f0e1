"""The hidden testing hook: drive the real app in a real display, screenshot it and quit.

`CNNVIZ_AUTOTEST=MODE:PATH` (or `cnnviz gui --screenshot PATH`, which means `train-and-screenshot`); the
app (`cnnviz/gui/app.py`) imports this module by name only then. The modes (MODES: mode -> the function
that starts it, in the module that drives that part of the app):
- `train-and-screenshot`: show a random test digit, train one epoch on a few thousand digits;
- `kill-and-recover`: train two epochs on a few thousand digits, SIGKILL the compute process in the
  second, wait until the restarted process has the model back; prints how long it took
  (`training_modes.py`);
- `draw-and-screenshot`: draw a 7 on the canvas with mouse events, click a channel of the first
  convolution; prints the prediction;
- `maps-and-screenshot`: draw a 7, enlarge a channel of the first convolution that shows its bar and
  hover that map (the README's pictures); prints the read-out;
- `flatten-and-screenshot`: draw a 7, show the flatten layer (a heat strip laid out like the maps it
  flattens) and hover one of its units; prints the strip's shape and the read-out;
- `open-image-and-screenshot`: open a photo-like picture of MNIST test digit 0 (a 7 on paper with a light
  gradient, grain, saved as JPEG next to PATH); prints what was read and the prediction;
- `rgb-model-and-screenshot`: open the RGB model `<PATH stem>_model.keras` beside PATH (or
  $CNNVIZ_AUTOTEST_MODEL), then a colour picture (`<PATH stem>_picture.png`, drawn if missing), show its
  layer with the most channels and page to its second page; prints what it shows (`inspector_modes.py`);
- `pytorch-model-and-screenshot`: open the shipped PyTorch model (File → Open the shipped PyTorch model), then
  as `maps-and-screenshot`; prints the model's layers and the prediction (`models_mode.py`);
- `attribution-and-screenshot`: Grad-CAM, occlusion, patterns, top digits, a filter switched off
  (`attribution_mode.py`); `unit-and-screenshot`: the Kernels view and the unit panel (`units_mode.py`);
  `history-and-screenshot`: the test-set panel and the epoch scrubber (`history_mode.py`);
  `lab-and-screenshot`: the Lab trains two variants, then shows the full run's error bars (`lab_mode.py`);
  `experiments-and-screenshot`: a hand-made edge detector, an attacked 7 that reads as 3 and the
  sanity-check strip (`experiments_mode.py`); `pytorch-model-and-screenshot`: the shipped PyTorch LeNet
  opened through File → Open (`models_mode.py`);
- `move-it-and-screenshot`: a test digit dragged in the Move it panel beside the Lab's no-pooling (`move_it_mode.py`);
  `handwriting-and-screenshot`: Your digits: a made-up handwriting collected, a 7 drawn and kept, the gallery,
  then Teach it my handwriting (`handwriting_mode.py`);
  `lesson-and-screenshot`: lesson 1's first question asked (`_question.png`) and revealed
  (`lessons_mode.py`).
Beside each screenshot, PATH with `.json` gives the screen rectangle [x, y, width, height] of the window's
named parts (`screenshots.py`). All print "model ready" with both process ids when the first model is
shown, then save a screenshot of the window to PATH and quit.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from cnnviz.gui.app import AUTOTEST_ENV
from cnnviz.testing import (attribution_mode, experiments_mode, handwriting_mode, history_mode, inspector_modes,
                            lab_mode, lessons_mode, models_mode, move_it_mode, training_modes, units_mode)
from cnnviz.testing.screenshots import save_screenshot
from cnnviz.testing.user_input import when

MODES = {"train-and-screenshot": training_modes.start_training, "kill-and-recover": training_modes.start_training,
         "draw-and-screenshot": inspector_modes.start_drawing, "maps-and-screenshot": inspector_modes.start_maps,
         "flatten-and-screenshot": inspector_modes.start_flatten,
         "open-image-and-screenshot": inspector_modes.start_photo,
         "rgb-model-and-screenshot": inspector_modes.start_rgb_model,
         "pytorch-model-and-screenshot": models_mode.start_pytorch,
         "attribution-and-screenshot": attribution_mode.start, "unit-and-screenshot": units_mode.start,
         "history-and-screenshot": history_mode.start, "lab-and-screenshot": lab_mode.start,
         "experiments-and-screenshot": experiments_mode.start,
         "move-it-and-screenshot": move_it_mode.start, "handwriting-and-screenshot": handwriting_mode.start,
         "lesson-and-screenshot": lessons_mode.start}
TIMEOUT_MS = 120_000
# Several computations in a row (a loaded machine); teaching on MNIST.
MODE_TIMEOUT_MS = {"attribution-and-screenshot": 200_000, "experiments-and-screenshot": 240_000,
                   "handwriting-and-screenshot": 280_000}


def autotest_request(screenshot: str | Path | None) -> tuple[str | None, Path | None]:
    """(mode, path) from `--screenshot` or $CNNVIZ_AUTOTEST; (None, None) for a normal start."""
    if screenshot:
        return "train-and-screenshot", Path(screenshot)
    mode, _, path = os.environ.get(AUTOTEST_ENV, "").partition(":")
    return (mode, Path(path)) if mode in MODES and path else (None, None)


def start(window, screenshot: str | Path | None = None) -> QObject | None:
    """Attach the autotest asked for (by `screenshot` or $CNNVIZ_AUTOTEST) to `window`; None if none is.
    It quits the app when done."""
    mode, path = autotest_request(screenshot)
    return None if mode is None else Autotest(window, mode, path)


class Autotest(QObject):
    """Waits for the model, starts the mode (it acts as a user would), then screenshots the window and quits.

    What a mode uses: `window`, `mode`, `path`, `ready_at` (time.monotonic() when the model was ready),
    `when(condition, then)`, `done()` (screenshot and quit) and `is_done()`; `steps` keeps its state alive."""

    def __init__(self, window, mode: str, path: Path):
        super().__init__(window)
        self.window = window
        self.mode = mode
        self.path = path
        self.ready_at = 0.0
        self.steps = None
        window.remember_settings = False  # a scripted run's settings are not the user's
        window.ask_to_save = False        # nor is its trained model: quit without asking
        self._started = False
        self._done = False
        window.model_ready.connect(self._on_model_ready)
        window.model_failed.connect(self.done)
        QTimer.singleShot(MODE_TIMEOUT_MS.get(mode, TIMEOUT_MS), self.done)

    def when(self, condition, then) -> None:
        """Call `then()` once `condition()` holds (see `user_input.when`)."""
        when(condition, then)

    def is_done(self) -> bool:
        return self._done

    @Slot()
    def _on_model_ready(self) -> None:
        if self._started:
            return
        self._started = True
        self.ready_at = time.monotonic()
        print(f"cnnviz autotest: model ready (gui pid {os.getpid()}, compute pid {self.window.client.pid})",
              flush=True)
        MODES[self.mode](self)

    @Slot()
    def done(self) -> None:
        """Save the screenshot and quit."""
        if self._done:
            return
        self._done = True
        image = save_screenshot(self.window, self.path)
        print(f"cnnviz autotest: saved {self.path} ({image.width()}x{image.height()})", flush=True)
        self.window.close()
        QApplication.instance().quit()
