"""What the user sees after opening a picture: the canvas overlay and the invert/threshold widget."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from cnnviz.core.digit_styles import enlarged, on_paper, render
from cnnviz.core.images import digit_model_input, read_digit
from cnnviz.core.ink import find_ink
from cnnviz.gui.widgets.drawing_canvas import OUTLINE_COLOUR, DrawingCanvas
from cnnviz.gui.inspector.image_adjust import ImageAdjust


@pytest.fixture
def adjust(qtbot):
    """A canvas with the adjust widget under it, shown (as in the inspector's left panel)."""
    panel = QWidget()
    layout = QVBoxLayout(panel)
    canvas = DrawingCanvas()
    widget = ImageAdjust(canvas)
    layout.addWidget(canvas, 1)
    layout.addWidget(widget)
    qtbot.addWidget(panel)
    panel.resize(300, 400)
    panel.show()
    qtbot.waitExposed(panel)
    yield widget, canvas   # (the fixture holds `panel`, which owns both)


@pytest.fixture
def photo_of_seven(mnist) -> np.ndarray:
    """Test digit 0 (a 7) as a photo of paper (gradient, grain; the style of the benchmark), grey floats."""
    return render("photo", mnist.x_test[0], 1) / np.float32(255)


def two_digits(mnist) -> np.ndarray:
    """A small 2 on the left and a large 7 on the right, dark on light, grey floats."""
    small = np.pad(enlarged(mnist.x_test[1], 2), 4)
    large = np.pad(enlarged(mnist.x_test[0]), 4)
    row = np.zeros((large.shape[0], small.shape[1] + 40 + large.shape[1]), np.uint8)
    row[:small.shape[0], :small.shape[1]] = small
    row[:, -large.shape[1]:] = large
    return on_paper(row) / np.float32(255)


def canvas_point(canvas: DrawingCanvas, row: float, col: float) -> QPoint:
    """Widget coordinates of canvas pixel (row, col)."""
    side = min(canvas.width(), canvas.height())
    scale = side / canvas.canvas_size
    return QPoint(int((canvas.width() - side) / 2 + col * scale), int((canvas.height() - side) / 2 + row * scale))


def rendered(widget) -> np.ndarray:
    """The widget as it paints itself, (H, W, 3) uint8."""
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def test_opening_shows_the_picture_with_the_ink_outlined(qtbot, adjust, photo_of_seven):
    widget, canvas = adjust
    with qtbot.waitSignal(widget.status_message) as message:
        reading = widget.open_picture(photo_of_seven, "seven.jpg")
    assert widget.isVisible() and reading.found and reading.inverted
    assert "Opened seven.jpg" in message.args[0] and "dark ink on light paper" in message.args[0]
    overlay = canvas.overlay()
    assert overlay is not None and overlay.chosen == 0 and len(overlay.boxes) == 1
    # the outline rings the ink: it lies inside the box used, and the box holds the digit
    rows, cols = np.nonzero(overlay.outline)
    top, left, bottom, right = overlay.boxes[0]
    assert rows.size > 100
    assert top - 2 <= rows.min() and rows.max() <= bottom + 2 and left - 2 <= cols.min() and cols.max() <= right + 2
    # the canvas paints the picture (grey paper), the outline colour and not its own black pixels
    pixels = rendered(canvas)
    outline = np.array([OUTLINE_COLOUR.red(), OUTLINE_COLOUR.green(), OUTLINE_COLOUR.blue()])
    assert (np.abs(pixels.astype(int) - outline).sum(axis=2) < 40).sum() > 50
    assert np.median(pixels) > 120
    # the model input is the command line's for the same picture
    np.testing.assert_array_equal(canvas.exact_input(), digit_model_input(read_digit(photo_of_seven)))


def test_invert_threshold_and_auto(qtbot, adjust, photo_of_seven):
    widget, canvas = adjust
    auto = widget.open_picture(photo_of_seven)
    assert not widget.auto_button.isEnabled()
    assert widget.threshold_label.text().endswith("auto")
    assert widget.threshold_slider.value() == round(auto.threshold * 100)

    qtbot.mouseClick(widget.invert_button, Qt.MouseButton.LeftButton)
    assert widget.reading().inverted is False
    assert widget.auto_button.isEnabled()

    qtbot.mouseClick(widget.auto_button, Qt.MouseButton.LeftButton)
    assert widget.reading().inverted is True and widget.reading().threshold == auto.threshold

    with qtbot.waitSignal(widget.reading_changed):
        widget.threshold_slider.setValue(80)
    strict = widget.reading()
    assert strict.threshold == pytest.approx(0.8) and strict.mask.sum() < auto.mask.sum()
    assert widget.threshold_label.text() == "80%"
    expected = find_ink(photo_of_seven, threshold=0.8)
    np.testing.assert_array_equal(strict.mask, expected.mask)
    np.testing.assert_array_equal(canvas.exact_input(), digit_model_input(expected))


def test_several_digits_say_so_and_a_click_reads_another(qtbot, adjust, mnist):
    widget, canvas = adjust
    picture = two_digits(mnist)
    reading = widget.open_picture(picture, "two.png")
    assert len(reading.components) == 2 and reading.chosen == 0
    assert "2 separate marks, using the largest" in widget.summary.text()
    assert "Click another box" in widget.summary.text()
    first_input = canvas.exact_input().copy()
    top, left, bottom, right = canvas.overlay().boxes[1]
    with qtbot.waitSignal(widget.reading_changed):
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton,
                         pos=canvas_point(canvas, (top + bottom) / 2, (left + right) / 2))
    assert widget.reading().chosen == 1 and canvas.overlay().chosen == 1
    assert "using mark 2" in widget.summary.text()
    assert not np.array_equal(canvas.exact_input(), first_input)
    np.testing.assert_array_equal(canvas.exact_input(), digit_model_input(find_ink(picture, component=1)))


