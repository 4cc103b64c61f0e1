"""Issue 11 in the app: the Grad-CAM overlay, the occlusion panel, the Patterns view with cancel, the top test
digits, against the core computed here independently (the window's numbers come from the compute process)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from _compute import call
from test_polish_gui import window  # noqa: F401 (the fixture: a shown 1280×800 main window, the shipped model)

WAIT_MS = 120_000


@pytest.fixture(autouse=True)
def filters_back_on(qtbot, compute_client):
    """After each test (and its window), every filter on again: the compute process is shared."""
    yield
    call(qtbot, compute_client, "set_ablation", {"off": {}})


@pytest.fixture
def feature(window):
    return window.capabilities["attribution"]


def rgba_pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, :4 * image.width()].reshape(image.height(), image.width(), 4).copy()


def show_digit(qtbot, window, index: int) -> None:
    window.inspector.show_test_digit(index)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=WAIT_MS)


def draw_seven(canvas) -> None:
    """One stroke of a 7 as mouse events (the autotest's shape)."""
    from cnnviz.testing.user_input import SEVEN, send_mouse

    side = min(canvas.width(), canvas.height())
    origin = QPointF((canvas.width() - side) / 2, (canvas.height() - side) / 2)
    points = [origin + QPointF(x * side, y * side) for x, y in SEVEN]
    send_mouse(canvas, QEvent.Type.MouseButtonPress, points[0])
    for point in points[1:]:
        send_mouse(canvas, QEvent.Type.MouseMove, point)
        QApplication.processEvents()
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1])


def test_gradcam_overlay_is_the_cores_map_on_the_input_and_the_drawing(window, feature, qtbot, shipped_model,
                                                                       digit_seven):
    from cnnviz.core.gradcam import GradCam, overlay

    inspector, cam = window.inspector, feature.overlay
    show_digit(qtbot, window, 0)
    menu = feature.menu
    assert menu.overlay_action.shortcut().toString() == "Ctrl+G" and menu.overlay_action in window.actions()
    menu.overlay_action.trigger()
    qtbot.waitUntil(lambda: inspector.model_input_view.heat_overlay() is not None, timeout=WAIT_MS)
    expected = GradCam(shipped_model, "conv2d_3")(digit_seven)
    np.testing.assert_allclose(cam.result().heatmap, expected.heatmap, rtol=1e-4, atol=1e-6)
    assert cam.label() == "why 7?"
    # The model input view's overlay blends over the input exactly as the command line's picture does.
    heat = rgba_pixels(inspector.model_input_view.heat_overlay()).astype(np.float32)
    base = np.repeat(np.repeat(digit_seven, 4, axis=0), 4, axis=1)[..., None] * 255
    alpha = heat[..., 3:] / 255
    blended = (1 - alpha) * base + alpha * heat[..., :3]
    assert np.abs(blended - overlay(digit_seven, expected.heatmap, scale=4)).max() <= 2
    # On the canvas: a test digit fills it (the exact mapping), labelled with what it explains.
    picture, box, label = inspector.canvas.heat_overlay()
    assert box == (0.0, 0.0, 280.0, 280.0) and label == "why 7?  ·  Grad-CAM at conv2d_3"

    [three] = [a for a in menu.class_group.actions() if a.data() == 3]
    three.trigger()
    qtbot.waitUntil(lambda: cam.result() is not None and cam.result().class_index == 3, timeout=WAIT_MS)
    np.testing.assert_allclose(cam.result().heatmap, GradCam(shipped_model, "conv2d_3")(digit_seven, 3).heatmap,
                               rtol=1e-4, atol=1e-6)
    assert cam.label() == "why 3? (the model says 7)"
    [layer_two] = [a for a in menu.layer_group.actions() if a.data() == "conv2d_2"]
    layer_two.trigger()
    qtbot.waitUntil(lambda: cam.result() is not None and cam.result().layer == "conv2d_2", timeout=WAIT_MS)
    assert cam.result().heatmap.shape == (11, 11)

    # A drawn digit: the overlay lands where the 28×28 field lies on the strokes.
    inspector.canvas.clear()
    draw_seven(inspector.canvas)
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None and cam.result() is not None
                    and not cam.busy(), timeout=WAIT_MS)
    _, box, _ = inspector.canvas.heat_overlay()
    assert box == pytest.approx(inspector.current_input_mapping().box_to_source(0, 0, 28, 28))
    assert box != (0.0, 0.0, 280.0, 280.0)
    np.testing.assert_allclose(cam.result().heatmap,
                               GradCam(shipped_model, "conv2d_2")(inspector.current_input(), 3).heatmap,
                               rtol=1e-4, atol=1e-5)
    menu.overlay_action.trigger()   # off
    assert inspector.canvas.heat_overlay() is None and inspector.model_input_view.heat_overlay() is None


