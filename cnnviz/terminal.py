"""A one-line terminal progress bar for headless training."""

from __future__ import annotations

import sys
from typing import TextIO

from cnnviz.core.training import BatchProgress, EpochRecord


def format_duration(seconds: float) -> str:
    """`75` -> `1:15`; `3725` -> `1:02:05`."""
    seconds = max(int(round(seconds)), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Rewrites one line per progress report; prints a line per finished epoch."""

    width = 24

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self.interactive = hasattr(stream, "isatty") and stream.isatty()
        self._open = False

    def on_progress(self, p: BatchProgress) -> None:
        if not self.interactive:
            return
        filled = int(self.width * p.batch / max(p.num_batches, 1))
        bar = "█" * filled + "·" * (self.width - filled)
        self.stream.write(
            f"\rEpoch {p.epoch + 1}/{p.num_epochs} {bar} {p.batch}/{p.num_batches}  loss {p.loss:.4f}  "
            f"acc {p.accuracy:.4f}  {p.samples_per_second:,.0f} digits/s  ETA {format_duration(p.eta_seconds)} "
        )
        self.stream.flush()
        self._open = True

    def on_epoch(self, r: EpochRecord) -> None:
        self.finish()
        self.stream.write(
            f"Epoch {r.epoch}: loss {r.loss:.4f}  acc {r.accuracy:.4f}  test loss {r.test_loss:.4f}  "
            f"test acc {r.test_accuracy:.4f}  ({r.seconds:.1f} s, {r.samples_per_second:,.0f} digits/s)\n"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False
