"""Training speed of the architecture lab's variants, measured side by side (interleaved).

`cnnviz compare` trains the variants one after the other, so its `seconds_per_epoch` column is only
as comparable as the machine is steady over the whole run; on a shared 2-core machine the speed of
the same network drifted 2-3x in one run. This benchmark trains every variant for the same number
of batches, round after round (seed, conv-conv-pool-pool, …, then again), so a change of machine
speed hits all alike, and prints each variant's median digits/s, the time an epoch of 60,000
digits would take at that rate, and the ratio to `seed`.

Each variant is built and compiled like the seed (`core.architectures.build_architecture`), trained
once on the same digits before the timed rounds (tracing), and trained with the headless trainer's
steps per execution on MNIST's training digits through the trainer's own input pipeline
(`core.training.make_datasets`: uint8 digits shuffled every epoch, normalised and one-hot per batch; no
cached, pre-normalised copy). The timed figure is the whole `fit` of one epoch of those digits.

    .venv/bin/python scripts/bench_architectures.py [--rounds 3] [--batches 150] [--architectures all]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCH_SIZE = 64
EPOCH_DIGITS = 60_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds over all variants (default 3)")
    parser.add_argument("--batches", type=int, default=150, help="batches of 64 per variant and round (default 150)")
    parser.add_argument("--architectures", default="all", help="comma-separated names, or all (default)")
    parser.add_argument("--steps-per-execution", type=int, default=32, help="as the headless trainer (default 32)")
    args = parser.parse_args()

    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")

    from cnnviz.core.architectures import build_architecture, parse_architecture_names
    from cnnviz.core.data import load_mnist

    names = parse_architecture_names(args.architectures)
    from cnnviz.core.training import make_datasets

    digits = args.batches * BATCH_SIZE
    data = load_mnist(allow_download=False).limited(digits)
    # The trainer's own input pipeline: uint8 digits shuffled each epoch, normalised and one-hot per batch.
    dataset, _ = make_datasets(data, BATCH_SIZE, seed=1)

    models = {}
    for name in names:
        tf.keras.utils.set_random_seed(1)
        model = build_architecture(name)
        model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"],
                      steps_per_execution=args.steps_per_execution)
        model.fit(dataset, epochs=1, verbose=0)   # trace before timing
        models[name] = model

    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(1, args.rounds + 1):
        for name in names:
            started = time.perf_counter()
            models[name].fit(dataset, epochs=1, verbose=0)
            rates[name].append(digits / (time.perf_counter() - started))
        print(f"round {round_number}: " + ", ".join(f"{name} {rates[name][-1]:,.0f}" for name in names)
              + f" digits/s; load average {os.getloadavg()[0]:.1f}", flush=True)

    base = statistics.median(rates[names[0]])
    print(f"\n{args.rounds} interleaved rounds of {args.batches} batches of {BATCH_SIZE}; medians "
          f"(ratio: time per epoch against {names[0]}):")
    print(f"{'variant':<22}{'digits/s':>10}{'s/epoch':>10}{'ratio':>8}")
    for name in names:
        rate = statistics.median(rates[name])
        print(f"{name:<22}{rate:>10,.0f}{EPOCH_DIGITS / rate:>10.1f}{base / rate:>7.2f}×")


if __name__ == "__main__":
    main()
