"""A square canvas to draw a digit on with the mouse or a pen: white ink on black, like MNIST.

After an image is opened, the canvas shows the picture itself with what the reader found drawn
over it (a `PictureOverlay`): the ink it detected outlined, the box it used, and the other marks
it found, which the user can click to read instead. Drawing, clearing or undoing leaves the
picture and shows the canvas's own pixels again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.core.preprocess import CANVAS_SIZE
from cnnviz.gui.widgets.view_colours import FIELD

DEFAULT_BRUSH_WIDTH = 22
PLACEHOLDER = "Draw a digit here\nwith the mouse or a pen"
MAX_UNDO = 50
OUTLINE_COLOUR = QColor(40, 230, 110)
BOX_COLOUR = QColor(255, 170, 40)
OTHER_BOX_COLOUR = QColor(120, 170, 255)


@dataclass(frozen=True)
class PictureOverlay:
    """An opened picture and what was read in it, in canvas pixels (the canvas is size×size).

    `picture` is (size, size) uint8 grey (or (size, size, 3) RGB for colour models); `outline` is
    (size, size) bool, the ring just outside the detected ink; `boxes` are (top, left, bottom, right)
    of every mark found, `chosen` the one used.
    """

    picture: np.ndarray
    outline: np.ndarray
    boxes: tuple[tuple[float, float, float, float], ...]
    chosen: int | None


def _grey_image(pixels: np.ndarray) -> QImage:
    """(H, W) uint8 -> an owned Grayscale8 QImage; (H, W, 3) uint8 (a colour picture) -> RGB888."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    kind = QImage.Format.Format_RGB888 if pixels.ndim == 3 else QImage.Format.Format_Grayscale8
    return QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0], kind).copy()


def _outline_image(outline: np.ndarray) -> QImage:
    """(H, W) bool -> an ARGB32 QImage, OUTLINE_COLOUR where set, transparent elsewhere."""
    argb = np.zeros(outline.shape, np.uint32)
    argb[outline] = 0xFF000000 | (OUTLINE_COLOUR.red() << 16) | (OUTLINE_COLOUR.green() << 8) | OUTLINE_COLOUR.blue()
    argb = np.ascontiguousarray(argb)
    return QImage(argb.data, argb.shape[1], argb.shape[0], argb.strides[0], QImage.Format.Format_ARGB32).copy()


