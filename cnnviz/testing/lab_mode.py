"""The autotest mode `lab-and-screenshot` (see `testing/autotest.py`): the real app's Lab trains two variants
and shows their curves overlaid and their maps side by side; then the full run over seeds with its error
bars, and the picture is taken.

MNIST test digit 0 (a 7) goes on the canvas, the Lab opens (Train → Architecture lab), `seed` and
`no-pooling` train two epochs each on LAB_TRAIN_DIGITS digits (tested on the first LAB_TEST_DIGITS
test digits, so the run fits the autotest's time limit on a busy machine) through the compute process.
Once both variants' last-convolution maps are shown it prints what it sees and saves `<PATH stem>_curves.png`
(the Curves tab). Then "Show" switches to the full run over seeds, the Results tab comes forward (means ±
sd, error bars, Welch's markers), and once the shipped variants' maps are back it prints the error bars
and takes the picture.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QTimer

from cnnviz.gui.lab.table import WHISKER_COLUMN
from cnnviz.testing.screenshots import save_screenshot

PAIR = ("seed", "no-pooling")
LAB_TRAIN_DIGITS = 600
LAB_TEST_DIGITS = 600
LAB_EPOCHS = 2


def start(autotest) -> None:
    """Drive the Lab of `autotest.window` (an `autotest.Autotest`), then call its `done`."""
    from cnnviz.core.data import Dataset, load_mnist

    window = autotest.window
    feature = window.capabilities["lab"]
    lab = feature.lab
    window.inspector.show_test_digit(0)
    mnist = load_mnist(allow_download=False)
    lab.dataset = Dataset(mnist.x_train[:LAB_TRAIN_DIGITS], mnist.y_train[:LAB_TRAIN_DIGITS],
                          mnist.x_test[:LAB_TEST_DIGITS], mnist.y_test[:LAB_TEST_DIGITS], "autotest")
    feature.show_action.trigger()
    lab.variants.set_checked(PAIR)
    lab.epochs.setValue(LAB_EPOCHS)
    lab.limit.setValue(LAB_TRAIN_DIGITS)
    lab.side_by_side.set_pair(*PAIR, "conv2d_3")
    lab.tabs.setCurrentWidget(lab.curves)
    side_by_side = lab.side_by_side

    def maps_shown() -> bool:
        return all(side_by_side.shown_maps(side) is not None for side in (0, 1))

    def report() -> None:
        shapes = " | ".join("{1}x{2}x{0}".format(*side_by_side.shown_maps(side).shape) for side in (0, 1))
        results = lab.results()
        accuracies = ", ".join(f"{name} {results[name].row.test_accuracy:.4f}" for name in PAIR
                               if results[name].row is not None)
        corner = lab.curves.mapToGlobal(QPoint(0, 0))
        print(f"cnnviz autotest: lab training finished: {', '.join(lab.curves.variants())} overlaid; "
              f"test accuracy {accuracies}; maps {shapes}; curves at {corner.x()},{corner.y()},"
              f"{lab.curves.width()},{lab.curves.height()}", flush=True)
        QTimer.singleShot(500, show_full_run)

    def show_full_run() -> None:
        save_screenshot(window, autotest.path.with_name(autotest.path.stem + "_curves.png"))
        lab.set_yours_first(False)
        lab.tabs.setCurrentWidget(lab.table)
        autotest.when(maps_shown, report_error_bars)

    def report_error_bars() -> None:
        bars = []
        for name in lab.results():
            whisker = lab.table.whisker(name)
            if whisker is not None and whisker.low is not None:
                bars.append(f"{name} {whisker.mean:.4f} [{whisker.low:.4f}, {whisker.high:.4f}] "
                            f"{lab.table.cell_text(name, 'vs seed')}")
        table = lab.table
        column = WHISKER_COLUMN
        corner = table.viewport().mapToGlobal(QPoint(table.columnViewportPosition(column), 0))
        print(f"cnnviz autotest: lab error bars: {'; '.join(bars)}; bars at {corner.x()},{corner.y()},"
              f"{table.columnWidth(column)},{table.viewport().height()}", flush=True)
        QTimer.singleShot(500, autotest.done)

    lab.run_finished.connect(lambda: autotest.when(maps_shown, report))
    lab.train_action.trigger()
