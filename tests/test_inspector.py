"""The InspectorWidget on the real compute process: what it shows equals the model's layer outputs;
drawing, layers, channels, outputs pushed while training."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt

from cnnviz.core.colormaps import channel_levels, colorize
from cnnviz.core.preprocess import fit_into_square
from cnnviz.gui.inspector.inspector_widget import InspectorWidget
from cnnviz.testing.user_input import send_hover


@pytest.fixture
def inspector(qtbot, compute_client, shipped_info):
    widget = InspectorWidget(client=compute_client)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_model(shipped_info)
    return widget


@pytest.fixture(scope="module")
def layer_outputs_of(shipped_model):
    """Every layer's output for one image by an independent Keras feature extractor."""
    import keras

    extractor = keras.Model(inputs=shipped_model.inputs, outputs=[layer.output for layer in shipped_model.layers])

    def outputs(image):
        return [np.asarray(o)[0] for o in extractor([image[None, :, :, None].astype(np.float32)], training=False)]

    return outputs


def show_digit(qtbot, widget, digit):
    """Put `digit` (28×28) on the canvas as an exact model input and wait for the views to update."""
    widget.canvas.set_image(fit_into_square(digit, widget.canvas.canvas_size, margin=0), exact_input=digit)
    qtbot.waitUntil(lambda: widget.current_outputs() is not None and widget.current_input() is not None)


def draw_stroke(qtbot, canvas, points):
    """A left-button drag through `points` (widget coordinates) with qtbot mouse events."""
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, QPoint(*point))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[-1]))


