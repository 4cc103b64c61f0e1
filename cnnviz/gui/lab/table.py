"""The Lab's results table: one row per variant, the columns of `cnnviz compare`'s CSV, the answer first.

The measured columns (test and train accuracy, gap, s/epoch, epochs) fill in when the variant has results,
with where they came from (shipped or yours); the shape columns (parameters, last conv output, what one of
its units sees) are known before any training, from the variant's layers.

A variant of the full run trained with several seeds (issue 24) shows means ± standard deviations,
its test accuracies as error bars on a scale every row shares (`whiskers.py`), and whether its
difference to `seed` is beyond the seed-to-seed noise by Welch's t-test ("vs seed").
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from cnnviz.core.architectures import ARCHITECTURES, recipe_for
from cnnviz.core.seed_statistics import REFERENCE, SIGNIFICANCE
from cnnviz.gui.lab.data import SHIPPED, VARIANT_COLOURS, VariantResult, variant_shape
from cnnviz.gui.lab.whiskers import WHISKER_ROLE, Whisker, WhiskerDelegate, shared_scale

TEST_NAME = "Welch's two-sided t-test (unequal variances)"
# (header, tooltip) per column; the CSV's columns in its order, then where the row came from.
COLUMNS = (
    ("variant", "The architecture variant (hover a name for its layers)"),
    ("test acc", "Accuracy on the 10,000 MNIST test digits it never saw; with several seeds: mean ± standard "
                 "deviation over the seeds, in points"),
    ("test acc over seeds", "Each seed's test accuracy (ticks), their mean (dot) and the 95 % interval of the mean "
                            "(whiskers), every row on the same scale; the dashed line is seed's mean"),
    ("vs seed", f"Is the difference to seed's mean test accuracy beyond the seed-to-seed noise? {TEST_NAME} of the "
                f"variant's test accuracies against seed's: 'beyond noise' when p < {SIGNIFICANCE}. Needs two seeds "
                "of both (hover a cell for its p)"),
    ("gap (pts)", "Train accuracy minus test accuracy, in points: the larger, the more it memorised (overfitting); "
                  "with several seeds: mean ± standard deviation"),
    ("train acc", "The final model's accuracy on the digits it trained on (with several seeds, their mean)"),
    ("seeds", "How many seeds (trainings from other initial weights and digit orders) the row is the mean of"),
    ("from", "shipped: the full run that comes with cnnviz (your extra seeds counted in); yours: trained in this "
             "Lab"),
    ("parameters", "Weights the variant learns; most sit in the first Dense layer, one per number of the last map"),
    ("last conv", "Output shape of the last convolution: height × width × channels"),
    ("unit sees", "Receptive field of one unit of the last convolution, in input pixels"),
    ("s/epoch", "Median time to train one epoch, the test pass excluded (on the machine that trained it; with "
                "several seeds, their mean)"),
    ("epochs", "Passes over the training digits"),
)
TEST_COLUMN, WHISKER_COLUMN, VERSUS_COLUMN = 1, 2, 3
MEASURED_COLUMNS = (1, 2, 3, 4, 5, 6, 7, 11, 12)
NO_VALUE = "—"
BEYOND_NOISE_COLOUR = QColor(205, 70, 20)


class ResultsTable(QTableWidget):
    """Six rows, ARCHITECTURES order; `variant_activated(name)` on a double click."""

    variant_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(len(ARCHITECTURES), len(COLUMNS), parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        for column, (title, tip) in enumerate(COLUMNS):
            header = QTableWidgetItem(title)
            header.setToolTip(tip)
            self.setHorizontalHeaderItem(column, header)
        self.whiskers = WhiskerDelegate(self)
        self.setItemDelegateForColumn(WHISKER_COLUMN, self.whiskers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        for row, name in enumerate(ARCHITECTURES):
            self._fill(row, VariantResult(name))
        self.cellDoubleClicked.connect(lambda row, _column: self.variant_activated.emit(ARCHITECTURES[row]))

    def set_results(self, results: dict[str, VariantResult], reference: float | None = None) -> None:
        """Show every variant's results (a variant missing from `results` shows its shapes only). Error bars are
        drawn for the full run's rows, on one scale with a line at `reference` (the full run's seed mean; by
        default the seed row's, when it is the full run's)."""
        for row, name in enumerate(ARCHITECTURES):
            self._fill(row, results.get(name) or VariantResult(name))
        whiskers = [whisker for whisker in map(self.whisker, ARCHITECTURES) if whisker is not None]
        if reference is None and self.whisker(REFERENCE) is not None:
            reference = self.whisker(REFERENCE).mean
        self.whiskers.scale = shared_scale(whiskers, reference)
        scale = self.whiskers.scale
        self.horizontalHeaderItem(WHISKER_COLUMN).setText(
            COLUMNS[WHISKER_COLUMN][0] if scale is None else f"test acc {100 * scale.low:.1f}–{100 * scale.high:.1f} %")
        self.viewport().update()

    def selected_variant(self) -> str | None:
        rows = self.selectionModel().selectedRows()
        return ARCHITECTURES[rows[0].row()] if rows else None

    def select_variant(self, name: str) -> None:
        self.selectRow(ARCHITECTURES.index(name))

    def row_texts(self, name: str) -> list[str]:
        """What the variant's row shows, column by column (tests and tools)."""
        row = ARCHITECTURES.index(name)
        return [self.item(row, column).text() for column in range(self.columnCount())]

    def cell_text(self, name: str, header: str) -> str:
        """The text of the variant's cell in the column `header` (a title of COLUMNS)."""
        return self.row_texts(name)[[title for title, _ in COLUMNS].index(header)]

    def whisker(self, name: str) -> Whisker | None:
        """The error bar the variant's row draws (None: no results)."""
        whisker = self.item(ARCHITECTURES.index(name), WHISKER_COLUMN).data(WHISKER_ROLE)
        return whisker if isinstance(whisker, Whisker) else None

    def cell_tooltip(self, name: str, column: int) -> str:
        return self.item(ARCHITECTURES.index(name), column).toolTip()

    def _fill(self, row: int, result: VariantResult) -> None:
        shape = variant_shape(result.name)
        shapes = [f"{shape.params:,}", "×".join(map(str, shape.last_conv_shape)),
                  f"{shape.last_conv_receptive_field}×{shape.last_conv_receptive_field} px"]
        measured, summary = result.row, result.summary
        if measured is None:
            cells = [result.name, NO_VALUE, "", NO_VALUE, NO_VALUE, NO_VALUE, NO_VALUE, "not trained yet", *shapes,
                     NO_VALUE, NO_VALUE]
        else:
            spread = summary is not None and summary.test_accuracy_sd is not None
            cells = [result.name,
                     f"{measured.test_accuracy:.2%}" + (f" ± {100 * summary.test_accuracy_sd:.2f}" if spread else ""),
                     "", _versus_text(result),
                     f"{100 * measured.train_test_gap:+.2f}" + (f" ± {100 * summary.train_test_gap_sd:.2f}"
                                                                if spread else ""),
                     f"{measured.train_accuracy:.2%}", _seeds_text(result),
                     "shipped" if result.source == SHIPPED else "yours", *shapes,
                     f"{measured.seconds_per_epoch:.1f}", str(measured.epochs)]
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if measured is None and column in MEASURED_COLUMNS:
                item.setForeground(QColor(140, 140, 140))
            self.setItem(row, column, item)
        self._mark(row, result)
        name_item = self.item(row, 0)
        name_item.setIcon(colour_icon(result.name))
        recipe = recipe_for(result.name)
        name_item.setToolTip(f"<b>{recipe.name}</b>: {recipe.stack_text}<br>{recipe.description}"
                             + ("" if result.model_path is None else f"<br><i>{result.model_path}</i>"))

    def _mark(self, row: int, result: VariantResult) -> None:
        """The error bar and the "vs seed" marker of a row, with tooltips that give the numbers and the test."""
        if result.row is None:
            return
        cell = self.item(row, WHISKER_COLUMN)
        if result.source == SHIPPED:
            whisker = whisker_of(result)
            cell.setData(WHISKER_ROLE, whisker)
            cell.setToolTip(_whisker_tooltip(result, whisker))
        else:
            cell.setToolTip("Your own Lab run, with its own settings: not on the full run's scale (Show: the full "
                            "run over seeds shows this variant's error bar)")
        versus = self.item(row, VERSUS_COLUMN)
        versus.setToolTip(_versus_tooltip(result))
        versus.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if result.summary is not None and result.summary.differs_from_seed == "yes":
            font = QFont(versus.font())
            font.setBold(True)
            versus.setFont(font)
            versus.setForeground(BEYOND_NOISE_COLOUR)
        elif _versus_text(result) != "reference":
            versus.setForeground(QColor(120, 120, 120))


