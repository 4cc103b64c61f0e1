"""The "Where the network looks" panel: Grad-CAM and occlusion side by side for the current input.

Grad-CAM (the gradient of the class's score, at a conv layer) and occlusion (how much the class's
probability drops when a patch covers each place: no gradients) answer the same question in two
independent ways; where they agree, believe them more. The panel chooses the class explained and
Grad-CAM's layer (shared with the Explain menu and the overlay on the drawing) and occlusion's
patch size, stride and fill. Occlusion runs in the compute process on the serving copy, once the
input has been still for DEBOUNCE_MS (one batched pass: tens of milliseconds), and only while the
panel is on screen.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QGridLayout, QHBoxLayout, QLabel,
                               QScrollArea, QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.occlusion import DEFAULT_FILL, DEFAULT_PATCH, DEFAULT_STRIDE, FILLS, OcclusionResult
from cnnviz.gui.attribution.gradcam_overlay import PICTURE_SCALE, GradCamOverlay, conv_layers, heat_rgba, rgba_image
from cnnviz.gui.remote.latest_request import LatestRequest
from cnnviz.gui.widgets.front_tab import FrontTab
from cnnviz.gui.widgets.view_colours import FRAME, MUTED_TEXT

DEBOUNCE_MS = 150
BLUNT_DROP = 0.01   # occlusion drops below 1 % are shown faint (scaled as if the peak were 1 %) and said to be blunt
PICTURE_SIDE = 132


class HeatPicture(QWidget):
    """The model input enlarged (crisp pixels) under a translucent heat picture; hover reads the map."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._title = title
        self._base: QImage | None = None
        self._heat: QImage | None = None
        self._values: np.ndarray | None = None   # the map hovered (any resolution over the input)
        self._unit = ""
        self._empty_text = ""
        self.setMinimumSize(PICTURE_SIDE, PICTURE_SIDE + self.fontMetrics().height() + 4)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)

    def set_picture(self, image: np.ndarray | None, rgba: np.ndarray | None, values: np.ndarray | None = None,
                    unit: str = "", empty_text: str = "") -> None:
        """Show `image` ((H, W) in [0, 1]) with `rgba` over it; `values` is what hovering reads (with
        `unit`); with no image, `empty_text`."""
        if image is None:
            self._base = None
        else:
            grey = np.ascontiguousarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
            self._base = QImage(grey.data, grey.shape[1], grey.shape[0], grey.strides[0],
                                QImage.Format.Format_Grayscale8).copy()
        self._heat = None if rgba is None or image is None else rgba_image(rgba)
        self._values = None if values is None else np.asarray(values, np.float32)
        self._unit = unit
        self._empty_text = empty_text
        self.update()

    def has_heat(self) -> bool:
        return self._heat is not None

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width + self.fontMetrics().height() + 4

    def _target(self) -> QRectF:
        top = self.fontMetrics().height() + 4
        side = max(10, min(self.width(), self.height() - top) - 1)
        return QRectF((self.width() - side) / 2, top, side, side)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(QRectF(0, 0, self.width(), self.fontMetrics().height() + 2),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self._title)
        target = self._target()
        painter.fillRect(target, QColor(0, 0, 0))
        if self._base is not None:
            painter.drawImage(target, self._base)
            if self._heat is not None:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(target, self._heat)
        if self._heat is None and self._empty_text:
            painter.setPen(MUTED_TEXT)
            painter.drawText(target.adjusted(6, 6, -6, -6), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._empty_text)
        painter.setPen(QPen(FRAME, 1))
        painter.drawRect(target)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        """Tooltip: the map's value under the cursor (at the map's own resolution)."""
        target = self._target()
        point: QPointF = event.position()
        if self._values is not None and self._heat is not None and target.contains(point):
            rows, cols = self._values.shape
            row = min(rows - 1, int((point.y() - target.y()) / target.height() * rows))
            col = min(cols - 1, int((point.x() - target.x()) / target.width() * cols))
            self.setToolTip(f"{self._title}: {self._values[row, col]:.4f} {self._unit} at x {col}, y {row} "
                            f"(of {cols}×{rows})")
        super().mouseMoveEvent(event)