class DrawingCanvas(QWidget):
    """Holds a CANVAS_SIZE² greyscale image; strokes are painted anti-aliased with round ends.

    `image()` gives it as float32 in [0, 1]. Every stroke, clear and loaded image can be undone.
    An image loaded with an `exact_input` (an MNIST digit) carries that 28×28 input along until
    the next stroke, so the model sees the real test digit rather than a resampled copy.
    """

    image_changed = Signal()      # the pixels changed (during a stroke: after every segment)
    stroke_finished = Signal()
    overlay_changed = Signal(bool)   # a picture overlay was set (True) or dropped (False)
    mark_clicked = Signal(int)       # the user clicked mark N of the picture overlay

    def __init__(self, parent: QWidget | None = None, size: int = CANVAS_SIZE):
        super().__init__(parent)
        self._pixels = QImage(size, size, QImage.Format.Format_Grayscale8)
        self._pixels.fill(0)
        self._exact_input: np.ndarray | None = None
        self._undo: list[tuple[QImage, np.ndarray | None]] = []
        self._last_point: QPointF | None = None
        self._brush_width = float(DEFAULT_BRUSH_WIDTH)
        self._guides: tuple[tuple[int, int, int, int], tuple[float, float]] | None = None
        self._overlay: PictureOverlay | None = None
        self._overlay_images: tuple[QImage, QImage] | None = None
        self._empty = True
        self._placeholder = PLACEHOLDER
        self._heat: tuple[QImage, tuple[float, float, float, float], str] | None = None   # Grad-CAM
        self._unit_box: tuple[tuple[float, float, float, float], str] | None = None   # a receptive field
        self._scaled: QPixmap | None = None   # the pixels smooth-scaled to the widget, kept between paints
        self.setMinimumSize(160, 160)
        size_policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        size_policy.setHeightForWidth(True)
        self.setSizePolicy(size_policy)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Draw a digit: left mouse button or pen. Delete clears, Ctrl+Z undoes a stroke.")

    # --- the image -----------------------------------------------------------------------------
    @property
    def canvas_size(self) -> int:
        return self._pixels.width()

    def image(self) -> np.ndarray:
        """The canvas as (size, size) float32 in [0, 1], white ink on black (a copy)."""
        view = np.frombuffer(self._pixels.constBits(), np.uint8).reshape(self._pixels.height(), -1)
        return view[:, :self._pixels.width()].astype(np.float32) * (1.0 / 255.0)

    def exact_input(self) -> np.ndarray | None:
        """The 28×28 input that came with the loaded image, until the user draws on it."""
        return self._exact_input

    def is_empty(self) -> bool:
        return self._empty

    def set_image(self, image: np.ndarray, exact_input: np.ndarray | None = None,
                  overlay: PictureOverlay | None = None, undoable: bool = True) -> None:
        """Replace the canvas with `image` (size×size floats in [0, 1]); undoable unless told not.

        With an `overlay`, the canvas shows that picture and what was read in it until the next
        stroke, clear, undo or image; `image` is still what the canvas holds (and draws on).
        """
        image = np.asarray(image, dtype=np.float32)
        if image.shape != (self.canvas_size, self.canvas_size):
            raise ValueError(f"the canvas is {self.canvas_size}×{self.canvas_size}, not {image.shape}")
        if undoable:
            self._push_undo()
        self._set_overlay(overlay)
        pixels = np.ascontiguousarray(np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8))
        self._pixels = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0],
                              QImage.Format.Format_Grayscale8).copy()
        self._exact_input = None if exact_input is None else np.array(exact_input, np.float32)
        self._changed()

    def clear(self) -> None:
        """Black canvas (undoable)."""
        if self._empty and self._exact_input is None and self._overlay is None:
            return
        self._push_undo()
        self._set_overlay(None)
        self._pixels.fill(0)
        self._exact_input = None
        self._changed()

    def undo(self) -> bool:
        """Go back to before the last stroke, clear or loaded image; False when there is nothing to undo."""
        if not self._undo:
            return False
        self._pixels, self._exact_input = self._undo.pop()
        self._set_overlay(None)
        self._changed()
        return True

    def can_undo(self) -> bool:
        return bool(self._undo)

    def brush_width(self) -> float:
        return self._brush_width

    def set_brush_width(self, width: float) -> None:
        """Stroke width in canvas pixels (the canvas is CANVAS_SIZE wide)."""
        self._brush_width = float(max(1.0, width))

    def set_guides(self, ink_box: tuple[int, int, int, int] | None, centre: tuple[float, float] | None) -> None:
        """Show the ink's bounding box and centre of mass (canvas pixels), or nothing when None."""
        self._guides = None if ink_box is None or centre is None else (ink_box, centre)
        self.update()

    def set_unit_box(self, box: tuple[float, float, float, float] | None, label: str = "") -> None:
        """Outline a unit's receptive field on the drawing: (top, left, bottom, right) in canvas
        pixels (`InputMapping.box_to_source`), with a short label; None: none."""
        value = None if box is None else (tuple(float(v) for v in box), label)
        if value != self._unit_box:
            self._unit_box = value
            self.update()

    def unit_box(self) -> tuple[tuple[float, float, float, float], str] | None:
        """The outlined receptive field and its label, or None."""
        return self._unit_box

    def set_heat_overlay(self, heat: QImage | None, box: tuple[float, float, float, float] | None = None,
                         label: str = "") -> None:
        """Lay a translucent heat map (RGBA) over the drawing, stretched over `box` (top, left, bottom,
        right in canvas pixels: where the model input lies, `InputMapping.box_to_source`), with a short
        label in the corner; None: none."""
        self._heat = None if heat is None or box is None else (heat, tuple(float(v) for v in box), label)
        self.update()

    def heat_overlay(self) -> tuple[QImage, tuple[float, float, float, float], str] | None:
        """(image, box, label) of the heat overlay shown, or None."""
        return self._heat

    def _paint_heat(self, painter: QPainter, target: QRectF) -> None:
        """The heat overlay over the strokes (clipped to the canvas) and its label, top left."""
        if self._heat is None or self._empty:
            return
        heat, (top, left, bottom, right), label = self._heat
        scale = target.width() / self.canvas_size
        painter.save()
        painter.setClipRect(target)
        painter.drawImage(QRectF(target.x() + left * scale, target.y() + top * scale, (right - left) * scale,
                                 (bottom - top) * scale), heat)
        if label:
            font = QFont(self.font())
            font.setBold(True)
            painter.setFont(font)
            metrics = painter.fontMetrics()
            chip = QRectF(target.x() + 4, target.y() + 4, metrics.horizontalAdvance(label) + 10, metrics.height() + 4)
            painter.fillRect(chip, QColor(0, 0, 0, 180))
            painter.setPen(QColor(255, 214, 120))
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()

    def set_placeholder(self, text: str | None) -> None:
        """What the empty canvas says (None: "Draw a digit here…")."""
        self._placeholder = text or PLACEHOLDER
        self.update()

    def overlay(self) -> PictureOverlay | None:
        """The picture shown over the canvas, or None."""
        return self._overlay

    def _set_overlay(self, overlay: PictureOverlay | None) -> None:
        had = self._overlay is not None
        self._overlay = overlay
        self._overlay_images = None if overlay is None else (_grey_image(overlay.picture),
                                                             _outline_image(overlay.outline))
        self.update()
        if had or overlay is not None:
            self.overlay_changed.emit(overlay is not None)

    def _mark_at(self, position: QPointF) -> int | None:
        """The overlay's mark (other than the one in use) whose box holds `position` (widget pixels)."""
        if self._overlay is None:
            return None
        point = self._to_canvas(position)
        for index, (top, left, bottom, right) in enumerate(self._overlay.boxes):
            if index != self._overlay.chosen and left <= point.x() <= right and top <= point.y() <= bottom:
                return index
        return None

    def _push_undo(self) -> None:
        self._undo.append((self._pixels.copy(), self._exact_input))
        del self._undo[:-MAX_UNDO]

    def _changed(self) -> None:
        self._empty = not self.image().any()
        self._scaled = None
        self.update()
        self.image_changed.emit()

    # --- strokes -----------------------------------------------------------------------------
    def _begin_stroke(self, position: QPointF, pressure: float = 1.0) -> None:
        self._push_undo()
        self._set_overlay(None)
        self._exact_input = None
        self._last_point = self._to_canvas(position)
        self._paint_segment(self._last_point, self._last_point, pressure)

    def _continue_stroke(self, position: QPointF, pressure: float = 1.0) -> None:
        if self._last_point is None:
            return
        point = self._to_canvas(position)
        self._paint_segment(self._last_point, point, pressure)
        self._last_point = point

    def _end_stroke(self) -> None:
        if self._last_point is not None:
            self._last_point = None
            self.stroke_finished.emit()

    def _paint_segment(self, start: QPointF, end: QPointF, pressure: float) -> None:
        painter = QPainter(self._pixels)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = self._brush_width * (0.35 + 0.65 * pressure)
        painter.setPen(QPen(QColor(255, 255, 255), width, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        painter.drawLine(start, end)
        painter.end()
        self._empty = False
        margin = width / 2 + 2
        dirty = self._to_widget_rect(QRectF(start, end).normalized().adjusted(-margin, -margin, margin, margin))
        self._rescale(dirty)
        self.update(dirty)
        self.image_changed.emit()

    # --- the scaled pixels, kept ------------------------------------------------------------
    def _scaled_pixmap(self) -> QPixmap:
        """The canvas smooth-scaled to the size it is drawn at (`target_rect`), made again only when the size
        or the whole image changed; a stroke rescales the part it touched (`_rescale`)."""
        side, ratio = self._drawn_rect().width(), self.devicePixelRatioF()
        if self._scaled is None or self._scaled.deviceIndependentSize().width() != side or \
                self._scaled.devicePixelRatio() != ratio:
            self._scaled = QPixmap(round(side * ratio), round(side * ratio))
            self._scaled.setDevicePixelRatio(ratio)
            self._rescale(None)
        return self._scaled

    def _rescale(self, dirty: QRect | None) -> None:
        """Scale the pixels in widget rectangle `dirty` (None: all) into the kept pixmap, if there is one."""
        if self._scaled is None:
            return
        drawn = self._drawn_rect()
        painter = QPainter(self._scaled)
        if dirty is not None:
            painter.setClipRect(dirty.translated(-drawn.topLeft()))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(0, 0, drawn.width(), drawn.height()), self._pixels)
        painter.end()

    def _drawn_rect(self) -> QRect:
        """`target_rect` on whole pixels: where the kept pixmap goes."""
        target = self.target_rect()
        side = max(1, int(target.width()))
        return QRect(round(target.x()), round(target.y()), side, side)

    # --- geometry ----------------------------------------------------------------------------
    def target_rect(self) -> QRectF:
        """Where the canvas is drawn: the largest centred square."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_canvas(self, position: QPointF) -> QPointF:
        target = self.target_rect()
        scale = self.canvas_size / target.width()
        return QPointF((position.x() - target.x()) * scale, (position.y() - target.y()) * scale)

    def _to_widget_rect(self, rect: QRectF):
        target = self.target_rect()
        scale = target.width() / self.canvas_size
        return QRectF(target.x() + rect.x() * scale, target.y() + rect.y() * scale,
                      rect.width() * scale, rect.height() * scale).toAlignedRect()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    # --- Qt events ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        target = self.target_rect()
        if self._overlay_images is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            self._paint_overlay(painter, target)
        else:
            painter.drawPixmap(self._drawn_rect().topLeft(), self._scaled_pixmap())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._paint_heat(painter, target)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._overlay is not None:
            pass  # the overlay shows the reader's own box
        elif self._empty:
            painter.setPen(QColor(150, 150, 160))
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.15)
            painter.setFont(font)
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter, self._placeholder)
        elif self._guides is not None:
            self._paint_guides(painter, target)
        self._paint_unit_box(painter, target)
        painter.setPen(QPen(QColor(90, 90, 100), 1))
        painter.drawRect(target.adjusted(0, 0, -1, -1))

    def _paint_guides(self, painter: QPainter, target: QRectF) -> None:
        """Dashed ink box and a cross at the centre of mass: what preprocessing measures."""
        (top, left, bottom, right), (row, col) = self._guides
        scale = target.width() / self.canvas_size
        box = QRectF(target.x() + left * scale, target.y() + top * scale,
                     (right - left) * scale, (bottom - top) * scale)
        painter.setPen(QPen(QColor(255, 170, 40, 170), 1, Qt.PenStyle.DashLine))
        # An upright dashed box needs no antialiasing, which made it most of the canvas's paint at every move.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.drawRect(box)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        centre = QPointF(target.x() + (col + 0.5) * scale, target.y() + (row + 0.5) * scale)
        painter.setPen(QPen(QColor(255, 170, 40, 220), 1.5))
        painter.drawLine(centre + QPointF(-6, 0), centre + QPointF(6, 0))
        painter.drawLine(centre + QPointF(0, -6), centre + QPointF(0, 6))

    def _paint_unit_box(self, painter: QPainter, target: QRectF) -> None:
        """The focused unit's receptive field mapped onto the strokes, labelled above (or inside) it."""
        if self._unit_box is None:
            return
        (top, left, bottom, right), label = self._unit_box
        scale = target.width() / self.canvas_size
        box = QRectF(target.x() + left * scale, target.y() + top * scale, (right - left) * scale,
                     (bottom - top) * scale).intersected(target.adjusted(1, 1, -2, -2))
        painter.save()
        painter.setClipRect(target)
        painter.setPen(QPen(FIELD, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(box)
        if label:
            font = QFont(self.font())
            font.setBold(True)
            painter.setFont(font)
            height = painter.fontMetrics().height()
            width = painter.fontMetrics().horizontalAdvance(label) + 8
            above = box.top() - height - 2 >= target.top()
            x = min(max(box.left(), target.left() + 2), target.right() - width - 2)
            y = box.top() - height - 2 if above else box.top() + 3
            chip = QRectF(x, y, width, height)
            painter.fillRect(chip, QColor(0, 0, 0, 170))
            painter.setPen(FIELD)
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()

    def _paint_overlay(self, painter: QPainter, target: QRectF) -> None:
        """The opened picture, its detected ink outlined, the box used (solid) and other marks (dashed)."""
        picture, outline = self._overlay_images
        painter.drawImage(target, picture)
        painter.drawImage(target, outline)
        scale = target.width() / self.canvas_size
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        for index, (top, left, bottom, right) in enumerate(self._overlay.boxes):
            chosen = index == self._overlay.chosen
            colour = BOX_COLOUR if chosen else OTHER_BOX_COLOUR
            painter.setPen(QPen(colour, 2 if chosen else 1.5,
                                Qt.PenStyle.SolidLine if chosen else Qt.PenStyle.DashLine))
            box = QRectF(target.x() + left * scale, target.y() + top * scale,
                         (right - left) * scale, (bottom - top) * scale)
            painter.drawRect(box)
            if len(self._overlay.boxes) > 1:
                painter.drawText(box.topLeft() + QPointF(3, -3 if box.top() > target.top() + 14 else 13),
                                 str(index + 1))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            mark = self._mark_at(event.position())
            if mark is not None:
                self.mark_clicked.emit(mark)
                return
            self._begin_stroke(event.position())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._continue_stroke(event.position())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._end_stroke()

    def tabletEvent(self, event) -> None:  # noqa: N802
        """Pen input: pressure thins the stroke; accepted so Qt sends no duplicate mouse events."""
        kind = event.type()
        pressure = float(event.pressure()) if event.pressure() > 0 else 1.0
        if kind == event.Type.TabletPress:
            self._begin_stroke(event.position(), pressure)
        elif kind == event.Type.TabletMove and event.buttons():
            self._continue_stroke(event.position(), pressure)
        elif kind == event.Type.TabletRelease:
            self._end_stroke()
        event.accept()
