"""Train the shipped robust model, `resources/mnist_convnet_augmented.keras` (issue 21).

The notes' seed convnet (`core.architectures`, "seed"), trained like the shipped
`mnist_convnet.keras` (rmsprop at Keras's default rate, batch 64, all 60,000 MNIST training digits)
but with data augmentation (`core.augmentation`: random shifts up to 2.8 px, turns up to 10°,
zooms up to 10%, on the fly in the input pipeline). Saved without optimizer state, with its
per-epoch history CSV beside it (`mnist_convnet_augmented_history.csv`), as the app reads it.
Prints the MNIST test accuracy; the issue's target is at least 0.990.

    nice -n 10 .venv/bin/python scripts/make_augmented_model.py [--epochs 12] [--seed 1] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TARGET_ACCURACY = 0.990


def main() -> int:
    from cnnviz.core.paths import AUGMENTED_MODEL_NAME, resources_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=resources_dir() / AUGMENTED_MODEL_NAME)
    args = parser.parse_args()

    import keras

    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import build_seed_model, save_model
    from cnnviz.core.training import Trainer, TrainConfig, history_path_for, write_history_csv
    from cnnviz.terminal import ProgressBar

    mnist = load_mnist(allow_download=False)
    config = TrainConfig(epochs=args.epochs, seed=args.seed, steps_per_execution=32, augment=True)
    keras.utils.set_random_seed(args.seed)
    model = build_seed_model()
    model.name = "mnist_convnet_augmented"
    result = Trainer(model, mnist, config, listener=ProgressBar(sys.stderr)).run()
    if result.status != "finished":
        print(f"training {result.status}: {result.message}", file=sys.stderr)
        return 1
    save_model(model, args.out, include_optimizer=False)
    write_history_csv(result.history, history_path_for(args.out))
    last = result.history[-1]
    verdict = "meets" if last.test_accuracy >= TARGET_ACCURACY else "MISSES"
    print(f"Wrote {args.out}: MNIST test accuracy {last.test_accuracy:.4f} after {len(result.history)} epochs "
          f"({verdict} the target {TARGET_ACCURACY}); {result.samples_per_second:.0f} training digits/s.")
    return 0 if last.test_accuracy >= TARGET_ACCURACY else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
