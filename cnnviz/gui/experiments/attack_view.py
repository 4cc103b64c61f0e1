"""The Attack tab: method, target and ε; the digit, the attacked digit and the perturbation (diverging
colours, ±ε); the prediction before → after; the prediction as ε grows with the smallest ε that flips
it; how far each layer moved; the attacked digit in the inspector; other models on the same attack."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from cnnviz.core.colormaps import DIVERGING_COLORMAP
from cnnviz.gui.experiments.attack import METHODS, AttackExperiment
from cnnviz.gui.experiments.attack_plots import EpsilonPlot, LayerChangeBars
from cnnviz.gui.experiments.image_tile import ImageTile, pixels_of
from cnnviz.gui.experiments.model_comparison import ModelComparison
from cnnviz.gui.experiments.text_lines import message_label, show_text
from cnnviz.gui.widgets.task_progress import TaskProgress

EPSILON_STEPS = 200          # the slider: ε from 0 to 1 in steps of 0.005
GREY_LEVELS = 255
TILE = 64                    # the pictures' size hint (they grow to twice that)


class AttackView(QWidget):
    """The Attack tab over an `AttackExperiment` (see the module docstring)."""

    def __init__(self, attack: AttackExperiment, comparison: ModelComparison, parent: QWidget | None = None):
        super().__init__(parent)
        self.attack = attack
        self.comparison = comparison
        self._class_names: list[str] = []
        self.method_box = QComboBox()
        for name, text in METHODS.items():
            self.method_box.addItem(text, name)
        self.method_box.setToolTip("FGSM: one step of ε along the sign of the gradient. PGD: many smaller steps, "
                                   "each kept within ε of the digit")
        self.target_box = QComboBox()
        self.target_box.setToolTip("Untargeted: any other answer will do. Targeted: push it towards that class")
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, 200)
        self.steps_box.setPrefix("steps ")
        self.steps_box.setToolTip("PGD's steps, each of 2.5·ε/steps")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, EPSILON_STEPS)
        self.slider.setToolTip("ε: no pixel moves more than this (0 = black, 1 = white). PageUp/PageDown: bigger steps")
        self.slider.setPageStep(10)
        self.epsilon_label = QLabel()
        self.epsilon_label.setMinimumWidth(60)
        self.digit_tile = ImageTile("your digit", size=TILE)
        self.attacked_tile = ImageTile("attacked", size=TILE)
        self.perturbation_tile = ImageTile("perturbation", size=TILE)
        self.perturbation_tile.setToolTip("attacked − digit: red brighter, blue darker, white unchanged (±ε)")
        self.verdict = QLabel()
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setWordWrap(True)
        self.plot = EpsilonPlot()
        self.sweep_button = QPushButton("Find the smallest ε")
        self.sweep_button.setToolTip("The prediction at every ε from 0.01 to 0.5, and the smallest that flips it")
        self.sweep_progress = TaskProgress(compact=True)
        self.sweep_progress.setVisible(False)
        self.bars = LayerChangeBars()
        self.show_button = QPushButton("Show the attacked digit in the inspector")
        self.show_button.setToolTip("Every map of the attacked digit; this tab keeps attacking yours")
        self.back_button = QPushButton("Put my digit back")
        self.message = message_label()
        self._layout()
        self._connect()
        self.sync_settings()

    def _layout(self) -> None:
        settings = QHBoxLayout()
        settings.addWidget(self.method_box, 2)
        settings.addWidget(self.target_box, 2)
        settings.addWidget(self.steps_box, 1)
        epsilon = QHBoxLayout()
        epsilon.addWidget(QLabel("ε"))
        epsilon.addWidget(self.slider, 1)
        epsilon.addWidget(self.epsilon_label)
        tiles = QHBoxLayout()
        for tile in (self.digit_tile, self.attacked_tile, self.perturbation_tile):
            tiles.addWidget(tile, 1)
        self.images = QWidget()
        images = QVBoxLayout(self.images)
        images.setContentsMargins(0, 0, 0, 0)
        images.addLayout(tiles)
        images.addWidget(self.verdict)
        self.images.setObjectName("attack_images")
        sweep_row = QHBoxLayout()
        sweep_row.addWidget(QLabel("The prediction as ε grows"))
        sweep_row.addStretch(1)
        sweep_row.addWidget(self.sweep_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_button, 2)
        buttons.addWidget(self.back_button, 1)
        self.compare_group = QGroupBox("Compare models on the same attack")
        group = QVBoxLayout(self.compare_group)
        group.addWidget(self.comparison)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(settings)
        layout.addLayout(epsilon)
        layout.addWidget(self.images)
        layout.addLayout(sweep_row)
        layout.addWidget(self.sweep_progress)
        layout.addWidget(self.plot)
        layout.addWidget(QLabel("How far each layer's output moved"))
        layout.addWidget(self.bars)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.compare_group)

    def _connect(self) -> None:
        attack = self.attack
        self.method_box.activated.connect(lambda _i: attack.configure(method=self.method_box.currentData()))
        self.target_box.activated.connect(lambda _i: attack.configure(target=self.target_box.currentData()))
        self.steps_box.valueChanged.connect(lambda value: attack.configure(steps=value))
        self.slider.valueChanged.connect(self._on_slider)
        self.plot.epsilon_picked.connect(self.set_epsilon)
        self.sweep_button.clicked.connect(attack.sweep)
        self.sweep_progress.cancel_clicked.connect(attack.sweep_task.cancel)
        attack.sweep_task.progress.connect(self._on_sweep_progress)
        attack.sweep_task.ended.connect(lambda: self.sweep_progress.setVisible(False))
        attack.result_changed.connect(self.show_result)
        attack.sweep_changed.connect(self.show_sweep)
        attack.failed.connect(lambda text: show_text(self.message, text))
        self.show_button.clicked.connect(self._on_show)
        self.back_button.clicked.connect(self._on_back)

    # --- settings ------------------------------------------------------------------------------------
    def set_class_names(self, names: list[str]) -> None:
        """The classes the target picker offers (the model's)."""
        self._class_names = list(names)
        self.target_box.clear()
        self.target_box.addItem("any other class (untargeted)", None)
        for i, name in enumerate(names):
            self.target_box.addItem(f"target: {name}", i)
        self.sync_settings()

    def class_name(self, index: int) -> str:
        return self._class_names[index] if 0 <= index < len(self._class_names) else str(index)

    def set_epsilon(self, epsilon: float) -> None:
        self.attack.configure(epsilon=epsilon)
        self.sync_settings()

    def sync_settings(self) -> None:
        """The controls show the attack's settings."""
        attack = self.attack
        for widget in (self.method_box, self.target_box, self.steps_box, self.slider):
            widget.blockSignals(True)
        self.method_box.setCurrentIndex(max(0, self.method_box.findData(attack.method)))
        found = self.target_box.findData(attack.target) if attack.target is not None else 0
        self.target_box.setCurrentIndex(max(0, found))
        self.steps_box.setValue(attack.steps)
        self.steps_box.setEnabled(attack.method == "pgd")
        self.slider.setValue(round(attack.epsilon * EPSILON_STEPS))
        for widget in (self.method_box, self.target_box, self.steps_box, self.slider):
            widget.blockSignals(False)
        self._show_epsilon(attack.epsilon)
        self.plot.set_epsilon(attack.epsilon)

    def _on_slider(self, value: int) -> None:
        epsilon = value / EPSILON_STEPS
        self._show_epsilon(epsilon)
        self.plot.set_epsilon(epsilon)
        self.attack.configure(epsilon=epsilon)

    def _show_epsilon(self, epsilon: float) -> None:
        self.epsilon_label.setText(f"{epsilon:.3f}")
        self.epsilon_label.setToolTip(f"{epsilon:.3f} in intensity units: up to {round(epsilon * GREY_LEVELS)} of "
                                      f"{GREY_LEVELS} grey levels per pixel")

    # --- results -------------------------------------------------------------------------------------------
    def show_result(self) -> None:
        """The newest attack: the pictures, before → after, the layer bars."""
        result = self.attack.last_result()
        original = self.attack.original()
        self.digit_tile.set_pixels(None if original is None else pixels_of(original, scale=self.attack.input_scale()))
        self.show_button.setEnabled(result is not None and self.attack.can_show_in_inspector())
        self.back_button.setEnabled(self.attack.showing_attacked())
        if result is None:
            self.attacked_tile.set_pixels(None)
            self.perturbation_tile.set_pixels(None)
            self.verdict.setText("")
            self.bars.show_changes(())
            return
        epsilon = max(result.epsilon, 1e-6)
        self.attacked_tile.set_pixels(pixels_of(result.perturbed_intensity), f"attacked, ε {result.epsilon:.3f}")
        self.perturbation_tile.set_pixels(pixels_of(result.perturbation, DIVERGING_COLORMAP, (-epsilon, epsilon)),
                                          f"perturbation (±{result.epsilon:.3f})")
        before = f"{self.class_name(result.before_class)} · {result.before_probability:.1%}"
        after = f"{self.class_name(result.after_class)} · {result.after_probability:.1%}"
        if result.succeeded:
            outcome = "<span style='color:#e6463c'>it reads as another class</span>" if result.target is None else \
                f"<span style='color:#e6463c'>it reads as the target, {self.class_name(result.target)}</span>"
        else:
            outcome = "it still holds: push ε up"
        self.verdict.setText(f"<span style='font-size:15pt'><b>{before}</b> → <b>{after}</b></span><br>{outcome}; "
                             f"no pixel moved more than {result.perturbation_linf:.3f} "
                             f"({round(result.perturbation_linf * GREY_LEVELS)}/{GREY_LEVELS} grey levels)")
        self.bars.show_changes(result.layers)

    def show_sweep(self) -> None:
        sweep = self.attack.sweep_result()
        if sweep is None:
            self.plot.clear_sweep("" if self.attack.sweep_task.is_running() else "Find the smallest ε to plot it")
            return
        self.plot.show_sweep(sweep, self._class_names, self.attack.target)

    def _on_sweep_progress(self, fraction: float) -> None:
        self.sweep_progress.setVisible(True)
        self.sweep_progress.show_running("Sweeping ε…", None if fraction < 0 else fraction)

    def _on_show(self) -> None:
        self.attack.show_in_inspector()
        self.back_button.setEnabled(True)

    def _on_back(self) -> None:
        self.attack.put_back()
        self.back_button.setEnabled(False)

    def perturbation_pixels(self) -> np.ndarray | None:
        """What the perturbation tile shows (tests)."""
        result = self.attack.last_result()
        if result is None:
            return None
        epsilon = max(result.epsilon, 1e-6)
        return pixels_of(result.perturbation, DIVERGING_COLORMAP, (-epsilon, epsilon))
