"""The Lab's help: `resources/lab_help.md`, with the numbers of the shipped full run filled in.

The help is a template. `{{results_table}}` becomes the table of the shipped `comparison.csv`;
`{{NAME.FIELD}}` becomes one of its cells (`{{no-pooling.test_accuracy}}` → "98.91%"), and
`{{A.FIELD/B.FIELD}}` the ratio of two cells (`{{no-pooling.seconds_per_epoch/seed.seconds_per_epoch}}`
→ "4.2×"). Over several seeds (issue 24) the fields of the summary count too (`test_accuracy_sd` →
"0.09", in points; `test_accuracy_ci_low` → "99.02%"; `seeds`; `differs_from_seed`), and `{{NAME.p}}` is
the p value of Welch's test of the test accuracies against `seed`'s from the shipped runs ("p = 0.046");
`{{NAME.p_gap}}` and `{{NAME.p_train}}` the same test of the gaps and of the train accuracies. A number
the CSV does not have yet shows as "…", so the text reads before the full run.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QTextBrowser

from cnnviz.core.comparison import ComparisonRow
from cnnviz.core.paths import resources_dir
from cnnviz.core.seed_statistics import REFERENCE, SummaryRow, WelchResult

HELP_FILE = "lab_help.md"
MISSING = "…"
_TOKEN = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
TABLE_HEADER = ("| variant | parameters | last conv | one unit sees | s/epoch | train acc | test acc | gap | epochs |\n"
                "|---|---:|---|---|---:|---:|---:|---:|---:|")
SEEDED_HEADER = ("| variant | parameters | last conv | one unit sees | s/epoch | train acc | test acc (mean ± sd) | "
                 "95 % interval | gap (mean ± sd) | differs from seed? |\n"
                 "|---|---:|---|---|---:|---:|---:|---:|---:|---|")
_POINTS = ("test_accuracy_sd", "train_test_gap_sd")          # spreads, in points
P_TOKENS = {"p": "test_accuracy", "p_gap": "train_test_gap", "p_train": "train_accuracy"}  # {{NAME.p…}}: tested
_PERCENT = ("train_accuracy", "test_accuracy", "test_accuracy_ci_low", "test_accuracy_ci_high")


def format_cell(row: ComparisonRow, field: str) -> str:
    """One cell of a row as the help writes it."""
    value = getattr(row, field)
    if value is None:
        return MISSING
    if field in _POINTS:
        return f"{100 * value:.2f}"
    if field == "params":
        return f"{value:,}"
    if field == "last_conv_shape":
        return "×".join(map(str, value))
    if field == "last_conv_receptive_field":
        return f"{value}×{value}"
    if field == "seconds_per_epoch":
        return f"{value:.1f} s"
    if field in _PERCENT:
        return f"{value:.2%}"
    if field == "train_test_gap":
        return f"{100 * value:+.2f} points"
    return str(value)


def results_table(rows: list[ComparisonRow], tests: dict[str, WelchResult] | None = None) -> str:
    """The rows as a Markdown table (or a sentence saying there are none yet); over several seeds, with the
    spreads, the interval and Welch's test against seed (`tests`: its p values)."""
    if not rows:
        return "_The results of the full run are not in this copy of cnnviz yet._"
    seeded = all(isinstance(row, SummaryRow) and row.test_accuracy_sd is not None for row in rows)
    lines = [SEEDED_HEADER if seeded else TABLE_HEADER]
    for row in rows:
        cells = [row.architecture] + [format_cell(row, field) for field in
                                      ("params", "last_conv_shape", "last_conv_receptive_field", "seconds_per_epoch",
                                       "train_accuracy")]
        if seeded:
            cells += [f"**{format_cell(row, 'test_accuracy')}** ± {format_cell(row, 'test_accuracy_sd')}",
                      f"{format_cell(row, 'test_accuracy_ci_low')}–{format_cell(row, 'test_accuracy_ci_high')}",
                      f"{100 * row.train_test_gap:+.2f} ± {format_cell(row, 'train_test_gap_sd')} points",
                      _verdict(row, (tests or {}).get(row.architecture))]
        else:
            cells += [format_cell(row, field) for field in ("test_accuracy", "train_test_gap", "epochs")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(row: SummaryRow, test: WelchResult | None) -> str:
    if row.architecture == REFERENCE:
        return "(the reference)"
    p = "" if test is None else f" ({p_text(test)})"
    return {"yes": "**yes**", "no": "no"}.get(row.differs_from_seed, MISSING) + p


def p_text(test: WelchResult) -> str:
    return "p < 0.001" if test.p < 0.001 else f"p = {test.p:.3f}"


def fill_help(template: str, rows: list[ComparisonRow], tests: dict[str, WelchResult] | None = None) -> str:
    """The template with its {{…}} tokens replaced from `rows` and `tests` ({NAME: the test of the test
    accuracies, "NAME.FIGURE": of another figure}; see the module docstring)."""
    by_name = {row.architecture: row for row in rows}
    tests = tests or {}

    def value(reference: str):
        name, _, field = reference.strip().rpartition(".")
        row = by_name.get(name)
        if row is None or field not in type(row).__dataclass_fields__:
            return None
        return row, field

    def replace(match: re.Match) -> str:
        token = match.group(1)
        if token == "results_table":
            return results_table(rows, tests)
        name, _, field = token.rpartition(".")
        if field in P_TOKENS:
            key = name if field == "p" else f"{name}.{P_TOKENS[field]}"
            return p_text(tests[key]) if key in tests else MISSING
        if "/" in token:
            top, bottom = (value(part) for part in token.split("/", 1))
            if top is None or bottom is None or not getattr(*bottom):
                return MISSING
            return f"{getattr(*top) / getattr(*bottom):.1f}×"
        found = value(token)
        return MISSING if found is None else format_cell(*found)

    return _TOKEN.sub(replace, template)


def help_markdown(rows: list[ComparisonRow], template_path: Path | None = None,
                  tests: dict[str, WelchResult] | None = None) -> str:
    """The help as Markdown, filled from `rows` (and `tests`), without the template's comments."""
    path = template_path or resources_dir() / HELP_FILE
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"# The architecture lab\n\nThe help file could not be read: {exc}"
    return fill_help(_COMMENT.sub("", template), rows, tests)


class LabHelp(QTextBrowser):
    """The help, rendered (links open in the system's browser)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenExternalLinks(True)
        self._markdown = ""

    def set_rows(self, rows: list[ComparisonRow], tests: dict[str, WelchResult] | None = None) -> None:
        """Render the help with the numbers of `rows` (the shipped full run) and its tests against seed."""
        self._markdown = help_markdown(rows, tests=tests)
        self.setMarkdown(self._markdown)

    def set_results(self, results: dict) -> None:
        """Render the help from the shipped full run's VariantResults (`lab_data.full_run`)."""
        tests = {name: result.test for name, result in results.items() if result.test is not None}
        tests.update({f"{name}.{figure}": test for name, result in results.items()
                      for figure, test in result.figure_tests.items()})
        self.set_rows([result.row for result in results.values() if result.row is not None], tests)

    def markdown(self) -> str:
        return self._markdown
