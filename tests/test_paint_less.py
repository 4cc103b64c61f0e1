"""Painting less must paint the same: the drawing canvas keeps its scaled pixels and rescales only what a
stroke touched; the pipeline overview repaints only the faces a new input changes. What is on screen (the
window's backing store, which keeps every partial repaint) is compared with an independent full rendering."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from cnnviz.testing.user_input import draw_seven, send_mouse


def on_screen(widget) -> np.ndarray:
    """What the window's backing store holds for `widget` (partial repaints included), as (H, W, 4) uint8."""
    top = widget.window()
    corner = widget.mapTo(top, QPoint(0, 0))
    pixmap = top.windowHandle().screen().grabWindow(top.winId(), corner.x(), corner.y(), widget.width(),
                                                    widget.height())
    return pixels(pixmap.toImage())


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[
        :, :image.width() * 4].reshape(image.height(), image.width(), 4).copy()


def test_the_canvas_shows_exactly_its_pixels_scaled_after_strokes_painted_piece_by_piece(qtbot):
    from cnnviz.gui.widgets.drawing_canvas import DrawingCanvas

    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(431, 410)   # the square is 410 wide, 10.5 pixels from the left: not whole pixels
    canvas.show()
    qtbot.waitExposed(canvas)
    draw_seven(canvas)
    side = min(canvas.width(), canvas.height())
    for x, y in ((0.3, 0.5), (0.7, 0.75)):   # a second stroke, a dot
        send_mouse(canvas, QEvent.Type.MouseButtonPress, QPointF(10.5 + x * side, y * side))
        send_mouse(canvas, QEvent.Type.MouseButtonRelease, QPointF(10.5 + x * side, y * side))
    QApplication.processEvents()
    shown = on_screen(canvas)
    # Independently: the canvas's own pixels, smooth-scaled once into the square it is drawn in.
    grey = np.round(canvas.image() * 255).astype(np.uint8)
    source = QImage(grey.data, grey.shape[1], grey.shape[0], grey.strides[0], QImage.Format.Format_Grayscale8)
    expected = QImage(canvas.size(), QImage.Format.Format_RGBA8888)
    expected.fill(0)
    painter = QPainter(expected)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    left = round((canvas.width() - side) / 2)
    painter.drawImage(QRectF(left, 0, side, side), source)
    painter.end()
    inside = (slice(2, side - 2), slice(left + 2, left + side - 2))   # the frame drawn around it aside
    difference = np.abs(shown[inside][..., :3].astype(int) - pixels(expected)[inside][..., :3].astype(int))
    # (the same scaling; grey to RGB rounds a level or so differently in Qt's two paths)
    assert grey.max() == 255 and difference.max() <= 4 and (difference.max(axis=2) > 1).mean() < 0.01
    assert (shown[inside][..., 0] > 128).sum() > 1000   # the strokes are there
    whole = DrawingCanvas()   # the same pixels given at once: scaled in one piece
    qtbot.addWidget(whole)
    whole.resize(canvas.size())
    whole.show()
    qtbot.waitExposed(whole)
    whole.set_image(canvas.image())
    QApplication.processEvents()
    assert np.abs(on_screen(whole).astype(int) - shown.astype(int)).max() <= 1


def test_the_overview_repaints_new_faces_only_and_shows_what_a_full_repaint_shows(capability_window, qtbot,
                                                                                   shipped_info, mnist):
    window = capability_window("export")
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    window.show_model(shipped_info)
    inspector, overview = window.inspector, window.inspector.pipeline
    for index in (0, 1):
        digit = mnist.x_test[index].astype(np.float32) / 255
        inspector.show_input(digit)
        qtbot.waitUntil(lambda: inspector.current_outputs() is not None
                        and np.array_equal(inspector.current_input(), digit), timeout=60_000)
        QApplication.processEvents()
    regions = []
    original = overview.paintEvent

    def recording(event):
        regions.append(event.region().boundingRect())
        original(event)

    overview.paintEvent = recording
    digit = mnist.x_test[2].astype(np.float32) / 255
    inspector.show_input(digit)
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None
                    and np.array_equal(inspector.current_input(), digit), timeout=60_000)
    qtbot.waitUntil(lambda: bool(regions), timeout=30_000)
    QApplication.processEvents()
    overview.paintEvent = original
    assert all(rect.height() < overview.height() - 20 for rect in regions)   # the labels were left alone
    np.testing.assert_array_equal(on_screen(overview), pixels(overview.grab().toImage()))