def test_drawing_drops_the_picture_and_the_controls(qtbot, adjust, photo_of_seven):
    widget, canvas = adjust
    widget.open_picture(photo_of_seven)
    with qtbot.waitSignal(canvas.overlay_changed):
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, 5, 5))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, 5, 5))
    assert canvas.overlay() is None and canvas.exact_input() is None
    assert not widget.isVisible()
    # what the user draws on is the digit that was read, white on black
    assert canvas.image().max() > 0.9 and np.median(canvas.image()) == 0


@pytest.mark.parametrize("picture, words", [
    (np.full((80, 120), 0.93, np.float32), "blank"),
    (np.pad(np.full((2, 2), 0.1, np.float32), ((40, 300), (50, 350)), constant_values=0.93), "specks"),
])
def test_blank_and_near_blank_pictures_say_so(qtbot, adjust, picture, words):
    widget, canvas = adjust
    with qtbot.waitSignal(widget.status_message) as message:
        reading = widget.open_picture(picture, "empty.png")
    assert not reading.found and words in message.args[0]
    assert canvas.exact_input() is None and not canvas.image().any()
    assert canvas.overlay() is not None and not canvas.overlay().outline.any()


def test_inspector_open_image_uses_the_widget(qtbot, tmp_path, mnist):
    """Open… and drag-and-drop go through `open_image`: the picture, the reading, the same model input."""
    from _png import write_png

    from cnnviz.gui.inspector.inspector_widget import InspectorWidget

    inspector = InspectorWidget()
    qtbot.addWidget(inspector)
    inspector.resize(900, 700)
    inspector.show()
    path = write_png(tmp_path / "photo.png", render("ruled", mnist.x_test[3], 2))
    with qtbot.waitSignal(inspector.status_message) as message:
        assert inspector.open_image(path)
    assert "photo.png" in message.args[0]
    assert inspector.image_adjust.isVisible() and inspector.canvas.overlay() is not None
    qtbot.waitUntil(lambda: inspector.current_input() is not None)
    np.testing.assert_array_equal(inspector.current_input(), digit_model_input(read_digit(path)))


def test_adjusting_is_one_undo_step(qtbot, adjust, photo_of_seven, digit_seven):
    """Opening a picture is undoable; re-reading it (slider, invert) replaces it in place."""
    from cnnviz.core.preprocess import fit_into_square

    widget, canvas = adjust
    canvas.set_image(fit_into_square(digit_seven, canvas.canvas_size), exact_input=digit_seven)
    before = canvas.image()
    widget.open_picture(photo_of_seven)
    for value in (50, 60, 70):
        widget.set_overrides(threshold=value / 100)
    widget.set_overrides(invert=False)
    assert canvas.undo()
    np.testing.assert_array_equal(canvas.image(), before)
    np.testing.assert_array_equal(canvas.exact_input(), digit_seven)
    assert canvas.overlay() is None and not widget.isVisible()
