"""Any Keras image classifier in the window (issue 14): what the window says about the model shown.

Installed as a feature module (`main_window.FEATURE_MODULES`). It adds File → "Open the shipped
Fashion-MNIST model", and a banner under the compute banner that says, for each model shown,
what the user needs to know: that its weights hold NaN or infinite values (a warning: its outputs
mean nothing), or, for a model that is not a digit model, what it takes (its input size and
colour, that pictures are resized as they are, what drawing gives it) and whether its output is
logits shown as softmax. The training panel's dataset follows the model's (a Fashion-MNIST model
goes on training on Fashion-MNIST).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from cnnviz.compute.protocol import ModelInfo
from cnnviz.core.paths import resources_dir
from cnnviz.gui.widgets.message_banner import MessageBanner
from cnnviz.gui.inspector.model_inputs import input_note, is_digit_model
from cnnviz.gui.widgets.qt_helpers import make_action

FASHION_MODEL_NAME = "fashion_mnist_convnet.keras"


def fashion_model_path() -> Path:
    """The shipped seed convnet trained on Fashion-MNIST."""
    return resources_dir() / FASHION_MODEL_NAME


def model_notice(model: ModelInfo) -> tuple[str, str] | None:
    """(text, kind) of what to say about `model` when it is shown, or None for a plain digit model."""
    name = model.path.name if model.path else model.name
    if model.non_finite_layers:
        layers = ", ".join(model.non_finite_layers[:4]) + (" …" if len(model.non_finite_layers) > 4 else "")
        return (f"{name}: the weights of {len(model.non_finite_layers)} layer(s) hold NaN or infinite values "
                f"({layers}), so its maps and predictions mean nothing. Train it again from a fresh model, or open "
                "another one.", "warning")
    if is_digit_model(model):
        return None
    text = f"{name}: {model.description().describe()}. {input_note(model)}"
    if model.outputs_logits:
        text += " Its output is raw scores (logits): the bars show softmax of them."
    return text, "info"


class AnyModel(QObject):
    """The window's part of issue 14 (see the module docstring)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.banner = MessageBanner()
        self.banner.setObjectName("model_banner")
        window.centralWidget().layout().insertWidget(1, self.banner)   # under the compute banner
        self.open_fashion_action = make_action(window, "Open the shipped &Fashion-MNIST model",
                                               "The book's convnet trained on Fashion-MNIST's clothes, shipped with "
                                               "cnnviz", self._on_open_fashion)
        file_menu = window.menu("File")
        file_menu.insertAction(window.save_action, self.open_fashion_action)
        window.model_ready.connect(self._on_model_ready)
        window.open_action.changed.connect(self._on_open_action_changed)

    def _on_open_fashion(self) -> None:
        self.window.load_model_file(fashion_model_path())

    def _on_model_ready(self) -> None:
        """Say what matters about the model now shown; train on its dataset from now on."""
        model = self.window.current
        if model is None:
            return
        notice = model_notice(model)
        if notice is None:
            self.banner.hide()
        else:
            self.banner.show_text(*notice)
        if model.dataset is not None and not self.window.is_training():
            self.window.panel.set_dataset(model.dataset)

    def _on_open_action_changed(self) -> None:
        """Enabled when File → Open is (not while training, loading or saving)."""
        self.open_fashion_action.setEnabled(self.window.open_action.isEnabled())


def install(window) -> AnyModel:
    return AnyModel(window)
