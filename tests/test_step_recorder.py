"""Reading a model's training from another thread while one long compiled call runs (core/step_recorder.py,
the live Trainer): the weights come whole from one step, the curves get every step, before the call ends."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

HANG_S = 60.0   # only catches a hang
STEP = 2.0 ** -11   # each weight's change per step below: learning rate 2**-10 × gradient 1/2


def wait_for(condition, what: str):
    deadline = time.monotonic() + HANG_S
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"hung waiting for {what}")
        time.sleep(0.0005)


def linear_model(steps: int):
    """A Dense layer whose every weight moves by exactly STEP at each SGD step (mean absolute error far from
    its target: a constant gradient), compiled to run `steps` steps in one call."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(2.0 ** -10), loss="mean_absolute_error", metrics=["accuracy"],
                  steps_per_execution=steps)
    return model


class CallEnds:
    """Keras calls on_train_batch_end once per compiled call: counts the calls that ended."""

    def __new__(cls):
        import keras

        class Callback(keras.callbacks.Callback):
            ended = 0

            def on_train_batch_end(self, batch, logs=None):
                type(self).ended += 1

        return Callback()


def test_weights_copied_during_one_long_call_all_come_from_one_step():
    import tensorflow as tf

    from cnnviz.core.step_recorder import StepRecorder

    steps = 20_000
    model = linear_model(steps)
    data = tf.data.Dataset.from_tensors((np.ones((1, 2), np.float32), np.full((1, 2), 1000, np.float32))).repeat()
    recorder = StepRecorder(model)
    recorder.install()
    calls = CallEnds()
    fit = threading.Thread(target=lambda: model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False,
                                                    callbacks=[calls]))
    fit.start()
    copies = []
    while fit.is_alive():
        recorder.request_weights()
        copy = wait_for(lambda: recorder.take_weights() or (None if fit.is_alive() else "ended"), "a copy")
        if copy != "ended" and calls.ended == 0:   # the one call had not ended when it was read
            copies.append(copy)
    fit.join()
    recorder.uninstall()
    assert calls.ended == 1 and len(copies) >= 2
    # (the copy of the call's last step may be read before Keras reports the end of the call)
    assert len({c.iteration for c in copies if c.iteration < steps}) >= 2 and all(0 < c.iteration <= steps
                                                                                  for c in copies)
    for copy in copies:   # every weight of the copy is the one after step `iteration`: no mix of two steps
        for array in copy.weights:
            np.testing.assert_array_equal(array, np.full(array.shape, copy.iteration * STEP, np.float32))
    rows = recorder.steps_after(steps - 100)   # the ring keeps the last steps, each with its running loss
    np.testing.assert_array_equal(rows[:, 0], np.arange(steps - 99, steps + 1))
    expected = 1000 - 3 * STEP * (rows[:, 0] - 1) / 2   # mean of 1000 - 3·STEP·(t-1) over t = 1…iteration
    np.testing.assert_allclose(rows[:, 1], expected, rtol=2e-5)   # float32 sums over 20,000 steps
    assert (np.diff(rows[:, 1]) < 0).all()
    assert model.train_step.__func__ is type(model).train_step   # the model's own step is back


def test_a_live_run_reports_every_batch_before_its_call_ends(small_mnist, monkeypatch):
    """The curves get one point per batch, reported from another thread while the call of 75 batches is held
    at its 50th batch; weights asked for then come from a step after the request."""
    import tensorflow as tf

    from cnnviz.core import training
    from cnnviz.core.model import build_seed_model

    held, release = threading.Event(), threading.Event()
    make_datasets = training.make_datasets

    def held_at_batch_50(*args, **kwargs):
        train, test = make_datasets(*args, **kwargs)

        def wait(index):
            if int(index) == 50 and not release.is_set():
                held.set()
                release.wait(HANG_S)
            return index

        gate = train.enumerate().map(lambda i, batch: (tf.py_function(wait, [i], tf.int64), batch))
        return gate.map(lambda i, batch: batch).prefetch(0), test

    monkeypatch.setattr(training, "make_datasets", held_at_batch_50)
    reports, threads = [], []

    class Listener:
        def on_progress(self, progress):
            reports.append(progress)
            threads.append(threading.current_thread().name)

        def on_epoch(self, record):
            pass

    calls = CallEnds()
    config = training.TrainConfig(epochs=1, batch_size=8, steps_per_execution=75, seed=1)
    trainer = training.Trainer(build_seed_model(), small_mnist, config, listener=Listener(), live=True,
                               extra_callbacks=(calls,))
    run = threading.Thread(target=trainer.run, name="trainer")
    run.start()
    try:
        wait_for(held.is_set, "the 50th batch")

        def polled_past_40():
            threading.current_thread().name == "MainThread" and trainer.poll()
            return reports and reports[-1].batch >= 40

        wait_for(polled_past_40, "steps reported while the call runs")
        assert calls.ended == 0 and set(threads) == {"MainThread"}
        asked_at = reports[-1].batch
        trainer.request_weights()
    finally:
        release.set()
    copy = wait_for(trainer.take_weights, "the weights asked for")
    run.join(HANG_S)
    assert copy.iteration > asked_at and len(copy.weights) == len(trainer.model.get_weights())
    points = np.concatenate([r.batch_steps for r in reports])
    np.testing.assert_allclose(points, np.arange(1, 76) / 75)   # one point per batch, each once
    losses = np.concatenate([r.batch_losses for r in reports])
    assert np.isfinite(losses).all() and reports[-1].batch == 75
