"""A hidden testing hook: drive the real app in a real display, screenshot it and quit.

`CNNVIZ_AUTOTEST=MODE:PATH` (or `cnnviz gui --screenshot PATH`, which means `train`):
- `train-and-screenshot`: show a random test digit, train one epoch on a few thousand digits;
- `draw-and-screenshot`: draw a 7 on the canvas with mouse events, click a channel of the first
  convolution; prints the prediction;
- `kill-and-recover`: train two epochs on a few thousand digits, SIGKILL the compute process
  in the second, wait until the restarted process has the model back; prints how long it took;
- `open-image-and-screenshot`: open a photo-like picture of MNIST test digit 0 (a 7 on paper with
  a light gradient, grain, saved as JPEG next to PATH); prints what was read and the prediction.
- `attribution-and-screenshot`: draw a 7 with the Grad-CAM overlay and the "Where the network looks"
  panel (saved as `<PATH stem>_gradcam.png`), then conv2d_2's filter patterns with one filter's top
  test digits and another filter switched off (`testing/attribution_autotest.py`); prints what it shows.
- `maps-and-screenshot`: draw a 7, enlarge a channel of the first convolution that shows its bar
  and hover that map (the README's pictures); prints the read-out;
- `flatten-and-screenshot`: draw a 7, show the flatten layer (a heat strip laid out like the maps it
  flattens) and hover one of its units; prints the strip's shape and the read-out.
- `rgb-model-and-screenshot`: open the RGB model `<PATH stem>_model.keras` beside PATH (or
  $CNNVIZ_AUTOTEST_MODEL), then a colour picture (`<PATH stem>_picture.png`, drawn if missing), show
  its layer with the most channels and page to its second page; prints what it shows.
- `lab-and-screenshot`: the Lab trains `seed` and `no-pooling` on a few digits and shows their curves
  overlaid and their maps side by side (`testing/lab_autotest.py`); prints what it shows.
- `unit-and-screenshot`: draw a 7, hover and click unit (1, 1) of conv2d_3 (issue 10's unit panel and
  its 18×18 receptive field outlined on the input and the drawing, `testing/units_autotest.py`); prints
  the unit, its value and where the outlines are on screen.
- `history-and-screenshot`: click the largest mistake cell of the Test set panel's confusion matrix,
  open the gallery's first digit, scrub to epoch 0; a screenshot after each (`<PATH stem>_1_cell.png`,
  `_2_opened.png`, `_3_epoch0.png`; `testing/history_autotest.py`); prints what it shows.
Beside the screenshot, PATH with `.json` gives the screen rectangle [x, y, width, height] of the
window's parts (docks by object name, "inspector", "canvas", "input", "layer_stack", …), so that
`scripts/make_screenshots.py` can crop the README's pictures from it.
All print "model ready" with both process ids when the first model is shown, then save a
screenshot of the window to PATH and quit.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer, Slot
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from cnnviz.gui.app import AUTOTEST_ENV

MODES = ("train-and-screenshot", "draw-and-screenshot", "kill-and-recover", "open-image-and-screenshot",
         "flatten-and-screenshot", "maps-and-screenshot", "rgb-model-and-screenshot", "lab-and-screenshot",
         "attribution-and-screenshot", "unit-and-screenshot", "history-and-screenshot")
TRAIN_LIMIT = 3000  # digits trained in the train mode
TIMEOUT_MS = 120_000
MODE_TIMEOUT_MS = {"attribution-and-screenshot": 200_000}   # several computations in a row (a loaded machine)
# A "7" in unit coordinates of the canvas: the bar, then the diagonal.
SEVEN = [(0.26, 0.24), (0.40, 0.23), (0.55, 0.22), (0.72, 0.22), (0.66, 0.36), (0.58, 0.52),
         (0.50, 0.68), (0.44, 0.82)]
ENLARGED_CHANNEL = 2
FLATTEN_COLUMN = 9   # flatten-and-screenshot hovers unit 9: conv2d_3's channel 9 at y 0, x 0
MAPS_CHANNEL = 1   # maps-and-screenshot: a conv2d_1 channel that shows the 7's bar
POLL_MS = 50


def autotest_request(screenshot: str | Path | None) -> tuple[str | None, Path | None]:
    """(mode, path) from `--screenshot` or $CNNVIZ_AUTOTEST; (None, None) for a normal start."""
    if screenshot:
        return "train-and-screenshot", Path(screenshot)
    mode, _, path = os.environ.get(AUTOTEST_ENV, "").partition(":")
    return (mode, Path(path)) if mode in MODES and path else (None, None)


def start_autotest(window, mode: str, path: Path) -> QObject:
    """Attach the autotest for `mode` to `window`; it quits the app when done."""
    return _Autotest(window, mode, path)


class _Autotest(QObject):
    """Waits for the model, acts as a user would, then screenshots the window and quits."""

    def __init__(self, window, mode: str, path: Path):
        super().__init__(window)
        self.window = window
        self.mode = mode
        self.path = path
        window.remember_settings = False  # a scripted run's settings are not the user's
        window.ask_to_save = False        # nor is its trained model: quit without asking
        self._started = False
        self._done = False
        self._killed = False
        window.model_ready.connect(self._on_model_ready)
        window.model_failed.connect(self._on_done)
        window.training_finished.connect(self._on_training_finished)
        window.recovered.connect(self._on_recovered)
        QTimer.singleShot(MODE_TIMEOUT_MS.get(mode, TIMEOUT_MS), self._on_done)

    @Slot()
    def _on_model_ready(self) -> None:
        if self._started:
            return
        self._started = True
        print(f"cnnviz autotest: model ready (gui pid {os.getpid()}, compute pid {self.window.client.pid})",
              flush=True)
        if self.mode == "attribution-and-screenshot":
            from cnnviz.testing.attribution_autotest import start_attribution_autotest

            start_attribution_autotest(self)
            return
        if self.mode == "open-image-and-screenshot":
            self._open_photo()
            return
        if self.mode == "history-and-screenshot":
            from cnnviz.testing.history_autotest import start_history_autotest

            start_history_autotest(self)
            return
        if self.mode == "unit-and-screenshot":
            from cnnviz.testing.units_autotest import start_units_autotest

            start_units_autotest(self)
            return
        if self.mode == "rgb-model-and-screenshot":
            self._open_rgb_model()
            return
        if self.mode == "lab-and-screenshot":
            from cnnviz.testing.lab_autotest import start_lab_autotest

            start_lab_autotest(self)
            return
        if self.mode in ("flatten-and-screenshot", "maps-and-screenshot"):
            self._draw_seven()
            then = self._show_flatten if self.mode == "flatten-and-screenshot" else self._show_maps
            self._when(lambda: self.window.inspector.current_outputs() is not None, then)
            return
        if self.mode == "draw-and-screenshot":
            self._draw_seven()
            self._when(lambda: self.window.inspector.current_outputs() is not None, self._click_channel)
            return
        _trigger(self.window.inspector.input_actions(), "random")
        panel = self.window.panel
        panel.epochs.setValue(2 if self.mode == "kill-and-recover" else 1)
        panel.limit.setValue(TRAIN_LIMIT)
        panel.start_action.trigger()
        if self.mode == "kill-and-recover":
            self.window.training.epoch_finished.connect(self._on_first_epoch)

    def _when(self, condition, then, waited_ms: int = 0) -> None:
        """Call `then()` once `condition()` holds (checked every POLL_MS), or give up at TIMEOUT_MS."""
        if condition():
            then()
        elif waited_ms < TIMEOUT_MS:
            QTimer.singleShot(POLL_MS, lambda: self._when(condition, then, waited_ms + POLL_MS))

    @Slot(object)
    def _on_first_epoch(self, record) -> None:
        """Kill the compute process once the second epoch is under way."""
        if self._killed:
            return
        self._killed = True
        curves = self.window.curves
        points = curves.num_batch_points()
        self._when(lambda: curves.num_batch_points() > points, self._kill)

    def _kill(self) -> None:
        print(f"cnnviz autotest: killing compute pid {self.window.client.pid} mid-epoch", flush=True)
        self.window.client.kill()

    @Slot(float)
    def _on_recovered(self, seconds: float) -> None:
        """The model is back: report, let the maps come back, then take the picture."""
        model = self.window.current
        print(f"cnnviz autotest: recovered in {seconds:.2f} s, model back with {len(model.history)} epoch(s), "
              f"banner: {self.window.banner.text()}", flush=True)
        self._when(lambda: self.window.inspector.current_outputs() is not None,
                   lambda: QTimer.singleShot(300, self._on_done))

    def _open_photo(self) -> None:
        """Open a photo-like JPEG of a 7 as the user would (File → Open image), then report."""
        from cnnviz.core.data import load_mnist
        from cnnviz.core.digit_styles import STYLES, render, save_picture

        photo = render("photo", load_mnist(allow_download=False).x_test[0], seed=1)
        path = save_picture(self.path.with_name(self.path.stem + "_input"), photo, STYLES["photo"].jpeg_quality)
        inspector = self.window.inspector
        inspector.open_image(path)

        def report() -> None:
            outputs = inspector.current_outputs()
            reading = inspector.image_adjust.reading()
            print(f"cnnviz autotest: opened {path.name}: {reading.describe()}; "
                  f"predicted {int(outputs[-1].argmax())}", flush=True)
            QTimer.singleShot(500, self._on_done)

        self._when(lambda: inspector.current_outputs() is not None, report)

    def _draw_seven(self) -> None:
        """One left-button stroke through SEVEN, as mouse events on the canvas."""
        canvas = self.window.inspector.canvas
        side = min(canvas.width(), canvas.height())
        origin = QPointF((canvas.width() - side) / 2, (canvas.height() - side) / 2)
        points = [origin + QPointF(x * side, y * side) for x, y in SEVEN]
        _send_mouse(canvas, QEvent.Type.MouseButtonPress, points[0])
        for start, end in zip(points, points[1:]):
            for step in range(1, 6):  # several moves per segment, as a hand makes
                _send_mouse(canvas, QEvent.Type.MouseMove, start + (end - start) * (step / 5))
                QApplication.processEvents()
        _send_mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1])

    @Slot()
    def _click_channel(self) -> None:
        grid = self.window.inspector.layer_grid
        position = QPointF(grid.cell_centre(ENLARGED_CHANNEL))
        _send_mouse(grid.viewport(), QEvent.Type.MouseButtonPress, position)
        _send_mouse(grid.viewport(), QEvent.Type.MouseButtonRelease, position)
        outputs = self.window.inspector.current_outputs()
        digit = int(outputs[-1].argmax()) if outputs else None
        print(f"cnnviz autotest: predicted {digit}, channel {self.window.inspector.current_channel()}", flush=True)
        QTimer.singleShot(500, self._on_done)

    @Slot()
    def _show_maps(self) -> None:
        """Enlarge MAPS_CHANNEL (a click on its map), then hover its map on the 7's bar."""
        inspector = self.window.inspector
        grid = inspector.layer_grid
        position = QPointF(grid.cell_centre(MAPS_CHANNEL))
        _send_mouse(grid.viewport(), QEvent.Type.MouseButtonPress, position)
        _send_mouse(grid.viewport(), QEvent.Type.MouseButtonRelease, position)

        def hover() -> None:   # once the grid has laid itself out again around the enlarged channel
            centre = QPointF(grid.cell_centre(MAPS_CHANNEL))
            side = 0.92 * (grid.cell_centre(MAPS_CHANNEL + 1).x() - centre.x())   # a map's width, roughly
            values = inspector.current_outputs()[inspector.current_layer()][..., MAPS_CHANNEL]
            y, x = divmod(int(values.argmax()), values.shape[1])                  # its strongest unit
            offset = QPointF((x + 0.5) / values.shape[1] - 0.5, (y + 0.5) / values.shape[0] - 0.5) * side
            _send_hover(grid.viewport(), centre + offset)
            print(f"cnnviz autotest: channel {inspector.current_channel()} enlarged, hover: "
                  f"{inspector._hover_label.text()}", flush=True)
            QTimer.singleShot(500, self._on_done)

        QTimer.singleShot(300, hover)

    @Slot()
    def _show_flatten(self) -> None:
        """Show the flatten layer and hover one unit of its heat strip (row 0, column FLATTEN_COLUMN)."""
        inspector = self.window.inspector
        inspector._state.set_layer(inspector.layer_kinds().index("Flatten"))
        view = inspector.vector_view
        layout = view.strip_layout()

        def hover() -> None:
            point = view.getPlotItem().vb.mapViewToScene(QPointF(FLATTEN_COLUMN + 0.5, 0.5))
            _send_hover(view.viewport(), QPointF(view.mapFromScene(point)))
            shape = f"{layout.rows}x{layout.columns}" if layout is not None else "bars"
            print(f"cnnviz autotest: flatten strip {shape}, hover: {inspector._hover_label.text()}", flush=True)
            QTimer.singleShot(500, self._on_done)

        QTimer.singleShot(300, hover)   # let the strip lay itself out first

    def _open_rgb_model(self) -> None:
        """Open the RGB model as the user would (File → Open), then a colour picture, then the widest
        layer's second page of channels; report and take the picture."""
        model_path = Path(os.environ.get("CNNVIZ_AUTOTEST_MODEL")
                          or self.path.with_name(self.path.stem + "_model.keras"))
        window = self.window
        window.load_model_file(model_path)

        def opened() -> bool:
            return window.current is not None and window.current.path == model_path and not window.is_loading()

        self._when(opened, self._open_colour_picture)

    def _open_colour_picture(self) -> None:
        inspector = self.window.inspector
        picture = self.path.with_name(self.path.stem + "_picture.png")
        if not picture.is_file():
            _save_colour_picture(picture)
        inspector.open_image(picture)
        self._when(lambda: inspector.current_outputs() is not None, self._show_widest_layer)

    def _show_widest_layer(self) -> None:
        import numpy as np

        inspector = self.window.inspector
        outputs = inspector.current_outputs()
        widest = max((i for i, o in enumerate(outputs) if o.ndim == 3), key=lambda i: outputs[i].shape[-1])
        inspector._state.set_layer(widest)
        grid = inspector.layer_grid
        grid.next_page()
        shown = grid.page_range()   # enlarge the page's most active channel
        peaks = outputs[widest][..., shown.start:shown.stop].max(axis=(0, 1))
        inspector._state.set_channel(shown.start + int(np.argmax(peaks)))

        def report() -> None:
            model = self.window.current
            label = inspector.prediction_bars.top_label()
            print(f"cnnviz autotest: rgb model {model.description().describe()}; input "
                  f"{'x'.join(map(str, inspector.current_input().shape))}; layer {inspector.layer_names()[widest]} "
                  f"{grid.num_maps()} channels, page {grid.page() + 1} of {grid.num_pages()}; "
                  f"predicted {label[0] if label else None}", flush=True)
            QTimer.singleShot(300, self._on_done)

        QTimer.singleShot(500, report)

    @Slot(object)
    def _on_training_finished(self, result) -> None:
        """Let the last repaint land, then take the picture (after a crash: once recovered)."""
        print(f"cnnviz autotest: training {result.status}, {len(result.history)} epoch(s)", flush=True)
        if result.status != "cut":
            QTimer.singleShot(500, self._on_done)

    @Slot()
    def _on_done(self) -> None:
        """Save the screenshot and quit."""
        if self._done:
            return
        self._done = True
        image = save_screenshot(self.window, self.path)
        print(f"cnnviz autotest: saved {self.path} ({image.width()}x{image.height()})", flush=True)
        self.window.close()
        QApplication.instance().quit()


