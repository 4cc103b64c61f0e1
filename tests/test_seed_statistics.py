"""The lab's statistics over seeds (issue 24): means, spreads, intervals, Welch's test, per-epoch bands."""

import math
import statistics

import numpy as np
import pytest

from cnnviz.core.comparison import COLUMNS, ComparisonRow, read_comparison_csv, read_rows_csv, write_comparison_csv
from cnnviz.core.seed_statistics import (SummaryRow, history_spread, mean_interval, summarize,
                                         welch_against_seed, welch_test)
from cnnviz.core.training import EpochRecord

from _lab_rows import SUMMARY_EXTRA, run_row as run


def student_t_two_sided_p(t: float, df: float) -> float:
    """P(|T| > |t|) for Student's t with `df` degrees of freedom, by integrating its density numerically
    (no scipy: an independent check of the library's answer)."""
    log_scale = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    x = np.linspace(-abs(t), abs(t), 400_001)
    density = np.exp(log_scale - (df + 1) / 2 * np.log1p(x * x / df))
    return 1.0 - float(np.trapezoid(density, x))


def test_welch_test_matches_the_formulas_by_hand():
    seed, no_pooling = [0.9926, 0.9931, 0.9922], [0.9882, 0.9890, 0.9875]
    va, vb = statistics.variance(no_pooling) / 3, statistics.variance(seed) / 3
    t = (statistics.fmean(no_pooling) - statistics.fmean(seed)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 2)  # Welch–Satterthwaite
    result = welch_test(no_pooling, seed)
    assert result.t == pytest.approx(t, rel=1e-9) and result.df == pytest.approx(df, rel=1e-9)
    assert result.p == pytest.approx(student_t_two_sided_p(t, df), abs=1e-6)
    assert result.p < 0.01 and result.differs

    close = welch_test([0.9926, 0.9920, 0.9931], seed)  # overlapping samples
    assert close.p == pytest.approx(student_t_two_sided_p(close.t, close.df), abs=1e-6)
    assert close.p > 0.5 and not close.differs


def test_welch_test_edge_cases():
    assert welch_test([0.99], [0.98, 0.97]) is None and welch_test([0.99, 0.98], [0.97]) is None
    assert welch_test([0.5, 0.5], [0.5, 0.5]).p == 1.0  # no spread anywhere: the same means do not differ
    assert welch_test([0.6, 0.6], [0.5, 0.5]).differs


def test_mean_interval_uses_students_t_from_the_tables():
    low, high = mean_interval([0.990, 0.992, 0.994])  # mean 0.992, sd 0.002, t(0.975, 2) = 4.303 (tables)
    assert (low, high) == pytest.approx((0.992 - 4.302653 * 0.002 / math.sqrt(3),
                                         0.992 + 4.302653 * 0.002 / math.sqrt(3)), abs=1e-7)
    values = [0.981, 0.985, 0.979, 0.990, 0.984]  # t(0.975, 4) = 2.776
    half = 2.776445 * statistics.stdev(values) / math.sqrt(5)
    assert mean_interval(values) == pytest.approx((statistics.fmean(values) - half, statistics.fmean(values) + half),
                                                  abs=1e-7)
    assert mean_interval([0.99]) is None


def test_summarize_means_spreads_and_the_test_against_the_seed():
    runs = [run("seed", 1, 0.9926, seconds=40), run("seed", 2, 0.9931, seconds=20), run("seed", 3, 0.9922, seconds=30),
            run("no-pooling", 1, 0.9882), run("no-pooling", 2, 0.9890), run("no-pooling", 3, 0.9875),
            run("average-pooling", 1, 0.9925), run("average-pooling", 2, 0.9918), run("average-pooling", 3, 0.9933),
            run("strided", 1, 0.9892)]
    rows = summarize(runs, ["seed", "conv-conv-pool-pool", "no-pooling", "average-pooling", "strided"])
    assert [row.architecture for row in rows] == ["seed", "no-pooling", "average-pooling", "strided"]
    seed, no_pooling, average, strided = rows
    assert seed.seeds == 3 and seed.seconds_per_epoch == pytest.approx(30)
    assert seed.test_accuracy == pytest.approx((0.9926 + 0.9931 + 0.9922) / 3)
    assert seed.test_accuracy_sd == pytest.approx(statistics.stdev([0.9926, 0.9931, 0.9922]))
    assert seed.train_test_gap == pytest.approx(0.997 - seed.test_accuracy)
    assert seed.train_test_gap_sd == pytest.approx(seed.test_accuracy_sd)  # the train accuracy is the same
    assert (seed.test_accuracy_ci_low, seed.test_accuracy_ci_high) == mean_interval([0.9926, 0.9931, 0.9922])
    assert (seed.params, seed.last_conv_shape, seed.last_conv_receptive_field, seed.epochs) == \
           (93_322, (3, 3, 64), 18, 5)
    assert seed.differs_from_seed == "no"
    assert no_pooling.differs_from_seed == "yes" and average.differs_from_seed == "no"
    # one seed: no spread, no interval, no test
    assert strided.seeds == 1 and strided.test_accuracy_sd is None and strided.test_accuracy_ci_low is None
    assert strided.differs_from_seed == ""
    assert set(welch_against_seed(runs)) == {"seed", "no-pooling", "average-pooling"}
    # an interval of accuracies ends at 100 %
    wide = summarize([run("strided", 1, 0.95), run("strided", 2, 0.999)])[0]
    assert wide.test_accuracy_ci_high == 1.0 and mean_interval([0.95, 0.999])[1] > 1
    assert wide.test_accuracy_ci_low == pytest.approx(mean_interval([0.95, 0.999])[0])
    # without the seed variant there is nothing to test against
    assert summarize([r for r in runs if r.architecture == "no-pooling"])[0].differs_from_seed == ""