def one_stroke(canvas):
    """A vertical bar in the middle of the canvas, as widget coordinates: a "1"."""
    side = min(canvas.width(), canvas.height())
    left, top = (canvas.width() - side) // 2, (canvas.height() - side) // 2
    return [(left + side // 2, top + int(side * f)) for f in np.linspace(0.15, 0.85, 12)]


def test_maps_shown_equal_the_layer_outputs(qtbot, inspector, digit_seven, layer_outputs_of):
    show_digit(qtbot, inspector, digit_seven)
    expected = layer_outputs_of(digit_seven)
    np.testing.assert_array_equal(inspector.current_input(), digit_seven)
    for layer, output in enumerate(expected):
        inspector.select_layer(layer)
        if output.ndim == 3:
            grid = inspector.layer_grid
            shown = grid.maps()
            assert shown.dtype == np.float32 and shown.flags.c_contiguous
            np.testing.assert_array_equal(grid.image_item().image, grid.mosaic())
            levels = channel_levels(output, inspector.normalisation())
            np.testing.assert_allclose(shown, np.moveaxis(output, -1, 0), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(grid.levels(), levels, rtol=1e-4, atol=1e-5)
            for channel in range(output.shape[2]):
                # the pixels on screen are the model's values through the shared colormap code
                expected_rgb = colorize(shown[channel], *grid.levels()[channel], inspector.colormap())
                np.testing.assert_array_equal(grid.cell_pixels(channel), expected_rgb)
        else:
            np.testing.assert_allclose(inspector.vector_view.values(), output, rtol=1e-4, atol=1e-5)
    assert inspector.top_guess.guess()[0] == 7
    np.testing.assert_allclose(inspector.prediction_bars.probabilities(), expected[-1], rtol=1e-4, atol=1e-6)


def test_layer_normalisation_gives_every_map_the_layer_range(qtbot, inspector, digit_seven):
    show_digit(qtbot, inspector, digit_seven)
    inspector.views.normalisation_box.setCurrentIndex(1)
    assert inspector.normalisation() == "layer"
    maps = inspector.current_outputs()[0]
    for low, high in inspector.layer_grid.levels():
        assert (low, high) == pytest.approx((maps.min(), maps.max()), rel=1e-5)


def test_layer_switching_by_click_and_arrow_keys(qtbot, inspector, digit_seven):
    show_digit(qtbot, inspector, digit_seven)
    rect = inspector.pipeline.block_rect(2)
    qtbot.mouseClick(inspector.pipeline, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert inspector.current_layer() == 2
    assert inspector.layer_grid.maps().shape == (64, 11, 11)
    assert inspector.layer_grid.cell_pixels(63).shape == (11, 11, 3)

    inspector.activateWindow()
    qtbot.waitActive(inspector)
    qtbot.keyClick(inspector, Qt.Key.Key_Right)
    assert inspector.current_layer() == 3
    qtbot.keyClick(inspector, Qt.Key.Key_Left)
    qtbot.keyClick(inspector, Qt.Key.Key_Left)
    assert inspector.current_layer() == 1
    for _ in range(12):
        qtbot.keyClick(inspector, Qt.Key.Key_Right)
    assert inspector.current_layer() == len(inspector.layer_names()) - 1 == 7
    assert inspector.current_channel() is None
    np.testing.assert_allclose(inspector.vector_view.values(), inspector.current_outputs()[7])


def test_clicking_a_map_enlarges_that_channel(qtbot, inspector, digit_seven):
    show_digit(qtbot, inspector, digit_seven)
    grid = inspector.layer_grid
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.cell_centre(13))
    assert inspector.current_channel() == 13
    shown = inspector.channel_view.image_item().image
    np.testing.assert_allclose(shown, inspector.current_outputs()[0][:, :, 13])
    assert "channel <b>13</b> of 32" in inspector.channel_view.title()
    view = inspector.channel_view
    send_hover(view.graphics_viewport(), QPointF(view.pixel_centre(20, 5)))   # the mouse over pixel x 5, y 20
    assert view.readout() == f"x 5, y 20:  <b>{shown[20, 5]:.4f}</b>"


def test_drawing_gives_a_live_prediction(qtbot, inspector):
    assert inspector.current_input() is None and inspector.top_guess.guess() is None
    inputs = []
    inspector.input_changed.connect(inputs.append)
    draw_stroke(qtbot, inspector.canvas, one_stroke(inspector.canvas))
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None)
    model_input = inspector.current_input()
    assert model_input.shape == (28, 28) and model_input.max() == pytest.approx(1.0)
    assert inputs and inputs[-1] is model_input
    probabilities = inspector.prediction_bars.probabilities()
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert inspector.top_guess.guess()[0] == 1
    assert inspector.current_source_image().shape == (280, 280)
    np.testing.assert_array_equal(inspector.model_input_view.image(), model_input)


def test_clear_and_undo(qtbot, inspector):
    draw_stroke(qtbot, inspector.canvas, one_stroke(inspector.canvas))
    qtbot.waitUntil(lambda: inspector.current_input() is not None)
    drawn = inspector.current_input().copy()
    clear, undo = inspector.input_actions()[:2]
    assert clear.shortcut().toString() == "Del" and undo.shortcut().toString() == "Ctrl+Z"
    clear.trigger()
    qtbot.waitUntil(lambda: inspector.current_input() is None)
    assert inspector.current_outputs() is None and inspector.top_guess.guess() is None
    undo.trigger()
    qtbot.waitUntil(lambda: inspector.current_input() is not None)
    np.testing.assert_array_equal(inspector.current_input(), drawn)
    undo.trigger()  # takes back the stroke itself
    qtbot.waitUntil(lambda: inspector.current_input() is None)
    assert inspector.canvas.is_empty()


def test_pushed_activations_show_only_for_the_current_input(qtbot, inspector, shipped_probe, digit_seven):
    """While training, the compute process pushes outputs for the input it last probed."""
    inspector.set_training(True)
    assert not inspector.input_actions()[-1].isEnabled()  # no "misclassified" while the model changes
    show_digit(qtbot, inspector, digit_seven)
    other = np.zeros((28, 28), np.float32)
    other[4:24, 13:15] = 1.0
    pushed = shipped_probe(other)
    inspector.show_activations(pushed, other)  # for an input the user no longer shows: ignored
    np.testing.assert_allclose(inspector.current_outputs()[-1], shipped_probe(digit_seven)[-1], atol=1e-5)
    pushed = [output * 0 + 0.25 for output in shipped_probe(digit_seven)]  # as if the weights had changed
    inspector.show_activations(pushed, digit_seven.copy())
    np.testing.assert_array_equal(inspector.current_outputs()[0], pushed[0])
    np.testing.assert_array_equal(inspector.layer_grid.maps()[5], pushed[0][:, :, 5])
    inspector.set_training(False)  # the model changed: ask again
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None
                    and inspector.current_outputs()[0].max() != pytest.approx(0.25))
    assert inspector.input_actions()[-1].isEnabled()


def test_a_stroke_costs_few_forward_passes(qtbot, inspector, compute_client, monkeypatch):
    """At most one probe is in flight; the moves of a stroke that arrive meanwhile collapse into one."""
    sent = []
    request = compute_client.request
    monkeypatch.setattr(compute_client, "request",
                        lambda method, *a, **k: sent.append(method) or request(method, *a, **k))
    draw_stroke(qtbot, inspector.canvas, one_stroke(inspector.canvas))
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None)
    np.testing.assert_array_equal(inspector.current_input(), inspector.current_input())
    assert 1 <= sent.count("probe") <= 12


