"""The Lab's help: `resources/lab_help.md`, with the numbers of the shipped full run filled in.

The help is a template. `{{results_table}}` becomes the table of the shipped `comparison.csv`;
`{{NAME.FIELD}}` becomes one of its cells (`{{no-pooling.test_accuracy}}` → "98.91%"), and
`{{A.FIELD/B.FIELD}}` the ratio of two cells (`{{no-pooling.seconds_per_epoch/seed.seconds_per_epoch}}`
→ "4.2×"). A number the CSV does not have yet shows as "…", so the text reads before the full run.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QTextBrowser

from cnnviz.core.comparison import ComparisonRow
from cnnviz.core.paths import resources_dir

HELP_FILE = "lab_help.md"
MISSING = "…"
_TOKEN = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
TABLE_HEADER = ("| variant | parameters | last conv | one unit sees | s/epoch | train acc | test acc | gap | epochs |\n"
                "|---|---:|---|---|---:|---:|---:|---:|---:|")


def format_cell(row: ComparisonRow, field: str) -> str:
    """One cell of a row as the help writes it."""
    value = getattr(row, field)
    if field == "params":
        return f"{value:,}"
    if field == "last_conv_shape":
        return "×".join(map(str, value))
    if field == "last_conv_receptive_field":
        return f"{value}×{value}"
    if field == "seconds_per_epoch":
        return f"{value:.1f} s"
    if field in ("train_accuracy", "test_accuracy"):
        return f"{value:.2%}"
    if field == "train_test_gap":
        return f"{100 * value:+.2f} points"
    return str(value)


def results_table(rows: list[ComparisonRow]) -> str:
    """The rows as a Markdown table (or a sentence saying there are none yet)."""
    if not rows:
        return "_The results of the full run are not in this copy of cnnviz yet._"
    lines = [TABLE_HEADER]
    for row in rows:
        cells = [row.architecture] + [format_cell(row, field) for field in
                                      ("params", "last_conv_shape", "last_conv_receptive_field", "seconds_per_epoch",
                                       "train_accuracy", "test_accuracy", "train_test_gap", "epochs")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fill_help(template: str, rows: list[ComparisonRow]) -> str:
    """The template with its {{…}} tokens replaced from `rows` (see the module docstring)."""
    by_name = {row.architecture: row for row in rows}

    def value(reference: str):
        name, _, field = reference.strip().rpartition(".")
        row = by_name.get(name)
        if row is None or field not in ComparisonRow.__dataclass_fields__:
            return None
        return row, field

    def replace(match: re.Match) -> str:
        token = match.group(1)
        if token == "results_table":
            return results_table(rows)
        if "/" in token:
            top, bottom = (value(part) for part in token.split("/", 1))
            if top is None or bottom is None or not getattr(*bottom):
                return MISSING
            return f"{getattr(*top) / getattr(*bottom):.1f}×"
        found = value(token)
        return MISSING if found is None else format_cell(*found)

    return _TOKEN.sub(replace, template)


def help_markdown(rows: list[ComparisonRow], template_path: Path | None = None) -> str:
    """The help as Markdown, filled from `rows`, without the template's comments."""
    path = template_path or resources_dir() / HELP_FILE
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"# The architecture lab\n\nThe help file could not be read: {exc}"
    return fill_help(_COMMENT.sub("", template), rows)


class LabHelp(QTextBrowser):
    """The help, rendered (links open in the system's browser)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenExternalLinks(True)
        self._markdown = ""

    def set_rows(self, rows: list[ComparisonRow]) -> None:
        """Render the help with the numbers of `rows` (the shipped full run)."""
        self._markdown = help_markdown(rows)
        self.setMarkdown(self._markdown)

    def markdown(self) -> str:
        return self._markdown
