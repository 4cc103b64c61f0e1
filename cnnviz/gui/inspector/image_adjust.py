"""Adjust how an opened picture is read: invert, threshold, which mark; shown on the canvas.

`ImageAdjust` sits under the drawing canvas. `open_picture` reads a picture with the automatic
choices (`cnnviz.core.ink`) and puts the result on the canvas: the digit found, white on black,
as the canvas's pixels and model input, and the picture with the detected ink outlined as an
overlay. "Invert" flips the polarity, the "Threshold" slider overrides the automatic threshold
("Auto" goes back to it), and clicking another mark's box on the canvas reads that one. Each
change re-reads the picture; the background fit is kept per polarity, so the slider is quick.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from cnnviz.core.images import digit_model_input
from cnnviz.core.ink import InkReading, InkStrength, dilate, ink_strength, paper_is_light, segment_ink
from cnnviz.core.preprocess import fit_into_square, image_on_canvas, placement, resize_area
from cnnviz.gui.widgets.drawing_canvas import DrawingCanvas, PictureOverlay

PICTURE_MARGIN = 0.02   # the picture fills the canvas nearly edge to edge


class ImageAdjust(QWidget):
    """Invert / threshold / mark controls for the picture last opened on `canvas`."""

    reading_changed = Signal(object)   # the new InkReading
    status_message = Signal(str)

    def __init__(self, canvas: DrawingCanvas, parent: QWidget | None = None):
        super().__init__(parent)
        self._canvas = canvas
        self._grey: np.ndarray | None = None
        self._name = ""
        self._strengths: dict[bool, InkStrength] = {}
        self._invert: bool | None = None
        self._threshold: float | None = None
        self._component: int | None = None
        self._reading: InkReading | None = None
        self._reread_scheduled = False
        self._reading_shown = False   # this picture's reading is on the canvas
        self._build()
        canvas.overlay_changed.connect(self._on_overlay_changed)
        canvas.mark_clicked.connect(self._on_mark_clicked)
        self.setVisible(False)

    def _build(self) -> None:
        self.invert_button = QToolButton()
        self.invert_button.setText("Invert")
        self.invert_button.setToolTip("Swap ink and paper: read light ink on dark paper as dark on light, "
                                      "or the other way round")
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(5, 95)
        self.threshold_slider.setToolTip("How dark (or light) a pixel must be to count as ink, as a share of "
                                         "the solid ink's contrast. Drag to override the automatic choice.")
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(60)
        self.auto_button = QToolButton()
        self.auto_button.setText("Auto")
        self.auto_button.setToolTip("Go back to the automatic threshold, polarity and mark")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: gray;")
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(self.invert_button)
        row.addWidget(QLabel("Threshold"))
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_label)
        row.addWidget(self.auto_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        self.invert_button.clicked.connect(self._on_invert)
        self.auto_button.clicked.connect(self._on_auto)
        self.threshold_slider.valueChanged.connect(self._on_threshold_moved)

    # --- public ------------------------------------------------------------------------------------
    def open_picture(self, grey: np.ndarray, name: str = "") -> InkReading:
        """Read `grey` ((H, W) floats in [0, 1]) with automatic choices and show it on the canvas."""
        self._grey = np.asarray(grey, np.float32)
        self._name = name
        self._strengths = {}
        self._invert = self._threshold = self._component = None
        self._reading_shown = False
        return self._reread()

    def reading(self) -> InkReading | None:
        """The reading shown now (None before a picture is opened)."""
        return self._reading

    def set_overrides(self, invert: bool | None = None, threshold: float | None = None,
                      component: int | None = None) -> InkReading | None:
        """Read the open picture again with these overrides (None: automatic)."""
        if self._grey is None:
            return None
        self._invert, self._threshold, self._component = invert, threshold, component
        return self._reread()

    # --- reading -----------------------------------------------------------------------------------
    def _reread(self) -> InkReading:
        """Run the reader with the current overrides; update the canvas, the controls, the summary."""
        self._reread_scheduled = False
        inverted = paper_is_light(self._grey) if self._invert is None else self._invert
        if inverted not in self._strengths:
            self._strengths[inverted] = ink_strength(1.0 - self._grey if inverted else self._grey)
        reading = segment_ink(self._strengths[inverted], inverted, self._threshold, self._component)
        self._reading = reading
        model_input = digit_model_input(reading)
        pixels = image_on_canvas(reading.digit) if reading.found else np.zeros((self._canvas.canvas_size,) * 2,
                                                                                  np.float32)
        # Re-reading the picture on show replaces it in place: one undo step per picture opened.
        rereading = self._canvas.overlay() is not None and self._reading_shown
        self._canvas.set_image(pixels, exact_input=model_input, overlay=self._overlay(reading), undoable=not rereading)
        self._reading_shown = True
        self._show_controls(reading)
        self.setVisible(True)
        self.reading_changed.emit(reading)
        return reading

    def _overlay(self, reading: InkReading) -> PictureOverlay:
        """The picture as the canvas shows it, with the reading's outline and boxes in canvas pixels."""
        size = self._canvas.canvas_size
        place = placement(self._grey.shape, size, PICTURE_MARGIN)
        picture = np.round(fit_into_square(self._grey, size, PICTURE_MARGIN) * 255).astype(np.uint8)
        inside = np.zeros((size, size), bool)
        height, width = place.size
        top, left = place.offset
        inside[top:top + height, left:left + width] = True
        picture[~inside] = 128   # the canvas outside the picture: neutral grey
        outline = np.zeros((size, size), bool)
        if reading.found:
            small = resize_area(reading.mask.astype(np.float32), height, width) > 0.25
            outline[top:top + height, left:left + width] = dilate(small, 1) & ~small
        boxes = tuple((*place.to_square(t, l), *place.to_square(b, r)) for t, l, b, r in reading.components)
        return PictureOverlay(picture, outline, boxes, reading.chosen)

    def _show_controls(self, reading: InkReading) -> None:
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(int(round(reading.threshold * 100)))
        self.threshold_slider.blockSignals(False)
        automatic = self._threshold is None
        self.threshold_label.setText(f"{reading.threshold:.0%}" + (" auto" if automatic else ""))
        self.invert_button.setToolTip(
            ("Now read as dark ink on light paper" if reading.inverted else "Now read as light ink on a dark "
             "background") + ". Click to read it the other way round.")
        self.auto_button.setEnabled(not (self._invert is None and automatic and self._component is None))
        text = reading.describe()
        if len(reading.components) > 1:
            text += ". Click another box on the picture to read that one instead."
        self.summary.setText(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
        height, width = self._grey.shape
        prefix = f"Opened {self._name} ({width}×{height} pixels): " if self._name else ""
        self.status_message.emit(prefix + (text if reading.found else reading.message or text))

    # --- handlers ----------------------------------------------------------------------------------
    def _on_invert(self) -> None:
        """Read the picture with the other polarity."""
        if self._reading is not None:
            self.set_overrides(not self._reading.inverted, self._threshold, None)

    def _on_auto(self) -> None:
        self.set_overrides(None, None, None)

    def _on_threshold_moved(self, value: int) -> None:
        """Coalesce slider moves: re-read once per pass of the event loop."""
        self._threshold = value / 100.0
        if not self._reread_scheduled and self._grey is not None:
            self._reread_scheduled = True
            QTimer.singleShot(0, self._reread)

    def _on_mark_clicked(self, index: int) -> None:
        self.set_overrides(self._invert, self._threshold, index)

    def _on_overlay_changed(self, shown: bool) -> None:
        """The user drew, cleared or undid: the picture is gone, and so are its controls."""
        if not shown:
            self.setVisible(False)
