"""Two variants side by side: the user's digit's feature maps at the same layer position, what one unit
of that layer sees, and both pipelines drawn to one scale.

The maps come from the compute process ("lab_probe" on the variants' own trained models, kept there
per variant; "lab_load" first reads a variant's file). The receptive field and the pipelines are
arithmetic on the variants' LayerSpecs, done here. So the learner sees `no-pooling` end on 22×22×64
maps whose units each see 7×7 pixels, beside the seed's 3×3×64 maps whose units see 18×18.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.architectures import ARCHITECTURES, architecture_specs
from cnnviz.core.colormaps import DEFAULT_COLORMAP, channel_levels, lookup_table
from cnnviz.core.inspection import describe_network
from cnnviz.core.model import INPUT_SHAPE
from cnnviz.core.receptive_field import geometries, unit_box
from cnnviz.gui.lab.data import VARIANT_COLOURS, VariantResult, common_positions, position_label, spatial_positions
from cnnviz.gui.lab.table import colour_icon
from cnnviz.gui.remote.latest_request import LatestRequest
from cnnviz.gui.widgets.layer_grid import LayerGrid
from cnnviz.gui.widgets.model_input_view import display_pixels, to_qimage
from cnnviz.gui.widgets.pipeline_overview import PipelineOverview
from cnnviz.gui.widgets.view_colours import FIELD, MUTED_TEXT, PANEL

DEFAULT_PAIR = ("seed", "no-pooling")
DEFAULT_POSITION = "conv2d_3"
PIPELINE_HEIGHT = 112
UNIT_VIEW_SIZE = 112


class UnitField(QWidget):
    """The 28×28 model input with the box of input pixels one unit sees."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._box = None
        self.setFixedSize(UNIT_VIEW_SIZE, UNIT_VIEW_SIZE)
        self.setToolTip("Your digit as the network gets it, and the pixels one unit of this layer sees "
                        "(hover a map to move the unit)")

    def set_image(self, image: np.ndarray | None) -> None:
        self._image = None if image is None else to_qimage(display_pixels(image))
        self.update()

    def set_box(self, box) -> None:
        """A receptive_field.Box (rows/columns of the 28×28 input), or None."""
        self._box = box
        self.update()

    def box(self):
        return self._box

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        side = min(self.width(), self.height())
        scale = side / INPUT_SHAPE[0]
        painter.fillRect(QRectF(0, 0, side, side), PANEL)
        if self._image is not None:
            painter.drawImage(QRectF(0, 0, side, side), self._image)
        if self._box is not None and self._box.height and self._box.width:
            painter.setPen(QPen(FIELD, 2))
            painter.setBrush(QColor(FIELD.red(), FIELD.green(), FIELD.blue(), 50))
            painter.drawRect(QRectF(self._box.left * scale, self._box.top * scale, self._box.width * scale,
                                    self._box.height * scale))


class _Side(QWidget):
    """One variant: its choice, a title, the maps with the unit's field, or why there are none."""

    open_requested = Signal(str)

    def __init__(self, default: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.choice = QComboBox()
        for name in ARCHITECTURES:
            self.choice.addItem(colour_icon(name), name, name)
        self.choice.setCurrentIndex(ARCHITECTURES.index(default))
        self.choice.setToolTip("The variant shown on this side")
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.setMinimumContentsLength(10)
        self.open_button = QPushButton("Open in the inspector")
        self.open_button.setToolTip("Make this trained variant the current model of the main window")
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self.variant()))
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.grid = LayerGrid()
        self.grid.setMinimumSize(120, 100)
        self.field = UnitField()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet(f"color: {MUTED_TEXT.name()};")
        maps = QWidget()
        row = QHBoxLayout(maps)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.grid, 1)
        row.addWidget(self.field, 0, Qt.AlignmentFlag.AlignTop)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(maps)
        header = QHBoxLayout()
        header.addWidget(self.choice, 1)
        header.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(header)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)

    def variant(self) -> str:
        return self.choice.currentData()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def show_maps(self, maps: np.ndarray, levels: np.ndarray) -> None:
        self.grid.set_maps(maps, levels)
        self.stack.setCurrentIndex(1)

    def showing_maps(self) -> bool:
        return self.stack.currentIndex() == 1