def save_screenshot(window, path: Path):
    """The screen (or the window) as PNG at `path`, and beside it (`.json`) where the window's parts are
    (for `scripts/make_screenshots.py`); returns the QImage."""
    path.parent.mkdir(parents=True, exist_ok=True)
    screen = window.screen()
    image = screen.grabWindow(0) if screen is not None else window.grab()
    whole_screen = screen is not None and not image.isNull()
    if image.isNull():
        image = window.grab()
    image.save(str(path), "PNG")
    _save_regions(window, path.with_suffix(".json"), whole_screen)
    return image


def _send_mouse(widget, kind: QEvent.Type, position: QPointF) -> None:
    """Deliver a left-button mouse event to `widget` at `position` (widget coordinates)."""
    pressed = kind != QEvent.Type.MouseButtonRelease
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.LeftButton if pressed else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, position, widget.mapToGlobal(position), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _save_colour_picture(path: Path) -> None:
    """A small colourful picture (a yellow disc and a blue bar on a red-green gradient), as PNG."""
    import numpy as np
    from PIL import Image

    rows, columns = np.mgrid[0:120, 0:160]
    pixels = np.stack([columns * 255 // 160, rows * 255 // 120, np.full_like(rows, 110)], axis=-1).astype(np.uint8)
    pixels[(columns - 60) ** 2 + (rows - 60) ** 2 < 900] = (250, 215, 30)
    pixels[30:90, 100:140] = (30, 60, 220)
    Image.fromarray(pixels).save(path)


def _send_hover(widget, position: QPointF) -> None:
    """Move the mouse over `widget` at `position` with no button held."""
    event = QMouseEvent(QEvent.Type.MouseMove, position, widget.mapToGlobal(position), Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _save_regions(window, path: Path, whole_screen: bool) -> None:
    """Write the screenshot's rectangles of the window's parts to `path` (JSON: name -> [x, y, w, h])."""
    import json

    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QDockWidget, QToolBar

    inspector = window.inspector
    parts = {"window": window, "toolbar": window.findChild(QToolBar, "main_toolbar"),
             "menubar": window.menuBar(), "statusbar": window.statusBar(), "banner": window.banner,
             "central": window.centralWidget(),   # the inspector and the banners above it
             "inspector": inspector, "pipeline": inspector.pipeline, "canvas": inspector.canvas,
             "input": inspector.canvas.parentWidget(), "prediction": inspector.prediction_bars,
             "layer_title": inspector._layer_title, "layer_stack": inspector._layer_stack,
             "side_panel": inspector._side_panel, "hover": inspector._hover_label,
             "layer_modes": inspector.layer_modes}
    parts.update({dock.objectName(): dock for dock in window.findChildren(QDockWidget) if dock.objectName()})
    origin = QPoint(0, 0) if whole_screen else window.mapToGlobal(QPoint(0, 0))
    regions = {}
    shown = window.rect().translated(window.mapToGlobal(QPoint(0, 0)) - origin)
    for name, widget in parts.items():
        if widget is not None and widget.isVisible():
            corner = widget.mapToGlobal(QPoint(0, 0)) - origin
            if shown.intersects(widget.rect().translated(corner)):   # not a dock in a tab behind another
                regions[name] = [corner.x(), corner.y(), widget.width(), widget.height()]
    path.write_text(json.dumps(regions, indent=1))


def _trigger(actions, word: str) -> None:
    """Trigger the first action whose text mentions `word` (case-insensitive)."""
    for action in actions:
        if word in action.text().replace("&", "").lower() and action.isEnabled():
            action.trigger()
            return
