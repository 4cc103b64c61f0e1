"""Puts any image classifier into the window (issues 14, 23): File → "Open the shipped Fashion-MNIST model" and
"Open the shipped PyTorch model" (beside Open model…), model files dropped on the window opened as the model
(pictures still go to the canvas), and a banner under the compute banner that says, for each model shown,
what the user needs to know (`model_notice.py`). Operations: "models.open", "models.open_fashion"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from cnnviz.gui.models.model_notice import fashion_model_path, is_model_file, model_notice, pytorch_model_path
from cnnviz.gui.widgets.message_banner import MessageBanner
from cnnviz.gui.widgets.qt_helpers import make_action


class ModelsFeature(QObject):
    """The banner, the shipped models' actions and the model-file drops of one window."""

    def __init__(self, context):
        super().__init__(context.dialog_parent())
        self._context = context
        self.banner = MessageBanner()
        self.banner.setObjectName("model_banner")
        context.add_banner(self.banner)   # under the compute banner
        context.targets.register("model_banner", self.banner, summary="what the window says about the model")
        self.open_fashion_action = make_action(self, "Open the shipped &Fashion-MNIST model",
                                               "The book's convnet trained on Fashion-MNIST's clothes, shipped with "
                                               "cnnviz", self.open_fashion)
        self.open_pytorch_action = make_action(self, "Open the shipped &PyTorch model",
                                               "A LeNet-style MNIST network defined and trained in PyTorch, exported "
                                               "to ONNX (pytorch_lenet.onnx), shipped with cnnviz", self.open_pytorch)
        open_model = context.shell_action("open_model")
        for action in (self.open_fashion_action, self.open_pytorch_action):
            context.menu("File").insertAction(context.shell_action("save_model"), action)
        context.model_ready.connect(self._on_model_ready)
        context.model_saved.connect(self._on_model_ready)   # saved as .keras: what the banner says changes
        open_model.changed.connect(self._follow_open_model)
        context.inspector.add_drop_handler(self.open_dropped)
        context.operations.register("models.open", self.open, "Open a model file (.keras, .h5 or .onnx) as the "
                                    "window's model")
        context.operations.register("models.open_fashion", self.open_fashion)

    def open(self, path) -> None:
        self._context.session.load_model_file(path)

    def open_fashion(self) -> None:
        """Open the shipped seed convnet trained on Fashion-MNIST."""
        self._context.session.load_model_file(fashion_model_path())

    def open_pytorch(self) -> None:
        """Open the shipped LeNet trained in PyTorch (an ONNX file, converted into Keras layers on opening)."""
        self._context.session.load_model_file(pytorch_model_path())

    def open_dropped(self, path) -> bool:
        """A file dropped on the window: open a model file as the model (True), leave anything else (False).
        While a model trains, loads or saves, say why it is not opened."""
        if not is_model_file(path):
            return False
        if self._context.shell_action("open_model").isEnabled():
            self.open(path)
        else:
            self._context.status(f"{Path(path).name} not opened: a model cannot be opened while one trains, loads "
                                 "or is saved", 8000)
        return True

    def _follow_open_model(self) -> None:
        enabled = self._context.shell_action("open_model").isEnabled()
        for action in (self.open_fashion_action, self.open_pytorch_action):
            action.setEnabled(enabled)

    def _on_model_ready(self, *_args) -> None:
        """Say what matters about the model now shown."""
        model = self._context.current_model()
        if model is None:
            return
        notice = model_notice(model)
        if notice is None:
            self.banner.hide()
        else:
            self.banner.show_text(*notice)


def install(context) -> ModelsFeature:
    return ModelsFeature(context)
