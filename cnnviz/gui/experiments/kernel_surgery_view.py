"""The Kernel surgery tab: choose a filter, paint its weights or set them from a preset, and keep track of
the edits in force (Undo, Reset filter, Reset all). What the edits do to the test set, which digits the
filter fires on and saving an edited copy are below it (`edit_checks.py`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSizePolicy, QSlider, QSpinBox, QVBoxLayout, QWidget)

from cnnviz.gui.experiments.filter_choice import editable_layers
from cnnviz.gui.experiments.kernel_surgery import KernelSurgery
from cnnviz.gui.experiments.weight_painter import WeightPainter

BRUSH_STEPS = 40           # the brush slider: −2 … +2 in steps of 0.05
BRUSH_STEP = 0.05
EDIT_ROWS_SHOWN = 4        # the list of edits grows to this many rows, then scrolls
PRESET_BUTTONS = (("vertical-edge", "Vertical edge", "−1 0 +1 in every row: the left edges of strokes (Prewitt)"),
                  ("horizontal-edge", "Horizontal edge", "−1 −1 −1 / 0 / +1 +1 +1: the top edges of strokes"),
                  ("blur", "Blur", "1/9 everywhere: the mean of the 3×3 neighbourhood"),
                  ("identity", "Identity", "1 in the centre: passes its input through"),
                  ("zero", "Zero", "All weights and the bias 0: the filter's map is 0 before its ReLU"),
                  ("negate", "Negate", "Multiply the filter (weights and bias) by −1: right edges instead of left"),
                  ("double", "× 2", "Multiply the filter (weights and bias) by 2"),
                  ("halve", "× ½", "Multiply the filter (weights and bias) by ½"))
SHAPE_ONLY = ("vertical-edge", "horizontal-edge", "blur", "identity")


class KernelSurgeryView(QWidget):
    """Filter choice, the painter, presets and the list of edits, over a `KernelSurgery`."""

    show_filter_requested = Signal(str, int)   # show this filter's maps in the inspector

    def __init__(self, surgery: KernelSurgery, parent: QWidget | None = None):
        super().__init__(parent)
        self.surgery = surgery
        self._stroke = 0
        self._syncing = False
        self._notice = ""
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("The layer whose filter (or unit) you edit: Conv2D and Dense layers")
        self.filter_box = QSpinBox()
        self.filter_box.setToolTip("Which filter (conv) or unit (dense) of the layer")
        self.follow_box = QCheckBox("Follow the inspector")
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("Edit the filter you click in the inspector's maps. Untick it to keep editing "
                                   "this filter while you look at other layers.")
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.input_label = QLabel("Input channel")
        self.input_box = QSpinBox()
        self.input_box.setToolTip("A conv filter has one 3×3 slice per channel of the layer before it: paint "
                                  "one at a time")
        self.painter = WeightPainter()
        self.bias_label = QLabel()
        self.bias_label.setToolTip("The filter's bias, added after the weighted sum (presets set it to 0)")
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(-BRUSH_STEPS, BRUSH_STEPS)
        self.brush_slider.setValue(round(1.0 / BRUSH_STEP))
        self.brush_slider.setToolTip("The value the left button paints (the right button paints its negative)")
        self.brush_value = QLabel()
        self.preset_buttons: dict[str, QPushButton] = {}
        self.edits_list = QListWidget()
        self.edits_list.setToolTip("The edits in force, oldest first, as `cnnviz predict --edit` writes them. "
                                   "Double-click one to edit its filter again.")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Take the last edit back (a whole brush stroke is one edit) (Ctrl+Alt+Z)")
        self.reset_filter_button = QPushButton("Reset filter")
        self.reset_filter_button.setToolTip("Take back every edit of this filter")
        self.reset_all_button = QPushButton("Reset all")
        self.reset_all_button.setToolTip("Take back every edit: the model's own weights again")
        self.show_maps_button = QPushButton("Show its maps")
        self.show_maps_button.setToolTip("Select this filter's layer and channel in the inspector")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self._layout()
        self._connect()
        self._on_brush(self.brush_slider.value())
        self.sync_selection()
        self.sync_edits()

    def _layout(self) -> None:
        choose = QHBoxLayout()
        choose.addWidget(QLabel("Filter"))
        choose.addWidget(self.layer_box, 2)
        choose.addWidget(self.filter_box, 1)
        choose.addWidget(self.follow_box)
        inputs = QHBoxLayout()
        inputs.addWidget(self.input_label)
        inputs.addWidget(self.input_box)
        inputs.addStretch(1)
        describe = QHBoxLayout()
        describe.addWidget(self.description, 1)
        describe.addWidget(self.bias_label)
        presets = QGridLayout()
        presets.setSpacing(4)
        for i, (name, text, tip) in enumerate(PRESET_BUTTONS):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, preset=name: self.surgery.apply_preset(preset))
            self.preset_buttons[name] = button
            presets.addWidget(button, i // 2, i % 2)
        presets_box = QWidget()
        presets_box.setLayout(presets)
        presets_box.setObjectName("kernel_presets")
        self.presets_box = presets_box
        self.painter.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        middle = QHBoxLayout()
        middle.addWidget(self.painter, 1)
        middle.addWidget(presets_box)
        brush = QHBoxLayout()
        brush.addWidget(QLabel("Brush"))
        brush.addWidget(self.brush_slider, 1)
        brush.addWidget(self.brush_value)
        buttons = QHBoxLayout()
        for button in (self.undo_button, self.reset_filter_button, self.reset_all_button, self.show_maps_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(choose)
        layout.addLayout(describe)
        layout.addLayout(inputs)
        layout.addLayout(middle)
        layout.addLayout(brush)
        layout.addWidget(QLabel("Edits in force"))
        layout.addWidget(self.edits_list)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

    def _connect(self) -> None:
        surgery = self.surgery
        surgery.selection_changed.connect(self.sync_selection)
        surgery.changed.connect(self.sync_edits)
        surgery.notice.connect(self.show_notice)
        self.layer_box.activated.connect(self._on_layer_chosen)
        self.filter_box.valueChanged.connect(self._on_filter_chosen)
        self.follow_box.toggled.connect(self._on_follow)
        self.input_box.valueChanged.connect(lambda value: self._syncing or surgery.set_input_channel(value))
        self.brush_slider.valueChanged.connect(self._on_brush)
        self.painter.stroke_started.connect(self._on_stroke_started)
        self.painter.painted.connect(lambda grid: surgery.paint(grid, self._stroke))
        self.undo_button.clicked.connect(surgery.undo)
        self.reset_filter_button.clicked.connect(lambda: surgery.reset_filter())
        self.reset_all_button.clicked.connect(surgery.reset_all)
        self.show_maps_button.clicked.connect(self._on_show_maps)
        self.edits_list.itemDoubleClicked.connect(self._on_edit_chosen)

    # --- showing the state ----------------------------------------------------------------------------
    def sync_selection(self) -> None:
        """The filter choice, its description and the painter follow the surgery's filter."""
        from cnnviz.gui.experiments.filter_choice import grid_of

        self._syncing = True
        try:
            slot = self.surgery.slot()
            self._fill_layers()
            enabled = slot is not None
            for widget in (self.filter_box, self.painter, self.brush_slider, self.show_maps_button, self.input_box):
                widget.setEnabled(enabled)
            self.reset_filter_button.setEnabled(enabled and self.surgery.is_edited())
            for name, button in self.preset_buttons.items():
                button.setEnabled(enabled and (name not in SHAPE_ONLY or slot.takes_presets))
            if slot is None:
                self.description.setText(self.surgery.refusal() or "No model yet.")
                self.input_label.setVisible(False)
                self.input_box.setVisible(False)
                self.bias_label.setText("")
                self.painter.set_grid(np.zeros((3, 3), np.float32), editable=False)
                return
            self.layer_box.setCurrentIndex(max(0, self.layer_box.findData(slot.layer)))
            self.filter_box.setRange(0, slot.count - 1)
            self.filter_box.setValue(slot.channel)
            self.filter_box.setPrefix(f"{slot.noun} ")
            note = "" if slot.takes_presets else ("  ·  the 3×3 presets fit 3×3 conv kernels: paint, zero or scale "
                                                  "this one")
            self.description.setText(slot.describe() + note)
            self.input_label.setVisible(slot.inputs > 1)
            self.input_box.setVisible(slot.inputs > 1)
            self.input_box.setRange(0, slot.inputs - 1)
            self.input_box.setValue(self.surgery.input_channel())
            weights = self.surgery.weights()
            if weights is not None:
                kernel, bias = weights
                level = float(max(np.abs(kernel).max(initial=0.0), abs(self.painter.brush()), 1e-3))
                self.painter.set_grid(grid_of(slot, kernel, self.surgery.input_channel()), level)
                self.bias_label.setText("no bias" if bias is None else f"bias {bias:+.3f}")
        finally:
            self._syncing = False

    def _fill_layers(self) -> None:
        model = self.surgery.model()
        names = [] if model is None else [model.layers[i].name for i in editable_layers(model)]
        if [self.layer_box.itemData(i) for i in range(self.layer_box.count())] == names:
            return
        self.layer_box.clear()
        for i in ([] if model is None else editable_layers(model)):
            spec = model.layers[i]
            self.layer_box.addItem(f"{spec.name} ({spec.kind})", spec.name)

    def sync_edits(self) -> None:
        """The list of edits, the buttons that take them back, the painter's weights."""
        labels = self.surgery.labels()
        self.edits_list.clear()
        for label in labels:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, label.split("=")[0])
            self.edits_list.addItem(item)
        if not labels:
            item = QListWidgetItem("none: the model's own weights")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.edits_list.addItem(item)
        rows = min(max(len(labels), 1), EDIT_ROWS_SHOWN)
        self.edits_list.setFixedHeight(rows * self.edits_list.sizeHintForRow(0) + 2 * self.edits_list.frameWidth() + 2)
        self.undo_button.setEnabled(bool(labels))
        self.reset_all_button.setEnabled(bool(labels))
        count = len(labels)
        if count:
            self._notice = ""
        edits = "1 edit in force: the maps, the prediction, Grad-CAM and the attacks all use it." if count == 1 else \
            f"{count} edits in force: the maps, the prediction, Grad-CAM and the attacks all use them."
        self.status.setText(edits if count else self._notice)
        self.sync_selection()

    def show_notice(self, text: str) -> None:
        """Say `text` until the next edit (an edit refused, the edits dropped)."""
        self._notice = text
        self.status.setText(text)

    # --- the user's choices ------------------------------------------------------------------------------
    def _on_layer_chosen(self, _index: int) -> None:
        name = self.layer_box.currentData()
        if name is not None:
            self.surgery.select(name, 0)

    def _on_filter_chosen(self, value: int) -> None:
        slot = self.surgery.slot()
        if not self._syncing and slot is not None and value != slot.channel:
            self.surgery.select(slot.layer, value)

    def _on_follow(self, follow: bool) -> None:
        self.surgery.follow = follow

    def _on_brush(self, steps: int) -> None:
        value = steps * BRUSH_STEP
        self.painter.set_brush(value)
        self.brush_value.setText(f"{value:+.2f}")

    def _on_stroke_started(self) -> None:
        self._stroke += 1

    def _on_show_maps(self) -> None:
        slot = self.surgery.slot()
        if slot is not None:
            self.show_filter_requested.emit(slot.layer, slot.channel)

    def _on_edit_chosen(self, item: QListWidgetItem) -> None:
        """Double-clicking 'conv2d_1:5=…' edits filter 5 of conv2d_1 again."""
        where = item.data(Qt.ItemDataRole.UserRole)
        if where:
            layer, _, channel = where.rpartition(":")
            self.follow_box.setChecked(False)
            self.surgery.select(layer, int(channel))