def test_occlusion_panel_maps_the_drop_with_the_users_patch(window, feature, qtbot, shipped_model, digit_seven):
    from cnnviz.core.occlusion import occlusion_map

    show_digit(qtbot, window, 0)
    feature.menu.panel_action.trigger()
    assert feature.dock.isVisible()
    qtbot.waitUntil(lambda: feature.occlusion.result() is not None, timeout=WAIT_MS)
    expected = occlusion_map(shipped_model, digit_seven)
    np.testing.assert_allclose(feature.occlusion.result().pixel_map, expected.pixel_map, atol=1e-5)
    assert feature.panel.occlusion_picture.has_heat() and "drop of P(7)" in feature.panel.occlusion_caption.text()
    from cnnviz.gui.attribution.where_it_looks import BLUNT_DROP, percent

    caption, peak = feature.panel.occlusion_caption.text(), float(expected.pixel_map.max())
    assert f"up to {percent(peak)} (6 px grey patch)" in caption
    assert ("too sure" in caption) == (peak < BLUNT_DROP)   # a blunt map is said to be blunt
    assert [percent(x) for x in (0.123, 0.0123, 0.00034, 0.0)] == ["12 %", "1.2 %", "0.034 %", "0 %"]
    qtbot.waitUntil(lambda: feature.panel.gradcam_picture.has_heat(), timeout=WAIT_MS)   # computed for the panel
    feature.panel.patch_box.setValue(4)
    feature.panel.fill_box.setCurrentIndex(feature.panel.fill_box.findData("black"))
    feature.panel.fill_box.activated.emit(feature.panel.fill_box.currentIndex())
    qtbot.waitUntil(lambda: feature.occlusion.result().patch == 4 and feature.occlusion.result().fill == 0.0,
                    timeout=WAIT_MS)
    np.testing.assert_allclose(feature.occlusion.result().pixel_map,
                               occlusion_map(shipped_model, digit_seven, None, 4, 2, 0.0).pixel_map, atol=1e-5)


def test_patterns_mode_shows_progress_cancels_and_then_the_patterns(window, feature, qtbot, shipped_model):
    from cnnviz.core.filter_patterns import PatternSettings, filter_patterns

    inspector, patterns = window.inspector, feature.patterns
    patterns.use_cache = False
    patterns.steps = 3000   # long enough to cancel
    inspector.select_layer(0)
    inspector.layer_modes.set_current("patterns")
    progress = patterns.progress_widget()
    assert inspector.layer_view() is progress
    qtbot.waitUntil(lambda: progress.is_running() and progress.fraction() > 0, timeout=WAIT_MS)
    assert "32 filters of conv2d_1" in progress.label.text()
    progress.cancel_button.click()
    qtbot.waitUntil(lambda: not progress.is_running(), timeout=WAIT_MS)
    assert "cancelled" in progress.label.text() and progress.start_button.text() == "Try again"
    assert inspector.current_layer_mode() == "patterns" and patterns.patterns("conv2d_1") is None

    patterns.steps = 6
    progress.start_button.click()
    qtbot.waitUntil(lambda: inspector.layer_view() is inspector.layer_grid, timeout=WAIT_MS)
    expected = filter_patterns(shipped_model, "conv2d_1", PatternSettings(steps=6), use_cache=False)
    np.testing.assert_allclose(inspector.layer_grid.maps(), expected, atol=1e-4)
    inspector.select_channel(7)
    show_digit(qtbot, window, 0)   # the side panel (and the filter's view) show with an input
    view = feature.filter_view
    assert view.isVisible() and view.pattern.count() == 1 and "channel <b>7</b>" in view.title.text()
    inspector.layer_grid.channel_hovered.emit(7, 3, 2)   # the cursor over pixel (2, 3) of tile 7
    assert "filter 7's pattern" in inspector.hover_text()


