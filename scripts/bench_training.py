"""Training throughput: cnnviz's Trainer against a plain `model.fit` written as the reference notes do.

Both train the same seed convnet (rmsprop, batch 64, categorical cross-entropy) on the same MNIST
digits. Runs are interleaved (plain, cnnviz, plain, cnnviz, ...) and each run trains `--epochs`
epochs from a fresh model. Throughput is digits per second over the training phase of every
epoch (validation excluded, so the Trainer's per-epoch test pass does not count against it).

    python scripts/bench_training.py --runs 3 --limit 30000
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def make_timer():
    import keras

    class TrainPhaseTimer(keras.callbacks.Callback):
        """Seconds of each epoch minus its validation pass; no per-batch hook, so it adds no sync."""

        def __init__(self):
            super().__init__()
            self.seconds = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()
            self._testing = 0.0

        def on_test_begin(self, logs=None):
            self._test_start = time.perf_counter()

        def on_test_end(self, logs=None):
            self._testing += time.perf_counter() - self._test_start

        def on_epoch_end(self, epoch, logs=None):
            self.seconds += time.perf_counter() - self._start - self._testing

    return TrainPhaseTimer()


def run_plain(data, epochs: int) -> float:
    """The notes' way: float32 arrays divided by 255, one-hot labels, model.fit."""
    from keras.utils import to_categorical

    from cnnviz.core.model import build_seed_model

    train_images = data.x_train.reshape((-1, 28, 28, 1)).astype("float32") / 255
    train_labels = to_categorical(data.y_train)
    model = build_seed_model()
    timer = make_timer()
    model.fit(train_images, train_labels, epochs=epochs, batch_size=64, verbose=0, callbacks=[timer])
    return len(train_images) * epochs / timer.seconds


def run_cnnviz(data, epochs: int, steps_per_execution: int) -> float:
    from cnnviz.core.model import build_seed_model
    from cnnviz.core.training import Trainer, TrainConfig

    timer = make_timer()
    config = TrainConfig(epochs=epochs, batch_size=64, steps_per_execution=steps_per_execution)
    Trainer(build_seed_model(), data, config, extra_callbacks=(timer,)).run()
    return len(data.x_train) * epochs / timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant (default 3)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (default 1)")
    parser.add_argument("--limit", type=int, default=None, help="training digits (default all 60,000)")
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 8],
                        help="steps_per_execution values to try for cnnviz (default 1 8)")
    args = parser.parse_args()

    from cnnviz.core.data import load_mnist

    data = load_mnist().limited(args.limit)
    variants = {"plain model.fit": lambda: run_plain(data, args.epochs)}
    for k in args.steps:
        variants[f"cnnviz Trainer (steps_per_execution={k})"] = lambda k=k: run_cnnviz(data, args.epochs, k)
    rates = {name: [] for name in variants}
    for run in range(args.runs):
        for name, fn in variants.items():
            rate = fn()
            rates[name].append(rate)
            print(f"run {run + 1}: {name}: {rate:,.0f} digits/s", flush=True)
    base = statistics.median(rates["plain model.fit"])
    print(f"\n{len(data.x_train):,} digits x {args.epochs} epoch(s), {args.runs} interleaved runs each")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:42s} median {median:8,.0f} digits/s   ratio vs plain {median / base:.3f}")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