def test_waiting_for_the_model(qtbot):
    widget = InspectorWidget()
    qtbot.addWidget(widget)
    widget.set_model(None)
    assert widget.layer_names()[0] == "conv2d_1" and len(widget.layer_names()) == 8
    assert widget.layer_kinds()[:2] == ["Conv2D", "MaxPooling2D"]
    assert widget.current_outputs() is None


def test_unreadable_image_keeps_the_canvas(qtbot, inspector, tmp_path, digit_seven):
    show_digit(qtbot, inspector, digit_seven)
    before = inspector.canvas.image()
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    inspector.hide()  # no modal message box in a test
    with qtbot.waitSignal(inspector.status_message) as message:
        assert inspector.open_image(bad) is False
    assert "bad.png is not a readable image" in message.args[0]
    np.testing.assert_array_equal(inspector.canvas.image(), before)


def test_open_image_and_test_digit(qtbot, inspector, tmp_path, mnist):
    from _png import write_png

    path = write_png(tmp_path / "three.png", 255 - np.kron(mnist.x_test[18], np.ones((5, 5), np.uint8)))
    assert mnist.y_test[18] == 3
    assert inspector.open_image(path)
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None)
    assert inspector.top_guess.guess()[0] == 3
    assert inspector.show_test_digit(1)
    qtbot.waitUntil(lambda: inspector.current_input() is not None and inspector.canvas.exact_input() is not None)
    qtbot.waitUntil(lambda: np.array_equal(inspector.current_input(), mnist.x_test[1] / np.float32(255)))
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None)
    assert inspector.top_guess.guess()[0] == mnist.y_test[1]


def test_export_menu_emits_requests(qtbot, inspector, digit_seven):
    show_digit(qtbot, inspector, digit_seven)
    inspector.select_channel(4)
    menu = inspector.export_menu(4)
    texts = [action.text() for action in menu.actions()]
    assert texts == ["Export channel 4…", "Export layer conv2d_1…", "Export all layers…"]
    requests = []
    inspector.export_requested.connect(lambda *args: requests.append(args))
    for action in menu.actions():
        action.trigger()
    assert requests == [("channel", 0, 4), ("layer", 0, -1), ("all", 0, -1)]


def test_settings_round_trip(qtbot, inspector, tmp_path):
    inspector.views.colormap_box.setCurrentText("magma")
    inspector.views.normalisation_box.setCurrentIndex(1)
    inspector.select_layer(4)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    inspector.save_settings(settings)
    other = InspectorWidget()
    qtbot.addWidget(other)
    other.restore_settings(settings)
    assert (other.colormap(), other.normalisation(), other.current_layer()) == ("magma", "layer", 4)
    view_texts = [action.text() for action in other.view_actions()]
    assert view_texts[:2] == ["Previous layer", "Next layer"]


def test_misclassified_test_digit(qtbot, inspector, mnist):
    """The compute process finds the model's mistakes; the digit shown is one it gets wrong."""
    said = []
    inspector.status_message.connect(said.append)
    inspector.input_sources.misclassified_action.trigger()
    qtbot.waitUntil(lambda: inspector.canvas.exact_input() is not None, timeout=60_000)
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None)
    shown = inspector.current_input()
    index = int(np.flatnonzero((mnist.x_test / np.float32(255) == shown).all(axis=(1, 2)))[0])
    assert inspector.top_guess.guess()[0] != mnist.y_test[index]
    qtbot.waitUntil(lambda: any("the model says" in text for text in said))
    assert f"#{index}: labelled {mnist.y_test[index]}, the model says {inspector.top_guess.guess()[0]}" in said[-1]


def test_cli_and_app_read_an_image_the_same_way(qtbot, inspector, tmp_path, mnist):
    """`cnnviz predict` places an image on a canvas-sized square first, as the app does."""
    from _png import write_png

    from cnnviz.core.images import read_image
    from cnnviz.core.preprocess import image_on_canvas, model_input

    path = write_png(tmp_path / "digit.png", 255 - np.kron(mnist.x_test[7], np.ones((9, 9), np.uint8)))
    assert inspector.open_image(path)
    qtbot.waitUntil(lambda: inspector.current_input() is not None)
    np.testing.assert_allclose(inspector.current_input(), model_input(image_on_canvas(read_image(path))), atol=1 / 255)
