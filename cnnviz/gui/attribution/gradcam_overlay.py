"""Grad-CAM, live: a translucent heat overlay on the model input and on the user's own drawing, with the
class it explains ("why 7?").

`GradCamOverlay` asks the compute process ("gradcam", on the serving copy, so it also works while
the model trains) for the newest input only (`LatestRequest`), and paints the answer over the
28×28 model input view and, mapped back with `inspector.current_input_mapping()`, over the canvas.
The heat picture is made here with numpy: the raw map (3×3 at conv2d_3) upsampled bilinearly,
scaled to its maximum and coloured, with an alpha of `OVERLAY_OPACITY × heat`, so it blends over
the input exactly as `core.gradcam.overlay` (the command line's picture) does.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.colormaps import lookup_table
from cnnviz.core.gradcam import OVERLAY_COLORMAP, OVERLAY_OPACITY, GradCamResult, upsample
from cnnviz.core.layer_choice import default_conv_layer, is_conv
from cnnviz.gui.remote.latest_request import LatestRequest

PICTURE_SCALE = 4   # heat-picture pixels per model-input pixel (smooth when stretched over the canvas)


def heat_rgba(heatmap: np.ndarray, height: int, width: int, colormap: str = OVERLAY_COLORMAP,
              opacity: float = OVERLAY_OPACITY, at_least: float = 0.0) -> np.ndarray:
    """(height, width, 4) uint8: `heatmap` (any resolution; negative values count as 0) upsampled,
    scaled to its maximum (or to `at_least` if that is larger, so that tiny values stay faint) and
    coloured; alpha = opacity × heat (cold places stay see-through)."""
    heat = np.clip(upsample(np.nan_to_num(heatmap), height, width), 0.0, None)
    peak = max(float(heat.max()), at_least)
    heat = heat / peak if peak > 0 else heat
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[..., :3] = lookup_table(colormap)[np.round(heat * 255).astype(np.uint8)]
    rgba[..., 3] = np.round(opacity * heat * 255).astype(np.uint8)
    return rgba


def rgba_image(rgba: np.ndarray) -> QImage:
    """(H, W, 4) uint8, not premultiplied -> an owned QImage."""
    rgba = np.ascontiguousarray(rgba, np.uint8)
    return QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.strides[0], QImage.Format.Format_RGBA8888).copy()


def conv_layers(model) -> list[str]:
    """The conv layers Grad-CAM can explain at (names), for a ModelInfo (or [] without one)."""
    return [] if model is None else [spec.name for spec in model.layers if is_conv(spec)]


class GradCamOverlay(QObject):
    """Keeps the Grad-CAM overlay of the current input up to date while it is switched on."""

    explained = Signal(object)   # the GradCamResult shown, or None when there is none
    failed = Signal(str)         # why Grad-CAM could not be computed
    choices_changed = Signal()   # on/off, the layer or the class changed

    def __init__(self, inspector, client, parent: QObject | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self._request = LatestRequest("gradcam", self._on_result, self._on_failed, client, self)
        self._enabled = False                  # painted over the input and the drawing
        self._watched = False                  # a panel shows the result (computed even when not painted)
        self._layer: str | None = None         # None: the model's last conv layer
        self._class_index: int | None = None   # None: the predicted class
        self._result: GradCamResult | None = None
        self.is_training: Callable[[], bool] = lambda: False   # the window says (weights move: follow them)
        inspector.input_changed.connect(self._on_input_changed)
        inspector.outputs_shown.connect(self._on_outputs_shown)

    # --- choices -------------------------------------------------------------------------------
    def is_enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        """Show (and keep computing) the overlay, or take it away."""
        if bool(enabled) != self._enabled:
            self._enabled = bool(enabled)
            self._paint()
            self.choices_changed.emit()
        self.refresh()

    def set_watched(self, watched: bool) -> None:
        """A panel shows the explanation: compute it even while the overlay is off."""
        self._watched = bool(watched)
        self.refresh()

    def is_computing(self) -> bool:
        return self._enabled or self._watched

    def layer(self) -> str | None:
        """The layer explained at: the chosen one if the model has it, else its last conv layer."""
        model = self._inspector.model()
        layers = conv_layers(model)
        if self._layer in layers:
            return self._layer
        return default_conv_layer(model.layers) if layers else None

    def chosen_layer(self) -> str | None:
        return self._layer

    def set_layer(self, name: str | None) -> None:
        self._layer = name or None
        self.choices_changed.emit()
        self.refresh()

    def class_index(self) -> int | None:
        return self._class_index

    def set_class(self, class_index: int | None) -> None:
        """Explain this class (None: whatever the model predicts)."""
        self._class_index = None if class_index is None else int(class_index)
        self.choices_changed.emit()
        self.refresh()

    def result(self) -> GradCamResult | None:
        """The explanation shown (None when the overlay is off or nothing is drawn)."""
        return self._result

    def busy(self) -> bool:
        return self._request.busy()

    def set_client(self, client) -> None:
        self._request.set_client(client)

    # --- computing -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Ask for the current input's map (or clear the overlay when off / nothing to explain)."""
        image = self._inspector.current_input()
        layer = self.layer()
        if not self.is_computing() or image is None or layer is None:
            self._request.clear()
            self._show(None)
            return
        chosen = self._class_index if self._class_index is not None and \
            self._class_index < len(self._class_names()) else None   # another model may have fewer classes
        self._request.submit({"image": image, "layer": layer, "class_index": chosen}, image)

    def _on_input_changed(self, image) -> None:
        if self.is_computing():
            self.refresh()

    def _on_outputs_shown(self) -> None:
        """While training the weights move under a still input: follow them as the maps do."""
        if self.is_computing() and self.is_training():
            self.refresh()

    def _on_result(self, reply: dict, image: np.ndarray) -> None:
        model = self._inspector.model()
        if not self.is_computing() or model is None or reply["generation"] < model.generation:
            return
        if self._inspector.current_input() is None:
            self._show(None)
            return
        self._show(reply["result"])

    def _on_failed(self, error: ComputeError, image) -> None:
        if not error.crashed:
            self.failed.emit(f"Grad-CAM failed: {error.message}")

    # --- painting ------------------------------------------------------------------------------
    def label(self, result: GradCamResult | None = None) -> str:
        """"why 7?" (and what the model says when another class is explained) for `result` (default:
        the one shown)."""
        result = result if result is not None else self._result
        if result is None:
            return ""
        names = self._class_names()
        text = f"why {names[result.class_index]}?"
        if result.class_index != result.predicted:
            text += f" (the model says {names[result.predicted]})"
        return text

    def _class_names(self) -> list[str]:
        model = self._inspector.model()
        return list(model.class_names) if model is not None and model.class_names else [str(i) for i in range(10)]

    def picture(self) -> np.ndarray | None:
        """The RGBA pixels of the overlay shown (PICTURE_SCALE per model-input pixel), or None."""
        image = self._inspector.current_input()
        if self._result is None or image is None:
            return None
        height, width = image.shape[:2]
        return heat_rgba(self._result.heatmap, height * PICTURE_SCALE, width * PICTURE_SCALE)

    def _show(self, result: GradCamResult | None) -> None:
        """Keep `result` (None: nothing to explain) and paint it if the overlay is on."""
        inspector = self._inspector
        usable = inspector.current_input() is not None and inspector.current_input_mapping() is not None
        self._result = result if usable else None
        self._paint()
        self.explained.emit(self._result)

    def _paint(self) -> None:
        """Paint the result over the model input and the drawing (or take the overlay away when off)."""
        inspector = self._inspector
        picture = self.picture() if self._enabled else None
        if picture is None:
            inspector.model_input_view.set_heat_overlay(None)
            inspector.canvas.set_heat_overlay(None)
            return
        image = rgba_image(picture)
        height, width = inspector.current_input().shape[:2]
        inspector.model_input_view.set_heat_overlay(image)
        inspector.canvas.set_heat_overlay(image, inspector.current_input_mapping().box_to_source(0, 0, height, width),
                                          f"{self.label()}  ·  Grad-CAM at {self._result.layer}")
