"""Issue 10 in the app: hovering or clicking a unit explains it in the unit panel and outlines its
receptive field on the input, on the drawing and on the earlier layers' maps.

The inspector runs on the real (shared) compute process with the shipped model; the numbers are
checked against an independent Keras forward pass and the model's own weights (numpy by hand)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from cnnviz.core.preprocess import fit_into_square
from cnnviz.gui.inspector.inspector_widget import InspectorWidget
from cnnviz.gui.units.kernels_mode import KernelsMode
from cnnviz.gui.units.live_weights import LiveWeights
from cnnviz.gui.units.unit_focus import Unit, UnitFocus
from cnnviz.gui.units.unit_panel import UnitPanel, number

# conv2d_3's unit (1, 1) and the blocks feeding it, worked out by hand for the seed model (valid 3×3
# convolutions widen a block by 2, 2×2 pools double it): input rows 4..21 (18×18), conv2d_1 4..19,
# max_pooling2d_1 2..9, conv2d_2 2..7, max_pooling2d_2 1..3. (row0, col0, row1, col1), ends exclusive.
CONV2D_3_UNIT_1_1 = {-1: (4, 4, 22, 22), 0: (4, 4, 20, 20), 1: (2, 2, 10, 10), 2: (2, 2, 8, 8), 3: (1, 1, 4, 4),
                     4: (1, 1, 2, 2)}


class Explained:
    """An inspector with the unit focus, the panel and the Kernels mode, as `units_feature` installs them."""

    def __init__(self, qtbot, client, info, training=lambda: False):
        self.inspector = InspectorWidget(client=client)
        qtbot.addWidget(self.inspector)
        self.inspector.resize(1000, 700)
        self.inspector.show()
        qtbot.waitExposed(self.inspector)
        self.live = LiveWeights(self.inspector, training)
        self.focus = UnitFocus(self.inspector, self.live)
        self.panel = UnitPanel(self.focus)
        qtbot.addWidget(self.panel)
        self.panel.resize(360, 700)
        self.panel.show()
        self.kernels = KernelsMode(self.inspector, self.live)
        self.inspector.add_layer_mode(self.kernels)
        self.inspector.set_model(info)

    def show_digit(self, qtbot, digit):
        canvas = self.inspector.canvas
        canvas.set_image(fit_into_square(digit, canvas.canvas_size, margin=0), exact_input=digit)
        qtbot.waitUntil(lambda: self.inspector.current_outputs() is not None
                        and np.array_equal(self.inspector.current_input(), digit))


@pytest.fixture
def explained(qtbot, compute_client, shipped_info, digit_seven):
    view = Explained(qtbot, compute_client, shipped_info)
    view.show_digit(qtbot, digit_seven)
    return view


@pytest.fixture(scope="module")
def keras_outputs(shipped_model):
    """Every layer's output by an independent Keras feature extractor."""
    import keras

    extractor = keras.Model(shipped_model.inputs, [layer.output for layer in shipped_model.layers])
    return lambda image: [np.asarray(o)[0] for o in extractor([image[None, :, :, None]], training=False)]


MOVE_GAP_S = 0.012   # pyqtgraph's scenes drop mouse moves less than 10 ms apart (mouseRateLimit 100/s)


def move_mouse(widget, point, button=None):
    """A mouse move (or, with `button`, a press and release) at `point` in `widget`'s coordinates."""
    point = QPointF(point)
    if button is None:
        events = [(QEvent.Type.MouseMove, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)]
    else:
        events = [(QEvent.Type.MouseMove, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton),
                  (QEvent.Type.MouseButtonPress, button, button),
                  (QEvent.Type.MouseButtonRelease, button, Qt.MouseButton.NoButton)]
    time.sleep(MOVE_GAP_S)
    for kind, which, held in events:
        QApplication.sendEvent(widget, QMouseEvent(kind, point, widget.mapToGlobal(point), which, held,
                                                   Qt.KeyboardModifier.NoModifier))


def hover_grid(view, channel, y, x, click=False):
    grid = view.inspector.layer_grid
    move_mouse(grid.viewport(), grid.unit_centre(channel, y, x), Qt.MouseButton.LeftButton if click else None)


