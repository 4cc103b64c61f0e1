"""The architecture lab over several seeds: means, spreads, and which differences exceed the noise (issue 24).

`summarize(runs)` turns one `RunRow` per (architecture, seed) into one `SummaryRow` per architecture:
today's comparison columns as means over the seeds, then

- `seeds`: how many runs the means are over;
- `test_accuracy_sd`, `train_test_gap_sd`: the sample standard deviations (n - 1) over the seeds;
- `test_accuracy_ci_low`, `test_accuracy_ci_high`: the 95 % confidence interval of the mean test
  accuracy, mean ± t(0.975, n - 1) · sd / √n (Student's t: the seeds are few), clipped to 0–1 (with
  two seeds t is 12.7, and an accuracy interval past 100 % says nothing more than one that ends there);
- `differs_from_seed`: "yes" when Welch's two-sided t-test (unequal variances) of the variant's test
  accuracies against the `seed` variant's gives p < 0.05, else "no"; "no" for the seed variant itself.

A statistic that one seed cannot give is empty (None): the spreads and the interval need two seeds, the
test two seeds on both sides (and the `seed` variant among the runs). The test is per variant, not
corrected for the five comparisons with the seed: with no real difference anywhere, about one run of the
lab in five would still show one "yes" by chance.

`history_spread` is the per-epoch mean and spread of several seeds' histories (the Lab's error bands).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from cnnviz.core.comparison import ComparisonRow, aligned_table, geometry_cells
from cnnviz.core.student_t import quantile, two_sided_p

CONFIDENCE = 0.95      # of the interval of the mean
SIGNIFICANCE = 0.05    # Welch's test says "yes" below this p
REFERENCE = "seed"     # the variant every other one is tested against
TEST_NAME = "Welch's two-sided t-test, p < 0.05"


@dataclass(frozen=True)
class SummaryRow(ComparisonRow):
    """One variant over its seeds: the comparison columns as means, then the spreads (None: undefined)."""

    seeds: int
    test_accuracy_sd: float | None
    train_test_gap_sd: float | None
    test_accuracy_ci_low: float | None
    test_accuracy_ci_high: float | None
    differs_from_seed: str  # "yes", "no", or "" when the test cannot be made


@dataclass(frozen=True)
class WelchResult:
    """Welch's t-test of two samples: the statistic, its (fractional) degrees of freedom, the two-sided p."""

    t: float
    df: float
    p: float

    @property
    def differs(self) -> bool:
        return self.p < SIGNIFICANCE