class SideBySide(QWidget):
    """Two variants' maps of one digit at one layer position, and their pipelines to one scale."""

    open_requested = Signal(str)          # a variant to open in the inspector
    pair_changed = Signal()               # the variants or the position changed (remembered by the dock)

    def __init__(self, client=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self._image: np.ndarray | None = None
        self._image_shown = True                   # the fields show `_image` (set_input while hidden: not yet)
        self._results: dict[str, VariantResult] = {name: VariantResult(name) for name in ARCHITECTURES}
        self._outputs: dict[str, list[np.ndarray]] = {}
        self._loading: set[str] = set()
        self._failed: dict[str, str] = {}
        self._lookup_table = lookup_table(DEFAULT_COLORMAP)
        self._probe = LatestRequest("lab_probe", self._on_outputs, self._on_probe_failed, client, self)
        self.sides = [_Side(DEFAULT_PAIR[0]), _Side(DEFAULT_PAIR[1])]
        self.position = QComboBox()
        self.position.setToolTip("The layer position compared: the same layer name means the same place in "
                                 "every variant (the first pooling is max or average pooling)")
        self.position.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.pipelines = [PipelineOverview(), PipelineOverview()]
        self._pipeline_rows: list[QHBoxLayout] = []
        self._pipeline_labels: list[QLabel] = []
        top = QHBoxLayout()
        top.addWidget(QLabel("Layer:"))
        top.addWidget(self.position)
        top.addStretch(1)
        self._hint = QLabel()
        self._hint.setStyleSheet(f"color: {MUTED_TEXT.name()};")
        top.addWidget(self._hint)
        columns = QGridLayout()
        columns.setHorizontalSpacing(12)
        for column, side in enumerate(self.sides):
            columns.addWidget(side, 0, column)
            columns.setColumnStretch(column, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(columns, 1)
        for pipeline in self.pipelines:
            pipeline.setFixedHeight(PIPELINE_HEIGHT)
            label = QLabel()
            label.setFixedWidth(110)
            label.setWordWrap(True)
            row = QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(label)
            row.addWidget(pipeline)
            self._pipeline_rows.append(row)
            self._pipeline_labels.append(label)
            layout.addLayout(row)
        for index, side in enumerate(self.sides):
            side.choice.currentIndexChanged.connect(self._on_pair_changed)
            side.open_requested.connect(self.open_requested)
            side.grid.channel_hovered.connect(lambda channel, x, y, index=index: self._on_unit_hovered(index, x, y))
            self.pipelines[index].layer_clicked.connect(lambda layer, index=index: self._on_block_clicked(index, layer))
        self.position.currentIndexChanged.connect(self._on_position_changed)
        self._on_pair_changed()

    # --- what the dock tells it ---------------------------------------------------------------------
    def set_client(self, client) -> None:
        self.client = client
        self._probe.set_client(client)

    def set_input(self, image: np.ndarray | None) -> None:
        """The user's digit (28×28 model input) changed."""
        self._image = None if image is None else np.asarray(image, dtype=np.float32)
        self._image_shown = False
        if self.isVisible():   # hidden, a stroke costs nothing here: showing it shows the digit
            self._show_image()

    def _show_image(self) -> None:
        self._image_shown = True
        for side in self.sides:
            side.field.set_image(self._image)
        self.refresh()

    def input(self) -> np.ndarray | None:
        """The digit whose maps are shown (28×28 model input), or None."""
        return self._image

    def set_results(self, results: dict[str, VariantResult]) -> None:
        """Which variants have trained models (and where); maps are asked for again."""
        self._results = dict(results)
        self._failed = {}
        self._outputs = {}
        self._update_open_buttons()
        self.refresh()

    def set_pair(self, first: str, second: str, position: str | None = None) -> None:
        for side, name in zip(self.sides, (first, second)):
            if name in ARCHITECTURES:
                side.choice.setCurrentIndex(ARCHITECTURES.index(name))
        if position is not None:
            self.set_position(position)

    def pair(self) -> tuple[str, str]:
        return self.sides[0].variant(), self.sides[1].variant()

    def current_position(self) -> str:
        return self.position.currentData() or DEFAULT_POSITION

    def set_position(self, position: str) -> None:
        index = self.position.findData(position)
        if index >= 0:
            self.position.setCurrentIndex(index)

    def shown_maps(self, side: int) -> np.ndarray | None:
        """The (C, H, W) maps a side shows, or None (tests and tools)."""
        return self.sides[side].grid.maps() if self.sides[side].showing_maps() else None

    def refresh(self) -> None:
        """Ask the compute process for both variants' layer outputs of the current digit (only while
        shown: a hidden Lab costs the compute process nothing; showing it asks again)."""
        self._update_titles()
        variants = {name: self._results[name].model_path for name in set(self.pair())
                    if self._results[name].model_path is not None}
        if self._image is None or not variants or self.client is None or not self.isVisible():
            self._probe.clear()
            self._show()
            return
        self._probe.submit({"image": self._image, "variants": variants}, self._image)
        self._show()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._image_shown:
            self.refresh()
        else:
            self._show_image()

    # --- replies ---------------------------------------------------------------------------------------
    def _on_outputs(self, result: dict, image: np.ndarray) -> None:
        if image is not self._image:
            return  # a newer digit is on its way
        self._outputs.update(result["outputs"])
        missing = [name for name in result["missing"] if name not in self._loading and name not in self._failed]
        if missing:
            self._load(missing)
        self._show()

    def _on_probe_failed(self, error: ComputeError, image) -> None:
        if not error.crashed:
            self._hint.setText(f"Could not compute the maps: {error.message}")

    def _load(self, names: list[str]) -> None:
        """Read the variants' model files in the compute process (a task), then ask for the maps again."""
        self._loading.update(names)
        variants = {name: self._results[name].model_path for name in names}
        self.client.request("lab_load", {"variants": variants}, on_reply=self._on_loaded,
                            on_error=lambda error, names=tuple(names): self._on_load_failed(names, error))
        self._show()

    def _on_loaded(self, result: dict) -> None:
        self._loading.difference_update(result["loaded"])
        self._loading.difference_update(result["failed"])
        self._failed.update(result["failed"])
        self.refresh()

    def _on_load_failed(self, names: tuple, error: ComputeError) -> None:
        self._loading.difference_update(names)
        if not error.crashed:
            self._failed.update(dict.fromkeys(names, error.message))
        self._show()

    # --- drawing -----------------------------------------------------------------------------------------
    def _show(self) -> None:
        position = self.current_position()
        for index, (side, name) in enumerate(zip(self.sides, self.pair())):
            layer = spatial_positions(name).get(position)
            outputs = self._outputs.get(name)
            reason = self._why_no_maps(name)
            if reason:
                side.show_message(reason)
            elif outputs is None or layer is None:
                side.show_message("Computing…")
            else:
                maps = np.ascontiguousarray(np.moveaxis(outputs[layer], -1, 0), dtype=np.float32)
                side.grid.set_lookup_table(self._lookup_table)
                side.show_maps(maps, channel_levels(outputs[layer], "channel"))
            self.pipelines[index].set_activity(self._image if outputs is not None else None, outputs)

    def _why_no_maps(self, name: str) -> str:
        result = self._results[name]
        if result.model_path is None:
            return (f"{name} has no trained model yet: check it on the left and press Train."
                    if result.row is None else f"{name}'s results came without its model file.")
        if name in self._failed:
            return f"Could not open {result.model_path.name}: {self._failed[name]}"
        if self._image is None:
            return "Draw a digit in the main window (or pick an MNIST digit) to see its maps here."
        if name in self._loading:
            return f"Opening {name}…"
        return ""

    def _update_titles(self) -> None:
        position = self.current_position()
        longest = max(len(architecture_specs(name)) for name in self.pair())
        for index, (side, name) in enumerate(zip(self.sides, self.pair())):
            specs = architecture_specs(name)
            layer = spatial_positions(name).get(position)
            colour = "rgb({}, {}, {})".format(*VARIANT_COLOURS[name])
            if layer is None:
                side.title.setText(f"<b style='color:{colour}'>{name}</b> has no {position_label(position)}")
            else:
                spec = specs[layer]
                field_size = geometries(list(specs), INPUT_SHAPE)[layer].size
                height, width, channels = spec.output_shape
                side.title.setText(
                    f"<b style='color:{colour}'>{name}</b> · {spec.name}: <b>{channels} maps of "
                    f"{height}×{width}</b>; one unit sees <b>{field_size}×{field_size}</b> of the 28×28 pixels")
                self._set_unit(index, height // 2, width // 2)
            pipeline = self.pipelines[index]
            pipeline.set_layers(describe_network(list(specs)))
            pipeline.set_selected(-2 if layer is None else layer)
            # Slots of equal width in both rows draw both networks to one scale (the overview scales
            # each to its width per layer): the shorter network gets a shorter row.
            row = self._pipeline_rows[index]
            row.setStretch(1, len(specs) + 1)
            if row.count() == 3:
                row.takeAt(2)
            row.addStretch(longest - len(specs))
            self._pipeline_labels[index].setText(f"<b style='color:{colour}'>{name}</b><br>"
                                                 f"<small>{len(specs)} layers, to scale</small>")
        self._hint.setText("Hover a map to see the pixels its unit sees")

    def _set_unit(self, side: int, y: int, x: int) -> None:
        name = self.pair()[side]
        layer = spatial_positions(name).get(self.current_position())
        if layer is None:
            self.sides[side].field.set_box(None)
            return
        geometry = geometries(list(architecture_specs(name)), INPUT_SHAPE)[layer]
        self.sides[side].field.set_box(unit_box(geometry, y, x, INPUT_SHAPE[:2]))

    # --- user actions ------------------------------------------------------------------------------------
    @Slot()
    def _on_pair_changed(self) -> None:
        """Offer the positions both variants have; keep the chosen one when it still exists."""
        wanted = self.position.currentData() or DEFAULT_POSITION
        self.position.blockSignals(True)
        self.position.clear()
        for position in common_positions(*self.pair()):
            self.position.addItem(position_label(position), position)
        index = self.position.findData(wanted)
        self.position.setCurrentIndex(index if index >= 0 else self.position.count() - 1)
        self.position.blockSignals(False)
        self._update_open_buttons()
        self.refresh()
        self.pair_changed.emit()

    def _update_open_buttons(self) -> None:
        for side in self.sides:
            side.open_button.setEnabled(self._results[side.variant()].model_path is not None)

    @Slot()
    def _on_position_changed(self) -> None:
        self._update_titles()
        self._show()
        self.pair_changed.emit()

    def _on_unit_hovered(self, side: int, x: int, y: int) -> None:
        """Move the unit whose field is drawn to the one under the cursor (the centre one when off the maps)."""
        maps = self.shown_maps(side)
        if maps is None:
            return
        if x < 0:
            y, x = maps.shape[1] // 2, maps.shape[2] // 2
        self._set_unit(side, y, x)

    def _on_block_clicked(self, side: int, layer: int) -> None:
        """A click on a pipeline block compares that position, when both variants have it."""
        name = self.pair()[side]
        for position, index in spatial_positions(name).items():
            if index == layer:
                self.set_position(position)
