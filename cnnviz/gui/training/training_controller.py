"""A training run from the Training panel to the model it makes: start, pause, resume, stop, and the end.

Training runs in the compute process (`TrainingRun`: the "train" request and its events). The
controller shows its progress on the panel and the curves, pushes the live maps to the inspector, and
at the end makes the trained model the window's current one (`context.session`); a run cut short by a
crash of the compute process keeps its last finished epoch, which the session then restores.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Slot

from cnnviz.compute.protocol import CANCELLED
from cnnviz.core.training import TrainResult
from cnnviz.gui.training.mnist_fetch import MnistFetch
from cnnviz.gui.training.training_panel import START_CURRENT
from cnnviz.gui.training.training_run import TrainingOutcome, TrainingRun


class TrainingController(QObject):
    """Runs the panel's training for one window (`context`); `dock` is the panel's dock, raised at a start."""

    def __init__(self, context, panel, curves, dock, parent: QObject | None = None):
        super().__init__(parent)
        self._context = context
        self.panel = panel
        self.curves = curves
        self._dock = dock
        self.run: TrainingRun | None = None
        self.fetch = MnistFetch(context, panel, self)
        panel.start_requested.connect(self.start)
        panel.pause_requested.connect(self.pause)
        panel.resume_requested.connect(self.resume)
        panel.stop_requested.connect(self.stop)

    def is_training(self) -> bool:
        return self.run is not None

    @Slot()
    def start(self, seed: int | None = None) -> bool:
        """Check the settings, then start a run in the compute process (seeded with `seed` if given); False if
        it did not start."""
        context, panel = self._context, self.panel
        if self.run is not None:
            return False
        try:
            config = panel.config()
            if seed is not None:
                config = dataclasses.replace(config, seed=int(seed))
        except ValueError as exc:
            panel.show_message(str(exc), "error")
            return False
        if panel.start_from_choice() == START_CURRENT and context.current_model() is None:
            panel.show_message("There is no current model to go on training yet: choose a fresh "
                               "seed model, or wait until the model has loaded.", "warning")
            return False
        panel.clear_message()
        from_scratch = panel.start_from_choice() != START_CURRENT
        run = TrainingRun(context.client, config, from_scratch, context.dataset, context.data_path, self)
        run.dataset_name = panel.dataset_choice()
        run.preparing.connect(panel.show_preparing)
        run.model_built.connect(context.inspector.set_model)
        run.progress.connect(self._on_progress)
        run.epoch_finished.connect(self.curves.add_epoch)
        run.epoch_finished.connect(panel.show_epoch)
        run.activations.connect(self._on_activations)
        run.finished.connect(self._on_finished)
        run.failed.connect(self._on_failed)
        run.cut.connect(self._on_cut)
        self.run = run
        context.training.begin(run)
        panel.set_state("preparing")
        self._dock.raise_()   # its progress is what to watch now (it may be a tab behind another panel)
        context.inspector.set_training(True)
        self.curves.start_run(config.epochs)
        panel.show_preparing("Building the model…" if from_scratch else "Preparing…")
        context.set_busy("Training", spinner=False)
        context.session.start_compute()
        run.start()
        context.training.announce_start()
        return True

    @Slot()
    def pause(self) -> None:
        if self.run is not None:
            self.run.pause()
            self.panel.set_state("paused")
            self._context.set_busy("Paused", spinner=False)

    @Slot()
    def resume(self) -> None:
        if self.run is not None:
            self.run.resume()
            self.panel.set_state("running")
            self._context.set_busy("Training", spinner=False)

    @Slot()
    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()
            self.panel.set_state("stopping")
            self._context.set_busy("Stopping…", spinner=False)

    def abandon(self) -> None:
        """The window closes: stop the run and hear nothing more of it; wait for a fetch of MNIST."""
        if self.run is not None:
            self.run.abandon()
            self.run = None
            self._context.training.end()
        self.fetch.wait()

    @Slot(object)
    def _on_progress(self, progress) -> None:
        """Show a throttled progress report."""
        if self.panel.state() == "preparing":
            self.panel.set_state("running")
        self.panel.show_progress(progress)
        self.curves.add_progress(progress)

    @Slot(object, object)
    def _on_activations(self, image, outputs) -> None:
        """The compute process's live outputs for the input the user last showed."""
        self._context.inspector.show_activations(outputs, image)

    @Slot(object)
    def _on_finished(self, outcome: TrainingOutcome) -> None:
        """The run ended: the trained model becomes the current one (unless nothing was trained)."""
        context = self._context
        self._end()
        result = outcome.result
        self.panel.show_result(result)
        if outcome.model is not None:
            context.session.show_model(outcome.model, unsaved=True)
        elif context.current_model() is not None:
            context.inspector.set_model(context.current_model())
        context.status(result.message or "Training finished.", 8000)
        context.training.announce_result(result)

    @Slot(str, str)
    def _on_failed(self, message: str, error_type: str) -> None:
        """Training raised (or never started): say so, keep the current model."""
        context = self._context
        self._end()
        if context.current_model() is not None:
            context.inspector.set_model(context.current_model())
        if error_type == "DataError" and self.panel.dataset_choice() == "mnist":
            self.fetch.offer(message)
        elif error_type == "DataError":   # Fashion-MNIST: the message says how to get it
            self.panel.show_message(message.removeprefix("Training failed: "), "error")
        elif error_type == CANCELLED:
            self.panel.show_message("Stopped before the first batch.", "info")
        else:
            self.panel.show_message(message, "error")

    @Slot(str)
    def _on_cut(self, what: str) -> None:
        """The compute process died mid-run: keep the last finished epoch, if any (the session restores it
        into the restarted process)."""
        context, run = self._context, self.run
        self._end()
        what = what[:1].lower() + what[1:]
        epochs = len(run.history)
        base = run.built if run.from_scratch else context.current_model()
        if epochs and run.epoch_weights is not None and base is not None:
            history = run.history if run.from_scratch else [*base.history, *run.history]
            context.session.keep_model(dataclasses.replace(base, weights=run.epoch_weights, history=history,
                                                           path=None if run.from_scratch else base.path))
            text = (f"Training was cut short: {what} The model keeps its last finished epoch "
                    f"({epochs} of {run.config.epochs}).")
        else:
            text = f"Training was cut short: {what} No epoch had finished: the model is the one from before."
        result = TrainResult(list(run.history), "cut", text)
        self.panel.show_result(result)
        self.panel.show_message(text, "warning")
        context.training.announce_result(result)

    def _end(self) -> None:
        self.curves.end_run()
        if self.run is not None:
            self.run.deleteLater()
            self.run = None
        self._context.training.end()
        self._context.inspector.set_training(False)
        self.panel.set_state("idle")
        self._context.set_busy("")