def test_a_first_layer_unit_shows_its_nine_products(qtbot, explained, digit_seven, shipped_model, keras_outputs):
    hover_grid(explained, 5, 12, 9)                     # conv2d_1 filter 5, y 12, x 9
    assert explained.focus.unit() == Unit(0, 5, 12, 9) and not explained.focus.is_pinned()
    unit = explained.focus.explanation()
    kernel, bias = shipped_model.get_layer("conv2d_1").get_weights()
    window = digit_seven[12:15, 9:12].astype(np.float64)
    weights = kernel[:, :, 0, 5].astype(np.float64)
    np.testing.assert_allclose(unit.window[:, :, 0], window)
    np.testing.assert_allclose(unit.kernel[:, :, 0], weights)
    pre = float((window * weights).sum() + bias[5])
    assert unit.pre_activation == pytest.approx(pre, abs=1e-6)
    shown = float(keras_outputs(digit_seven)[0][12, 9, 5])
    assert unit.value == pytest.approx(max(pre, 0.0), abs=1e-6) == pytest.approx(shown, abs=1e-4)
    assert explained.focus.shown_value() == pytest.approx(shown, abs=1e-6)
    text = explained.panel.text()
    for i in range(3):
        for j in range(3):   # every product in the 3×3 table, to 4 decimals
            assert number(window[i, j] * weights[i, j], signed=True) in text
    assert number(pre, signed=True) in text and f"<b>{number(shown)}</b>" in text
    assert "the value the maps show ✓" in text and "How to read this" in text
    assert "ReLU" in text and number(float(bias[5]), signed=True) in text


def test_a_deeper_unit_lists_its_strongest_input_channels_and_opens_one(qtbot, explained, digit_seven,
                                                                         shipped_model, keras_outputs):
    explained.inspector.select_layer(2)                # conv2d_2: 11×11×64 on 13×13×32
    hover_grid(explained, 7, 4, 6)
    assert explained.focus.unit() == Unit(2, 7, 4, 6)
    outputs = keras_outputs(digit_seven)
    kernel, bias = shipped_model.get_layer("conv2d_2").get_weights()
    window = outputs[1][4:7, 6:9, :].astype(np.float64)    # max_pooling2d_1 under the 3×3 window
    shares = (window * kernel[:, :, :, 7]).sum(axis=(0, 1))
    order = np.argsort(-np.abs(shares))
    unit = explained.focus.explanation()
    shown, rest, num_rest = unit.top_contributions()
    assert [c.index for c in shown] == list(order[:8]) and num_rest == 24
    np.testing.assert_allclose([c.value for c in shown], shares[order[:8]], atol=1e-6)
    assert rest == pytest.approx(shares[order[8:]].sum(), abs=1e-6)
    assert unit.pre_activation == pytest.approx(shares.sum() + bias[7], abs=1e-5)
    assert unit.value == pytest.approx(float(outputs[2][4, 6, 7]), abs=1e-4)
    text = explained.panel.text()
    positions = [text.index(f'href="channel:{c}"') for c in order[:8]]
    assert positions == sorted(positions)                  # listed strongest first
    assert "the other 24 channels" in text and number(float(rest), signed=True) in text
    assert explained.panel.detail_channel() is None        # the strongest channel is open
    assert f"Input channel <b>{order[0]}</b>" in text
    weakest = int(order[7])
    explained.panel.resize(360, 320)                      # shorter than the text: its end needs scrolling
    qtbot.waitUntil(lambda: explained.panel.text_view().verticalScrollBar().maximum() > 0)
    explained.panel.text_view().anchorClicked.emit(QUrl(f"channel:{weakest}"))   # as a click on its link does
    assert explained.panel.detail_channel() == weakest
    bar = explained.panel.text_view().verticalScrollBar()
    assert bar.value() == bar.maximum() > 0               # the opened channel's table (the end) is in view
    text = explained.panel.text()
    assert f"Input channel <b>{weakest}</b>" in text
    for i in range(3):
        for j in range(3):
            assert number(float(window[i, j, weakest] * kernel[i, j, weakest, 7]), signed=True) in text