class OcclusionMap(QObject):
    """Occlusion map of the current input, recomputed once it has been still for DEBOUNCE_MS, while active."""

    computed = Signal(object)   # OcclusionResult of the current input, or None
    failed = Signal(str)

    def __init__(self, inspector, client, parent: QObject | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self._request = LatestRequest("occlusion", self._on_result, self._on_failed, client, self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._submit)
        self.patch, self.stride, self.fill = DEFAULT_PATCH, DEFAULT_STRIDE, DEFAULT_FILL
        self.class_index: int | None = None
        self._active = False
        self._result: OcclusionResult | None = None
        inspector.input_changed.connect(self._on_input_changed)

    def result(self) -> OcclusionResult | None:
        return self._result

    def busy(self) -> bool:
        return self._timer.isActive() or self._request.busy()

    def set_active(self, active: bool) -> None:
        """Compute while the panel is on screen (and once more now when it comes back)."""
        self._active = bool(active)
        if self._active:
            self.refresh()
        else:
            self._timer.stop()

    def set_options(self, patch: int | None = None, stride: int | None = None, fill: str | None = None,
                    class_index: int | None | str = "keep") -> None:
        """Change the patch size, stride, fill ("grey"/"black") or class (None: the predicted one)."""
        self.patch = int(patch) if patch is not None else self.patch
        self.stride = int(stride) if stride is not None else self.stride
        self.fill = fill if fill in FILLS else self.fill
        if class_index != "keep":
            self.class_index = None if class_index is None else int(class_index)
        self.refresh()

    def set_client(self, client) -> None:
        self._request.set_client(client)

    def refresh(self) -> None:
        """Recompute soon (the input changed, or the options or the model did)."""
        if self._active:
            self._timer.start()

    def _on_input_changed(self, image) -> None:
        if image is None:
            self._timer.stop()
            self._request.clear()
            self._set_result(None)
        else:
            self.refresh()

    def _submit(self) -> None:
        image = self._inspector.current_input()
        if image is None or self._inspector.model() is None:
            self._set_result(None)
            return
        self._request.submit({"image": image, "class_index": self.class_index, "patch": self.patch,
                              "stride": self.stride, "fill": self.fill}, image)

    def _on_result(self, reply: dict, image: np.ndarray) -> None:
        model = self._inspector.model()
        current = self._inspector.current_input()
        if model is None or reply["generation"] < model.generation or current is None \
                or not np.array_equal(current, image):
            return   # a newer input is on its way (or there is none)
        self._set_result(reply["result"])

    def _on_failed(self, error: ComputeError, image) -> None:
        if not error.crashed:
            self.failed.emit(f"Occlusion failed: {error.message}")

    def _set_result(self, result: OcclusionResult | None) -> None:
        self._result = result
        self.computed.emit(result)


class AttributionPanel(QWidget):
    """Grad-CAM and occlusion for the current input, with their choices."""

    def __init__(self, inspector, overlay: GradCamOverlay, occlusion: OcclusionMap, parent: QWidget | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self.front = FrontTab(self)   # behind another tab: nothing computed for it (add_panel follows the dock)
        self.front.changed.connect(self._watch)
        self._overlay = overlay
        self._occlusion = occlusion
        self.overlay_box = QCheckBox("Heat overlay on the drawing")
        self.overlay_box.setToolTip("Lay Grad-CAM's heat map over the 28×28 input and your drawing (Ctrl+G)")
        self.class_box = QComboBox()
        self.class_box.setToolTip("The class explained: the predicted one, or any other (what speaks for it?)")
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("The conv layer Grad-CAM weighs: conv2d_3 is 3×3 (coarse), conv2d_2 11×11")
        self.gradcam_picture = HeatPicture("Grad-CAM")
        self.occlusion_picture = HeatPicture("Occlusion")
        self.gradcam_caption = _caption()
        self.occlusion_caption = _caption()
        self.patch_box = _spin(1, 14, "The side of the square patch, in input pixels")
        self.stride_box = _spin(1, 14, "Input pixels between two patch positions")
        self.fill_box = QComboBox()
        for name in FILLS:
            self.fill_box.addItem(name, name)
        self.fill_box.setToolTip("The patch's colour: grey (0.5) or black (0, the background)")
        self.status = _caption()
        self._build()
        self._sync_choices()
        self.sync_occlusion_options()
        self._connect()
        self._on_explained(None)
        self._on_occlusion(None)

    def _build(self) -> None:
        choices = QFormLayout()
        choices.setContentsMargins(0, 0, 0, 0)
        choices.addRow("Explain class", self.class_box)
        choices.addRow("Grad-CAM at", self.layer_box)
        pictures = QGridLayout()
        pictures.setContentsMargins(0, 0, 0, 0)
        pictures.addWidget(self.gradcam_picture, 0, 0)
        pictures.addWidget(self.occlusion_picture, 0, 1)
        pictures.addWidget(self.gradcam_caption, 1, 0)
        pictures.addWidget(self.occlusion_caption, 1, 1)
        options = QHBoxLayout()
        options.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("patch", self.patch_box), ("stride", self.stride_box), ("fill", self.fill_box)):
            options.addWidget(QLabel(label))
            options.addWidget(widget)
        options.addStretch(1)
        how = QLabel("Bright = raised the class's score (Grad-CAM) · covering it lowers the class's "
                     "probability (occlusion). Hover a picture for its numbers.")
        how.setWordWrap(True)
        how.setStyleSheet("color: gray;")
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.overlay_box)
        layout.addLayout(choices)
        layout.addLayout(pictures)
        layout.addWidget(QLabel("Occlusion patch (pixels):"))
        layout.addLayout(options)
        layout.addWidget(how)
        layout.addWidget(self.status)
        layout.addStretch(1)
        scroll = QScrollArea()   # a short dock scrolls rather than squeezing the pictures
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _connect(self) -> None:
        self.overlay_box.toggled.connect(self._overlay.set_enabled)
        self.class_box.activated.connect(self._on_class_chosen)
        self.layer_box.activated.connect(self._on_layer_chosen)
        self.patch_box.valueChanged.connect(lambda value: self._occlusion.set_options(patch=value))
        self.stride_box.valueChanged.connect(lambda value: self._occlusion.set_options(stride=value))
        self.fill_box.activated.connect(lambda _i: self._occlusion.set_options(fill=self.fill_box.currentData()))
        self._overlay.choices_changed.connect(self._sync_choices)
        self._overlay.explained.connect(self._on_explained)
        self._overlay.failed.connect(self.status.setText)
        self._occlusion.computed.connect(self._on_occlusion)
        self._occlusion.failed.connect(self.status.setText)

    # --- keeping the choices in step with the model and the menu ---------------------------------
    def set_model(self) -> None:
        """A model is shown: offer its classes and conv layers."""
        self._sync_choices()
        self._overlay.refresh()
        self._occlusion.refresh()

    def _sync_choices(self) -> None:
        model = self._inspector.model()
        names = list(model.class_names) if model is not None and model.class_names else [str(i) for i in range(10)]
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItem("the predicted class", None)
        for index, name in enumerate(names):
            self.class_box.addItem(name, index)
        chosen = self._overlay.class_index()
        self.class_box.setCurrentIndex(0 if chosen is None or chosen >= len(names) else chosen + 1)
        self.class_box.blockSignals(False)
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        for spec in (model.layers if model is not None else []):
            if spec.name in conv_layers(model):
                height, width = spec.output_shape[:2]
                self.layer_box.addItem(f"{spec.name} ({height}×{width})", spec.name)
        self.layer_box.setCurrentIndex(max(0, self.layer_box.findData(self._overlay.layer())))
        self.layer_box.blockSignals(False)
        self.overlay_box.blockSignals(True)
        self.overlay_box.setChecked(self._overlay.is_enabled())
        self.overlay_box.blockSignals(False)
        if self._occlusion.class_index != self._overlay.class_index():   # both explain the same class
            self._occlusion.set_options(class_index=self._overlay.class_index())

    def sync_occlusion_options(self) -> None:
        """Show the occlusion's patch, stride and fill (after they were restored)."""
        for box, value in ((self.patch_box, self._occlusion.patch), (self.stride_box, self._occlusion.stride)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.fill_box.setCurrentIndex(max(0, self.fill_box.findData(self._occlusion.fill)))

    def _on_class_chosen(self, _index: int) -> None:
        self._overlay.set_class(self.class_box.currentData())

    def _on_layer_chosen(self, _index: int) -> None:
        self._overlay.set_layer(self.layer_box.currentData())

    # --- showing ------------------------------------------------------------------------------
    def _on_explained(self, result) -> None:
        image = self._inspector.current_input()
        if result is None or image is None:
            self.gradcam_picture.set_picture(image, None, empty_text="Draw a digit" if image is None else "…")
            self.gradcam_caption.setText("")
            return
        height, width = image.shape[:2]
        rgba = heat_rgba(result.heatmap, height * PICTURE_SCALE, width * PICTURE_SCALE)
        self.gradcam_picture.set_picture(image, rgba, result.heatmap, "(score per unit of map)")
        rows, cols = result.heatmap.shape
        empty = "" if float(result.heatmap.max()) > 0 else " (empty: no channel's evidence survives the ReLU)"
        self.gradcam_caption.setText(f"<b>{self._overlay.label(result)}</b><br>{result.layer}, {rows}×{cols}{empty}")
        self.status.setText("")

    def _on_occlusion(self, result: OcclusionResult | None) -> None:
        image = self._inspector.current_input()
        if result is None or image is None:
            self.occlusion_picture.set_picture(image, None, empty_text="Draw a digit" if image is None else "…")
            self.occlusion_caption.setText("")
            return
        height, width = image.shape[:2]
        rgba = heat_rgba(result.pixel_map, height * PICTURE_SCALE, width * PICTURE_SCALE, at_least=BLUNT_DROP)
        self.occlusion_picture.set_picture(image, rgba, result.pixel_map, "drop of probability")
        names = self._names()
        peak = float(result.pixel_map.max())
        patch = f"{result.patch} px {_fill_name(result.fill)} patch"
        caption = f"<b>drop of P({names[result.class_index]})</b><br>up to {percent(peak)} ({patch})"
        if peak < BLUNT_DROP:
            caption += ("<br>the model is too sure for this patch to matter: try a larger one")
        self.occlusion_caption.setText(caption)

    def _names(self) -> list[str]:
        model = self._inspector.model()
        return list(model.class_names) if model is not None and model.class_names else [str(i) for i in range(10)]

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._watch(self.front.seen())

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self._watch(False)

    def _watch(self, seen: bool) -> None:
        """Grad-CAM and occlusion are computed for this panel only while it can be seen (not behind a tab)."""
        self._overlay.set_watched(seen)
        self._occlusion.set_active(seen)


def _caption() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
    return label


def _spin(low: int, high: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box


def percent(fraction: float) -> str:
    """A probability drop as a percentage with enough digits to be seen: 12 %, 0.4 %, 0.03 %, 0 %."""
    value = 100.0 * fraction
    if abs(value) >= 10:
        return f"{value:.0f} %"
    if abs(value) >= 1:
        return f"{value:.1f} %"
    if abs(value) < 1e-4:
        return "0 %"
    return f"{value:.2g} %"


def _fill_name(value: float) -> str:
    return next((name for name, fill in FILLS.items() if fill == value), f"{value:g}")
