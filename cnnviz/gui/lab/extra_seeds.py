"""The Lab's "Train extra seeds" box (issue 24): more seeds of the full run for the checked variants.

The shipped full run was trained with a few seeds; each extra seed trains a variant once more with the
full run's own settings (its epochs, batch size and training digits), in the compute process's task thread
("lab_seed_run", `run.SeedRun`), and goes into the user's runs file. The means, error bars and Welch's
test then count it. The box says what the full run holds and what one more seed costs.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout

from cnnviz.core.seed_runs import RunSettings
from cnnviz.gui.lab.data import VariantResult
from cnnviz.gui.widgets.qt_helpers import Icon, make_action, spin_box

MAX_EXTRA = 20
TEST_PASS_FACTOR = 1.15     # an epoch with its test pass, against the training time the table gives


class ExtraSeedsBox(QGroupBox):
    """The count of seeds to add and the button; `requested(count)` when pressed."""

    requested = Signal(int)

    def __init__(self, parent=None):
        super().__init__("The full run over seeds", parent)
        self.setToolTip("The shipped answer was trained with several seeds: add seeds of your own to the checked "
                        "variants. Their means, error bars and tests then count your seeds too.")
        self.about = QLabel("")
        self.about.setWordWrap(True)
        self.about.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.count = spin_box(1, MAX_EXTRA, 1, "How many more seeds each checked variant trains")
        self.action = make_action(self, "Train e&xtra seeds", "", lambda: self.requested.emit(self.count.value()),
                                  icon=Icon.SP_MediaPlay)
        button = QToolButton()
        button.setDefaultAction(self.action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.count.setSuffix(" more")
        row = QHBoxLayout()
        row.addWidget(self.count)
        row.addWidget(button, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 4, 6, 6)
        column.addWidget(self.about)
        column.addLayout(row)
        self.settings: RunSettings | None = None
        self.count.valueChanged.connect(lambda _value: self._describe_cost())
        self._checked: list[VariantResult] = []
        self.show_full_run(None, [])

    def show_full_run(self, settings: RunSettings | None, checked: list[VariantResult]) -> None:
        """What the full run holds (`settings`: its settings; None: no seeded full run here) and what adding seeds
        to the `checked` variants would cost."""
        self.settings = settings
        self._checked = [result for result in checked if result.runs]
        if settings is None:
            self.about.setText("This copy of cnnviz has no full run over seeds.")
        else:
            self.about.setText(f"Seeds for the checked variants, each {settings.epochs} epochs on "
                               f"{settings.train_digits:,} digits:")
        self._describe_cost()

    def _describe_cost(self) -> None:
        usable = self.settings is not None and bool(self._checked)
        self.action.setEnabled(usable)
        if not usable:
            self.action.setToolTip("Check a variant of the full run to give it more seeds")
            return
        count = self.count.value()
        seconds = sum(result.row.seconds_per_epoch for result in self._checked) * self.settings.epochs * count
        names = ", ".join(result.name for result in self._checked)
        cost = about(seconds * TEST_PASS_FACTOR)
        self.action.setToolTip(f"Train {count} more seed(s) of {names} in the background, {cost} at the full run's "
                               "speed; they go into your runs, not the shipped ones")


def about(seconds: float) -> str:
    """A rough duration: "under a minute", "about 25 min", "about 2 h 10 min"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min" if hours else f"about {minutes} min"
