"""Confusion matrix and checkpoints: how long the test-set pass, a checkpoint save and a checkpoint switch take.

- the confusion matrix of the shipped model on the 10,000 test digits (`compute_confusion`, one
  batched pass) against a plain `model.predict` of the same digits, interleaved (target: well under 5 s);
- writing one checkpoint file (an uncompiled copy's `.keras`, without optimizer state);
- evaluating one checkpoint of a folder (swap the weights, one pass over the test digits);
- switching a model's weights to a checkpoint's kept in memory (the scrubber's step).

    python scripts/bench_confusion.py --runs 5 [--checkpoints resources/mnist_convnet_checkpoints]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checkpoints", type=Path, help="a checkpoint folder (default: the shipped model's)")
    args = parser.parse_args()

    from cnnviz.core.checkpoints import (Checkpoint, FolderSink, checkpoint_weights, checkpoints_folder_for,
                                         evaluate_checkpoints, read_checkpoints)
    from cnnviz.core.confusion import compute_confusion
    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import load_model
    from cnnviz.core.paths import default_model_path

    data = load_mnist(allow_download=False)
    model = load_model(default_model_path())
    images = data.x_test.reshape(-1, 28, 28, 1).astype("float32") / 255

    compute_confusion(model, data.x_test, data.y_test)  # warm-up: traces the predict function
    model.predict(images, batch_size=1000, verbose=0)
    ours, plain = [], []
    for _ in range(args.runs):
        ours.append(timed(lambda: compute_confusion(model, data.x_test, data.y_test)))
        plain.append(timed(lambda: model.predict(images, batch_size=1000, verbose=0)))
    print(f"confusion matrix, 10,000 digits: median {statistics.median(ours):.2f} s "
          f"(plain model.predict {statistics.median(plain):.2f} s, "
          f"ratio {statistics.median(ours) / statistics.median(plain):.2f})")

    with tempfile.TemporaryDirectory() as folder:
        sink = FolderSink(Path(folder), {"epochs": 1})
        weights = model.get_weights()
        saves = [timed(lambda: sink.add(Checkpoint(1, 0, 60_000, 1.0), weights, model)) for _ in range(args.runs)]
        size = (Path(folder) / "epoch_01.keras").stat().st_size
    print(f"writing one checkpoint: median {statistics.median(saves) * 1000:.0f} ms, {size / 1e6:.2f} MB")

    folder = args.checkpoints or checkpoints_folder_for(default_model_path())
    checkpoints = read_checkpoints(folder)
    evaluate_checkpoints(checkpoints[:1], data.x_test, data.y_test, model=model)  # warm-up
    per_checkpoint = [timed(lambda: evaluate_checkpoints(checkpoints[-1:], data.x_test, data.y_test, model=model))
                      for _ in range(args.runs)]
    print(f"evaluating one checkpoint of {folder}: median {statistics.median(per_checkpoint):.2f} s "
          f"({len(checkpoints)} checkpoints)")

    kept = [checkpoint_weights(c) for c in checkpoints]
    switches = []
    for _ in range(args.runs):
        for weights in kept:
            switches.append(timed(lambda: model.set_weights(weights)))
    print(f"switching to a checkpoint's weights in memory: median {statistics.median(switches) * 1000:.1f} ms, "
          f"max {max(switches) * 1000:.1f} ms over {len(switches)}")
    np.testing.assert_array_equal(model.get_weights()[0], kept[-1][0])


if __name__ == "__main__":
    main()
