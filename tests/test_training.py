"""The headless trainer: a real short run, throttled progress, stop, pause, NaN guard, history CSV."""

import csv
import io
import threading

import numpy as np
import pytest

from cnnviz.core.training import (BatchProgress, EpochRecord, Trainer, TrainConfig, TrainingControl,
                                  history_to_csv)


class Recorder:
    def __init__(self):
        self.progress: list[BatchProgress] = []
        self.epochs: list[EpochRecord] = []

    def on_progress(self, progress):
        self.progress.append(progress)

    def on_epoch(self, record):
        self.epochs.append(record)


def test_short_real_run_learns_and_reports(fresh_model, small_mnist):
    recorder = Recorder()
    result = Trainer(fresh_model, small_mnist, TrainConfig(epochs=2, seed=0), recorder).run()
    assert result.status == "finished"
    assert [r.epoch for r in result.history] == [1, 2]
    assert result.history[-1].test_accuracy > 0.5  # 600 digits, 2 epochs: far above chance (0.1)
    assert recorder.epochs == result.history
    steps = np.concatenate([p.batch_steps for p in recorder.progress])
    losses = np.concatenate([p.batch_losses for p in recorder.progress])
    assert len(steps) == len(losses) == 2 * 10  # every one of the 10 batches of each epoch
    assert np.all(np.diff(steps) > 0) and steps[-1] == pytest.approx(2.0)
    assert recorder.progress[-1].batch == recorder.progress[-1].num_batches == 10


def test_per_step_losses_average_to_the_epoch_loss(fresh_model, small_mnist):
    recorder = Recorder()
    result = Trainer(fresh_model, small_mnist, TrainConfig(epochs=1, seed=0), recorder).run()
    losses = np.concatenate([p.batch_losses for p in recorder.progress])
    assert np.mean(losses) == pytest.approx(result.history[0].loss, rel=1e-3)


class SteppingClock:
    """The trainer's clock, made to advance 10 ms per batch (a machine of 100 batches a second), however fast
    or slow this machine trains: the number of reports then depends on the throttle alone."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += 0.01


def test_progress_is_throttled_not_per_batch(fresh_model, mnist, monkeypatch):
    from cnnviz.core import training

    clock = SteppingClock()
    monkeypatch.setattr(training, "time", clock)
    recorder = Recorder()
    Trainer(fresh_model, mnist.limited(6400), TrainConfig(epochs=1, batch_size=16), recorder,
            between_batches=clock.tick).run()
    sizes = [len(p.batch_steps) for p in recorder.progress]
    assert sum(sizes) == 400                    # every batch's loss reaches the listener...
    per_report = round(training.EMIT_INTERVAL_S / 0.01)   # ...in reports at most EMIT_INTERVAL_S apart
    assert all(size >= per_report for size in sizes[1:-1]) and len(sizes) <= 400 // per_report + 2


def test_stop_lands_within_one_batch(fresh_model, small_mnist):
    control = TrainingControl()
    seen = []

    def stop_after_three():
        seen.append(1)
        if len(seen) == 3:
            control.stop()

    trainer = Trainer(fresh_model, small_mnist, TrainConfig(epochs=3), control=control,
                      between_batches=stop_after_three)
    result = trainer.run()
    assert result.status == "stopped"
    assert len(seen) == 3
    assert result.history == []  # the interrupted epoch is not a finished one


def test_stop_with_last_epoch_rolls_back_to_the_finished_epoch(fresh_model, small_mnist):
    control = TrainingControl()
    weights_after_epoch = []

    class Keep(Recorder):
        def on_epoch(self, record):
            weights_after_epoch.append(fresh_model.get_weights())

    count = []

    def stop_midway_in_epoch_two():
        count.append(1)
        if len(count) == 15:
            control.stop()

    result = Trainer(fresh_model, small_mnist, TrainConfig(epochs=3), Keep(), control, keep="last_epoch",
                     between_batches=stop_midway_in_epoch_two).run()
    assert result.status == "stopped" and len(result.history) == 1
    for now, then in zip(fresh_model.get_weights(), weights_after_epoch[0]):
        np.testing.assert_array_equal(now, then)


def test_pause_blocks_until_resume(fresh_model, small_mnist):
    control = TrainingControl()
    batches = []
    paused_once = threading.Event()

    def pause_at_two():
        batches.append(1)
        if len(batches) == 2:
            control.pause()
            paused_once.set()

    trainer = Trainer(fresh_model, small_mnist, TrainConfig(epochs=1), control=control,
                      between_batches=pause_at_two)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    assert paused_once.wait(60)
    thread.join(0.5)
    assert thread.is_alive() and len(batches) == 2  # blocked inside the callback
    control.resume()
    thread.join(60)
    assert not thread.is_alive() and len(batches) == 10


def test_stop_wakes_a_paused_run(fresh_model, small_mnist):
    control = TrainingControl()
    trainer = Trainer(fresh_model, small_mnist, TrainConfig(epochs=2), control=control,
                      between_batches=control.pause)
    results = []
    thread = threading.Thread(target=lambda: results.append(trainer.run()))
    thread.start()
    thread.join(1.0)
    control.stop()
    thread.join(30)
    assert not thread.is_alive() and results[0].status == "stopped"


def test_nan_loss_stops_and_keeps_finite_weights(fresh_model, small_mnist):
    config = TrainConfig(epochs=2, optimizer="sgd", learning_rate=1e6)
    result = Trainer(fresh_model, small_mnist, config).run()
    assert result.status == "diverged"
    assert "learning rate" in result.message
    assert all(np.isfinite(w).all() for w in fresh_model.get_weights())


def test_history_csv_has_a_row_per_epoch():
    history = [EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 10.0, 6000.0), EpochRecord(2, 0.3, 0.9, 0.2, 0.93, 9.0, 6500.0)]
    rows = list(csv.DictReader(io.StringIO(history_to_csv(history))))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[1]["test_accuracy"]) == pytest.approx(0.93)


@pytest.mark.parametrize("kwargs", [{"epochs": 0}, {"batch_size": 0}, {"learning_rate": -1.0},
                                    {"learning_rate": float("nan")}])
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_history_csv_round_trips_and_bad_files_read_as_empty(tmp_path):
    from pathlib import Path

    from cnnviz.core.training import history_path_for, read_history_csv, write_history_csv

    history = [EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 10.0, 6000.0), EpochRecord(2, 0.3, 0.9, 0.2, 0.93, 9.0, 6500.0)]
    path = history_path_for(tmp_path / "net.keras")
    assert path == tmp_path / "net_history.csv"
    write_history_csv(history, path)
    assert read_history_csv(path) == history
    path.write_text("epoch,loss\n1,not a number\n")
    assert read_history_csv(path) == []
    assert read_history_csv(Path(tmp_path / "absent.csv")) == []
