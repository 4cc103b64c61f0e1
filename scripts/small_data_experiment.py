"""The small-data experiment of the notes' chapter 5.2, on MNIST (issue 21): overfitting and what fights it.

The seed convnet is trained on the first 1,000 MNIST training digits only, in four ways — plain, with
dropout (0.5, before the dense layers), with data augmentation (`core.augmentation`), with both — for
`--epochs` epochs (long enough to see the gap between training and test accuracy open), with each of
`--seeds` (the same seed fixes the initial weights, the shuffles and the augmentation's draws; the
four variants of one seed start from the same weights). After every epoch the model is measured on
its 1,000 training digits as they are (a separate pass: Keras's running figure is over augmented,
dropped-out batches) and on the first `--test-digits` test digits (2,000: the same for every run, so
variants are compared on the same digits; a pass over all 10,000 every epoch would cost three times
the training); the final model also on all 10,000.

Writes into `--out` (default `resources/small_data/`):
- `small_data.csv`: one row per run (variant, seed, epochs, and the last epoch's train_accuracy,
  test_accuracy, gap, test_accuracy_all on all 10,000) and `table.md`, the README table (each run's
  mean over its last 5 epochs, then mean ± standard deviation over the seeds; `--table-only` remakes
  it and the picture from the CSVs);
- `curves.csv`: per run and epoch, the training accuracy measured clean, Keras's running training
  accuracy, the test accuracy;
- `VARIANT_seedS_history.csv` (the app's history format), and for the first seed `VARIANT.keras`
  (without optimizer state) beside `VARIANT_history.csv`, so the app opens a model with its curves;
- `small_data.png`: the curves, one panel per variant, the first seed solid.

    nice -n 10 .venv/bin/python scripts/small_data_experiment.py [--epochs 100] [--seeds 1 2 3] [--limit 1000]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

LAST_EPOCHS = 5
VARIANTS = {   # name: (augment, dropout)
    "plain": (False, 0.0),
    "dropout": (False, 0.5),
    "augment": (True, 0.0),
    "augment+dropout": (True, 0.5),
}


def clean_accuracy_callback(images, labels, rows: list):
    """A Keras callback that appends each epoch's accuracy on `images` as they are (training=False)."""
    import keras

    from cnnviz.core.confusion import predict_probabilities

    class CleanAccuracy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            predicted = predict_probabilities(self.model, images).argmax(axis=1)
            rows.append(float(np.mean(predicted == labels)))

    return CleanAccuracy()


def run_variant(name: str, seed: int, data, epochs: int):
    """Train one variant with one seed: (model, TrainResult, clean training accuracy per epoch)."""
    import keras

    from cnnviz.core.model import build_seed_model
    from cnnviz.core.training import Trainer, TrainConfig

    augment, dropout = VARIANTS[name]
    config = TrainConfig(epochs=epochs, seed=seed, steps_per_execution=16, augment=augment, dropout=dropout)
    keras.utils.set_random_seed(seed)
    model = build_seed_model(dropout=dropout)
    clean: list[float] = []
    result = Trainer(model, data, config,
                     extra_callbacks=(clean_accuracy_callback(data.x_train, data.y_train, clean),)).run()
    return model, result, clean


def spread(values: list[float]) -> str:
    """"0.9612 ± 0.0031" (mean ± sample standard deviation)."""
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {deviation:.4f}"


def table_markdown(curves: list[dict], rows: list[dict], limit: int, seeds: list[int], test_digits: int,
                   last: int = LAST_EPOCHS) -> str:
    """The README table: per variant, training and test accuracy and their gap, each run's mean over its
    last `last` epochs (one epoch's figure wobbles by a point), then mean ± standard deviation over seeds;
    and the last epoch's model on all 10,000 test digits."""
    epochs = max(c["epoch"] for c in curves)
    first = max(1, epochs - last + 1)
    lines = [f"| {limit:,} training digits, {epochs} epochs, seeds {', '.join(map(str, seeds))} | training "
             f"accuracy | test accuracy ({test_digits:,} digits) | gap | test accuracy, all 10,000 (last epoch) |",
             "|---|---:|---:|---:|---:|"]
    for name in VARIANTS:
        runs = []
        for seed in seeds:
            mine = [c for c in curves if c["variant"] == name and c["seed"] == seed and c["epoch"] >= first]
            if mine:
                train = statistics.mean(c["train_accuracy"] for c in mine)
                test = statistics.mean(c["test_accuracy"] for c in mine)
                full = next(r["test_accuracy_all"] for r in rows if r["variant"] == name and r["seed"] == seed)
                runs.append((train, test, train - test, full))
        if runs:
            lines.append(f"| {name} | " + " | ".join(spread([run[i] for run in runs]) for i in range(4)) + " |")
    return (f"{chr(10).join(lines)}\n\nEach run's training and test accuracy and gap are the mean of its epochs "
            f"{first}–{epochs}; ± is the standard deviation over the seeds.\n")


