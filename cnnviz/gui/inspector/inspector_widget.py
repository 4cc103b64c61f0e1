"""Draw a digit and watch every layer respond: canvas, model input, prediction, pipeline, maps.

The InspectorWidget composes small parts around a Qt-free `Inspection` state: `views.py` (the widgets
and their layout), `input_sources.py` (the canvas's tools, image files, the test set), `forward_pass.py`
(input -> every layer's output, in the compute process), `layer_panel.py` (the outputs shown),
`hover_readout.py`, `view_actions.py` and `export_menu.py`. Its public API (docs/ARCHITECTURE.md, "The
inspector's public API") is all that capabilities and lessons use: state and selection, signals for
their changes, and operations (select a layer or a channel, a layer mode, show an input).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from cnnviz.compute.protocol import ModelInfo
from cnnviz.core.colormaps import NORMALISATIONS
from cnnviz.core.inspection import Inspection
from cnnviz.core.preprocess import InputMapping
from cnnviz.gui.inspector.export_menu import ExportMenu
from cnnviz.gui.inspector.forward_pass import ForwardPass
from cnnviz.gui.inspector.hover_readout import HoverReadout
from cnnviz.gui.inspector.input_sources import InputSources
from cnnviz.gui.inspector.inspector_settings import restore_inspector_settings, save_inspector_settings
from cnnviz.gui.inspector.layer_panel import LayerPanel
from cnnviz.gui.inspector.view_actions import ViewActions
from cnnviz.gui.inspector.views import build_views
from cnnviz.gui.widgets.layer_modes import MAPS, LayerMode
from cnnviz.gui.widgets.qt_helpers import dropped_file


class InspectorWidget(QWidget):
    """The drawing-and-inspection area of the main window (contract: docs/ARCHITECTURE.md)."""

    input_changed = Signal(object)             # the model input ((28, 28) float32 for digits), or None when empty
    outputs_shown = Signal()                   # the views show new layer outputs (or none)
    export_requested = Signal(str, int, int)   # "channel"|"layer"|"all", layer index, channel (-1 = n/a)
    status_message = Signal(str)               # a short text for the status bar
    layer_changed = Signal(int)                # the selected layer (model order)
    channel_changed = Signal(object)           # the selected channel, or None
    layer_mode_changed = Signal(str)           # what the grid shows: "maps", "kernels", "patterns", …
    unit_hovered = Signal(object)              # the Unit (gui/seam/selection.py) under the cursor, or None

    def __init__(self, parent: QWidget | None = None, client=None):
        super().__init__(parent)
        self._state = Inspection()
        self.client = client                    # the ComputeClient (None: nothing is computed)
        self._model: ModelInfo | None = None
        self._own_model: ModelInfo | None = None   # the model's own while show_weights shows other weights
        self._restored_layer_mode = MAPS   # the view remembered in the settings (modes are added later)
        self.views = views = build_views(self)
        self.pipeline, self.canvas, self.model_input_view = views.pipeline, views.canvas, views.model_input_view
        self.prediction_bars, self.top_guess, self.colorbar = views.prediction_bars, views.top_guess, views.colorbar
        self.layer_grid, self.vector_view, self.channel_view = views.layer_grid, views.vector_view, views.channel_view
        self.layer_modes, self.image_adjust = views.layer_modes, views.image_adjust
        views.image_adjust.status_message.connect(self.status_message)
        self.input_sources = InputSources(self, views, client)
        self.picture_input = self.input_sources.picture_input
        self.forward = ForwardPass(self._state, views, self.model, self.picture_input, client, self)
        self.layer_panel = LayerPanel(self._state, views, self.model, self)
        self.hover = HoverReadout(self._state, views, self.model, self.layer_panel.channel_first_maps, self)
        self.view_actions_part = ViewActions(self, self._state, views, lambda: self.num_layers)
        self.export_menu_part = ExportMenu(self, self._state, views,
                                           lambda: self.layer_panel.current_description().name)
        self._drop_handlers: list = []
        self.setAcceptDrops(True)
        for item in (*self.input_actions(), self.view_actions_part.previous_action, self.view_actions_part.next_action):
            self.addAction(item)
        self._connect()
        self.layer_panel.apply_colormap()
        self.layer_panel.refresh_layer()

    def _connect(self) -> None:
        views, state = self.views, self._state
        views.pipeline.layer_clicked.connect(state.set_layer)
        views.layer_grid.channel_clicked.connect(state.set_channel)
        views.layer_modes.mode_changed.connect(self.layer_mode_changed)
        self.forward.input_changed.connect(self.input_changed)
        self.forward.probed.connect(self.input_sources.on_probed)
        self.forward.failed.connect(self.status_message)
        self.layer_panel.outputs_shown.connect(self.outputs_shown)
        self.hover.unit_hovered.connect(self.unit_hovered)
        self.export_menu_part.export_requested.connect(self.export_requested)
        state.subscribe("layer", lambda: self.layer_changed.emit(state.layer))
        state.subscribe("channel", lambda: self.channel_changed.emit(state.channel))

    # --- the model and training ------------------------------------------------------------------
    def set_client(self, client) -> None:
        """The ComputeClient that computes the outputs (set once, or when tests swap it)."""
        self.client = client
        self.forward.set_client(client)
        self.input_sources.test_digits.set_client(client)

    def set_model(self, model: ModelInfo | None) -> None:
        """A model is ready or replaced (None while loading): describe it, recompute, redraw."""
        self._model = model
        self._own_model = None
        self.layer_panel.set_model(model)
        if self._state.layer >= self.num_layers:
            self._state.set_layer(0)
        self.layer_panel.refresh_layer()
        self.input_sources.test_digits.forget_misclassified()
        self.forward.forget()
        self.input_sources.fit_to_model(model)
        self.forward.refresh_input()   # the same canvas, prepared as this model takes it

    def model(self) -> ModelInfo | None:
        return self._model

    def show_weights(self, weights: list | None, redraw: bool = True) -> None:
        """Show these per-layer weights (a checkpoint's, while scrubbing) as `model().weights` for the views
        that draw weights; None: the model's own again. The model that trains and saves is not changed, and
        `set_model` ends it. `redraw=False` when new outputs follow at once."""
        if self._model is None:
            return
        own = self._own_model or self._model
        self._own_model = None if weights is None else own
        self._model = own if weights is None else dataclasses.replace(own, weights=weights)
        if redraw:
            self.layer_panel.show_layer()

    def set_no_model_text(self, text: str | None) -> None:
        """What the map area and the prediction say while there is no model: "Loading the model…" (None), or
        why there is none (a model that failed to load)."""
        self.layer_panel.set_no_model_text(text)

    def set_training(self, training: bool) -> None:
        """True while the model trains: its test-set mistakes are unknown until it has finished."""
        self.input_sources.set_training(training)
        if not training:
            self.forward.compute()

    def show_activations(self, outputs: list, image: np.ndarray | None = None) -> None:
        """Every layer's outputs for `image` pushed while training (ignored unless `image` is the current
        input; None means the current input)."""
        self.forward.show_activations(outputs, image)

    def recompute_outputs(self) -> None:
        """Ask for the current input's outputs again (a capability changed how the compute process computes
        them, e.g. filters switched off)."""
        self.forward.compute()

    # --- what capabilities add -------------------------------------------------------------------
    def add_layer_mode(self, mode: LayerMode) -> None:
        """Offer another view of a layer's channels in the grid (see `gui/widgets/layer_modes.py`)."""
        self.layer_panel.add_layer_mode(mode, self._restored_layer_mode)

    def add_side_widget(self, widget: QWidget) -> None:
        """Show a capability's `widget` under the enlarged channel and its colour bar."""
        self.views.side_panel.layout().addWidget(widget)

    def add_channel_menu_hook(self, hook) -> None:
        """`hook(menu, layer, channel)` adds a capability's entries to the context menu of a channel (channel
        None: right-clicked beside the maps or on a flat layer) after the export ones."""
        self.export_menu_part.add_hook(hook)

    def add_open_image_hook(self, hook) -> None:
        """`hook(path) -> bool` is asked before an image file opens on the canvas (Open image…, a drop,
        `open_image`); True: the hook opens it itself later (the models capability first loads the model
        that reads pictures, then calls `open_image` again)."""
        self.input_sources.open_hooks.append(hook)

    def add_drop_handler(self, handler) -> None:
        """`handler(path) -> bool` is offered every file dropped on the window before it opens as a picture;
        True: the handler took it (the models capability opens model files)."""
        self._drop_handlers.append(handler)

    def export_menu(self, channel: int | None) -> QMenu:
        """The context menu of `channel` of the current layer (None: of the layer): export, then the hooks'."""
        return self.export_menu_part.menu(channel)

    # --- state and selection (read) --------------------------------------------------------------
    def current_input(self) -> np.ndarray | None:
        """The model input: (28, 28) float32 in [0, 1] for digit models, None when the canvas is empty."""
        return self._state.model_input

    def current_source_image(self) -> np.ndarray | None:
        """What the user drew or opened, (H, W) float32 in [0, 1], white ink on black."""
        return self._state.source_image

    def current_outputs(self) -> list | None:
        """Every layer's output for `current_input()`; None while they are being computed."""
        return self.forward.current_outputs()

    def current_input_mapping(self) -> InputMapping | None:
        """Where the current model input's pixels lie on the canvas (None when nothing is drawn)."""
        return self.forward.input_mapping()

    def current_layer(self) -> int:
        return self._state.layer

    def current_channel(self) -> int | None:
        return self._state.channel

    def current_layer_mode(self) -> str:
        """The name of the view the grid shows: "maps", or an added mode's name."""
        return self.layer_modes.current()

    def hovered_unit(self):
        """The Unit under the cursor in the current layer's maps or bars (None: none)."""
        return self.hover.unit()

    def hover_text(self) -> str:
        """The read-out under the grid (what is under the cursor)."""
        return self.hover.text()

    def layer_view(self) -> QWidget:
        """What the layer area shows: `layer_grid`, `vector_view`, a mode's placeholder, or a message."""
        return self.views.layer_stack.currentWidget()

    def layer_message(self) -> str:
        """The message shown in place of the maps (no model, nothing drawn, a mode's "on their way"…)."""
        return self.views.message.text()

    def colormap(self) -> str:
        return self._state.colormap

    def normalisation(self) -> str:
        return self._state.normalisation

    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layer_panel.layers if layer.index >= 0]

    def layer_kinds(self) -> list[str]:
        """Keras class name of each layer ("Conv2D", "MaxPooling2D", …)."""
        return [layer.kind for layer in self.layer_panel.layers if layer.index >= 0]

    @property
    def num_layers(self) -> int:
        return len(self.layer_panel.layers) - 1

    # --- operations --------------------------------------------------------------------------------
    def select_layer(self, layer: int | str) -> bool:
        """Show layer `layer` (its index in model order, or its name); False if there is none."""
        names = self.layer_names()
        index = names.index(layer) if isinstance(layer, str) and layer in names else layer
        if not isinstance(index, (int, np.integer)) or not 0 <= index < self.num_layers:
            return False
        self._state.set_layer(int(index))
        return True

    def select_channel(self, channel: int | None) -> bool:
        """Enlarge `channel` of the current layer (None: none); False if the layer has no such channel."""
        shape = self.layer_panel.current_description().shape
        if channel is not None and not (len(shape) == 3 and 0 <= channel < shape[2]):
            return False
        self._state.set_channel(None if channel is None else int(channel))
        return True

    def set_normalisation(self, mode: str) -> bool:
        """Colour the maps on one scale per "channel" (each map its own) or per "layer" (maps compare), as
        View → Scale colours per; False for another word."""
        if mode not in NORMALISATIONS:
            return False
        self._state.set_normalisation(mode)
        return True

    def set_layer_mode(self, name: str) -> bool:
        """Show the grid's view `name` ("maps", "kernels", "patterns"…); False if it does not apply here."""
        if name != MAPS and self.layer_modes.mode(name) is None:
            return False
        self.layer_modes.set_current(name)
        return self.layer_modes.current() == name

    def show_input(self, image: np.ndarray) -> None:
        """Put `image` on the canvas as the exact model input (the model's input size, values in [0, 1])."""
        self.input_sources.show_input(np.asarray(image, np.float32))

    def clear_input(self) -> None:
        """Clear the canvas (the model input is then None)."""
        self.input_sources.clear()

    def open_image(self, path: str | Path) -> bool:
        """Read the digit (or, for other models, the picture) in an image file and show it on the canvas."""
        return self.input_sources.open_image(path)

    def show_test_digit(self, index: int) -> bool:
        """Put test image `index` of the model's dataset on the canvas, exactly as stored."""
        return self.input_sources.show_test_digit(index)

    def input_actions(self) -> list[QAction]:
        """Clear (Delete), undo stroke (Ctrl+Z), open image (Ctrl+I), test digit by index / random / misclassified."""
        return self.input_sources.actions()

    def view_actions(self) -> list[QAction]:
        """Previous/next layer (Left/Right), colormap, normalisation."""
        return self.view_actions_part.actions()

    # --- settings, drag and drop ----------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        save_inspector_settings(self, self._state, settings)

    def restore_settings(self, settings: QSettings) -> None:
        self._restored_layer_mode = restore_inspector_settings(self, self._state, settings)

    def open_dropped(self, path: str | Path) -> bool:
        """A file dropped on the window: the first drop handler that takes it (a model file opens as the model),
        else it opens as a picture."""
        return any(handler(path) for handler in self._drop_handlers) or self.open_image(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if dropped_file(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        """Dropping a file opens it: a model as the window's model, a picture on the canvas."""
        path = dropped_file(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            # After the drop has returned: the file manager is not held while a dialog says what went wrong.
            QTimer.singleShot(0, lambda: self.open_dropped(path))