def test_summary_csv_columns_read_back_and_read_as_comparison_rows(tmp_path):
    runs = [run("seed", 1, 0.9926), run("seed", 2, 0.9931), run("strided", 1, 0.9892)]
    rows = summarize(runs)
    path = tmp_path / "summary.csv"
    write_comparison_csv(rows, path, SummaryRow)
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == list(COLUMNS) + SUMMARY_EXTRA
    assert lines[2].endswith(",1,,,,,")  # strided: one seed, the undefined statistics are empty cells
    back = read_rows_csv(path, SummaryRow)  # (numbers to 6 significant digits)
    for ours, theirs in zip(back, rows):
        for name in COLUMNS + tuple(SUMMARY_EXTRA):
            mine, written = getattr(ours, name), getattr(theirs, name)
            assert mine == (pytest.approx(written, rel=1e-5) if isinstance(written, float) else written), name
    # what the Lab reads from a comparison.csv: the means, as plain comparison rows
    plain = read_comparison_csv(path)
    assert [type(row) for row in plain] == [ComparisonRow, ComparisonRow]
    assert plain[0].test_accuracy == pytest.approx(rows[0].test_accuracy, rel=1e-5)


def test_history_spread_per_epoch():
    def history(test_accuracies):
        return [EpochRecord(epoch, 0.1, 0.9, 0.2, value, 1.0, 100.0) for epoch, value in enumerate(test_accuracies, 1)]

    spread = history_spread([history([0.90, 0.95]), history([0.92, 0.97]), history([0.94, 0.93, 0.99])])
    assert spread.num_histories == 3 and list(spread.epochs) == [1, 2]  # the epochs every history has
    np.testing.assert_allclose(spread.mean["test_accuracy"], [0.92, 0.95])
    np.testing.assert_allclose(spread.sd["test_accuracy"], [0.02, 0.02])
    np.testing.assert_allclose(spread.sd["loss"], [0.0, 0.0], atol=1e-12)
    single = history_spread([history([0.9, 0.95])])
    assert np.isnan(single.sd["test_accuracy"]).all() and list(single.mean["test_accuracy"]) == [0.9, 0.95]
    assert history_spread([]).epochs.size == 0


def test_welch_and_interval_agree_with_scipy_stats():
    """The test and the interval are computed in plain Python (cnnviz.core.student_t: scipy.stats's import took
    1.4 s of building the window); they must be scipy.stats's figures."""
    from scipy import stats

    rng = np.random.default_rng(5)
    for trial in range(300):
        a = rng.normal(rng.normal(), rng.uniform(0.01, 2), int(rng.integers(2, 8)))
        b = np.full(3, 0.25) if trial % 5 == 0 else rng.normal(0, rng.uniform(0.01, 2), int(rng.integers(2, 8)))
        ours, theirs = welch_test(a, b), stats.ttest_ind(a, b, equal_var=False)
        assert ours.t == pytest.approx(theirs.statistic, rel=1e-9)
        assert ours.df == pytest.approx(theirs.df, rel=1e-9)
        assert ours.p == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-15)
        half = stats.t.ppf(0.975, len(a) - 1) * np.std(a, ddof=1) / np.sqrt(len(a))
        assert mean_interval(list(a)) == pytest.approx((a.mean() - half, a.mean() + half), rel=1e-9)


def test_student_t_tails_and_quantiles_agree_with_scipy_stats():
    from scipy import stats

    from cnnviz.core.student_t import quantile, two_sided_p

    for df in (0.7, 1, 1.5, 2, 3, 4.3, 8, 29, 200, 5000):
        for t in (0.0, 0.01, 0.5, 1.0, 2.2, 4.0, 12.0, 80.0):
            assert two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(t, df), rel=1e-10, abs=1e-300)
            assert two_sided_p(-t, df) == two_sided_p(t, df)
        for probability in (0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.9995):
            assert quantile(probability, df) == pytest.approx(stats.t.ppf(probability, df), rel=1e-9, abs=1e-12)
    assert two_sided_p(math.inf, 3) == 0.0
    assert math.isnan(two_sided_p(math.nan, 3))
    with pytest.raises(ValueError):
        quantile(1.0, 3)
