"""The files of a seeded comparison, written as each run finishes (issue 24).

`RunRecord` is what `cnnviz compare` and the Lab's "Train extra seeds" (the compute process's
"lab_seed_run" task) both do with a finished run: put its row into the runs file (one row per
(architecture, seed), atomically rewritten), rewrite the summary over the seeds asked for, and keep
its per-epoch history as `NAME_seedS_history.csv` (and, for the run that sent its model back, the
model as `NAME.keras` with `NAME_history.csv`) in a folder.
"""

from __future__ import annotations

from pathlib import Path

from cnnviz.core.seed_runs import RunOutcome, RunRow, read_runs_csv, seed_history_path, write_runs_csv


class RunRecord:
    """The runs so far (those read from the runs file included) and where each new one is written.

    `runs_path`: the runs file (None: rows are kept in memory only); `summary_path`: the summary of the runs
    `wanted` ((name, seed) pairs) in the order of `names` (None: no summary); `folder`: where histories and
    models go (None: nowhere).
    """

    def __init__(self, runs_path=None, summary_path=None, folder=None, existing: list[RunRow] | None = None,
                 names=(), wanted=()):
        self.runs_path = None if runs_path is None else Path(runs_path)
        self.summary_path = None if summary_path is None else Path(summary_path)
        self.folder = None if folder is None else Path(folder)
        self.names, self.wanted = list(names), list(wanted)
        self.rows: dict[tuple[str, int], RunRow] = {row.key: row for row in existing or []}

    @classmethod
    def from_runs_file(cls, runs_path, folder=None) -> RunRecord:
        """A record that extends the runs file at `runs_path` (RunsFileError when it is not one)."""
        return cls(runs_path, folder=folder, existing=read_runs_csv(runs_path))

    def add(self, outcome: RunOutcome) -> RunRow | None:
        """Keep a finished run (its row, history and model) and rewrite the files; None (nothing written) for a
        run that did not finish."""
        from cnnviz.core.atomic import write_bytes_atomic
        from cnnviz.core.training import history_path_for, write_history_csv

        row = outcome.row
        if row is None:
            return None
        self.rows[row.key] = row
        if self.runs_path is not None:
            write_runs_csv(list(self.rows.values()), self.runs_path)
        self.write_summary()
        if self.folder is not None:
            task = outcome.task
            write_history_csv(outcome.history, seed_history_path(self.folder, task.architecture, task.seed))
            if outcome.model_file is not None:
                path = self.folder / f"{task.architecture}.keras"
                write_bytes_atomic(path, outcome.model_file)
                write_history_csv(outcome.history, history_path_for(path))
        return row

    def summary_runs(self) -> list[RunRow]:
        """The runs asked for that have a row, in the order asked for."""
        return [self.rows[key] for key in self.wanted if key in self.rows]

    def write_summary(self) -> None:
        """Rewrite the summary file (if there is one) over the runs asked for."""
        if self.summary_path is None:
            return
        from cnnviz.core.comparison import write_comparison_csv
        from cnnviz.core.seed_statistics import SummaryRow, summarize

        write_comparison_csv(summarize(self.summary_runs(), self.names), self.summary_path, SummaryRow)
