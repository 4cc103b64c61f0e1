"""Draw a digit and watch every layer respond: canvas, model input, prediction, pipeline, maps.

The InspectorWidget composes small views around a Qt-free `Inspection` state. Drawing updates the
state at most once per pass of the event loop (mouse moves are coalesced); the compute process
computes every layer's output in one forward pass ("probe" requests through the `ComputeClient`,
at most one in flight: `LatestRequest`), and the views repaint what changed. While training, the
compute process also pushes the current input's outputs as the weights change (`show_activations`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMenu, QMessageBox,
                               QSizePolicy, QSlider, QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from cnnviz.compute.protocol import ComputeError, ModelInfo
from cnnviz.core.colormaps import COLORMAPS, NORMALISATIONS, channel_levels, lookup_table
from cnnviz.core.data import DataError
from cnnviz.core.inspection import Inspection, LayerDescription, describe_network
from cnnviz.core.preprocess import InputMapping, fit_into_square
from cnnviz.core.tiling import strip_layout
from cnnviz.gui.widgets.channel_view import ChannelView
from cnnviz.gui.widgets.colorbar import ColorBar
from cnnviz.gui.widgets.drawing_canvas import DrawingCanvas
from cnnviz.gui.inspector.image_adjust import ImageAdjust
from cnnviz.gui.remote.latest_request import LatestRequest
from cnnviz.gui.widgets.layer_grid import LayerGrid
from cnnviz.gui.widgets.layer_modes import MAPS, LayerMode, LayerModeBar
from cnnviz.gui.widgets.model_input_view import ModelInputView
from cnnviz.gui.inspector.model_inputs import (PictureInput, input_note, input_shape, is_digit_model, placeholder,
                                     read_canvas, read_picture_file)
from cnnviz.gui.widgets.pipeline_overview import PipelineOverview
from cnnviz.gui.widgets.prediction_bars import PredictionBars, TopGuess
from cnnviz.gui.widgets.qt_helpers import make_action
from cnnviz.gui.inspector.test_digits import TestDigits
from cnnviz.gui.widgets.vector_view import VectorView

NORMALISATION_LABELS = {"channel": "channel", "layer": "layer"}  # the command line's words (--normalisation)
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.gif *.bmp);;All files (*)"
_SETTINGS_GROUP = "inspector"
LOADING_TEXT = "Loading the model…"   # what the map area says until a model is shown


class InspectorWidget(QWidget):
    """The drawing-and-inspection area of the main window (contract: docs/ARCHITECTURE.md)."""

    input_changed = Signal(object)             # (28, 28) float32 model input, or None when empty
    outputs_shown = Signal()                   # the views show new layer outputs (or none)
    export_requested = Signal(str, int, int)   # "channel"|"layer"|"all", layer index, channel (-1 = n/a)
    status_message = Signal(str)

    def __init__(self, parent: QWidget | None = None, client=None):
        super().__init__(parent)
        self._state = Inspection()
        self.client = client                    # the ComputeClient (None: nothing is computed)
        self._model: ModelInfo | None = None
        self._own_model: ModelInfo | None = None   # the model's own while show_weights shows other weights
        self._training = False
        self._outputs_for: np.ndarray | None = None   # the input the shown outputs belong to
        self._announce: tuple[np.ndarray, str] | None = None   # status to say once outputs for an input arrive
        self._probe_request = LatestRequest("probe", self._on_probe_result, self._on_probe_failed, client, self)
        self._layers: list[LayerDescription] = describe_network(None)
        self._refresh_scheduled = False
        self._last_folder = ""
        self._maps_cache: tuple[int, np.ndarray] | None = None   # (layer, channel-first maps)
        self._input_mapping: InputMapping | None = None   # model input -> canvas pixels
        self._restored_layer_mode = MAPS   # the view remembered in the settings (modes are added later)
        self._no_model_text = LOADING_TEXT   # or why there is none (set_no_model_text)
        self._test_digits = TestDigits(client, self)
        self._channel_menu_hooks: list = []   # features' entries in a channel's context menu
        self.setAcceptDrops(True)
        self._build_views()
        self._build_actions()
        self._connect()
        self._apply_colormap()
        self._on_layer_changed()

    # --- construction ------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.pipeline = PipelineOverview()
        self.canvas = DrawingCanvas()
        self.picture_input = PictureInput(self.canvas)   # pictures as non-digit models take them
        self.model_input_view = ModelInputView()
        self.model_input_view.setFixedSize(104, 104)
        self.prediction_bars = PredictionBars()
        self.top_guess = TopGuess()
        self.layer_grid = LayerGrid()
        self.vector_view = VectorView()
        self.channel_view = ChannelView()
        self.colorbar = ColorBar()
        self.layer_modes = LayerModeBar()   # Maps | Kernels | Patterns …: what the grid's tiles show
        self._message = QLabel(LOADING_TEXT)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._layer_stack = QStackedWidget()
        for page in (self.layer_grid, self.vector_view, self._message):
            self._layer_stack.addWidget(page)
        self._layer_title = QLabel()
        self._layer_title.setTextFormat(Qt.TextFormat.RichText)
        self._layer_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._layer_explanation = QLabel()
        self._layer_explanation.setWordWrap(True)
        self._layer_explanation.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._layer_explanation.setStyleSheet("color: gray;")
        self._hover_label = QLabel(" ")
        self._hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._colormap_box = QComboBox()
        self._colormap_box.addItems(COLORMAPS)
        self._colormap_box.setToolTip("Colormap of every map")
        self._normalisation_box = QComboBox()
        for mode in NORMALISATIONS:
            self._normalisation_box.addItem(NORMALISATION_LABELS[mode], mode)
        self._normalisation_box.setToolTip("Scale colours per channel (each map to its own range) or per layer "
                                           "(one range for all its maps, to compare them)")
        self._brush_slider = QSlider(Qt.Orientation.Horizontal)
        self._brush_slider.setRange(6, 48)
        self._brush_slider.setValue(int(self.canvas.brush_width()))
        self._brush_slider.setToolTip("Brush width")
        self._brush_label = QLabel()
        self._brush_label.setMinimumWidth(40)
        self._on_brush_changed(self._brush_slider.value())

        left = QVBoxLayout()
        left.setSpacing(6)
        left.addWidget(self.canvas, 1)
        self.image_adjust = ImageAdjust(self.canvas)   # invert / threshold for an opened picture
        self.image_adjust.status_message.connect(self.status_message)
        left.addWidget(self.image_adjust)
        left.addLayout(self._tool_row())
        left.addLayout(self._brush_row())
        below = QHBoxLayout()
        arrow = QLabel("→")
        arrow.setStyleSheet("color: gray; font-size: 18px;")
        below.addWidget(self.model_input_view)
        below.addWidget(arrow)
        below.addWidget(self.top_guess, 1)
        left.addLayout(below)
        left.addWidget(self.prediction_bars)
        left_panel = QWidget()
        left_panel.setLayout(left)
        left_panel.setFixedWidth(300)
        left.setContentsMargins(0, 0, 0, 0)

        footer = QHBoxLayout()
        footer.addStretch(1)   # the hover read-out has its own row above: nothing cuts it off
        footer.addWidget(QLabel("Colours"))
        footer.addWidget(self._colormap_box)
        footer.addWidget(QLabel("scaled per"))
        footer.addWidget(self._normalisation_box)
        maps = QHBoxLayout()
        maps.addWidget(self._layer_stack, 3)
        side = QVBoxLayout()
        side.addWidget(self.channel_view, 1)
        side.addWidget(self.colorbar)
        self._side_panel = QWidget()
        self._side_panel.setLayout(side)
        side.setContentsMargins(0, 0, 0, 0)
        maps.addWidget(self._side_panel, 2)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self._layer_title)
        right.addWidget(self._layer_explanation)
        right.addWidget(self.layer_modes)
        right.addLayout(maps, 1)
        right.addWidget(self._hover_label)
        right.addLayout(footer)

        body = QHBoxLayout()
        body.addWidget(left_panel)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.pipeline.in_scroll_area())   # scrolls sideways when a network is long
        layout.addLayout(body, 1)

    def _tool_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(3)
        self._tool_buttons = {}
        for key, text, tip in (("undo", "Undo", "Undo the last stroke (Ctrl+Z)"),
                               ("clear", "Clear", "Clear the canvas (Delete)"),
                               ("open", "Open…", "Open an image file (Ctrl+I)"),
                               ("mnist", "MNIST ▾", "Show a digit from the MNIST test set")):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setAutoRaise(False)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.addWidget(button)
            self._tool_buttons[key] = button
        return row

    def _brush_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Brush"))
        row.addWidget(self._brush_slider, 1)
        row.addWidget(self._brush_label)
        return row

    def _choice_action(self, title: str, choices: list[tuple[str, str]], slot) -> tuple[QAction, QActionGroup]:
        """An action with a submenu of exclusive, checkable choices (label, data); `slot` gets the chosen action."""
        group = QActionGroup(self)
        menu = QMenu(title, self)
        for label, data in choices:
            item = menu.addAction(label)
            item.setCheckable(True)
            item.setData(data)
            group.addAction(item)
        group.triggered.connect(slot)
        action = QAction(title, self)
        action.setMenu(menu)
        return action, group

    def _build_actions(self) -> None:
        def action(text, handler, shortcut=None, tip=""):
            return make_action(self, text, tip, handler, shortcut)

        self._clear_action = action("Clear canvas", self._on_clear, QKeySequence.StandardKey.Delete,
                                    "Start again on a black canvas")
        self._undo_action = action("Undo stroke", self._on_undo, QKeySequence.StandardKey.Undo,
                                   "Take back the last stroke")
        self._open_action = action("Open image…", self._on_open_image, "Ctrl+I",
                                   "Read a digit from a PNG or JPEG (any size, either polarity)")
        self._index_action = action("Test digit by index…", self._on_test_digit_by_index, tip="Pick one of "
                                    "the 10,000 MNIST test digits")
        self._random_action = action("Random test digit", self._on_random_test_digit, "Ctrl+R",
                                     "A random MNIST test digit")
        self._wrong_action = action("Misclassified test digit", self._on_misclassified_test_digit,
                                    "Ctrl+Shift+R", "A test digit the current model gets wrong")
        self._previous_action = action("Previous layer", self._on_previous_layer, "Left",
                                       "Show the layer before this one")
        self._next_action = action("Next layer", self._on_next_layer, "Right", "Show the layer after this one")

        self._colormap_action, self._colormap_group = self._choice_action(
            "Colormap", [(name, name) for name in COLORMAPS], self._on_colormap_action)
        self._normalisation_action, self._normalisation_group = self._choice_action(
            "Scale colours per", [(NORMALISATION_LABELS[mode], mode) for mode in NORMALISATIONS],
            self._on_normalisation_action)

        for item in (*self.input_actions(), self._previous_action, self._next_action):
            self.addAction(item)
        mnist_menu = QMenu(self)
        mnist_menu.addActions([self._index_action, self._random_action, self._wrong_action])
        self._tool_buttons["mnist"].setMenu(mnist_menu)
        self._tool_buttons["mnist"].setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # One arrow: the typed ▾ (centred with the text), not Qt's small menu indicator in the corner too.
        self._tool_buttons["mnist"].setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self._tool_buttons["undo"].clicked.connect(self._on_undo)
        self._tool_buttons["clear"].clicked.connect(self._on_clear)
        self._tool_buttons["open"].clicked.connect(self._on_open_image)

    def _connect(self) -> None:
        self.canvas.image_changed.connect(self._on_canvas_changed)
        self.pipeline.layer_clicked.connect(self._state.set_layer)
        self.layer_grid.channel_clicked.connect(self._state.set_channel)
        self.layer_grid.channel_hovered.connect(self._on_channel_hovered)
        self.layer_grid.context_menu_requested.connect(self._on_grid_context_menu)
        self.channel_view.context_menu_requested.connect(self._on_channel_context_menu)
        self.vector_view.unit_hovered.connect(self._on_unit_hovered)
        self.vector_view.context_menu_requested.connect(self._on_vector_context_menu)
        self._colormap_box.currentTextChanged.connect(self._state.set_colormap)
        self._normalisation_box.currentIndexChanged.connect(self._on_normalisation_box)
        self._brush_slider.valueChanged.connect(self._on_brush_changed)
        self._test_digits.misclassified_ready.connect(self._on_misclassified_ready)
        self._test_digits.misclassified_failed.connect(self.status_message)
        self._state.subscribe("input", self._on_input_changed)
        self._state.subscribe("outputs", self._on_outputs_changed)
        self._state.subscribe("layer", self._on_layer_changed)
        self._state.subscribe("channel", self._on_channel_changed)
        self._state.subscribe("display", self._on_display_changed)
        self.layer_modes.mode_changed.connect(self._on_layer_mode_changed)

    # --- public API (docs/ARCHITECTURE.md) -----------------------------------------------------
    def set_client(self, client) -> None:
        """The ComputeClient that computes the outputs (set once, or when tests swap it)."""
        self.client = client
        self._probe_request.set_client(client)
        self._test_digits.set_client(client)

    def set_model(self, model: ModelInfo | None) -> None:
        """A model is ready or replaced (None while loading): describe it, recompute, redraw."""
        self._model = model
        self._own_model = None
        self._layers = describe_network(None if model is None else list(model.layers),
                                        None if model is None else model.description())
        self.pipeline.set_layers(self._layers, None if model is None else model.layers,
                                 1.0 if model is None else model.input_scale)
        if self._state.layer >= self.num_layers:
            self._state.set_layer(0)
        self._on_layer_changed()
        self._test_digits.forget_misclassified()
        self._probe_request.clear()
        self._fit_views_to_model(model)
        self._refresh_input()   # the same canvas, prepared as this model takes it

    def _fit_views_to_model(self, model: ModelInfo | None) -> None:
        """What depends on the kind of model (issue 14): class names and logits in the bars, the input's
        size and colour, what the canvas is for, the test set used, a picture opened for another model."""
        digit = is_digit_model(model)
        names = None if model is None else model.class_names
        self._state.outputs_logits = model is not None and model.outputs_logits
        self.prediction_bars.set_class_names(names, self._state.outputs_logits)
        self.top_guess.set_class_names(names)
        self.model_input_view.set_input_kind(input_shape(model), 1.0 if model is None else model.input_scale, digit)
        self.canvas.set_placeholder(placeholder(model))
        self._test_digits.set_dataset((None if model is None else model.dataset) or "mnist")
        self._update_test_wording(model is None or model.dataset is not None)
        if not digit:
            self.image_adjust.setVisible(False)
        opened = self.picture_input.pixels()
        if model is not None and self.picture_input.is_shown() and opened is not None:
            pixels, name = opened
            if digit:
                self.image_adjust.open_picture(pixels.mean(axis=-1) if pixels.ndim == 3 else pixels, name)
            elif self.canvas.exact_input() is None or self.canvas.exact_input().size != np.prod(model.input_shape):
                self.picture_input.open(pixels, model, name)

    def _update_test_wording(self, available: bool) -> None:
        """The test-set actions name the model's dataset ("Fashion-MNIST ▾", "Random test image"); off
        for a model that classifies none cnnviz knows."""
        title, item = self._test_digits.title(), self._test_digits.item()
        self._tool_buttons["mnist"].setText(f"{title} ▾")
        self._tool_buttons["mnist"].setToolTip(f"Show an image from the {title} test set" if available else
                                               "This model classifies none of the datasets cnnviz knows")
        self._tool_buttons["mnist"].setEnabled(available)
        for action, text, tip in ((self._index_action, f"Test {item} by index…",
                                   f"Pick one of the 10,000 {title} test {item}s"),
                                  (self._random_action, f"Random test {item}", f"A random {title} test {item}"),
                                  (self._wrong_action, f"Misclassified test {item}",
                                   f"A test {item} the current model gets wrong")):
            action.setText(text)
            action.setStatusTip(tip)
            action.setEnabled(available and (action is not self._wrong_action or not self._training))

    def model(self) -> ModelInfo | None:
        return self._model

    def show_weights(self, weights: list | None, redraw: bool = True) -> None:
        """Show these per-layer weights (a checkpoint's, while scrubbing) as `model().weights` for the
        views that draw weights; None: the model's own again. The model that trains and saves is not
        changed, and `set_model` ends it. `redraw=False` when new outputs follow at once."""
        if self._model is None:
            return
        own = self._own_model or self._model
        self._own_model = None if weights is None else own
        self._model = own if weights is None else dataclasses.replace(own, weights=weights)
        if redraw:
            self._show_layer()

    def set_no_model_text(self, text: str | None) -> None:
        """What the map area and the prediction say while there is no model: `LOADING_TEXT` (None),
        or why there is none (a model that failed to load)."""
        self._no_model_text = text or LOADING_TEXT
        if self._model is None:
            self._on_outputs_changed()

    def add_layer_mode(self, mode: LayerMode) -> None:
        """Offer another view of a layer's channels in the grid (see `gui/widgets/layer_modes.py`)."""
        self.layer_modes.add_mode(mode)
        mode.changed.connect(self._on_layer_mode_data)
        self.layer_modes.set_layer(self._current_description())
        if mode.name == self._restored_layer_mode:
            self.layer_modes.set_current(mode.name)

    def current_layer_mode(self) -> str:
        """The name of the view the grid shows: "maps", or an added mode's name."""
        return self.layer_modes.current()

    def current_input_mapping(self) -> InputMapping | None:
        """Where the current model input's pixels lie on the canvas (None when nothing is drawn)."""
        return self._input_mapping

    def recompute_outputs(self) -> None:
        """Ask for the current input's outputs again (a feature changed how the compute process
        computes them, e.g. filters switched off)."""
        self._compute_outputs()

    def add_side_widget(self, widget: QWidget) -> None:
        """Show a feature's `widget` under the enlarged channel and its colour bar."""
        self._side_panel.layout().addWidget(widget)

    def set_training(self, training: bool) -> None:
        """True while the model trains: its test-set mistakes are unknown until it has finished."""
        self._training = bool(training)
        self._wrong_action.setEnabled(not training and self._tool_buttons["mnist"].isEnabled())
        if not training:
            self._test_digits.forget_misclassified()  # training changed the model
            self._compute_outputs()

    def show_activations(self, outputs: list, image: np.ndarray | None = None) -> None:
        """Every layer's outputs for `image` pushed while training (ignored unless `image` is the
        current input; None means the current input)."""
        current = self._state.model_input
        if current is None or outputs is None:
            return
        if image is not None and not np.array_equal(image, current):
            return
        self._outputs_for = current
        self._state.set_outputs(outputs)

    def current_input(self) -> np.ndarray | None:
        return self._state.model_input

    def current_source_image(self) -> np.ndarray | None:
        return self._state.source_image

    def current_outputs(self) -> list | None:
        """Every layer's output for `current_input()`; None while they are being computed."""
        if self._state.outputs is None or self._outputs_for is not self._state.model_input:
            return None
        return self._state.outputs

    def current_layer(self) -> int:
        return self._state.layer

    def current_channel(self) -> int | None:
        return self._state.channel

    def colormap(self) -> str:
        return self._state.colormap

    def normalisation(self) -> str:
        return self._state.normalisation

    def layer_names(self) -> list[str]:
        return [layer.name for layer in self._layers if layer.index >= 0]

    def layer_kinds(self) -> list[str]:
        """Keras class name of each layer ("Conv2D", "MaxPooling2D", …)."""
        return [layer.kind for layer in self._layers if layer.index >= 0]

    @property
    def num_layers(self) -> int:
        return len(self._layers) - 1

    def input_actions(self) -> list[QAction]:
        return [self._clear_action, self._undo_action, self._open_action,
                self._index_action, self._random_action, self._wrong_action]

    def view_actions(self) -> list[QAction]:
        return [self._previous_action, self._next_action, self._colormap_action, self._normalisation_action]

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup(_SETTINGS_GROUP)
        settings.setValue("colormap", self._state.colormap)
        settings.setValue("normalisation", self._state.normalisation)
        settings.setValue("layer", self._state.layer)
        settings.setValue("layer_mode", self.layer_modes.current())
        settings.setValue("brush_width", int(self.canvas.brush_width()))
        settings.setValue("last_folder", self._last_folder)
        settings.endGroup()

    def restore_settings(self, settings: QSettings) -> None:
        settings.beginGroup(_SETTINGS_GROUP)
        colormap = str(settings.value("colormap", self._state.colormap))
        normalisation = str(settings.value("normalisation", self._state.normalisation))
        layer = _to_int(settings.value("layer", 0), 0)
        self._restored_layer_mode = str(settings.value("layer_mode", MAPS) or MAPS)
        self._brush_slider.setValue(_to_int(settings.value("brush_width", self._brush_slider.value()), 22))
        self._last_folder = str(settings.value("last_folder", "") or "")
        settings.endGroup()
        if colormap in COLORMAPS:
            self._state.set_colormap(colormap)
        if normalisation in NORMALISATIONS:
            self._state.set_normalisation(normalisation)
        if 0 <= layer < self.num_layers:
            self._state.set_layer(layer)

    # --- inputs --------------------------------------------------------------------------------
    def open_image(self, path: str | Path) -> bool:
        """Read the digit in an image file and show it on the canvas (with what was found outlined over
        the picture, see ImageAdjust); on failure say why and keep the canvas."""
        from cnnviz.core.images import ImageFileError, read_grey

        if not is_digit_model(self._model):
            return self._open_picture(path)
        try:
            grey = read_grey(path)
        except ImageFileError as exc:
            self.status_message.emit(str(exc))
            if self.isVisible():
                QMessageBox.warning(self, "Cannot open image", str(exc))
            return False
        self.image_adjust.open_picture(grey, Path(path).name)   # says what it read on status_message
        return True

    def _open_picture(self, path: str | Path) -> bool:
        """A picture for a non-digit model: resized as it is, shown in colour on the canvas."""
        from cnnviz.core.images import ImageFileError

        try:
            pixels = read_picture_file(path)
        except ImageFileError as exc:
            self.status_message.emit(str(exc))
            if self.isVisible():
                QMessageBox.warning(self, "Cannot open image", str(exc))
            return False
        self.status_message.emit(self.picture_input.open(pixels, self._model, Path(path).name))
        return True

    def show_test_digit(self, index: int) -> bool:
        """Put MNIST test digit `index` on the canvas; the model sees the digit exactly as stored."""
        try:
            digit, label = self._test_digits.digit(index)
        except DataError as exc:
            self._report_missing_mnist(str(exc))
            return False
        self.canvas.set_image(fit_into_square(digit, self.canvas.canvas_size, margin=0.0), exact_input=digit)
        self.status_message.emit(f"{self._test_digits.describe(index)}.")
        return True

    def _report_missing_mnist(self, message: str) -> None:
        self.status_message.emit(message)
        if self.isVisible():
            QMessageBox.information(self, f"{self._test_digits.title()} not found", message)

    def _on_open_image(self) -> None:
        """Ask for an image file and open it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open a digit image", self._last_folder, IMAGE_FILTER)
        if path:
            self._last_folder = str(Path(path).parent)
            self.open_image(path)

    def _on_test_digit_by_index(self) -> None:
        """Ask for a test-set index."""
        try:
            count = self._test_digits.count()
        except DataError as exc:
            self._report_missing_mnist(str(exc))
            return
        index, ok = QInputDialog.getInt(self, f"{self._test_digits.title()} test {self._test_digits.item()}",
                                        f"Index (0–{count - 1}):", 0, 0, count - 1)
        if ok:
            self.show_test_digit(index)

    def _on_random_test_digit(self) -> None:
        try:
            self.show_test_digit(self._test_digits.random_index())
        except DataError as exc:
            self._report_missing_mnist(str(exc))

    def _on_misclassified_test_digit(self) -> None:
        """Show a digit the model gets wrong (the compute process finds them first, if needed)."""
        if self._model is None or self._training:
            self.status_message.emit("Wait for the model (and for training to finish) to find its mistakes.")
            return
        generation = self._model.generation
        index = self._test_digits.random_misclassified(generation)
        if index is not None:
            self._show_misclassified(index)
            return
        if self._test_digits.misclassified(generation) is not None:
            self.status_message.emit("This model classifies all 10,000 test digits correctly.")
            return
        self._test_digits.find_misclassified(generation)
        self.status_message.emit("Classifying the 10,000 test digits to find the model's mistakes…")

    def _on_misclassified_ready(self, generation: int, indices) -> None:
        """The search finished: show one of the mistakes (if the model is still the current one)."""
        if self._model is None or generation != self._model.generation:
            return
        self.status_message.emit(f"The model gets {len(indices)} of the 10,000 test digits wrong.")
        if len(indices):
            self._show_misclassified(self._test_digits.random_misclassified(generation))

    def _show_misclassified(self, index: int) -> None:
        """Show test digit `index`; say what the model makes of it once its outputs arrive."""
        if self.show_test_digit(index):
            digit, label = self._test_digits.digit(index)
            self._announce = (digit, self._test_digits.describe(index, ":"))

    def _on_brush_changed(self, width: int) -> None:
        self.canvas.set_brush_width(width)
        self._brush_label.setText(f"{width} px")

    def _on_clear(self) -> None:
        self.canvas.clear()

    def _on_undo(self) -> None:
        if not self.canvas.undo():
            self.status_message.emit("Nothing to undo.")

    # --- the input and the forward pass ---------------------------------------------------------
    def _on_canvas_changed(self) -> None:
        """Coalesce: however many moves arrive, prepare the input once per event-loop pass."""
        if not self._refresh_scheduled:
            self._refresh_scheduled = True
            QTimer.singleShot(0, self._refresh_input)

    def _refresh_input(self) -> None:
        """Canvas -> model input (MNIST's recipe for digit models, the canvas or an opened picture resized
        for others, or the exact test image; see gui/inspector/model_inputs.py) -> state."""
        self._refresh_scheduled = False
        source = self.canvas.image()
        reading = read_canvas(source, self.canvas.exact_input(), self._model, self.picture_input.placed())
        self.canvas.set_guides(*(reading.guides or (None, None)))
        self._input_mapping = reading.mapping
        self._state.set_input(source, reading.model_input)

    def _on_input_changed(self) -> None:
        """Show the model input, tell listeners, compute the outputs."""
        model_input = self._state.model_input
        self.model_input_view.set_image(model_input)
        self.input_changed.emit(model_input)
        self._compute_outputs()

    def _compute_outputs(self) -> None:
        """Ask the compute process for every layer's output of the current input."""
        image = self._state.model_input
        if self._model is None or image is None or self.client is None:
            self._probe_request.clear()
            self._outputs_for = None
            self._state.set_outputs(None)
            return
        self._probe_request.submit({"image": image}, image)

    def _on_probe_result(self, result: dict, image: np.ndarray) -> None:
        """Show the outputs (for the current input, or for one the stroke just passed through)."""
        if self._state.model_input is None or self._model is None or result["generation"] < self._model.generation:
            return
        self._outputs_for = image
        self._state.set_outputs(result["outputs"])
        if self._announce is not None and np.array_equal(self._announce[0], image):
            guess = self.prediction_bars.top_label()
            said = f", the model says {guess[0]} ({guess[1]:.0%})" if guess else ""
            self.status_message.emit(f"{self._announce[1]}{said}.")
            self._announce = None

    def _on_probe_failed(self, error: ComputeError, image: np.ndarray) -> None:
        """Say why there are no outputs (a crash is reported by the main window's banner)."""
        if not error.crashed:
            self.status_message.emit(f"Could not compute the layer outputs: {error.message}")

    # --- showing the outputs -------------------------------------------------------------------
    def _on_outputs_changed(self) -> None:
        """Repaint everything that shows layer outputs."""
        self._maps_cache = None
        outputs = self._state.outputs
        if outputs is None:
            placeholder = ("Draw a digit" if is_digit_model(self._model) else "Open a picture") \
                if self._model is not None else (
                LOADING_TEXT if self._no_model_text == LOADING_TEXT else "No model")
            self.prediction_bars.set_probabilities(None)
            self.top_guess.set_probabilities(None, placeholder)
        else:
            self.prediction_bars.set_probabilities(self._state.probabilities)
            self.top_guess.set_probabilities(self._state.probabilities)
        self.pipeline.set_activity(self._state.model_input, outputs)
        self._show_layer()
        self.outputs_shown.emit()

    def _on_layer_changed(self) -> None:
        """A different layer: title, overview selection, and a sensible channel to enlarge."""
        layer = self._current_description()
        self.pipeline.set_selected(layer.index)
        self._layer_title.setText(f"<b>{layer.name}</b> &nbsp;·&nbsp; {layer.summary} &nbsp;·&nbsp; "
                                  f"<b>{layer.shape_text}</b>")
        self._layer_title.setToolTip(layer.explanation)
        self._layer_explanation.setText(_first_sentence(layer.explanation))
        self._layer_explanation.setToolTip(layer.explanation)
        self.layer_modes.set_layer(layer)
        self._maps_cache = None
        if layer.is_spatial and self._state.channel is None:
            self._state.set_channel(0)  # notifies _on_channel_changed
        self._show_layer()

    def _on_channel_changed(self) -> None:
        self._show_channel()

    def _on_display_changed(self) -> None:
        """Colormap or normalisation changed: new LUTs, same data."""
        self._apply_colormap()
        self._normalisation_box.setCurrentIndex(NORMALISATIONS.index(self._state.normalisation))
        self._on_outputs_changed()

    def _apply_colormap(self) -> None:
        table = lookup_table(self._state.colormap)
        for view in (self.layer_grid, self.channel_view, self.vector_view, self.colorbar, self.pipeline):
            if view is self.colorbar:
                view.set_colormap(self._state.colormap)
            else:
                view.set_lookup_table(table)
        self._colormap_box.setCurrentText(self._state.colormap)
        for item in self._colormap_group.actions():
            item.setChecked(item.data() == self._state.colormap)
        for item in self._normalisation_group.actions():
            item.setChecked(item.data() == self._state.normalisation)

    def _current_description(self) -> LayerDescription:
        return self._layers[self._state.layer + 1]

    def _channel_first_maps(self) -> np.ndarray:
        """The current layer's maps as (C, H, W) C-contiguous float32, made once per update."""
        layer = self._state.layer
        if self._maps_cache is None or self._maps_cache[0] != layer:
            maps = self._state.outputs[layer]
            self._maps_cache = (layer, np.ascontiguousarray(np.moveaxis(maps, -1, 0), dtype=np.float32))
        return self._maps_cache[1]

    def _levels(self) -> np.ndarray:
        return channel_levels(self._state.outputs[self._state.layer], self._state.normalisation)

    def _show_layer(self) -> None:
        """Fill the grid (conv/pool) or the bars (flat layers) with the current layer's output."""
        layer = self._current_description()
        outputs = self._state.outputs
        mode = self.layer_modes.mode(self.layer_modes.current())
        # The colour choices are the maps' (a mode's tiles bring their own colours and levels).
        for box in (self._colormap_box, self._normalisation_box):
            box.setEnabled(mode is None or not layer.is_spatial)
        if layer.is_spatial and mode is not None:
            self._show_tiles(mode, layer)
            return
        self.layer_grid.set_lookup_table(lookup_table(self._state.colormap))
        self._side_panel.setVisible(layer.is_spatial and outputs is not None)
        if outputs is None:
            self._message.setText(self._no_model_text if self._model is None else
                                  f"{input_note(self._model)} Then see what every layer makes of it.")
            self._layer_stack.setCurrentWidget(self._message)
            self.channel_view.set_map(None, (0, 1), "")
            self.colorbar.set_levels(None)
            return
        levels = self._levels()
        if layer.is_spatial:
            self.layer_grid.set_maps(self._channel_first_maps(), levels)
            self._layer_stack.setCurrentWidget(self.layer_grid)
            self._show_channel()
        else:
            index = self._state.layer
            values = outputs[index]
            is_classes = index == len(outputs) - 1 and values.ndim == 1 and values.size <= 20   # ticks fit
            # A Flatten of maps is drawn as a heat strip laid out like them (3×3×64: rows y,x, columns c).
            layout = strip_layout(values.size, outputs[index - 1].shape) if index > 0 else None
            source = self.layer_names()[index - 1] if index > 0 else ""
            class_word = "digit" if is_digit_model(self._model) else "class"
            self.vector_view.set_values(values, tuple(levels[0]), class_word if is_classes else "unit", is_classes,
                                        layout=layout, source_name=source)
            self._layer_stack.setCurrentWidget(self.vector_view)
            self.colorbar.set_levels(tuple(levels[0]), "all units")

    def _show_tiles(self, mode: LayerMode, layer: LayerDescription) -> None:
        """Fill the grid with an added mode's tiles (kernels, patterns…) instead of the maps."""
        tiles = mode.tiles(layer.index)
        if tiles is None:
            placeholder = mode.placeholder(layer.index)   # e.g. progress and Cancel
            if placeholder is None:
                self._message.setText(mode.message(layer.index))
                placeholder = self._message
            elif self._layer_stack.indexOf(placeholder) < 0:
                self._layer_stack.addWidget(placeholder)
            self._layer_stack.setCurrentWidget(placeholder)
            self._side_panel.setVisible(False)
            return
        self.layer_grid.set_lookup_table(tiles.lookup_table)
        self.layer_grid.set_maps(np.ascontiguousarray(tiles.images, dtype=np.float32), tiles.levels)
        self.layer_grid.set_selected(self._state.channel)
        self._layer_stack.setCurrentWidget(self.layer_grid)
        self._side_panel.setVisible(self._state.outputs is not None)
        self._show_channel()   # the mode's own enlarged tile (kernels…), else the channel's map
        channel = self._state.channel if self._state.channel is not None else 0
        if channel < len(tiles.levels):
            self.colorbar.set_colormap(tiles.colormap or self._state.colormap)
            self.colorbar.set_levels(tuple(tiles.levels[channel]), tiles.caption)

    def _on_layer_mode_changed(self, _name: str) -> None:
        """Maps, kernels, patterns…: show the chosen view of the current layer."""
        self.colorbar.set_colormap(self._state.colormap)
        self._show_layer()

    def _on_layer_mode_data(self) -> None:
        """A mode has new tiles (new weights, a finished computation): redraw if it is shown."""
        mode = self.sender()
        if isinstance(mode, LayerMode) and mode.name == self.layer_modes.current():
            self._show_layer()

    def _show_channel(self) -> None:
        """Enlarge the selected channel; the colour bar shows its levels."""
        layer = self._current_description()
        channel = self._state.channel
        self.layer_grid.set_selected(channel)
        if self._show_mode_channel(layer, channel):
            return
        self.channel_view.set_lookup_table(lookup_table(self._state.colormap))   # after a mode's tile
        self.colorbar.set_colormap(self._state.colormap)
        if self._state.outputs is None or not layer.is_spatial or channel is None:
            return
        levels = self._levels()[channel]
        title = f"<b>{layer.name}</b> channel <b>{channel}</b> of {layer.shape[2]}"
        self.channel_view.set_map(self._channel_first_maps()[channel], tuple(levels), title)
        caption = f"channel {channel}" if self._state.normalisation == "channel" else "whole layer"
        self.colorbar.set_levels(tuple(levels), caption)

    def _show_mode_channel(self, layer: LayerDescription, channel: int | None) -> bool:
        """Enlarge the chosen mode's own picture of `channel` (e.g. a filter's weights) with the
        tiles' colours; False when the mode has none (the channel's map is shown instead)."""
        mode = self.layer_modes.mode(self.layer_modes.current())
        if mode is None or channel is None or not layer.is_spatial:
            return False
        tiles = mode.tiles(layer.index)
        enlarged = mode.enlarged(layer.index, channel) if tiles is not None and channel < len(tiles.levels) else None
        if enlarged is None:
            return False
        image, title = enlarged
        self.channel_view.set_lookup_table(tiles.lookup_table)
        self.channel_view.set_map(np.ascontiguousarray(image, dtype=np.float32), tuple(tiles.levels[channel]), title)
        self._side_panel.setVisible(True)
        return True

    # --- view handlers -------------------------------------------------------------------------
    def _on_previous_layer(self) -> None:
        self._state.set_layer(max(0, self._state.layer - 1))

    def _on_next_layer(self) -> None:
        self._state.set_layer(min(self.num_layers - 1, self._state.layer + 1))

    def _on_colormap_action(self, action: QAction) -> None:
        self._state.set_colormap(action.data())

    def _on_normalisation_action(self, action: QAction) -> None:
        self._state.set_normalisation(action.data())

    def _on_normalisation_box(self, index: int) -> None:
        self._state.set_normalisation(self._normalisation_box.itemData(index))

    def _on_channel_hovered(self, channel: int, x: int, y: int) -> None:
        """Status line: the map pixel (or mode tile pixel) under the cursor in the grid."""
        mode = self.layer_modes.mode(self.layer_modes.current())
        if channel >= 0 and mode is not None:
            self._set_hover_text(mode.describe_tile(self._state.layer, channel, y, x))
            return
        if channel < 0 or self._state.outputs is None:
            self._set_hover_text(" ")
            return
        value = self._channel_first_maps()[channel, y, x]
        self._set_hover_text(f"channel {channel}  ·  x {x}, y {y}  ·  value {value:.4f}  "
                             f"(click to enlarge, right-click to export)")

    def _on_unit_hovered(self, unit: int) -> None:
        if unit < 0 or self._state.outputs is None:
            self._set_hover_text(" ")
            return
        value = self._state.outputs[self._state.layer][unit]
        if self._state.layer == self.num_layers - 1 and self._model is not None:   # the classes
            names = self._model.class_names
            name = names[unit] if unit < len(names) else str(unit)
            self._set_hover_text(f"{'digit' if is_digit_model(self._model) else 'class'} {name}  ·  value {value:.4f}")
            return
        self._set_hover_text(f"{self.vector_view.describe_unit(unit)}  ·  value {value:.4f}")

    def _set_hover_text(self, text: str) -> None:
        """The read-out in its own row under the grid: elided if the row is ever too narrow for it
        (the whole text is then its tooltip)."""
        width = self._hover_label.contentsRect().width()
        shown = text
        if width > 0 and self._hover_label.fontMetrics().horizontalAdvance(text) > width:
            shown = self._hover_label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, width)
        self._hover_label.setText(shown)
        self._hover_label.setToolTip(text if shown != text else "")

    # --- export menu ---------------------------------------------------------------------------
    def _on_grid_context_menu(self, channel: int, position) -> None:
        self._show_export_menu(channel if channel >= 0 else self._state.channel, position)

    def _on_channel_context_menu(self, position) -> None:
        self._show_export_menu(self._state.channel, position)

    def _on_vector_context_menu(self, position) -> None:
        self._show_export_menu(None, position)

    def _show_export_menu(self, channel: int | None, position) -> None:
        self.export_menu(channel).popup(position)

    def export_menu(self, channel: int | None) -> QMenu:
        """"Export this channel…", "Export this layer…", "Export all layers…" -> export_requested."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layer = self._state.layer
        if channel is not None:
            menu.addAction(f"Export channel {channel}…",
                           lambda: self.export_requested.emit("channel", layer, channel))
        menu.addAction(f"Export layer {self._current_description().name}…",
                       lambda: self.export_requested.emit("layer", layer, -1))
        menu.addAction("Export all layers…", lambda: self.export_requested.emit("all", layer, -1))
        for hook in self._channel_menu_hooks:
            hook(menu, layer, channel)
        return menu

    def add_channel_menu_hook(self, hook) -> None:
        """`hook(menu, layer, channel)` adds a feature's entries to the context menu of a channel
        (channel None: right-clicked beside the maps or on a flat layer) after the export ones."""
        self._channel_menu_hooks.append(hook)

    # --- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        """Dropping an image file opens it."""
        urls = [url for url in event.mimeData().urls() if url.isLocalFile()]
        if urls:
            self.open_image(urls[0].toLocalFile())
            event.acceptProposedAction()


def _first_sentence(text: str) -> str:
    """Up to the first full stop followed by a space (the size arithmetic of a layer)."""
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


def _to_int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
