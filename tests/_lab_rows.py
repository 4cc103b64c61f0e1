"""Made-up rows of the architecture lab's tables for tests (issue 24): plausible numbers, no training."""

from __future__ import annotations

from cnnviz.core.comparison import ComparisonRow
from cnnviz.core.seed_runs import RunRow

# The summary's columns after the comparison's (the contract, in order).
SUMMARY_EXTRA = ["seeds", "test_accuracy_sd", "train_test_gap_sd", "test_accuracy_ci_low", "test_accuracy_ci_high",
                 "differs_from_seed"]
GEOMETRY = {"seed": (93_322, (3, 3, 64), 18), "no-pooling": (2_038_922, (22, 22, 64), 7),
            "strided": (121_994, (4, 4, 64), 15), "average-pooling": (93_322, (3, 3, 64), 18)}


def comparison_row(name: str = "seed", test_accuracy: float = 0.9926, train_accuracy: float = 0.9961,
                   seconds: float = 20.0, epochs: int = 5) -> ComparisonRow:
    params, shape, field_size = GEOMETRY[name]
    return ComparisonRow(name, params, shape, field_size, seconds, train_accuracy, test_accuracy,
                         train_accuracy - test_accuracy, epochs)


def run_row(name: str, seed: int, test_accuracy: float, train_accuracy: float = 0.997, seconds: float = 10.0,
            epochs: int = 5) -> RunRow:
    row = comparison_row(name, test_accuracy, train_accuracy, seconds, epochs)
    return RunRow(*(getattr(row, field) for field in ComparisonRow.__dataclass_fields__), seed, 64, 60_000)
