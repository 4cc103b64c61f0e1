"""The Lab over several seeds (issue 24): the full run is the shipped runs with the user's extra seeds; its
table shows means ± sd, error bars whose numbers are the CSV's, and Welch's test as a marker; its curves a
± sd band; "Train extra seeds" trains in the compute process, appends to the user's runs file (never the
shipped one) and the means move."""

from __future__ import annotations

import dataclasses
import math
import shutil
import statistics

import numpy as np
import pytest
from _lab_rows import run_row
from scipy import stats

from cnnviz.core.architectures import ARCHITECTURES
from cnnviz.core.comparison import read_comparison_csv, write_comparison_csv
from cnnviz.core.data import Dataset
from cnnviz.core.seed_runs import RunSettings, read_runs_csv, seed_history_path, write_runs_csv
from cnnviz.core.seed_statistics import SummaryRow, summarize
from cnnviz.core.training import EpochRecord, read_history_csv, write_history_csv
from cnnviz.gui.lab.data import SHIPPED, YOURS, full_run, full_run_settings, lab_results, next_seeds, shipped_folder

RUN_TIMEOUT_MS = 240_000
SHIPPED_ACCURACIES = {"seed": (0.9926, 0.9923, 0.9907), "strided": (0.9892, 0.9893, 0.9888),
                      "no-pooling": (0.9907, 0.9875, 0.9904)}


def history(test_accuracy: float, epochs: int = 2) -> list[EpochRecord]:
    return [EpochRecord(epoch, 0.3 / epoch, 0.9, 0.2 / epoch, test_accuracy - 0.01 * (epochs - epoch), 3.0, 1e3)
            for epoch in range(1, epochs + 1)]


def shipped_run(folder, accuracies=SHIPPED_ACCURACIES, epochs: int = 5, train_digits: int = 60_000):
    """A shipped folder as `compare --seeds … --runs … --models` writes it, with made-up runs."""
    folder.mkdir(parents=True, exist_ok=True)
    runs = [dataclasses.replace(run_row(name, seed, accuracy), epochs=epochs, train_digits=train_digits)
            for name, values in accuracies.items() for seed, accuracy in enumerate(values, 1)]
    write_runs_csv(runs, folder / "runs.csv")
    write_comparison_csv(summarize(runs, ARCHITECTURES), folder / "comparison.csv", SummaryRow)
    for run in runs:
        write_history_csv(history(run.test_accuracy, epochs), seed_history_path(folder, run.architecture, run.seed))
    return runs


def test_the_full_run_is_the_shipped_runs_with_your_extra_seeds(tmp_path):
    shipped, lab = tmp_path / "shipped", tmp_path / "lab"
    shipped_run(shipped)
    lab.mkdir()
    mine = [run_row("strided", 4, 0.9911), run_row("strided", 2, 0.5),                 # seed 2: the shipped one counts
            dataclasses.replace(run_row("seed", 9, 0.5), train_digits=1_000)]            # other settings: left out
    write_runs_csv(mine, lab / "runs.csv")
    write_history_csv(history(0.9911), seed_history_path(lab, "strided", 4))
    write_history_csv(history(0.5), seed_history_path(lab, "strided", 2))
    assert full_run_settings(shipped) == RunSettings(5, 64, 60_000)
    shipped_bytes = {path.name: path.read_bytes() for path in shipped.iterdir()}
    full = full_run(shipped, lab)
    strided = [*SHIPPED_ACCURACIES["strided"], 0.9911]
    result = full["strided"]
    assert result.source == SHIPPED and result.seeds == 4 and result.extra_seeds == 1
    assert sorted(run.seed for run in result.runs) == [1, 2, 3, 4]
    assert result.row.test_accuracy == pytest.approx(statistics.fmean(strided))
    assert result.summary.test_accuracy_sd == pytest.approx(statistics.stdev(strided))
    half = stats.t.ppf(0.975, 3) * statistics.stdev(strided) / 2
    assert result.summary.test_accuracy_ci_low == pytest.approx(statistics.fmean(strided) - half)
    expected = stats.ttest_ind(strided, SHIPPED_ACCURACIES["seed"], equal_var=False)
    assert result.test.p == pytest.approx(expected.pvalue)
    assert result.summary.differs_from_seed == ("yes" if expected.pvalue < 0.05 else "no")
    assert sorted(result.seed_histories) == [1, 2, 3, 4]
    assert result.seed_histories[2][-1].test_accuracy == pytest.approx(0.9893)       # the shipped seed 2's
    assert result.seed_histories[4][-1].test_accuracy == pytest.approx(0.9911)       # yours
    assert full["seed"].seeds == 3 and full["seed"].extra_seeds == 0 and full["seed"].test is None
    assert next_seeds(result, 3) == [5, 6, 7] and next_seeds(full["seed"], 2) == [4, 5]
    # Only the shipped folder: as shipped; reading changes no file.
    assert full_run(shipped)["strided"].seeds == 3
    assert {path.name: path.read_bytes() for path in shipped.iterdir()} == shipped_bytes
    # "Show: the full run" puts it before your own Lab run of the same variant.
    write_comparison_csv([run_row("strided", 1, 0.8)], lab / "comparison.csv")
    assert lab_results(shipped, lab)["strided"].source == YOURS
    assert lab_results(shipped, lab, yours_first=False)["strided"].seeds == 4


