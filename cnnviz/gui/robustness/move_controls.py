"""The Move it panel's controls: the 28×28 input to drag, sliders for the shift, the turn and the scale, Reset.

They only say what the user asks for (`move_requested(move, axis)`: the whole move, and the slider or drag
that changed it); the panel moves the digit and then shows the move here (`show_move`, silently).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from cnnviz.core.preprocess import ink_box
from cnnviz.gui.robustness.drag_view import TIP as DRAG_TIP
from cnnviz.gui.robustness.drag_view import DragInputView
from cnnviz.gui.robustness.move import MAX_DEGREES, MAX_FACTOR, MAX_SHIFT, MIN_FACTOR, Move
from cnnviz.gui.robustness.robustness_plot import SCALE, SIDEWAYS, TURN, UP_DOWN

VIEW_SIDE = 104   # the drag view's side in pixels (over 3.5 screen pixels per input pixel)


def _slider(low: int, high: int, tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(0)
    slider.setPageStep(1)
    slider.setToolTip(tip)
    return slider


class MoveControls(QWidget):
    """The drag view, four sliders and Reset."""

    move_requested = Signal(object, str)   # Move, the axis changed (robustness_plot's SIDEWAYS, UP_DOWN, …)
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = DragInputView()
        self.view.set_input_kind((28, 28, 1), 1.0, digit_guides=False)
        self.view.setToolTip(DRAG_TIP)
        self.view.setFixedSize(VIEW_SIDE, VIEW_SIDE)
        self.dx = _slider(-MAX_SHIFT, MAX_SHIFT, "Move the digit left or right by whole pixels")
        self.dy = _slider(-MAX_SHIFT, MAX_SHIFT, "Move the digit up or down by whole pixels")
        self.turn = _slider(-MAX_DEGREES, MAX_DEGREES, "Turn the digit about its centre (right: anticlockwise)")
        self.scale = _slider(round(MIN_FACTOR * 100), round(MAX_FACTOR * 100), "Make the digit smaller or larger "
                             "about its centre")
        self.scale.setValue(100)
        self.scale.setSingleStep(5)
        self.scale.setPageStep(10)
        self.turn.setPageStep(5)
        self.values = {name: QLabel() for name in (SIDEWAYS, UP_DOWN, TURN, SCALE)}
        self.reset_button = QToolButton()
        self.reset_button.setText("Reset")
        self.reset_button.setToolTip("Put the digit back as it was drawn (Ctrl+0)")
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        rows = ((SIDEWAYS, "→", self.dx), (UP_DOWN, "↓", self.dy), (TURN, "⟲", self.turn), (SCALE, "⤢", self.scale))
        for row, (axis, symbol, slider) in enumerate(rows):
            label = QLabel(symbol)
            label.setToolTip(slider.toolTip())
            grid.addWidget(label, row, 0)
            grid.addWidget(slider, row, 1)
            self.values[axis].setMinimumWidth(44)
            self.values[axis].setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(self.values[axis], row, 2)
            slider.valueChanged.connect(lambda _value, axis=axis: self._on_slider(axis))
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(grid)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reset_button)
        column.addLayout(buttons)
        column.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(column, 1)
        self._silent = False
        self.view.dragged.connect(self._on_dragged)
        self.reset_button.clicked.connect(self.reset_requested)
        self.show_move(Move())

    def move(self) -> Move:
        """The move the sliders show."""
        return Move(self.dx.value(), self.dy.value(), float(self.turn.value()), self.scale.value() / 100)

    def show_move(self, move: Move) -> None:
        """Show `move` on the sliders and the view without asking for it again."""
        self._silent = True
        try:
            self.dx.setValue(int(move.dx))
            self.dy.setValue(int(move.dy))
            self.turn.setValue(round(move.degrees))
            self.scale.setValue(round(move.factor * 100))
        finally:
            self._silent = False
        self.view.set_shift(move.dx, move.dy)
        self.values[SIDEWAYS].setText(f"{move.dx:+d} px" if move.dx else "0 px")
        self.values[UP_DOWN].setText(f"{move.dy:+d} px" if move.dy else "0 px")
        self.values[TURN].setText(f"{move.degrees:+g}°" if move.degrees else "0°")
        self.values[SCALE].setText(f"×{move.factor:.2f}")

    def show_input(self, image: np.ndarray | None, home: np.ndarray | None) -> None:
        """The moved digit in the view, and `home` (the digit as drawn), whose ink box is outlined."""
        self.view.set_image(None if image is None else _plane(image))
        box = None if home is None else ink_box(_grey(home), floor=0.1 * float(np.max(home) or 1))
        self.view.set_home(box)
        self.setEnabled(image is not None)

    def set_input_kind(self, shape: tuple[int, ...], scale: float) -> None:
        """The model's input (H, W, C) and the value of white in it."""
        self.view.set_input_kind(shape, scale, digit_guides=False)
        self.view.setToolTip(DRAG_TIP)

    def _on_slider(self, axis: str) -> None:
        if not self._silent:
            self.move_requested.emit(self.move(), axis)

    def _on_dragged(self, dx: int, dy: int) -> None:
        dx, dy = max(-MAX_SHIFT, min(MAX_SHIFT, dx)), max(-MAX_SHIFT, min(MAX_SHIFT, dy))
        current = self.move()
        if (dx, dy) != (current.dx, current.dy):
            axis = SIDEWAYS if dx != current.dx else UP_DOWN
            self.move_requested.emit(Move(dx, dy, current.degrees, current.factor), axis)


def _plane(image) -> np.ndarray:
    """(H, W, 1) as (H, W); grey (H, W) and colour (H, W, 3) as they are."""
    image = np.asarray(image, np.float32)
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def _grey(image) -> np.ndarray:
    image = _plane(image)
    return image.mean(axis=-1) if image.ndim == 3 else image