def plot(curves: list[dict], path: Path, seeds: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(VARIANTS), figsize=(4 * len(VARIANTS), 3.6), sharey=True)
    for ax, name in zip(axes, VARIANTS):
        for seed in seeds:
            mine = [c for c in curves if c["variant"] == name and c["seed"] == seed]
            style = {"alpha": 1.0 if seed == seeds[0] else 0.35, "linewidth": 1.6 if seed == seeds[0] else 1.0}
            epochs = [c["epoch"] for c in mine]
            ax.plot(epochs, [c["train_accuracy"] for c in mine], color="tab:blue",
                    label="training digits" if seed == seeds[0] else None, **style)
            ax.plot(epochs, [c["test_accuracy"] for c in mine], color="tab:orange",
                    label="test digits" if seed == seeds[0] else None, **style)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylim(0.85, 1.0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="lower right")
    figure.suptitle("1,000 MNIST training digits: accuracy on them and on test digits (the first seed solid)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> int:
    from cnnviz.core.paths import resources_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--test-digits", type=int, default=2000, help="test digits measured after every epoch")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--limit", type=int, default=1000, help="training digits (the first N of MNIST's)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=resources_dir() / "small_data")
    parser.add_argument("--table-only", action="store_true",
                        help="train nothing: remake table.md and small_data.png from --out's curves.csv")
    args = parser.parse_args()
    if args.table_only:
        return remake_table(args)

    import logging

    from cnnviz.core.atomic import write_text_atomic
    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import save_model
    from cnnviz.core.training import history_path_for, write_history_csv

    from cnnviz.core.confusion import compute_confusion
    from cnnviz.core.data import Dataset

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    mnist = load_mnist(allow_download=False)
    data = Dataset(mnist.x_train[:args.limit], mnist.y_train[:args.limit], mnist.x_test[:args.test_digits],
                   mnist.y_test[:args.test_digits], mnist.source)
    args.out.mkdir(parents=True, exist_ok=True)
    rows, curves = [], []
    started = time.perf_counter()
    for seed in args.seeds:
        for name in args.variants:
            model, result, clean = run_variant(name, seed, data, args.epochs)
            if result.status != "finished":
                print(f"{name} seed {seed}: {result.status} {result.message}", file=sys.stderr)
                return 1
            last = result.history[-1]
            everything = compute_confusion(model, mnist.x_test, mnist.y_test).accuracy
            rows.append({"variant": name, "seed": seed, "epochs": len(result.history), "train_accuracy": clean[-1],
                         "test_accuracy": last.test_accuracy, "gap": clean[-1] - last.test_accuracy,
                         "test_accuracy_all": everything})
            curves += [{"variant": name, "seed": seed, "epoch": record.epoch, "train_accuracy": accuracy,
                        "running_train_accuracy": record.accuracy, "test_accuracy": record.test_accuracy}
                       for record, accuracy in zip(result.history, clean)]
            write_history_csv(result.history, args.out / f"{name}_seed{seed}_history.csv")
            if seed == args.seeds[0]:
                path = save_model(model, args.out / f"{name}.keras", include_optimizer=False)
                write_history_csv(result.history, history_path_for(path))
            print(f"{name:<16} seed {seed}: train {clean[-1]:.4f}  test {last.test_accuracy:.4f}  "
                  f"gap {clean[-1] - last.test_accuracy:+.4f}  all 10,000 {everything:.4f}  "
                  f"({time.perf_counter() - started:.0f} s so far; load average {os.getloadavg()[0]:.1f})",
                  flush=True)
            write_text_atomic(args.out / "small_data.csv", _csv(rows))
            write_text_atomic(args.out / "curves.csv", _csv(curves))
    table = table_markdown(curves, rows, args.limit, args.seeds, args.test_digits)
    write_text_atomic(args.out / "table.md", table)
    plot(curves, args.out / "small_data.png", args.seeds)
    print(table)
    print(f"{time.perf_counter() - started:.0f} s in all; wrote {args.out}")
    return 0


def remake_table(args) -> int:
    """table.md and small_data.png from the curves.csv of an earlier run."""
    from cnnviz.core.atomic import write_text_atomic

    curves, rows = (_read_csv(args.out / name) for name in ("curves.csv", "small_data.csv"))
    seeds = sorted({c["seed"] for c in curves})
    table = table_markdown(curves, rows, args.limit, seeds, args.test_digits)
    write_text_atomic(args.out / "table.md", table)
    plot(curves, args.out / "small_data.png", seeds)
    print(table)
    return 0


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [{key: value if key == "variant" else int(value) if key in ("seed", "epoch", "epochs") else float(value)
                 for key, value in row.items()} for row in csv.DictReader(handle)]


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
    return out.getvalue()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