def whisker_of(result: VariantResult) -> Whisker:
    """The variant's test accuracies over its seeds as an error bar (a dot alone for a single run)."""
    summary, row = result.summary, result.row
    values = tuple(run.test_accuracy for run in result.runs) or (row.test_accuracy,)
    low = high = None
    if summary is not None and summary.test_accuracy_ci_low is not None:
        low, high = summary.test_accuracy_ci_low, summary.test_accuracy_ci_high
    return Whisker(row.test_accuracy, low, high, values, VARIANT_COLOURS.get(result.name, (150, 150, 150)))


def _seeds_text(result: VariantResult) -> str:
    """"5", or "7 (2 yours)" when the user added seeds to the full run."""
    return str(result.seeds) + (f" ({result.extra_seeds} yours)" if result.extra_seeds else "")


def _versus_text(result: VariantResult) -> str:
    summary = result.summary
    if result.name == REFERENCE and summary is not None and summary.seeds >= 2:
        return "reference"
    if summary is None or not summary.differs_from_seed:
        return NO_VALUE
    return "≠ beyond noise" if summary.differs_from_seed == "yes" else "≈ within noise"


def _versus_tooltip(result: VariantResult) -> str:
    summary = result.summary
    if result.name == REFERENCE:
        return "seed is the variant every other one is compared with"
    if summary is None or not summary.differs_from_seed:
        return f"{TEST_NAME} needs two seeds or more of this variant and of seed: train extra seeds"
    n = summary.seeds
    verdict = ("beyond the seed-to-seed noise" if summary.differs_from_seed == "yes"
               else "within the seed-to-seed noise: not shown to differ with these seeds")
    p = "" if result.test is None else f": p = {result.test.p:.3f}"
    return (f"{TEST_NAME} of {result.name}'s {n} test accuracies against seed's{p} "
            f"({'<' if summary.differs_from_seed == 'yes' else '≥'} {SIGNIFICANCE}), so its difference to seed's "
            f"mean is {verdict}. Each variant is tested on its own, not corrected for the five comparisons.")


def _whisker_tooltip(result: VariantResult, whisker: Whisker) -> str:
    values = ", ".join(f"{100 * value:.2f}" for value in whisker.values)
    if whisker.low is None:
        return f"{result.name}: test accuracy {100 * whisker.mean:.2f} % (one run)"
    sd = result.summary.test_accuracy_sd
    return (f"{result.name}: mean test accuracy {100 * whisker.mean:.2f} % over {len(whisker.values)} seeds "
            f"({values} %); standard deviation {100 * sd:.2f} points; 95 % interval of the mean "
            f"{100 * whisker.low:.2f}–{100 * whisker.high:.2f} % (whiskers)")


def colour_icon(name: str, size: int = 12) -> QIcon:
    """A small square of the variant's colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*VARIANT_COLOURS.get(name, (200, 200, 200))))
    return QIcon(pixmap)