def test_pool_and_dense_units(qtbot, explained, digit_seven, shipped_model, keras_outputs):
    outputs = keras_outputs(digit_seven)
    explained.inspector.select_layer(1)                # max_pooling2d_1
    hover_grid(explained, 3, 5, 6)
    unit = explained.focus.explanation()
    window = outputs[0][10:12, 12:14, 3]
    np.testing.assert_allclose(unit.window, window)
    assert tuple(unit.argmax) == np.unravel_index(np.argmax(window), (2, 2))
    assert unit.value == pytest.approx(float(outputs[1][5, 6, 3]), abs=1e-6)
    assert "max" in explained.panel.text() and "background-color" in explained.panel.text()

    explained.inspector.select_layer(6)                # dense_1: 64 units on the 576 flattened values
    explained.inspector.vector_view.unit_hovered.emit(11)
    unit = explained.focus.explanation()
    kernel, bias = shipped_model.get_layer("dense_1").get_weights()
    products = outputs[5] * kernel[:, 11]
    strongest = np.argsort(-np.abs(products))[:8]
    assert [c.index for c in unit.top_contributions()[0]] == list(strongest)
    assert unit.value == pytest.approx(float(outputs[6][11]), abs=1e-4)
    text = explained.panel.text()
    assert number(float(bias[11]), signed=True) in text and "the other 568 inputs" in text
    y, x, c = np.unravel_index(strongest[0], (3, 3, 64))
    assert f"#{strongest[0]} " in text and f"({y} {x} {c})" in text and "(conv2d_3 y x ch)" in text
    assert explained.inspector.model_input_view.unit_box() is None   # a dense unit sees everything

    explained.inspector.select_layer(5)                # flatten_1: a copy of a conv2d_3 unit
    explained.inspector.vector_view.unit_hovered.emit(64 * 4 + 2)  # y 1, x 1, channel 2
    assert explained.focus.spatial_unit() == Unit(4, 2, 1, 1)
    assert "conv2d_3</b> channel 2 at y 1, x 1" in explained.panel.text()
    assert explained.inspector.model_input_view.unit_box() == CONV2D_3_UNIT_1_1[-1]


def test_conv2d_3_unit_is_outlined_on_the_input_the_drawing_and_every_earlier_map(qtbot, explained):
    inspector = explained.inspector
    inspector.select_layer(4)                          # conv2d_3, 3×3×64
    hover_grid(explained, 9, 1, 1, click=True)
    assert explained.focus.unit() == Unit(4, 9, 1, 1) and explained.focus.is_pinned()
    box = explained.focus.receptive_field()
    assert (box.height, box.width, box.clipped) == (18, 18, False)
    assert inspector.model_input_view.unit_box() == CONV2D_3_UNIT_1_1[-1]
    scale = inspector.canvas.canvas_size / 28             # an MNIST digit fills the canvas
    drawn, label = inspector.canvas.unit_box()
    assert drawn == pytest.approx(tuple(v * scale for v in CONV2D_3_UNIT_1_1[-1]))
    assert label == "conv2d_3 (1, 1): 18×18"
    assert inspector.pipeline.unit_marks() == CONV2D_3_UNIT_1_1
    assert "<b>18×18</b>" in explained.panel.text() and "pinned" in explained.panel.text()
    grid = inspector.layer_grid                            # its own map: the unit, in channel 9 only
    assert grid.unit_marks_path().elementCount() == 5
    for layer in (3, 2, 1, 0):                             # every earlier map: the block feeding it
        inspector.select_layer(layer)
        inspector.select_channel(4)
        row0, col0, row1, col1 = CONV2D_3_UNIT_1_1[layer]
        assert inspector.channel_view.unit_mark() == QRectF(col0, row0, col1 - col0, row1 - row0), layer
        assert grid.unit_marks_path().elementCount() == 5 * grid.num_maps()  # conv2d_3 mixes all channels
        hover_grid(explained, 0, 0, 0)                     # pinned: hovering does not move the focus
        assert explained.focus.unit() == Unit(4, 9, 1, 1)


def test_pinning_releasing_and_the_enlarged_channel(qtbot, explained):
    inspector = explained.inspector
    hover_grid(explained, 2, 3, 4, click=True)
    assert explained.focus.unit() == Unit(0, 2, 3, 4) and explained.focus.is_pinned()
    inspector.select_channel(2)
    view = inspector.channel_view
    move_mouse(view.graphics_viewport(), view.pixel_centre(10, 11))
    assert explained.focus.unit() == Unit(0, 2, 3, 4)      # pinned
    assert view.unit_mark() == QRectF(4, 3, 1, 1)          # the pinned unit on the enlarged map
    move_mouse(view.graphics_viewport(), view.pixel_centre(10, 11), Qt.MouseButton.LeftButton)
    assert explained.focus.unit() == Unit(0, 2, 10, 11) and explained.focus.is_pinned()  # another click
    move_mouse(view.graphics_viewport(), view.pixel_centre(10, 11), Qt.MouseButton.LeftButton)
    assert not explained.focus.is_pinned()                 # the same unit again: let go
    move_mouse(view.graphics_viewport(), view.pixel_centre(20, 1))
    assert explained.focus.unit() == Unit(0, 2, 20, 1)     # hovering moves the focus again
    explained.focus.release()                              # Esc
    assert explained.focus.unit() is None and inspector.model_input_view.unit_box() is None
    assert inspector.canvas.unit_box() is None and inspector.pipeline.unit_marks() == {}
    assert "Hover a unit" in explained.panel.text()


