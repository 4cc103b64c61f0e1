"""Accuracy on MNIST test digits shown the way users bring them: new reader against the old one, and
the shipped models side by side.

For each style of `cnnviz.core.digit_styles` (tight crops touching edges, small in a corner of a
page, a JPEG photo with a light gradient, ruled paper, thin and thick strokes, plus plain MNIST),
`--count` test digits (the same ones for every style, fixed seed) are rendered and saved as files,
then read exactly as `cnnviz predict` reads them (`read_digit` -> `digit_model_input`) and
classified by each model of `--models` (default: the shipped `plain` model and the `augmented` one,
issue 21; short names or paths). The old reader (cnnviz 0.1: polarity and background from the
image border, kept below as `old_model_input`) reads the same files for the first model. Prints, per
style, the accuracies, the first model's difference to its plain-style figure (the reader's target:
within 2 points), and each other model's difference to the first model in that style (issue 21's
target for the augmented model: within 1 point of plain, i.e. at least -1.00p, in every style).

    nice -n 10 .venv/bin/python scripts/bench_real_digits.py [--count 1000] [--styles NAME ...] \
        [--models plain augmented]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

TARGET_POINTS = 2.0
MODEL_TARGET_POINTS = 1.0   # another model against the first, per style


# --- cnnviz 0.1's reader, for comparison (core/images.py before issue 9) ----------------------------
def old_ink_on_black(grey: np.ndarray) -> np.ndarray:
    """The old rule: the border's median tells polarity, its 95th percentile is the background."""
    def border(image):
        if min(image.shape) <= 2:
            return image.ravel()
        return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])

    grey = np.asarray(grey, dtype=np.float32)
    if float(np.median(border(grey))) > 0.5:
        grey = 1.0 - grey
    background = float(np.percentile(border(grey), 95)) + 2.0 / 255.0
    peak = float(grey.max())
    if peak - background < 0.1:
        return np.zeros_like(grey)
    return np.clip((grey - background) / (peak - background), 0.0, 1.0)


def old_model_input(path: Path) -> np.ndarray | None:
    """The old path: the whole picture, old polarity/background rule, placed on the canvas, MNIST's recipe."""
    from cnnviz.core.images import read_grey
    from cnnviz.core.preprocess import image_on_canvas, model_input

    return model_input(image_on_canvas(old_ink_on_black(read_grey(path))))


def new_model_input(path: Path) -> np.ndarray | None:
    """What `cnnviz predict` does."""
    from cnnviz.core.images import digit_model_input, read_digit

    return digit_model_input(read_digit(path))


def accuracy(model, inputs: list[np.ndarray | None], labels: np.ndarray) -> tuple[float, int]:
    """(share of digits predicted right, number with no prediction); no prediction counts as wrong."""
    found = [i for i, image in enumerate(inputs) if image is not None]
    correct = 0
    if found:
        batch = np.stack([inputs[i] for i in found])[..., None]
        predicted = np.argmax(model.predict(batch, batch_size=256, verbose=0), axis=1)
        correct = int((predicted == labels[found]).sum())
    return correct / len(inputs), len(inputs) - len(found)


def main() -> int:
    from cnnviz.core.digit_styles import STYLES, save_style

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="test digits per style (default 1000)")
    parser.add_argument("--seed", type=int, default=9, help="which digits, and each style's randomness")
    parser.add_argument("--styles", nargs="+", choices=list(STYLES), default=list(STYLES))
    parser.add_argument("--keep", type=Path, help="keep the pictures in this folder")
    parser.add_argument("--models", nargs="+", default=["plain", "augmented"],
                        help="models to compare: shipped short names (plain, augmented) or .keras paths")
    args = parser.parse_args()

    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import load_model
    from cnnviz.core.paths import model_path_for

    mnist = load_mnist(allow_download=False)
    models = {name: load_model(model_path_for(name)) for name in args.models}
    first, *others = args.models
    indices = np.random.default_rng(args.seed).choice(len(mnist.x_test), args.count, replace=False)
    labels = mnist.y_test[indices]
    stored = list(mnist.x_test[indices].astype(np.float32) / 255.0)
    exact = ", ".join(f"{name} {accuracy(model, stored, labels)[0]:.2%}" for name, model in models.items())
    print(f"{args.count} MNIST test digits (seed {args.seed}); the models on the digits as stored: {exact}")
    styles = ["plain"] + [s for s in args.styles if s != "plain"]
    columns = "".join(f"{name[:11]:>12}{'-' + first[:8]:>10}" for name in others)
    print(f"{'style':<14}{first[:7]:>8}{'old':>8}{'new-plain':>11}{columns}{'none':>6}  {'ms/image':>8}  description")
    plain_accuracy = None
    misses, model_misses = [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        for style in styles:
            target = folder / style
            target.mkdir(parents=True, exist_ok=True)
            paths = [save_style(target, style, mnist.x_test[i], args.seed * 100_003 + int(i), f"{n:04d}_{i}")
                     for n, i in enumerate(indices)]
            start = time.perf_counter()
            new_inputs = [new_model_input(path) for path in paths]
            per_image = (time.perf_counter() - start) / len(paths) * 1000
            new, none = accuracy(models[first], new_inputs, labels)
            old, _ = accuracy(models[first], [old_model_input(path) for path in paths], labels)
            if plain_accuracy is None:
                plain_accuracy = new
            difference = (new - plain_accuracy) * 100
            if difference < -TARGET_POINTS:
                misses.append(style)
            cells = ""
            for name in others:
                other = accuracy(models[name], new_inputs, labels)[0]
                cells += f"{other:>12.2%}{(other - new) * 100:>+9.2f}p"
                if (other - new) * 100 < -MODEL_TARGET_POINTS:
                    model_misses.append(f"{name} in {style}")
            print(f"{style:<14}{new:>8.2%}{old:>8.2%}{difference:>+10.2f}p{cells}{none:>6}  {per_image:>8.1f}  "
                  f"{STYLES[style].description}", flush=True)
    verdict = "every style within" if not misses else f"{', '.join(misses)} NOT within"
    print(f"Reader target: {first} within {TARGET_POINTS:.0f} points of its plain style in every style: {verdict}.")
    if others:
        verdict = "met in every style" if not model_misses else f"MISSED: {', '.join(model_misses)}"
        print(f"Model target: {', '.join(others)} within {MODEL_TARGET_POINTS:.0f} point of {first} in every "
              f"style: {verdict}.")
    return 0 if not misses and not model_misses else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