def test_the_shipped_full_run_loads_with_error_bars_from_its_csv(qtbot, tmp_path):
    """The real resources/architectures: every row of comparison.csv is a mean over seeds; the table's error
    bars, ± sd and markers are the CSV's numbers; every variant has a band from its seeds' histories."""
    from cnnviz.gui.lab.dock import LabDock

    folder = shipped_folder()
    summary = {row.architecture: row for row in read_comparison_csv(folder / "comparison.csv", SummaryRow)}
    runs = read_runs_csv(folder / "runs.csv")
    assert sorted(summary) == sorted(ARCHITECTURES) and all(row.seeds >= 3 for row in summary.values())
    assert len(runs) == sum(row.seeds for row in summary.values())
    dock = LabDock(None, shipped=folder, lab=tmp_path / "lab")
    qtbot.addWidget(dock)
    dock.set_yours_first(False)
    table = dock.table
    for name, row in summary.items():
        whisker = table.whisker(name)
        assert whisker.mean == pytest.approx(row.test_accuracy, abs=1e-6)
        assert (whisker.low, whisker.high) == pytest.approx((row.test_accuracy_ci_low, row.test_accuracy_ci_high),
                                                            abs=1e-6)
        own = sorted(run.test_accuracy for run in runs if run.architecture == name)
        assert sorted(whisker.values) == pytest.approx(own) and len(own) == row.seeds
        assert statistics.fmean(own) == pytest.approx(row.test_accuracy, abs=1e-6)   # the CSV is the runs' mean
        mean, sd = table.cell_text(name, "test acc").split("% ± ")      # "99.17% ± 0.09", to 2 decimals
        assert float(mean) == pytest.approx(100 * row.test_accuracy, abs=0.0051)
        assert float(sd) == pytest.approx(100 * row.test_accuracy_sd, abs=0.0051)
        assert table.cell_text(name, "seeds") == str(row.seeds)
        versus = table.cell_text(name, "vs seed")
        if name == "seed":
            assert versus == "reference"
        else:
            assert versus == {"yes": "≠ beyond noise", "no": "≈ within noise"}[row.differs_from_seed]
            assert "Welch's two-sided t-test" in table.cell_tooltip(name, 3)
            assert dock.results()[name].test.differs == (row.differs_from_seed == "yes")
        epochs, low, high = dock.curves.band_data(name, "accuracy")
        assert list(epochs) == [1, 2, 3, 4, 5] and np.all(high > low)
        assert dock.curves.seeds_shown(name) == len(dock.results()[name].seed_histories) >= 3
        assert (folder / f"{name}.keras").is_file() and read_history_csv(folder / f"{name}_history.csv")
    scale = table.whiskers.scale
    assert scale.low <= min(w.low for w in map(table.whisker, ARCHITECTURES))
    assert scale.reference == pytest.approx(summary["seed"].test_accuracy)
    assert "Welch's two-sided t-test" in dock.help.markdown() and "{{" not in dock.help.markdown()


def test_the_shipped_models_load_in_the_lab(qtbot, compute_client, digit_seven):
    from _compute import call

    from cnnviz.core.architectures import architecture_specs

    folder = shipped_folder()
    paths = {name: folder / f"{name}.keras" for name in ARCHITECTURES}
    loaded = call(qtbot, compute_client, "lab_load", {"variants": paths}, timeout=RUN_TIMEOUT_MS)
    assert loaded == {"loaded": list(ARCHITECTURES), "failed": {}}
    probed = call(qtbot, compute_client, "lab_probe", {"image": digit_seven, "variants": paths})
    assert probed["missing"] == []
    for name, outputs in probed["outputs"].items():
        assert [o.shape for o in outputs] == [spec.output_shape for spec in architecture_specs(name)]
        assert int(np.argmax(outputs[-1])) == 7, name                 # every shipped variant reads the 7
    for name in ARCHITECTURES:                                       # saved without the optimizer's state
        assert (folder / f"{name}.keras").stat().st_size < 1.5 * 4 * architecture_params(name) + 200_000


def architecture_params(name: str) -> int:
    from cnnviz.core.architectures import architecture_specs

    return sum(spec.num_params for spec in architecture_specs(name))


@pytest.fixture
def tiny_mnist(mnist):
    return Dataset(mnist.x_train[:300], mnist.y_train[:300], mnist.x_test[:300], mnist.y_test[:300], "tiny")


def make_dock(qtbot, client, shipped, lab, dataset):
    from cnnviz.gui.lab.dock import LabDock

    dock = LabDock(client, shipped=shipped, lab=lab)
    dock.dataset = dataset
    qtbot.addWidget(dock)
    dock.show()
    return dock