def welch_test(sample, reference) -> WelchResult | None:
    """Welch's unequal-variances t-test of `sample` against `reference`; None with fewer than 2 values in either.

    Two samples without spread differ exactly when their means do (p 0 or 1): the t statistic is undefined.
    """
    a, b = np.asarray(sample, dtype=float), np.asarray(reference, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return None
    if a.var() == 0 and b.var() == 0:
        same = a.mean() == b.mean()
        return WelchResult(0.0 if same else math.copysign(math.inf, a.mean() - b.mean()),
                           float(len(a) + len(b) - 2), 1.0 if same else 0.0)
    share_a, share_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    statistic = (a.mean() - b.mean()) / math.sqrt(share_a + share_b)
    df = (share_a + share_b) ** 2 / (share_a ** 2 / (len(a) - 1) + share_b ** 2 / (len(b) - 1))
    return WelchResult(float(statistic), float(df), two_sided_p(float(statistic), float(df)))


def mean_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The `confidence` interval of the mean of `values` by Student's t; None with fewer than 2 values."""
    if len(values) < 2:
        return None
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    half = quantile(0.5 + confidence / 2, len(values) - 1) * sd / math.sqrt(len(values))
    return mean - half, mean + half


def summarize(runs, names=None) -> list[SummaryRow]:
    """One SummaryRow per architecture among `runs` (RunRows, or any ComparisonRows with a `seed`), in the
    order of `names` (default: the order they first appear); architectures without runs are left out."""
    by_name: dict[str, list] = {}
    for run in runs:
        by_name.setdefault(run.architecture, []).append(run)
    order = names if names is not None else list(by_name)
    tests = welch_against_seed(runs)
    return [_summary_row(by_name[name], tests.get(name)) for name in order if name in by_name]


def welch_against_seed(runs, figure: str = "test_accuracy") -> dict[str, WelchResult]:
    """Welch's test of each architecture's test accuracies (or another `figure` of its runs, e.g.
    "train_test_gap") against the `seed` variant's (where it can be made)."""
    accuracies: dict[str, list[float]] = {}
    for run in runs:
        accuracies.setdefault(run.architecture, []).append(getattr(run, figure))
    reference = accuracies.get(REFERENCE, [])
    tests = {}
    for name, values in accuracies.items():
        result = welch_test(values, reference)
        if result is not None:
            tests[name] = result
    return tests


def _summary_row(runs: list, test: WelchResult | None) -> SummaryRow:
    first = runs[0]
    test_accuracies = [run.test_accuracy for run in runs]
    gaps = [run.train_test_gap for run in runs]
    interval = mean_interval(test_accuracies)
    if interval is not None:
        interval = (max(interval[0], 0.0), min(interval[1], 1.0))
    if first.architecture == REFERENCE:
        differs = "no"
    else:
        differs = "" if test is None else ("yes" if test.differs else "no")
    return SummaryRow(
        first.architecture, first.params, first.last_conv_shape, first.last_conv_receptive_field,
        statistics.fmean(run.seconds_per_epoch for run in runs),
        statistics.fmean(run.train_accuracy for run in runs), statistics.fmean(test_accuracies),
        statistics.fmean(gaps), first.epochs, len(runs),
        _sd(test_accuracies), _sd(gaps), *(interval or (None, None)), differs)


def _sd(values) -> float | None:
    return statistics.stdev(values) if len(values) >= 2 else None


def format_summary_table(rows: list[SummaryRow], tests: dict[str, WelchResult] | None = None) -> str:
    """The summary as an aligned text table: means ± sd, the interval, and the test against the seed."""
    tests = tests or {}
    header = ("architecture", "params", "last conv", "receptive field", "s/epoch", "train acc", "test acc",
              "95 % interval", "gap", "seeds", f"p vs {REFERENCE}", "differs")
    cells = []
    for r in rows:
        test = tests.get(r.architecture)
        interval = ("" if r.test_accuracy_ci_low is None
                    else f"{r.test_accuracy_ci_low:.4f}–{r.test_accuracy_ci_high:.4f}")
        cells.append((*geometry_cells(r), f"{r.seconds_per_epoch:.1f}", f"{r.train_accuracy:.4f}",
                      _with_sd(r.test_accuracy, r.test_accuracy_sd, "{:.4f}"), interval,
                      _with_sd(r.train_test_gap, r.train_test_gap_sd, "{:+.4f}"), str(r.seeds),
                      "" if test is None or r.architecture == REFERENCE else f"{test.p:.3f}",
                      r.differs_from_seed))
    return aligned_table(header, cells)


def _with_sd(mean: float, sd: float | None, form: str) -> str:
    return form.format(mean) + ("" if sd is None else f" ± {sd:.4f}")


@dataclass(frozen=True)
class EpochSpread:
    """Per-epoch mean and sample sd (n - 1; NaN with one history) of several seeds' histories, over the
    epochs every history has. Arrays by epoch; `figures` names the EpochRecord fields they hold."""

    epochs: np.ndarray          # 1-based epoch numbers
    mean: dict[str, np.ndarray]
    sd: dict[str, np.ndarray]
    num_histories: int

    figures = ("loss", "accuracy", "test_loss", "test_accuracy")


def history_spread(histories) -> EpochSpread:
    """The mean and spread per epoch of `histories` (lists of EpochRecord, one per seed)."""
    histories = [list(history) for history in histories if history]
    num_epochs = min((len(history) for history in histories), default=0)
    mean, sd = {}, {}
    for figure in EpochSpread.figures:
        values = np.array([[getattr(record, figure) for record in history[:num_epochs]] for history in histories],
                          dtype=float).reshape(len(histories), num_epochs)
        mean[figure] = values.mean(axis=0) if len(histories) else np.zeros(0)
        sd[figure] = (values.std(axis=0, ddof=1) if len(histories) >= 2
                      else np.full(num_epochs, np.nan))
    return EpochSpread(np.arange(1, num_epochs + 1), mean, sd, len(histories))
