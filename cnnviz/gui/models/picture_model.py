"""Which model reads a picture the user opens or drops (issue 21): the augmented model, by default.

On the project's picture styles the augmented model (`resources/mnist_convnet_augmented.keras`, the notes'
network trained on moved, turned and zoomed digits) reads photos of real handwriting better than the
notes' model in every style, and it keeps reading digits that sit off centre, turned or larger or smaller
(README, "Which model reads your photos"). So when a picture is opened (Open image…, a drop) while the
window shows the notes' untouched shipped model, that model is swapped for the augmented one first
(`core.paths.picture_model_path`); a model the user opened, trained or changed is never replaced. The
notes' model stays the default for drawing, the lessons and the Lab. Input → "Read pictures with the
augmented model" turns this off (remembered).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings

from cnnviz.core.paths import DEFAULT_PICTURE_MODEL, picture_model_path, shipped_model_path
from cnnviz.gui.widgets.qt_helpers import make_action

SETTING_KEY = "models/picture_model"
ACTION_TIP = ("Open pictures (Open image…, drag and drop) with the shipped augmented model, which reads photos of "
              "real handwriting better than the notes' model (only the notes' untouched model is swapped)")


class PictureModel(QObject):
    """The picture-model setting of one window, the Input menu's check box for it, and the swap itself."""

    def __init__(self, context, parent: QObject | None = None):
        super().__init__(parent)
        self._context = context
        self._pending: Path | None = None      # a picture waiting for the picture model to load
        self._opening = False                  # opening it ourselves: do not swap again
        self._read_picture: str | None = None  # the picture the swapped-in model was loaded for
        self.action = make_action(self, "Read pictures with the &augmented model", ACTION_TIP, checkable=True)
        self.action.setChecked(DEFAULT_PICTURE_MODEL == "augmented")
        input_menu = context.menu("Input")
        input_menu.addSeparator()
        input_menu.addAction(self.action)
        context.inspector.add_open_image_hook(self._before_opening)
        context.model_failed.connect(self._on_model_failed)
        context.add_settings(self.save_settings, self.restore_settings)

    def setting(self) -> str:
        """"augmented" (pictures are read by the augmented model) or "current" (by the model shown)."""
        return "augmented" if self.action.isChecked() else "current"

    def model_for_pictures(self) -> Path | None:
        """The model to load before a picture opens now, or None to read it with the current model."""
        context = self._context
        current = context.current_model()
        if current is None or context.session.unsaved or context.is_training() or context.session.is_loading():
            return None
        return picture_model_path(self.setting(), current.path)

    def notice(self, model) -> tuple[str, str] | None:
        """What the model banner says about `model` when it was swapped in to read a picture; else None."""
        augmented = shipped_model_path("augmented")
        if self._read_picture is None or model.path is None or Path(model.path).resolve() != augmented.resolve():
            return None
        return (f"{augmented.name} reads {self._read_picture}: the notes' network trained on moved, turned and "
                "zoomed digits, which reads photos of real handwriting better. Input → Read pictures with the "
                "augmented model turns this off.", "info")

    def _before_opening(self, path) -> bool:
        """The inspector's open-image hook: True when the picture model loads first (we open it then)."""
        if self._opening:
            return False
        target = self.model_for_pictures()
        if target is None:
            return False
        self._pending = Path(path)
        self._context.session.load_model_file(target)
        self._context.status(f"Opening {self._pending.name} with the augmented model…", 8000)
        return True

    def model_shown(self) -> None:
        """A model is shown (the models capability calls this before it words its banner): open the picture
        that waited for it."""
        model = self._context.current_model()
        if self._pending is None:
            if model is not None and self.notice(model) is None:
                self._read_picture = None   # another model now: the picture note no longer applies
            return
        self._read_picture = self._pending.name
        self._open_pending()

    def _on_model_failed(self, _message: str) -> None:
        """The picture model did not load: read the picture with the model shown."""
        if self._pending is not None:
            self._open_pending()

    def _open_pending(self) -> None:
        path, self._pending = self._pending, None
        self._opening = True
        try:
            self._context.inspector.open_image(path)
        finally:
            self._opening = False

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue(SETTING_KEY, self.setting())

    def restore_settings(self, settings: QSettings) -> None:
        value = str(settings.value(SETTING_KEY, DEFAULT_PICTURE_MODEL))
        self.action.setChecked(value == "augmented" if value in ("augmented", "current") else True)
