"""The Move it panel (issue 21): move the digit and watch what stays.

Drag the 28×28 input or move the sliders: the digit as drawn is shifted by whole pixels, turned and scaled
here (`move.apply_move`, numpy and Pillow) and shown through the inspector's public `show_input`, so the
maps, the prediction and the unit panel follow live. Below: the probability of one class as the digit
moves, from the `robustness` probe (one batched pass of ~200 moved copies) of the current model and, one
click away, of a Lab variant beside it (the seed against no-pooling shows what pooling buys); and how
each layer's maps follow a sideways move.

The panel keeps the digit as drawn (`original()`): any input that is not the moved copy it showed itself
is a new digit, which starts unmoved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.core.architectures import ARCHITECTURES
from cnnviz.core.robustness import RobustnessResult
from cnnviz.gui.robustness.follow_bars import FollowBars
from cnnviz.gui.robustness.move import Move, apply_move, within_range
from cnnviz.gui.robustness.move_controls import MoveControls
from cnnviz.gui.robustness.robustness_plot import AXES, MODEL, VARIANT, RobustnessPlot
from cnnviz.gui.robustness.robustness_requests import RobustnessRequests
from cnnviz.gui.widgets.front_tab import FrontTab

DEFAULT_VARIANT = "no-pooling"
SETTINGS_GROUP = "move_it"
BESIDE_TIP = ("Plot a variant of the architecture lab beside the model, trained with its own weights (the notes' "
              "model against no-pooling shows what pooling buys)")


class MovePanel(QWidget):
    """The Move it panel of one window: `inspector` (its public API), `client`, and `variant_model(name)`,
    the Lab's trained model file of a variant (None when the Lab is not there or has none)."""

    moved = Signal(int, int)        # the learner moved the digit (drag, slider, arrow keys): the lessons' "moved-digit"
    move_shown = Signal(object)     # a move was shown (Move), the learner's or an operation's

    def __init__(self, inspector, client, variant_model: Callable[[str], Path | None] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self._variant_model = variant_model
        self._original: np.ndarray | None = None
        self._shown: np.ndarray | None = None
        self._move = Move()
        self._stale = True                   # the probe is not asked for the digit shown yet (panel hidden)
        self._digit_unshown = False          # a new digit came while the panel was behind another tab
        self._class: int | None = None       # the class plotted; None: the answer for the digit as drawn
        self.controls = MoveControls()
        self.readout = QLabel("Draw a digit, or open one, then move it here.")
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)   # one line, cut
        self.class_choice = QComboBox()
        self.class_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_choice.setMinimumContentsLength(7)
        self.class_choice.setToolTip("Whose probability to plot: the model's answer for the digit as drawn, or "
                                     "any class's")
        self.axis_choice = QComboBox()
        self.axis_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.axis_choice.setMinimumContentsLength(4)
        for axis, (label, _unit) in AXES.items():
            self.axis_choice.addItem(label, axis)
        self.axis_choice.setToolTip("Plot against the sideways move, the up-and-down move, the turn or the scale "
                                    "(it follows the slider you move)")
        self.beside = QCheckBox("vs")
        self.beside.setToolTip(BESIDE_TIP)
        self.variant_choice = QComboBox()
        self.variant_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.variant_choice.setMinimumContentsLength(7)
        self.variant_choice.addItems(ARCHITECTURES)
        self.variant_choice.setCurrentText(DEFAULT_VARIANT)
        self.variant_choice.setToolTip(BESIDE_TIP)
        self.plot = RobustnessPlot()
        self.note = QLabel("")
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note.setVisible(False)
        self.follow_title = QLabel("<b>How each layer's maps follow</b>")
        self.bars = FollowBars()
        self.requests = RobustnessRequests(client, self)
        self.front = FrontTab(self)   # behind another tab: it asks for nothing
        self._build_layout()
        self._connect()
        self._fill_classes()

    def _build_layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.controls)
        layout.addWidget(self.readout)
        plot_row = QHBoxLayout()
        plot_row.setSpacing(4)
        plot_row.addWidget(self.class_choice, 1)
        plot_row.addWidget(self.axis_choice)
        plot_row.addWidget(self.beside)
        plot_row.addWidget(self.variant_choice, 1)
        layout.addLayout(plot_row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.follow_title)
        layout.addWidget(self.bars)

    def _connect(self) -> None:
        inspector = self._inspector
        inspector.input_changed.connect(self._on_input_changed)
        inspector.outputs_shown.connect(self._update_readout)
        self.controls.move_requested.connect(self._on_move_requested)
        self.controls.reset_requested.connect(self.reset)
        self.class_choice.currentIndexChanged.connect(self._on_class_chosen)
        self.axis_choice.currentIndexChanged.connect(lambda: self.plot.set_axis(self.axis_choice.currentData()))
        self.beside.toggled.connect(self._on_beside_changed)
        self.variant_choice.currentTextChanged.connect(self._on_beside_changed)
        self.requests.model_result.connect(self._on_model_result)
        self.requests.variant_result.connect(self._on_variant_result)
        self.requests.model_failed.connect(lambda message: self._say(f"No plot: {message}"))
        self.requests.variant_failed.connect(self._on_variant_failed)
        self.front.changed.connect(self._on_seen_changed)

    # --- the digit ------------------------------------------------------------------------------------
    def original(self) -> np.ndarray | None:
        """The digit as drawn or loaded (the model input before any move), None when the canvas is empty."""
        return self._original

    def current_move(self) -> Move:
        return self._move

    def shift(self, dx: int, dy: int = 0) -> bool:
        """Show the digit as drawn moved `dx` px right and `dy` down (absolute, not added to an earlier move;
        no turn or scale); False when there is no digit or the move is beyond ±6 px."""
        if self._original is None or not within_range(dx, dy) or int(dx) != dx or int(dy) != dy:
            return False
        return self.show_move(Move(int(dx), int(dy)))

    def reset(self) -> None:
        """The digit back as it was drawn."""
        if self._original is not None:
            self.show_move(Move())

    def show_move(self, move: Move, by_learner: bool = False) -> bool:
        """Move the digit as drawn by `move` and show it in the inspector (its maps and prediction follow)."""
        if self._original is None:
            return False
        self._move = move
        self._digit_unshown = False
        self._shown = apply_move(self._original, move)
        self.controls.show_move(move)
        self.controls.show_input(self._shown, self._original)
        self.plot.set_move(move)
        self._update_bars()
        self._inspector.show_input(self._shown)   # its input_changed comes back as our own copy
        self._update_readout()
        self.move_shown.emit(move)
        if by_learner and (move.dx, move.dy) != (0, 0):
            self.moved.emit(move.dx, move.dy)
        return True

    def _on_move_requested(self, move: Move, axis: str) -> None:
        self.axis_choice.setCurrentIndex(self.axis_choice.findData(axis))
        self.show_move(move, by_learner=True)

    def _on_input_changed(self, image) -> None:
        if image is None:
            self._original = self._shown = None
            self._move = Move()
            self.controls.show_move(self._move)
            self.controls.show_input(None, None)
            self._clear_results()
            self.readout.setText("Draw a digit, or open one, then move it here.")
            self.requests.set_image(None)
            return
        image = np.asarray(image, np.float32)
        if _same(image, self._shown) or (self._move.is_identity() and _same(image, self._original)):
            return   # the copy shown here coming back, or the same digit again (a new model prepares it again)
        self._original, self._shown, self._move = np.array(image), None, Move()
        self._stale = True
        if self.front.seen():
            self._show_new_digit()
        else:   # behind another tab: a stroke lays nothing out here (shown when the tab comes forward)
            self._digit_unshown = True
            self.plot.set_result(MODEL, None)
            self.plot.set_result(VARIANT, None)

    def _show_new_digit(self) -> None:
        self._digit_unshown = False
        image = self._original
        self.controls.show_move(self._move)
        self.controls.show_input(image, image)
        self.plot.set_move(self._move)
        self._clear_results()
        self._update_readout()
        self.refresh()

    # --- the probe ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Ask for the digit's probe (only while the panel can be seen: it costs a batched pass)."""
        if not self.front.seen():
            self._stale = True
            return
        self._stale = False
        self.requests.set_image(self._original)

    def model_changed(self, model) -> None:
        """A model is shown (opened, trained, taught, back after a crash): its classes, its probe again."""
        if model is not None:
            self.controls.set_input_kind(tuple(model.input_shape), model.input_scale)
        self._fill_classes(model)
        self.plot.set_result(MODEL, None, _model_name(model))
        self._stale = True
        self.refresh()

    def compute_restarted(self) -> None:
        self.requests.forget_loaded()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._on_seen_changed(self.front.seen())

    def _on_seen_changed(self, seen: bool) -> None:
        self.plot.set_seen(seen)
        if seen and self._digit_unshown and self._original is not None:
            self._show_new_digit()
        elif seen and self._stale:
            self.refresh()

    def _on_model_result(self, result: RobustnessResult, image) -> None:
        if not _same(image, self._original):
            return
        self.plot.set_result(MODEL, result)
        if self._class is None:
            self.plot.set_class(result.baseline_class)
            self.class_choice.setItemText(0, f"P({result.baseline_class}), answer")
        self._update_bars()
        self._update_readout()

    def _on_variant_result(self, result: RobustnessResult, image) -> None:
        if _same(image, self._original) and self.beside.isChecked():
            self.plot.set_result(VARIANT, result, f"{self.requests.variant()} (the Lab's)")
            self._say("")

    def _on_variant_failed(self, message: str) -> None:
        self.plot.set_result(VARIANT, None)
        self._say(message)

    def _on_beside_changed(self, *_args) -> None:
        self.plot.set_result(VARIANT, None)
        if not self.beside.isChecked():
            self.requests.set_variant(None, None)
            self._say("")
            return
        name = self.variant_choice.currentText()
        path = self._variant_model(name) if self._variant_model is not None else None
        if path is None:
            self.requests.set_variant(None, None)
            self._say(f"{name}: no trained model yet (Train → Architecture lab)")
            return
        self._say(f"Reading {name}'s trained model…")
        self.requests.set_variant(name, path)

    # --- what the panel says ------------------------------------------------------------------------------
    def _on_class_chosen(self, index: int) -> None:
        self._class = self.class_choice.itemData(index)
        result = self.plot.result(MODEL)
        if self._class is not None:
            self.plot.set_class(self._class)
        elif result is not None:
            self.plot.set_class(result.baseline_class)
        self._update_readout()

    def _fill_classes(self, model=None) -> None:
        names = list(model.class_names) if model is not None and model.class_names else [str(d) for d in range(10)]
        chosen = self._class
        self.class_choice.blockSignals(True)
        self.class_choice.clear()
        self.class_choice.addItem("P(answer)", None)
        for index, name in enumerate(names):
            self.class_choice.addItem(f"P({name})" if name == str(index) else f"P({index}: {name})", index)
        self.class_choice.setCurrentIndex(0 if chosen is None or chosen >= len(names) else chosen + 1)
        self.class_choice.blockSignals(False)
        self._class = self.class_choice.currentData()

    def plotted_class(self) -> int | None:
        """The class whose probability is plotted (None until the probe has said what the digit is read as)."""
        result = self.plot.result(MODEL)
        return self._class if self._class is not None else (None if result is None else result.baseline_class)

    def _update_readout(self) -> None:
        if self._original is None or self._digit_unshown:
            return
        outputs = self._inspector.current_outputs()
        shown = self._inspector.current_input()
        if outputs is None or shown is None or not _same(np.asarray(shown), self._shown_or_original()):
            return
        probabilities = np.asarray(outputs[-1], np.float64).ravel()
        best = int(np.argmax(probabilities))
        text = f"Read as <b>{best}</b> ({probabilities[best]:.0%})"
        target = self.plotted_class()
        if target is not None and target != best and target < len(probabilities):
            text += f" · P({target}) {probabilities[target]:.0%}"
        self.readout.setText(f"{text} · {self._move.describe()}")
        self.readout.setToolTip(self._move.describe())

    def _shown_or_original(self) -> np.ndarray | None:
        return self._shown if self._shown is not None else self._original

    def _update_bars(self) -> None:
        result, dx = self.plot.result(MODEL), self._move.dx
        if result is None:
            self.follow_title.setText("<b>How each layer's maps follow a move</b>")
            self.bars.set_rows([], "Waiting for the probe…" if self._original is not None else "")
            return
        direction = "right" if dx > 0 else "left"
        self.follow_title.setText(f"<b>How each layer's maps follow {abs(dx)} px {direction}</b>" if dx else
                                  "<b>How each layer's maps follow a move</b>")
        self.bars.set_rows([follow for follow in result.layers if follow.shift == dx] if dx else [],
                           "Move the digit sideways to see how each layer's maps follow it.")

    def _clear_results(self) -> None:
        self.plot.set_result(MODEL, None)
        self.plot.set_result(VARIANT, None)
        self._update_bars()

    def _say(self, text: str) -> None:
        """One line under the plot (elided to fit; the whole of it in the tooltip)."""
        self.note.setToolTip(text)
        self.note.setText(self.note.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                             max(self.width() - 12, 200)))
        self.note.setVisible(bool(text))

    # --- settings ----------------------------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup(SETTINGS_GROUP)
        settings.setValue("beside", self.beside.isChecked())
        settings.setValue("variant", self.variant_choice.currentText())
        settings.endGroup()

    def restore_settings(self, settings: QSettings) -> None:
        settings.beginGroup(SETTINGS_GROUP)
        try:
            variant = str(settings.value("variant", DEFAULT_VARIANT))
            if variant in ARCHITECTURES:
                self.variant_choice.setCurrentText(variant)
            self.beside.setChecked(str(settings.value("beside", False)).lower() in ("true", "1"))
        finally:
            settings.endGroup()


def _same(image, other) -> bool:
    return other is not None and image is not None and np.shape(image) == np.shape(other) and \
        np.array_equal(image, other)


def _model_name(model) -> str:
    if model is None:
        return "the model"
    return model.path.name if model.path is not None else "the model (unsaved)"

