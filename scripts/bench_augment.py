"""Training speed with data augmentation against without, side by side (issue 21: aim >= 0.8x).

Two seed convnets (the same initial weights) are trained on the same `--batches` batches of 64 MNIST
training digits through the trainer's own input pipeline (`core.training.make_datasets`): one plain,
one with `augment=True` (`core.augmentation`: RandomTranslation, RandomRotation, RandomZoom mapped over
each batch on tf.data's threads). What is timed is `model.fit` over those batches (one epoch, no test
pass), with the headless trainer's steps per execution, after an untimed pass of each (tracing). Rounds
alternate the order (plain then augmented, then augmented then plain, …) so a change of machine speed
hits both alike. Prints each round's digits/s (wall clock) and the CPU time of this process per 1,000
digits (all its threads: training and tf.data's augmentation; less disturbed by other processes on a
shared machine) with the load average, then the medians and their ratios (augmented / plain).

    nice -n 10 .venv/bin/python scripts/bench_augment.py [--rounds 5] [--batches 150]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCH_SIZE = 64
TARGET_RATIO = 0.8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each (default 5)")
    parser.add_argument("--batches", type=int, default=150, help="batches of 64 per round (default 150)")
    parser.add_argument("--steps-per-execution", type=int, default=32, help="as the headless trainer (default 32)")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")

    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import build_seed_model, compile_model
    from cnnviz.core.training import make_datasets

    data = load_mnist(allow_download=False).limited(args.batches * BATCH_SIZE)
    digits = len(data.x_train)
    runs = {}
    for name, augment in (("plain", False), ("augmented", True)):
        keras.utils.set_random_seed(1)
        model = build_seed_model()
        compile_model(model, steps_per_execution=args.steps_per_execution)
        train, _ = make_datasets(data, BATCH_SIZE, seed=1, augment=augment)
        model.fit(train, epochs=1, verbose=0, shuffle=False)   # trace before timing
        runs[name] = (model, train)

    rates: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for round_number in range(1, args.rounds + 1):
        order = list(runs) if round_number % 2 else list(runs)[::-1]
        for name in order:
            model, train = runs[name]
            started, cpu_started = time.perf_counter(), time.process_time()
            model.fit(train, epochs=1, verbose=0, shuffle=False)
            rates[name].append(digits / (time.perf_counter() - started))
            cpu[name].append((time.process_time() - cpu_started) / digits * 1000)
        print(f"round {round_number}: plain {rates['plain'][-1]:,.0f}, augmented {rates['augmented'][-1]:,.0f} "
              f"digits/s; CPU s per 1,000 digits plain {cpu['plain'][-1]:.2f}, augmented "
              f"{cpu['augmented'][-1]:.2f}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
              flush=True)
    plain, augmented = (statistics.median(rates[name]) for name in ("plain", "augmented"))
    plain_cpu, augmented_cpu = (statistics.median(cpu[name]) for name in ("plain", "augmented"))
    ratio = augmented / plain
    print(f"\n{args.rounds} interleaved rounds of {args.batches} batches of {BATCH_SIZE}; medians: plain "
          f"{plain:,.0f} digits/s, augmented {augmented:,.0f} digits/s: {ratio:.2f}x "
          f"({'meets' if ratio >= TARGET_RATIO else 'MISSES'} the aim of {TARGET_RATIO}x); CPU per 1,000 digits "
          f"plain {plain_cpu:.2f} s, augmented {augmented_cpu:.2f} s: {plain_cpu / augmented_cpu:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
