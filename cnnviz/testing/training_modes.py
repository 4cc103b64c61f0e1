"""The autotest modes `train-and-screenshot` (a random test digit, then one epoch on TRAIN_LIMIT digits) and
`kill-and-recover` (two epochs; the compute process is SIGKILLed in the second; the picture is taken once
the restarted process has the model back). See `autotest.py`."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from cnnviz.testing.user_input import trigger

TRAIN_LIMIT = 3000  # digits trained


def start_training(autotest) -> None:
    """Start the run of `autotest.mode` through the Training panel, as the user would."""
    window = autotest.window
    training = window.capabilities["training"]
    window.training_finished.connect(lambda result: _on_finished(autotest, result))
    window.recovered.connect(lambda seconds: _on_recovered(autotest, seconds))
    trigger(window.inspector.input_actions(), "random")
    panel = training.panel
    panel.epochs.setValue(2 if autotest.mode == "kill-and-recover" else 1)
    panel.limit.setValue(TRAIN_LIMIT)
    panel.start_action.trigger()
    if autotest.mode == "kill-and-recover":
        killed = []
        training.run.epoch_finished.connect(lambda record: _kill_in_next_epoch(autotest, killed))


def _kill_in_next_epoch(autotest, killed: list) -> None:
    """Kill the compute process once the second epoch is under way (its first batch is on the curves)."""
    if killed:
        return
    killed.append(True)
    curves = autotest.window.capabilities["training"].curves
    points = curves.num_batch_points()
    autotest.when(lambda: curves.num_batch_points() > points, lambda: _kill(autotest))


def _kill(autotest) -> None:
    client = autotest.window.client
    print(f"cnnviz autotest: killing compute pid {client.pid} mid-epoch", flush=True)
    client.kill()


def _on_finished(autotest, result) -> None:
    """Let the last repaint land, then take the picture (after a crash: once recovered)."""
    print(f"cnnviz autotest: training {result.status}, {len(result.history)} epoch(s)", flush=True)
    if result.status != "cut":
        QTimer.singleShot(500, autotest.done)


def _on_recovered(autotest, seconds: float) -> None:
    """The model is back: report, let the maps come back, then take the picture."""
    window = autotest.window
    print(f"cnnviz autotest: recovered in {seconds:.2f} s, model back with {len(window.current.history)} "
          f"epoch(s), banner: {window.banner.text()}", flush=True)
    autotest.when(lambda: window.inspector.current_outputs() is not None, lambda: QTimer.singleShot(300, autotest.done))
