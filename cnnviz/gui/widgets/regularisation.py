"""Augment and Dropout (issue 21): the two small-data remedies of chapter 5.2, as one row of settings that the
Training panel and the Lab both show and pass through their TrainConfig (`augment`, `dropout`)."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QWidget

DEFAULT_DROPOUT = 0.5   # the book's rate
AUGMENT_TIP = ("Data augmentation: move (up to 10% of the side), turn (up to 10°) and zoom (up to 10%) every "
               "training batch at random, so the network learns digits wherever and however they sit. Testing, "
               "the maps and the saved model see the digits as they are. It fights overfitting on few digits "
               "and costs a little speed.")
DROPOUT_TIP = ("Dropout: a layer before the dense layers that drops this share of their inputs at random while "
               "training (the book uses 0.5), so no unit can rely on a few others. Only for a model built new: "
               "it becomes a layer of the model (inactive when predicting).")
DROPOUT_FRESH_ONLY = "Dropout is a layer of a model built new: choose \"A fresh seed model\" to add it."


class RegularisationOptions(QWidget):
    """[ ] Augment   [ ] Dropout [0.50]: `augment()`, `dropout()` (0 when off), `changed` on any edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.augment_box = QCheckBox("Augment")
        self.augment_box.setToolTip(AUGMENT_TIP)
        self.dropout_box = QCheckBox("Dropout")
        self.dropout_box.setToolTip(DROPOUT_TIP)
        self.dropout_rate = QDoubleSpinBox()
        self.dropout_rate.setRange(0.05, 0.9)
        self.dropout_rate.setSingleStep(0.05)
        self.dropout_rate.setDecimals(2)
        self.dropout_rate.setValue(DEFAULT_DROPOUT)
        self.dropout_rate.setToolTip(DROPOUT_TIP)
        self.dropout_rate.setAccessibleName("Dropout rate")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.augment_box)
        layout.addSpacing(12)
        layout.addWidget(self.dropout_box)
        layout.addWidget(self.dropout_rate)
        layout.addStretch(1)
        self._dropout_allowed = True
        self.augment_box.toggled.connect(self.changed)
        self.dropout_box.toggled.connect(self._on_dropout_toggled)
        self.dropout_rate.valueChanged.connect(self.changed)
        self._on_dropout_toggled(False)

    def augment(self) -> bool:
        return self.augment_box.isChecked()

    def dropout(self) -> float:
        """The dropout rate asked for: 0 when Dropout is off or not allowed (a model that goes on training)."""
        if not (self._dropout_allowed and self.dropout_box.isChecked()):
            return 0.0
        return round(float(self.dropout_rate.value()), 4)

    def set_values(self, augment: bool, dropout: float) -> None:
        """Augment on or off; Dropout on at rate `dropout`, off for 0."""
        self.augment_box.setChecked(bool(augment))
        if dropout:
            self.dropout_rate.setValue(float(dropout))
        self.dropout_box.setChecked(bool(dropout))

    def set_dropout_allowed(self, allowed: bool) -> None:
        """Dropout only applies to a model built new: off (greyed, saying why) for one that goes on training."""
        self._dropout_allowed = bool(allowed)
        self.dropout_box.setEnabled(allowed)
        self.dropout_rate.setEnabled(allowed and self.dropout_box.isChecked())
        tip = DROPOUT_TIP if allowed else DROPOUT_FRESH_ONLY
        self.dropout_box.setToolTip(tip)
        self.dropout_rate.setToolTip(tip)

    def describe(self) -> str:
        """What is on, in words (`describe_regularisation`)."""
        return describe_regularisation(self.augment(), self.dropout())

    def save_settings(self, settings: QSettings) -> None:
        """Write "augment" and "dropout" (the rate; 0: off) in the settings' current group."""
        settings.setValue("augment", self.augment())
        settings.setValue("dropout", float(self.dropout_rate.value()) if self.dropout_box.isChecked() else 0.0)

    def restore_settings(self, settings: QSettings) -> None:
        """Read what `save_settings` wrote (a damaged value keeps the defaults)."""
        try:
            augment = str(settings.value("augment", False)).lower() in ("true", "1")
            dropout = float(settings.value("dropout", 0.0))
        except (TypeError, ValueError):
            return
        self.set_values(augment, dropout if 0.0 < dropout < 1.0 else 0.0)

    def _on_dropout_toggled(self, checked: bool) -> None:
        self.dropout_rate.setEnabled(checked and self._dropout_allowed)
        self.changed.emit()


def describe_regularisation(augment: bool, dropout: float) -> str:
    """"augmented, dropout 0.5", "augmented", "" for neither: words for a progress line or a result."""
    return ", ".join((["augmented"] if augment else []) + ([f"dropout {dropout:g}"] if dropout else []))
