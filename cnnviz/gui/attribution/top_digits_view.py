"""What the selected filter wants, under the enlarged channel: its pattern, the 9 test digits that excite it
most and the patches of them its peak units saw. Click a digit to open it in the inspector.

Gradient ascent (the pattern) shows one input the filter likes, pushed to extremes; the top digits
show what excites it in real data, and the patches (its receptive field: 3×3 at conv2d_1, 8×8 at
conv2d_2, 18×18 at conv2d_3) where. On MNIST the data-driven view is often the more telling one.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.gui.widgets.task_progress import TaskProgress
from cnnviz.gui.attribution.patterns_mode import PatternsMode
from cnnviz.gui.attribution.top_digits import TopDigits
from cnnviz.gui.widgets.view_colours import FRAME, MUTED_TEXT

CELL = 100        # about this many pixels a side for each of the three pictures
GAP = 2           # pixels between the digits of a 3×3 grid
COLUMNS = 3


class Thumbnails(QWidget):
    """A few small grey pictures in a grid, crisp pixels; click one -> `clicked(position)`."""

    clicked = Signal(int)

    def __init__(self, columns: int = COLUMNS, parent: QWidget | None = None):
        super().__init__(parent)
        self._columns = columns
        self._images: list[QImage] = []
        self._tips: list[str] = []
        self._empty_text = ""
        self._clickable = False
        self.setMinimumSize(60, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)

    def set_images(self, images, tips: list[str] | None = None, clickable: bool = False,
                   empty_text: str = "") -> None:
        """Show `images` ((k, H, W) floats in [0, 1]), `tips` as hover texts; none: `empty_text`."""
        self._images = [_grey_image(image) for image in (images if images is not None else [])]
        self._tips = list(tips or [])
        self._clickable = clickable
        self._empty_text = empty_text
        self.setCursor(Qt.CursorShape.PointingHandCursor if clickable else Qt.CursorShape.ArrowCursor)
        self.update()

    def count(self) -> int:
        return len(self._images)

    def cell_rect(self, position: int) -> QRectF:
        """Where picture `position` is drawn (widget coordinates)."""
        columns = min(self._columns, max(1, len(self._images)))
        rows = -(-max(1, len(self._images)) // columns)
        side = max(4.0, min((self.width() - GAP * (columns - 1)) / columns, (self.height() - GAP * (rows - 1)) / rows))
        left = (self.width() - (columns * side + GAP * (columns - 1))) / 2
        row, column = divmod(position, columns)
        return QRectF(left + column * (side + GAP), row * (side + GAP), side, side)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        if not self._images:
            painter.setPen(MUTED_TEXT)
            painter.drawText(QRectF(self.rect()).adjusted(2, 2, -2, -2),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._empty_text)
            return
        for position, image in enumerate(self._images):
            target = self.cell_rect(position)
            painter.drawImage(target, image)
            painter.setPen(QPen(FRAME, 1))
            painter.drawRect(target)

    def _position_at(self, point) -> int:
        for position in range(len(self._images)):
            if self.cell_rect(position).contains(point):
                return position
        return -1

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        position = self._position_at(event.position())
        self.setToolTip(self._tips[position] if 0 <= position < len(self._tips) else "")
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        """A click on a picture says which (on an empty, clickable view: -1)."""
        position = self._position_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and self._clickable and (position >= 0 or not self._images):
            self.clicked.emit(position)
        super().mousePressEvent(event)


class FilterView(QWidget):
    """The selected channel's pattern, top test digits and their patches (see the module docstring)."""

    def __init__(self, inspector, patterns: PatternsMode, top_digits: TopDigits, parent: QWidget | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self._patterns = patterns
        self._top = top_digits
        self._shown = None   # the ChannelTop shown
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.pattern = Thumbnails(1)
        self.digits = Thumbnails()
        self.patches = Thumbnails()
        self.progress = TaskProgress(compact=True)
        self.progress.cancel_clicked.connect(top_digits.cancel)
        self.progress.start_clicked.connect(top_digits.compute)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(1)
        for column, (view, caption) in enumerate(((self.pattern, "pattern"), (self.digits, "top test digits"),
                                                  (self.patches, "what its units saw"))):
            grid.addWidget(view, 0, column)
            label = QLabel(caption)
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            label.setStyleSheet("color: gray;")
            grid.addWidget(label, 1, column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        self.setMaximumHeight(CELL + 90)
        self.digits.clicked.connect(self._on_digit_clicked)
        self.pattern.clicked.connect(self._on_pattern_clicked)
        patterns.patterns_ready.connect(self.refresh)
        top_digits.ready.connect(self.refresh)
        top_digits.progress.connect(self._on_progress)
        top_digits.failed.connect(self._on_failed)
        inspector.channel_changed.connect(self.refresh)
        inspector.layer_changed.connect(self.refresh)
        self.refresh()

    def shown(self):
        """The ChannelTop shown (None while the top digits are unknown)."""
        return self._shown

    def refresh(self, *_args) -> None:
        """Show the selected channel of the current layer."""
        layer, channel = self._layer_name(), self._inspector.current_channel()
        if layer is None or channel is None:
            self.setVisible(False)
            return
        self.setVisible(True)
        self.title.setText(f"What <b>{layer}</b> channel <b>{channel}</b> wants")
        self._show_pattern(layer, channel)
        self._show_top(layer, channel)

    def _show_pattern(self, layer: str, channel: int) -> None:
        pattern = self._patterns.pattern(layer, channel)
        if pattern is not None:
            self.pattern.set_images(pattern[None], [f"filter {channel}'s pattern: the input that excites it most "
                                                    f"(gradient ascent)"])
        elif not self._is_conv(layer):
            self.pattern.set_images(None, empty_text="(patterns are for conv layers)")
        elif self._patterns.is_running(layer):
            self.pattern.set_images(None, empty_text="finding…")
        else:
            self.pattern.set_images(None, [f"Find the patterns of {layer}'s filters (gradient ascent, a few "
                                           f"seconds, then cached)"], clickable=True, empty_text="click to find")

    def _show_top(self, layer: str, channel: int) -> None:
        top = self._top.channel(layer, channel)
        self._shown = top
        if top is None:
            self.digits.set_images(None, empty_text="")
            self.patches.set_images(None, empty_text="")
            if self._top.is_running():
                return
            self.progress.show_idle("", "Find the top test digits")
            self.progress.setVisible(True)
            return
        self.progress.setVisible(False)
        tips = [f"test digit #{index}: peak {value:.3f} at x {int(x)}, y {int(y)} (click to open it)"
                for index, value, (y, x) in zip(top.indices, top.values, top.positions)]
        self.digits.set_images(top.digits, tips, clickable=True)
        self.patches.set_images(top.patches, [tip.replace(" (click to open it)", "") for tip in tips])

    def _on_progress(self, fraction: float) -> None:
        self.progress.setVisible(True)
        self.progress.show_running("Ranking the 10,000 test digits…", fraction)

    def _on_failed(self, message: str) -> None:
        self.progress.setVisible(True)
        self.progress.show_idle(message, "Try again")

    def _on_digit_clicked(self, position: int) -> None:
        """Open that test digit in the inspector."""
        if self._shown is not None and position < len(self._shown.indices):
            self._inspector.show_test_digit(int(self._shown.indices[position]))

    def _on_pattern_clicked(self, position: int) -> None:
        """A click on the empty pattern cell finds the layer's patterns."""
        layer = self._layer_name()
        if position < 0 and layer and self._is_conv(layer):
            self._patterns.compute(layer)
            self.refresh()

    def _layer_name(self) -> str | None:
        """The current layer's name if it has maps, else None."""
        names = self._inspector.layer_names()
        layer = self._inspector.current_layer()
        return names[layer] if 0 <= layer < len(names) and self._is_spatial(layer) else None

    def _is_spatial(self, layer: int) -> bool:
        model = self._inspector.model()
        return model is not None and layer < len(model.layers) and model.layers[layer].is_spatial

    def _is_conv(self, layer: str) -> bool:
        model = self._inspector.model()
        return any(spec.name == layer and "Conv" in spec.kind for spec in (model.layers if model else []))


def _grey_image(image: np.ndarray) -> QImage:
    grey = np.ascontiguousarray(np.round(np.clip(np.asarray(image, np.float32), 0, 1) * 255).astype(np.uint8))
    if grey.ndim == 3:   # colour inputs: (H, W, 3)
        return QImage(grey.data, grey.shape[1], grey.shape[0], grey.strides[0], QImage.Format.Format_RGB888).copy()
    return QImage(grey.data, grey.shape[1], grey.shape[0], grey.strides[0], QImage.Format.Format_Grayscale8).copy()
