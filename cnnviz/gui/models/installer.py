"""Puts any Keras image classifier into the window (issue 14): File → "Open the shipped Fashion-MNIST model"
(beside Open model…), and a banner under the compute banner that says, for each model shown, what the
user needs to know (`model_notice.py`). Operations: "models.open", "models.open_fashion", "models.open_shipped"."""

from __future__ import annotations

from PySide6.QtCore import QObject

from cnnviz.core.paths import default_model_path
from cnnviz.gui.models.model_notice import fashion_model_path, model_notice
from cnnviz.gui.widgets.message_banner import MessageBanner
from cnnviz.gui.widgets.qt_helpers import make_action


class ModelsFeature(QObject):
    """The banner and the Fashion-MNIST action of one window."""

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
        open_model = context.shell_action("open_model")
        context.menu("File").insertAction(context.shell_action("save_model"), self.open_fashion_action)
        context.model_ready.connect(self._on_model_ready)
        open_model.changed.connect(lambda: self.open_fashion_action.setEnabled(open_model.isEnabled()))
        context.operations.register("models.open", self.open, "Open a model file (.keras or .h5) as the window's "
                                    "model")
        context.operations.register("models.open_fashion", self.open_fashion)
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

    def _on_model_ready(self) -> None:
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