def test_top_digits_of_a_filter_open_in_the_inspector(window, feature, qtbot, shipped_probe, mnist):
    inspector, view = window.inspector, feature.filter_view
    feature.top_digits.use_cache = False
    show_digit(qtbot, window, 0)
    inspector.select_layer(2)
    inspector.select_channel(5)
    assert view.progress.start_button.text() == "Find the top test digits"
    view.progress.start_button.click()
    qtbot.waitUntil(lambda: view.shown() is not None, timeout=WAIT_MS)
    top = view.shown()
    assert view.digits.count() == 9 and view.patches.count() == 9 and top.patches.shape == (9, 8, 8)
    best = mnist.x_test[top.indices[0]].astype(np.float32) / 255
    assert shipped_probe(best)[2][..., 5].max() == pytest.approx(top.values[0], rel=1e-4)
    position = view.digits.cell_rect(4).center()
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.mouseClick(view.digits, Qt.MouseButton.LeftButton, pos=position.toPoint())
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None
                    and np.array_equal(inspector.current_input(), mnist.x_test[top.indices[4]] / np.float32(255)),
                    timeout=WAIT_MS)
    inspector.select_channel(6)   # another channel: at once, from the same pass
    assert view.shown().channel == 6 and view.shown().layer == "conv2d_2"


def test_switching_filters_off_equals_the_cores_ablated_pass_and_is_marked(window, feature, qtbot, shipped_model,
                                                                          digit_seven):
    from cnnviz.core.ablation import AblatedProbe
    from cnnviz.core.activations import ActivationProbe

    inspector, ablation = window.inspector, feature.ablation
    show_digit(qtbot, window, 0)
    menu = inspector.export_menu(5)
    [entry] = [a for a in menu.actions() if a.text() == "Switch this filter off (conv2d_1 channel 5)"]
    shown = []
    inspector.outputs_shown.connect(lambda: shown.append(inspector.current_outputs()))
    entry.trigger()
    # the maps shown once the switched-off filter is in force (a repaint of the maps already asked for may come
    # first): its map is all zeros
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] is not None and not np.any(shown[-1][0][..., 5]),
                    timeout=WAIT_MS)
    expected = AblatedProbe(shipped_model)(digit_seven, {"conv2d_1": [5]})
    for ours, theirs in zip(inspector.current_outputs(), expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert not inspector.current_outputs()[0][..., 5].any()
    assert inspector.layer_grid.marked() == {5}
    assert feature.ablation_panel.entries() == ["conv2d_1 · filter 5"] and feature.ablation_dock.isVisible()
    assert [a.text() for a in inspector.export_menu(5).actions() if "back on" in a.text()] == \
        ["Switch filter 5 back on", "Switch all filters back on"]
    inspector.select_layer(2)                       # the marks are per layer
    assert inspector.layer_grid.marked() == frozenset()

    # Keep only conv2d_2's 5 strongest channels, and a test digit goes through the same pass.
    shown.clear()
    ablation.keep_top("conv2d_2", 5)
    show_digit(qtbot, window, 1)
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] is not None and
                    np.count_nonzero(inspector.current_outputs()[2].max(axis=(0, 1))) <= 5, timeout=WAIT_MS)
    image = inspector.current_input()
    expected = AblatedProbe(shipped_model)(image, {"conv2d_1": [5]}, {"conv2d_2": 5})
    np.testing.assert_allclose(inspector.current_outputs()[-1], expected[-1], rtol=1e-4, atol=1e-6)
    assert feature.ablation_panel.entries() == ["conv2d_1 · filter 5", "conv2d_2 · only its 5 strongest channels"]

    shown.clear()
    feature.ablation_panel.all_on_button.click()
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] is not None, timeout=WAIT_MS)
    for ours, theirs in zip(inspector.current_outputs(), ActivationProbe(shipped_model)(image), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert feature.ablation_panel.entries() == [] and not feature.menu.all_on_action.isEnabled()
