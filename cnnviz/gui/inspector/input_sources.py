"""Where the inspector's input comes from: the canvas and its tools, image files, and the test set.

The Input menu's actions (clear, undo a stroke, open an image, a test digit by index, a random or a
misclassified one), the canvas's tool buttons and brush, and what depends on the kind of model: the
test set named in the menu, the canvas's placeholder, a picture opened for another model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox, QToolButton

from cnnviz.core.data import DataError
from cnnviz.core.preprocess import fit_into_square
from cnnviz.gui.inspector.model_inputs import PictureInput, read_picture_file
from cnnviz.gui.inspector.test_digits import TestDigits
from cnnviz.gui.inspector.views import InspectorViews
from cnnviz.gui.widgets.model_words import input_shape, is_digit_model, placeholder
from cnnviz.gui.widgets.qt_helpers import make_action

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.gif *.bmp);;All files (*)"


class InputSources(QObject):
    """The input actions of one inspector; `inspector` gives the model and says things (`status_message`)."""

    def __init__(self, inspector, views: InspectorViews, client):
        super().__init__(inspector)
        self._inspector = inspector
        self._views = views
        self._training = False
        self.last_folder = ""
        self.picture_input = PictureInput(views.canvas)   # pictures as non-digit models take them
        self.test_digits = TestDigits(client, self)
        self._announce: tuple[np.ndarray, str] | None = None   # status to say once outputs for an input arrive
        self.open_hooks: list = []   # hook(path) -> bool, asked before a picture opens (add_open_image_hook)
        self._build_actions()
        views.brush_slider.valueChanged.connect(self._on_brush_changed)
        self._on_brush_changed(views.brush_slider.value())
        self.test_digits.misclassified_ready.connect(self._on_misclassified_ready)
        self.test_digits.misclassified_failed.connect(inspector.status_message)

    def _build_actions(self) -> None:
        def action(text, handler, shortcut=None, tip=""):
            return make_action(self._inspector, text, tip, handler, shortcut)

        self.clear_action = action("Clear canvas", self.clear, QKeySequence.StandardKey.Delete,
                                   "Start again on a black canvas")
        self.undo_action = action("Undo stroke", self._on_undo, QKeySequence.StandardKey.Undo,
                                  "Take back the last stroke")
        self.open_action = action("Open image…", self._on_open_image, "Ctrl+I",
                                  "Read a digit from a PNG or JPEG (any size, either polarity)")
        self.index_action = action("Test digit by index…", self._on_test_digit_by_index, tip="Pick one of "
                                   "the 10,000 MNIST test digits")
        self.random_action = action("Random test digit", self._on_random_test_digit, "Ctrl+R",
                                    "A random MNIST test digit")
        self.misclassified_action = action("Misclassified test digit", self._on_misclassified_test_digit,
                                           "Ctrl+Shift+R", "A test digit the current model gets wrong")
        buttons = self._views.tool_buttons
        self.test_set_button = buttons["mnist"]
        mnist_menu = QMenu(self._inspector)
        mnist_menu.addActions([self.index_action, self.random_action, self.misclassified_action])
        self.test_set_button.setMenu(mnist_menu)
        self.test_set_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # One arrow: the typed ▾ (centred with the text), not Qt's small menu indicator in the corner too.
        self.test_set_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        buttons["undo"].clicked.connect(self._on_undo)
        buttons["clear"].clicked.connect(self.clear)
        buttons["open"].clicked.connect(self._on_open_image)

    def actions(self) -> list[QAction]:
        return [self.clear_action, self.undo_action, self.open_action,
                self.index_action, self.random_action, self.misclassified_action]

    # --- the model and training ------------------------------------------------------------------
    def fit_to_model(self, model) -> None:
        """What depends on the kind of model (issue 14): the input's size and colour, what the canvas is for,
        the test set used, a picture opened for another model."""
        digit = is_digit_model(model)
        views = self._views
        views.model_input_view.set_input_kind(input_shape(model), 1.0 if model is None else model.input_scale, digit)
        views.canvas.set_placeholder(placeholder(model))
        self.test_digits.set_dataset((None if model is None else model.dataset) or "mnist")
        self._update_test_wording(model is None or model.dataset is not None)
        if not digit:
            views.image_adjust.setVisible(False)
        opened = self.picture_input.pixels()
        if model is not None and self.picture_input.is_shown() and opened is not None:
            pixels, name = opened
            if digit:
                views.image_adjust.open_picture(pixels.mean(axis=-1) if pixels.ndim == 3 else pixels, name)
            elif views.canvas.exact_input() is None or views.canvas.exact_input().size != np.prod(model.input_shape):
                self.picture_input.open(pixels, model, name)

    def _update_test_wording(self, available: bool) -> None:
        """The test-set actions name the model's dataset ("Fashion-MNIST ▾", "Random test image"); off
        for a model that classifies none cnnviz knows."""
        title, item = self.test_digits.title(), self.test_digits.item()
        self.test_set_button.setText(f"{title} ▾")
        self.test_set_button.setToolTip(f"Show an image from the {title} test set" if available else
                                        "This model classifies none of the datasets cnnviz knows")
        self.test_set_button.setEnabled(available)
        for action, text, tip in ((self.index_action, f"Test {item} by index…",
                                   f"Pick one of the 10,000 {title} test {item}s"),
                                  (self.random_action, f"Random test {item}", f"A random {title} test {item}"),
                                  (self.misclassified_action, f"Misclassified test {item}",
                                   f"A test {item} the current model gets wrong")):
            action.setText(text)
            action.setStatusTip(tip)
            action.setEnabled(available and (action is not self.misclassified_action or not self._training))

    def set_training(self, training: bool) -> None:
        """While the model trains its test-set mistakes are unknown (until it has finished)."""
        self._training = bool(training)
        self.misclassified_action.setEnabled(not training and self.test_set_button.isEnabled())
        if not training:
            self.test_digits.forget_misclassified()  # training changed the model

    # --- inputs ----------------------------------------------------------------------------------
    def open_image(self, path: str | Path) -> bool:
        """Read the digit in an image file and show it on the canvas (with what was found outlined over the
        picture, see ImageAdjust); on failure say why and keep the canvas."""
        from cnnviz.core.images import ImageFileError, read_grey

        if any(hook(path) for hook in self.open_hooks):
            return True   # a hook opens it later (with the model that reads pictures)
        if not is_digit_model(self._inspector.model()):
            return self._open_picture(path)
        try:
            grey = read_grey(path)
        except ImageFileError as exc:
            self._refuse(str(exc))
            return False
        self._views.image_adjust.open_picture(grey, Path(path).name)   # says what it read on status_message
        return True

    def _open_picture(self, path: str | Path) -> bool:
        """A picture for a non-digit model: resized as it is, shown in colour on the canvas."""
        from cnnviz.core.images import ImageFileError

        try:
            pixels = read_picture_file(path)
        except ImageFileError as exc:
            self._refuse(str(exc))
            return False
        self._say(self.picture_input.open(pixels, self._inspector.model(), Path(path).name))
        return True

    def _refuse(self, message: str) -> None:
        self._say(message)
        if self._inspector.isVisible():
            QMessageBox.warning(self._inspector, "Cannot open image", message)

    def show_test_digit(self, index: int) -> bool:
        """Put test digit `index` on the canvas; the model sees the digit exactly as stored."""
        try:
            digit, label = self.test_digits.digit(index)
        except DataError as exc:
            self._report_missing_mnist(str(exc))
            return False
        self.show_input(digit)
        self._say(f"{self.test_digits.describe(index)}.")
        return True

    def show_input(self, image: np.ndarray) -> None:
        """Put `image` on the canvas as the exact model input (the model's size, values as it takes them)."""
        canvas = self._views.canvas
        canvas.set_image(fit_into_square(image, canvas.canvas_size, margin=0.0), exact_input=image)

    def clear(self) -> None:
        self._views.canvas.clear()

    def _report_missing_mnist(self, message: str) -> None:
        self._say(message)
        if self._inspector.isVisible():
            QMessageBox.information(self._inspector, f"{self.test_digits.title()} not found", message)

    def _say(self, text: str) -> None:
        self._inspector.status_message.emit(text)

    def _on_open_image(self) -> None:
        """Ask for an image file and open it."""
        path, _ = QFileDialog.getOpenFileName(self._inspector, "Open a digit image", self.last_folder, IMAGE_FILTER)
        if path:
            self.last_folder = str(Path(path).parent)
            self.open_image(path)

    def _on_test_digit_by_index(self) -> None:
        """Ask for a test-set index."""
        try:
            count = self.test_digits.count()
        except DataError as exc:
            self._report_missing_mnist(str(exc))
            return
        index, ok = QInputDialog.getInt(self._inspector, f"{self.test_digits.title()} test {self.test_digits.item()}",
                                        f"Index (0–{count - 1}):", 0, 0, count - 1)
        if ok:
            self.show_test_digit(index)

    def _on_random_test_digit(self) -> None:
        try:
            self.show_test_digit(self.test_digits.random_index())
        except DataError as exc:
            self._report_missing_mnist(str(exc))

    def _on_misclassified_test_digit(self) -> None:
        """Show a digit the model gets wrong (the compute process finds them first, if needed)."""
        model = self._inspector.model()
        if model is None or self._training:
            self._say("Wait for the model (and for training to finish) to find its mistakes.")
            return
        index = self.test_digits.random_misclassified(model.generation)
        if index is not None:
            self._show_misclassified(index)
            return
        if self.test_digits.misclassified(model.generation) is not None:
            self._say("This model classifies all 10,000 test digits correctly.")
            return
        self.test_digits.find_misclassified(model.generation)
        self._say("Classifying the 10,000 test digits to find the model's mistakes…")

    def _on_misclassified_ready(self, generation: int, indices) -> None:
        """The search finished: show one of the mistakes (if the model is still the current one)."""
        model = self._inspector.model()
        if model is None or generation != model.generation:
            return
        self._say(f"The model gets {len(indices)} of the 10,000 test digits wrong.")
        if len(indices):
            self._show_misclassified(self.test_digits.random_misclassified(generation))

    def _show_misclassified(self, index: int) -> None:
        """Show test digit `index`; say what the model makes of it once its outputs arrive (`on_probed`)."""
        if self.show_test_digit(index):
            digit, label = self.test_digits.digit(index)
            self._announce = (digit, self.test_digits.describe(index, ":"))

    def on_probed(self, image: np.ndarray) -> None:
        """Outputs for `image` are shown: say what the model makes of a misclassified digit shown for it."""
        if self._announce is not None and np.array_equal(self._announce[0], image):
            guess = self._views.prediction_bars.top_label()
            said = f", the model says {guess[0]} ({guess[1]:.0%})" if guess else ""
            self._say(f"{self._announce[1]}{said}.")
            self._announce = None

    def _on_brush_changed(self, width: int) -> None:
        self._views.canvas.set_brush_width(width)
        self._views.brush_label.setText(f"{width} px")

    def _on_undo(self) -> None:
        if not self._views.canvas.undo():
            self._say("Nothing to undo.")