def test_the_panel_follows_the_drawing(qtbot, explained, mnist, keras_outputs):
    hover_grid(explained, 0, 8, 12, click=True)          # ink under it in both digits
    before = explained.focus.explanation().pre_activation
    other = mnist.x_test[3].astype(np.float32) / 255.0
    explained.show_digit(qtbot, other)
    qtbot.waitUntil(lambda: np.array_equal(explained.focus.explanation().window[:, :, 0], other[8:11, 12:15]))
    unit = explained.focus.explanation()
    assert unit.value == pytest.approx(float(keras_outputs(other)[0][8, 12, 0]), abs=1e-4)
    assert unit.pre_activation != before and number(unit.pre_activation, signed=True) in explained.panel.text()
    explained.inspector.canvas.clear()                     # nothing drawn: the panel says what to do
    qtbot.waitUntil(lambda: "Draw a digit" in explained.panel.text())


def test_training_weights_reach_the_panel_and_its_sum_still_adds_up(qtbot, compute_client, shipped_info,
                                                                    digit_seven, small_mnist):
    """While a run trains, the panel explains with the serving copy's weights and the outputs they give."""
    from _compute import call

    from cnnviz.core.training import TrainConfig

    training = {"on": False}
    view = Explained(qtbot, compute_client, shipped_info, lambda: training["on"])
    view.show_digit(qtbot, digit_seven)
    view.inspector.select_layer(2)
    hover_grid(view, 3, 5, 5, click=True)
    start = view.focus.explanation()
    events = []
    request = compute_client.request("train", {"config": TrainConfig(epochs=50, batch_size=32, learning_rate=0.01),
                                     "from_scratch": False, "dataset": small_mnist},
                           on_reply=lambda r: events.append("done"), on_error=lambda e: events.append(e),
                           on_event=lambda kind, payload: events.append(kind))
    training["on"] = True
    view.inspector.set_training(True)
    try:
        qtbot.waitUntil(lambda: "progress" in events, timeout=120_000)
        qtbot.waitUntil(lambda: view.live._snapshot is not None and view.focus.explanation() is not None
                        and not np.allclose(view.focus.explanation().kernel, start.kernel), timeout=60_000)
        unit = view.focus.explanation()
        assert unit.pre_activation == pytest.approx(float((unit.window * unit.kernel).sum() + unit.bias), abs=1e-6)
        assert unit.value == pytest.approx(view.focus.shown_value(), abs=1e-4)   # the maps agree with it
        snapshot = view.live._snapshot
        np.testing.assert_array_equal(view.inspector.current_outputs()[2], snapshot.outputs[2])
        tiles = view.kernels.tiles(2)                      # the Kernels view follows the same weights
        np.testing.assert_array_equal(tiles.images[3][:3, :3], snapshot.weights[2][0][:, :, 0, 3])
    finally:
        compute_client.cancel(request)
        qtbot.waitUntil(lambda: "done" in events or any(not isinstance(e, str) for e in events), timeout=60_000)
        training["on"] = False
        call(qtbot, compute_client, "load_model", {"path": str(shipped_info.path)})


def test_after_a_quick_flick_the_read_out_names_the_unit_the_cursor_stopped_on(qtbot, explained):
    """Two moves within pyqtgraph's 10 ms rate limit: the second (where the cursor stops) wins."""
    grid = explained.inspector.layer_grid
    passed_over, stopped_on = grid.unit_centre(3, 5, 5), grid.unit_centre(7, 20, 14)
    for point in (passed_over, stopped_on):   # no pause between them: a flick
        QApplication.sendEvent(grid.viewport(), QMouseEvent(QEvent.Type.MouseMove, QPointF(point),
                                                            grid.viewport().mapToGlobal(QPointF(point)),
                                                            Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                            Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: explained.focus.unit() == Unit(0, 7, 20, 14), timeout=30_000)
    QApplication.processEvents()
    assert explained.focus.unit() == Unit(0, 7, 20, 14)
    assert "20" in explained.inspector.hover_text() and "14" in explained.inspector.hover_text()
