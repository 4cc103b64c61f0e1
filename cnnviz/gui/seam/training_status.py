"""Whether the window's model is training: the run's start and end, for every capability to follow.

The training capability says when a run begins and ends (`begin`, `announce_start`, `end`,
`announce_result`); every other part
asks `is_training()` or listens to the signals. It lives in the seam, not in `training/`, so that a
capability can follow training without importing the capability that trains.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class TrainingStatus(QObject):
    """The current training run of one window, if any."""

    started = Signal(object)    # the TrainingRun (gui/training/training_run.py) that just started
    ended = Signal()            # the run ended, however (finished, stopped, failed, cut): not training now
    finished = Signal(object)   # its TrainResult, for a run that trained (status finished, stopped, diverged, cut)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._run = None

    def is_training(self) -> bool:
        return self._run is not None

    def run(self):
        """The TrainingRun going on, or None."""
        return self._run

    def begin(self, run) -> None:
        """A run is being set up: `is_training()` from now on (the training capability calls this)."""
        self._run = run

    def announce_start(self) -> None:
        """The run's request is on its way: tell everyone (`started(run)`)."""
        if self._run is not None:
            self.started.emit(self._run)

    def end(self) -> None:
        """The run ended (the training capability calls this before the model it made is shown)."""
        if self._run is not None:
            self._run = None
            self.ended.emit()

    def announce_result(self, result) -> None:
        """Tell everyone how the run that just ended went (`finished(result)`)."""
        self.finished.emit(result)
