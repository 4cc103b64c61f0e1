"""Puts any image classifier into the window (issues 14, 21, 23): File → "Open the shipped MNIST model", "… augmented
MNIST model" (issue 21), "… Fashion-MNIST model" and "… PyTorch model" (beside Open model…), model files dropped
on the window opened as the model (pictures still go to the canvas), a banner under the compute banner that says,
for each model shown, what the user needs to know (`model_notice.py`), and which model reads the pictures the
user opens (`picture_model.py`: Input → Read pictures with the augmented model). Operations: "models.open",
"models.open_fashion", "models.open_augmented", "models.open_shipped"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from cnnviz.core.paths import default_model_path, shipped_model_path
from cnnviz.gui.models.model_notice import fashion_model_path, is_model_file, model_notice, pytorch_model_path
from cnnviz.gui.models.picture_model import PictureModel
from cnnviz.gui.widgets.message_banner import MessageBanner
from cnnviz.gui.widgets.qt_helpers import make_action


class ModelsFeature(QObject):
    """The banner, the shipped models' actions, the model-file drops and the picture model of one window."""

    def __init__(self, context):
        super().__init__(context.dialog_parent())
        self._context = context
        self.banner = MessageBanner()
        self.banner.setObjectName("model_banner")
        context.add_banner(self.banner)   # under the compute banner
        context.targets.register("model_banner", self.banner, summary="what the window says about the model")
        self.open_notes_action = make_action(self, "Open the shipped &MNIST model", "The notes' convnet trained on "
                                             "all 60,000 MNIST digits: the model cnnviz starts with",
                                             self.open_shipped)
        self.open_augmented_action = make_action(self, "Open the shipped &augmented MNIST model",
                                                 "The notes' convnet trained on moved, turned and zoomed digits (data "
                                                 "augmentation): it reads photos of real handwriting better",
                                                 self.open_augmented)
        self.open_fashion_action = make_action(self, "Open the shipped &Fashion-MNIST model",
                                               "The book's convnet trained on Fashion-MNIST's clothes, shipped with "
                                               "cnnviz", self.open_fashion)
        self.open_pytorch_action = make_action(self, "Open the shipped &PyTorch model",
                                               "A LeNet-style MNIST network defined and trained in PyTorch, exported "
                                               "to ONNX (pytorch_lenet.onnx), shipped with cnnviz", self.open_pytorch)
        self.shipped_actions = (self.open_notes_action, self.open_augmented_action, self.open_fashion_action,
                                self.open_pytorch_action)
        open_model = context.shell_action("open_model")
        for action in self.shipped_actions:
            context.menu("File").insertAction(context.shell_action("save_model"), action)
        self.picture = PictureModel(context, self)
        context.model_ready.connect(self._on_model_ready)
        context.model_saved.connect(self._show_notice)   # saved as .keras: what the banner says changes
        open_model.changed.connect(self._follow_open_model)
        context.inspector.add_drop_handler(self.open_dropped)
        context.operations.register("models.open", self.open, "Open a model file (.keras, .h5 or .onnx) as the "
                                    "window's model")
        context.operations.register("models.open_fashion", self.open_fashion)
        context.operations.register("models.open_augmented", self.open_augmented)
        context.operations.register("models.open_shipped", self.open_shipped)

    def open(self, path) -> None:
        self._context.session.load_model_file(path)

    def open_shipped(self) -> bool:
        """Open the shipped MNIST model (the notes' convnet trained on all 60,000 digits); False while the
        window trains or loads (nothing is opened then)."""
        context = self._context
        if context.is_training() or context.session.is_loading():
            return False
        context.session.load_model_file(default_model_path())
        return True

    def open_fashion(self) -> None:
        """Open the shipped seed convnet trained on Fashion-MNIST."""
        self._context.session.load_model_file(fashion_model_path())

    def open_augmented(self) -> None:
        """Open the shipped augmented MNIST model (the notes' convnet trained with data augmentation)."""
        self._context.session.load_model_file(shipped_model_path("augmented"))

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
        for action in self.shipped_actions:
            action.setEnabled(enabled)

    def _on_model_ready(self, *_args) -> None:
        """Open a picture that waited for the model now shown, and say what matters about it."""
        self.picture.model_shown()
        self._show_notice()

    def _show_notice(self, *_args) -> None:
        """Say what matters about the model now shown."""
        model = self._context.current_model()
        if model is None:
            return
        notice = model_notice(model) or self.picture.notice(model)
        if notice is None:
            self.banner.hide()
        else:
            self.banner.show_text(*notice)


def install(context) -> ModelsFeature:
    return ModelsFeature(context)
