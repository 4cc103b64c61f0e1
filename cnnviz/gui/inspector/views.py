"""The inspector's widgets and how they are laid out: the canvas and the prediction on the left, the
pipeline overview on top, the current layer's maps (or bars) with the enlarged channel on the right."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QStackedWidget, QToolButton,
                               QVBoxLayout, QWidget)

from cnnviz.core.colormaps import COLORMAPS, NORMALISATIONS
from cnnviz.gui.inspector.image_adjust import ImageAdjust
from cnnviz.gui.widgets.channel_view import ChannelView
from cnnviz.gui.widgets.colorbar import ColorBar
from cnnviz.gui.widgets.drawing_canvas import DrawingCanvas
from cnnviz.gui.widgets.layer_grid import LayerGrid
from cnnviz.gui.widgets.layer_modes import LayerModeBar
from cnnviz.gui.widgets.model_input_view import ModelInputView
from cnnviz.gui.widgets.pipeline_overview import PipelineOverview
from cnnviz.gui.widgets.prediction_bars import PredictionBars, TopGuess
from cnnviz.gui.widgets.vector_view import VectorView

NORMALISATION_LABELS = {"channel": "channel", "layer": "layer"}  # the command line's words (--normalisation)
LOADING_TEXT = "Loading the model…"   # what the map area says until a model is shown
TOOL_BUTTONS = (("undo", "Undo", "Undo the last stroke (Ctrl+Z)"), ("clear", "Clear", "Clear the canvas (Delete)"),
                ("open", "Open…", "Open an image file (Ctrl+I)"),
                ("mnist", "MNIST ▾", "Show a digit from the MNIST test set"))


@dataclass
class InspectorViews:
    """Every widget of the inspector (public: capabilities draw on some of them; docs/ARCHITECTURE.md)."""

    pipeline: PipelineOverview = field(default_factory=PipelineOverview)
    canvas: DrawingCanvas = field(default_factory=DrawingCanvas)
    model_input_view: ModelInputView = field(default_factory=ModelInputView)
    prediction_bars: PredictionBars = field(default_factory=PredictionBars)
    top_guess: TopGuess = field(default_factory=TopGuess)
    layer_grid: LayerGrid = field(default_factory=LayerGrid)
    vector_view: VectorView = field(default_factory=VectorView)
    channel_view: ChannelView = field(default_factory=ChannelView)
    colorbar: ColorBar = field(default_factory=ColorBar)
    layer_modes: LayerModeBar = field(default_factory=LayerModeBar)   # Maps | Kernels | …: what the tiles show
    message: QLabel = field(default_factory=lambda: QLabel(LOADING_TEXT))
    layer_stack: QStackedWidget = field(default_factory=QStackedWidget)
    layer_title: QLabel = field(default_factory=QLabel)
    layer_explanation: QLabel = field(default_factory=QLabel)
    hover_label: QLabel = field(default_factory=lambda: QLabel(" "))
    colormap_box: QComboBox = field(default_factory=QComboBox)
    normalisation_box: QComboBox = field(default_factory=QComboBox)
    brush_slider: QSlider = field(default_factory=lambda: QSlider(Qt.Orientation.Horizontal))
    brush_label: QLabel = field(default_factory=QLabel)
    side_panel: QWidget = field(default_factory=QWidget)   # the enlarged channel, its colour bar, capabilities' widgets
    tool_buttons: dict[str, QToolButton] = field(default_factory=dict)
    image_adjust: ImageAdjust | None = None


def build_views(owner: QWidget) -> InspectorViews:
    """Make the inspector's widgets and lay them out in `owner`."""
    views = InspectorViews()
    views.model_input_view.setFixedSize(104, 104)
    views.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
    views.message.setWordWrap(True)
    for page in (views.layer_grid, views.vector_view, views.message):
        views.layer_stack.addWidget(page)
    views.layer_title.setTextFormat(Qt.TextFormat.RichText)
    views.layer_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    views.layer_explanation.setWordWrap(True)
    views.layer_explanation.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    views.layer_explanation.setStyleSheet("color: gray;")
    views.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    views.colormap_box.addItems(COLORMAPS)
    views.colormap_box.setToolTip("Colormap of every map")
    for mode in NORMALISATIONS:
        views.normalisation_box.addItem(NORMALISATION_LABELS[mode], mode)
    views.normalisation_box.setToolTip("Scale colours per channel (each map to its own range) or per layer "
                                       "(one range for all its maps, to compare them)")
    views.brush_slider.setRange(6, 48)
    views.brush_slider.setValue(int(views.canvas.brush_width()))
    views.brush_slider.setToolTip("Brush width")
    views.brush_label.setMinimumWidth(40)
    views.image_adjust = ImageAdjust(views.canvas)   # invert / threshold for an opened picture

    layout = QVBoxLayout(owner)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(views.pipeline.in_scroll_area())   # scrolls sideways when a network is long
    body = QHBoxLayout()
    body.addWidget(_left_panel(views))
    body.addLayout(_right_panel(views), 1)
    layout.addLayout(body, 1)
    return views


def _left_panel(views: InspectorViews) -> QWidget:
    """The canvas, its tools, the model input and the prediction."""
    left = QVBoxLayout()
    left.setSpacing(6)
    left.addWidget(views.canvas, 1)
    left.addWidget(views.image_adjust)
    tools = QHBoxLayout()
    tools.setSpacing(3)
    for key, text, tip in TOOL_BUTTONS:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(False)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        tools.addWidget(button)
        views.tool_buttons[key] = button
    left.addLayout(tools)
    brush = QHBoxLayout()
    brush.addWidget(QLabel("Brush"))
    brush.addWidget(views.brush_slider, 1)
    brush.addWidget(views.brush_label)
    left.addLayout(brush)
    below = QHBoxLayout()
    arrow = QLabel("→")
    arrow.setStyleSheet("color: gray; font-size: 18px;")
    below.addWidget(views.model_input_view)
    below.addWidget(arrow)
    below.addWidget(views.top_guess, 1)
    left.addLayout(below)
    left.addWidget(views.prediction_bars)
    panel = QWidget()
    panel.setLayout(left)
    panel.setFixedWidth(300)
    left.setContentsMargins(0, 0, 0, 0)
    return panel


def _right_panel(views: InspectorViews) -> QVBoxLayout:
    """The layer's title, its modes, its maps with the enlarged channel, the hover read-out, the colours."""
    footer = QHBoxLayout()
    footer.addStretch(1)   # the hover read-out has its own row above: nothing cuts it off
    footer.addWidget(QLabel("Colours"))
    footer.addWidget(views.colormap_box)
    footer.addWidget(QLabel("scaled per"))
    footer.addWidget(views.normalisation_box)
    maps = QHBoxLayout()
    maps.addWidget(views.layer_stack, 3)
    side = QVBoxLayout()
    side.addWidget(views.channel_view, 1)
    side.addWidget(views.colorbar)
    views.side_panel.setLayout(side)
    side.setContentsMargins(0, 0, 0, 0)
    maps.addWidget(views.side_panel, 2)
    right = QVBoxLayout()
    right.setContentsMargins(0, 0, 0, 0)
    right.addWidget(views.layer_title)
    right.addWidget(views.layer_explanation)
    right.addWidget(views.layer_modes)
    right.addLayout(maps, 1)
    right.addWidget(views.hover_label)
    right.addLayout(footer)
    return right
