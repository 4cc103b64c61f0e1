"""The autotest modes of the inspector (see `autotest.py`): draw a 7 and click a channel, enlarge and hover a
map, hover the flatten layer's strip, open a photo of a digit, open an RGB model and a colour picture."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QTimer

from cnnviz.testing.user_input import click, draw_seven, send_hover

ENLARGED_CHANNEL = 2
FLATTEN_COLUMN = 9   # flatten-and-screenshot hovers unit 9: conv2d_3's channel 9 at y 0, x 0
MAPS_CHANNEL = 1     # maps-and-screenshot: a conv2d_1 channel that shows the 7's bar


def _outputs_shown(inspector):
    return lambda: inspector.current_outputs() is not None


def start_drawing(autotest) -> None:
    """`draw-and-screenshot`: draw a 7, click channel ENLARGED_CHANNEL of the first convolution."""
    inspector = autotest.window.inspector
    draw_seven(inspector.canvas)

    def click_channel() -> None:
        grid = inspector.layer_grid
        click(grid.viewport(), QPointF(grid.cell_centre(ENLARGED_CHANNEL)))
        outputs = inspector.current_outputs()
        digit = int(outputs[-1].argmax()) if outputs else None
        print(f"cnnviz autotest: predicted {digit}, channel {inspector.current_channel()}", flush=True)
        QTimer.singleShot(500, autotest.done)

    autotest.when(_outputs_shown(inspector), click_channel)


def start_maps(autotest) -> None:
    """`maps-and-screenshot`: draw a 7, enlarge MAPS_CHANNEL (a click on its map), hover it on the 7's bar."""
    inspector = autotest.window.inspector
    draw_seven(inspector.canvas)

    def enlarge() -> None:
        grid = inspector.layer_grid
        click(grid.viewport(), QPointF(grid.cell_centre(MAPS_CHANNEL)))

        def hover() -> None:   # once the grid has laid itself out again around the enlarged channel
            values = inspector.current_outputs()[inspector.current_layer()][..., MAPS_CHANNEL]
            y, x = divmod(int(values.argmax()), values.shape[1])                  # its strongest unit
            send_hover(grid.viewport(), QPointF(grid.unit_centre(MAPS_CHANNEL, y, x)))
            print(f"cnnviz autotest: channel {inspector.current_channel()} enlarged, hover: "
                  f"{inspector.hover_text()}", flush=True)
            QTimer.singleShot(500, autotest.done)

        QTimer.singleShot(300, hover)

    autotest.when(_outputs_shown(inspector), enlarge)


def start_flatten(autotest) -> None:
    """`flatten-and-screenshot`: draw a 7, show the flatten layer, hover unit (0, FLATTEN_COLUMN) of its strip."""
    inspector = autotest.window.inspector
    draw_seven(inspector.canvas)

    def show_flatten() -> None:
        inspector.select_layer(inspector.layer_kinds().index("Flatten"))
        view = inspector.vector_view
        layout = view.strip_layout()

        def hover() -> None:
            point = view.getPlotItem().vb.mapViewToScene(QPointF(FLATTEN_COLUMN + 0.5, 0.5))
            send_hover(view.viewport(), QPointF(view.mapFromScene(point)))
            shape = f"{layout.rows}x{layout.columns}" if layout is not None else "bars"
            print(f"cnnviz autotest: flatten strip {shape}, hover: {inspector.hover_text()}", flush=True)
            QTimer.singleShot(500, autotest.done)

        QTimer.singleShot(300, hover)   # let the strip lay itself out first

    autotest.when(_outputs_shown(inspector), show_flatten)


def start_photo(autotest) -> None:
    """`open-image-and-screenshot`: open a photo-like JPEG of a 7 as the user would (File → Open image)."""
    from cnnviz.core.data import load_mnist
    from cnnviz.core.digit_styles import STYLES, render, save_picture

    photo = render("photo", load_mnist(allow_download=False).x_test[0], seed=1)
    path = save_picture(autotest.path.with_name(autotest.path.stem + "_input"), photo, STYLES["photo"].jpeg_quality)
    inspector = autotest.window.inspector
    inspector.open_image(path)

    def report() -> None:
        outputs = inspector.current_outputs()
        reading = inspector.image_adjust.reading()
        print(f"cnnviz autotest: opened {path.name}: {reading.describe()}; "
              f"predicted {int(outputs[-1].argmax())}", flush=True)
        QTimer.singleShot(500, autotest.done)

    autotest.when(_outputs_shown(inspector), report)


def start_rgb_model(autotest) -> None:
    """`rgb-model-and-screenshot`: open the RGB model as the user would (File → Open), then a colour picture,
    then the widest layer's second page of channels; report and take the picture."""
    model_path = Path(os.environ.get("CNNVIZ_AUTOTEST_MODEL")
                      or autotest.path.with_name(autotest.path.stem + "_model.keras"))
    window = autotest.window
    window.load_model_file(model_path)

    def opened() -> bool:
        return window.current is not None and window.current.path == model_path and not window.is_loading()

    def open_picture() -> None:
        picture = autotest.path.with_name(autotest.path.stem + "_picture.png")
        if not picture.is_file():
            _save_colour_picture(picture)
        window.inspector.open_image(picture)
        autotest.when(_outputs_shown(window.inspector), lambda: _show_widest_layer(autotest))

    autotest.when(opened, open_picture)


def _show_widest_layer(autotest) -> None:
    window = autotest.window
    inspector = window.inspector
    outputs = inspector.current_outputs()
    widest = max((i for i, o in enumerate(outputs) if o.ndim == 3), key=lambda i: outputs[i].shape[-1])
    inspector.select_layer(widest)
    grid = inspector.layer_grid
    grid.next_page()
    shown = grid.page_range()   # enlarge the page's most active channel
    peaks = outputs[widest][..., shown.start:shown.stop].max(axis=(0, 1))
    inspector.select_channel(shown.start + int(np.argmax(peaks)))

    def report() -> None:
        model = window.current
        label = inspector.prediction_bars.top_label()
        print(f"cnnviz autotest: rgb model {model.description().describe()}; input "
              f"{'x'.join(map(str, inspector.current_input().shape))}; layer {inspector.layer_names()[widest]} "
              f"{grid.num_maps()} channels, page {grid.page() + 1} of {grid.num_pages()}; "
              f"predicted {label[0] if label else None}", flush=True)
        QTimer.singleShot(300, autotest.done)

    QTimer.singleShot(500, report)


def _save_colour_picture(path: Path) -> None:
    """A small colourful picture (a yellow disc and a blue bar on a red-green gradient), as PNG."""
    from PIL import Image

    rows, columns = np.mgrid[0:120, 0:160]
    pixels = np.stack([columns * 255 // 160, rows * 255 // 120, np.full_like(rows, 110)], axis=-1).astype(np.uint8)
    pixels[(columns - 60) ** 2 + (rows - 60) ** 2 < 900] = (250, 215, 30)
    pixels[30:90, 100:140] = (30, 60, 220)
    Image.fromarray(pixels).save(path)