@pytest.mark.slow
def test_extra_seeds_train_in_the_background_and_update_the_means(qtbot, compute_client, tmp_path, tiny_mnist):
    shipped, lab = tmp_path / "shipped", tmp_path / "lab"
    shipped_run(shipped, epochs=1, train_digits=200)          # a full run of 1 epoch on 200 digits
    shipped_bytes = {path.name: path.read_bytes() for path in shipped.iterdir()}
    dock = make_dock(qtbot, compute_client, shipped, lab, tiny_mnist)
    try:
        dock.variants.set_checked(["strided", "same-padding"])            # same-padding is not in the full run
        assert dock.extra_seeds.action.isEnabled() and "strided" in dock.extra_seeds.action.toolTip()
        assert dock.table.cell_text("strided", "seeds") == "3"
        before = dock.table.whisker("strided")
        dock.extra_seeds.count.setValue(2)
        with qtbot.waitSignal(dock.run_finished, timeout=RUN_TIMEOUT_MS):
            dock.extra_seeds.action.trigger()
            assert not dock.extra_seeds.action.isEnabled() and dock.stop_action.isEnabled()
            assert not dock.yours_first() and dock.tabs.currentWidget() is dock.table
        added = {run.key: run for run in read_runs_csv(lab / "runs.csv")}
        assert sorted(added) == [("strided", 4), ("strided", 5)]
        assert {path.name: path.read_bytes() for path in shipped.iterdir()} == shipped_bytes   # never the shipped
        values = [*SHIPPED_ACCURACIES["strided"], *(run.test_accuracy for run in added.values())]
        after = dock.table.whisker("strided")
        assert after.mean == pytest.approx(statistics.fmean(values)) and after.mean != pytest.approx(before.mean)
        assert sorted(after.values) == pytest.approx(sorted(values))
        half = stats.t.ppf(0.975, 4) * statistics.stdev(values) / math.sqrt(5)
        assert (after.low, after.high) == pytest.approx((max(after.mean - half, 0), min(after.mean + half, 1)))
        assert dock.table.cell_text("strided", "seeds") == "5 (2 yours)"
        assert dock.curves.seeds_shown("strided") == 5                # the band counts the new histories
        assert dock.variants.status("strided").startswith("shipped")
        # Stop: the seed in training keeps nothing, the one waiting is dropped.
        shipped_run(shipped, epochs=200, train_digits=200)
        write_runs_csv([], lab / "runs.csv")
        dock.reload_results()
        dock.extra_seeds.count.setValue(2)
        dock.train_extra_seeds(2, ["seed"])
        qtbot.waitUntil(lambda: "epoch" in dock.variants.status("seed"), timeout=RUN_TIMEOUT_MS)
        assert "seed 4" in dock.progress_bar.format() and "seed (seed 5)" in dock.progress_label.text()
        with qtbot.waitSignal(dock.run_finished, timeout=RUN_TIMEOUT_MS):
            dock.stop_action.trigger()
        assert read_runs_csv(lab / "runs.csv") == [] and dock.progress_bar.format() == "Stopped"
        assert dock.table.cell_text("seed", "seeds") == "3"
    finally:
        dock.abandon()


def test_the_lab_capability_offers_extra_seeds(capability_window, tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped_run(shipped)
    monkeypatch.setenv("CNNVIZ_ARCHITECTURES_DIR", str(shipped))
    monkeypatch.setenv("CNNVIZ_LAB_DIR", str(tmp_path / "lab"))
    window = capability_window("lab")
    lab = window.capabilities["lab"].lab
    lab.variants.set_checked(["no-pooling"])
    assert lab.extra_seeds.action.isEnabled() and "5 epochs" in lab.extra_seeds.about.text()
    assert lab.table.cell_text("no-pooling", "from") == "shipped"
    shutil.rmtree(shipped)
    lab.reload_results()
    assert not lab.extra_seeds.action.isEnabled()                   # nothing shipped: nothing to add seeds to


def test_your_own_run_stays_off_the_full_runs_scale(qtbot, tmp_path):
    from cnnviz.gui.lab.dock import LabDock

    shipped, lab = tmp_path / "shipped", tmp_path / "lab"
    shipped_run(shipped)
    lab.mkdir()
    write_comparison_csv([run_row("seed", 1, 0.61, train_accuracy=0.62, epochs=1)], lab / "comparison.csv")
    dock = LabDock(None, shipped=shipped, lab=lab)
    qtbot.addWidget(dock)
    table = dock.table
    assert table.cell_text("seed", "from") == "yours" and table.whisker("seed") is None
    assert "not on the full run's scale" in table.cell_tooltip("seed", 2)
    assert table.whiskers.scale.reference == pytest.approx(statistics.fmean(SHIPPED_ACCURACIES["seed"]))
    assert table.whiskers.scale.low > 0.98                          # 61 % does not squash the bars
    assert table.cell_text("strided", "vs seed") in ("≠ beyond noise", "≈ within noise")   # against the full run's
    dock.set_yours_first(False)
    assert table.whisker("seed").mean == pytest.approx(statistics.fmean(SHIPPED_ACCURACIES["seed"]))
