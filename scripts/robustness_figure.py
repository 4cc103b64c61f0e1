"""The README's robustness figures (issue 21): what moving a digit does to the notes' model, to the same
network trained with augmentation, and to the lab's no-pooling variant.

For `--count` MNIST test digits (a fixed random choice) each model's `core.robustness.probe_robustness`
(shifts of -6…+6 px, turns of -30…+30°, scales 0.6…1.4, one batched pass per digit) gives the
probability of the true digit and whether it is still read right; the figure plots the mean
probability against the horizontal and vertical shift, the turn and the scale, and the mean
invariance of each layer's maps (correlation with the unshifted maps) against the shift. The second
row does the same for the same digits rendered as photos of paper (`core.digit_styles` "photo": a
light gradient, grain, JPEG) and read as `cnnviz predict` reads a picture: the way users bring digits.
Prints the accuracy of each model at a few shifts, turns and scales, for both rows.

    nice -n 10 .venv/bin/python scripts/robustness_figure.py [--count 200] [--out docs/images/robustness.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

MODELS = {"notes' model (plain)": "plain", "augmented": "augmented", "no-pooling (lab)": "no-pooling"}
COLOURS = {"notes' model (plain)": "tab:blue", "augmented": "tab:green", "no-pooling (lab)": "tab:red"}


def model_paths() -> dict[str, Path]:
    from cnnviz.core.paths import model_path_for, resources_dir

    return {label: (resources_dir() / "architectures" / "no-pooling.keras" if name == "no-pooling"
                    else model_path_for(name)) for label, name in MODELS.items()}


def curves(result, label: int) -> dict[str, np.ndarray]:
    """The true class's probability along each axis, and whether it is still the prediction."""
    from cnnviz.core.robustness import SHIFTS

    def along(axis: int) -> np.ndarray:
        return np.asarray([result.shift_probabilities[result.shifts.index((s, 0) if axis == 0 else (0, s))]
                           for s in SHIFTS])

    rows = {"dx": along(0), "dy": along(1), "degrees": result.rotation_probabilities,
            "factor": result.scale_probabilities}
    out = {key: values[:, label] for key, values in rows.items()}
    out.update({f"{key}_right": values.argmax(axis=1) == label for key, values in rows.items()})
    layers = {}
    for follow in result.layers:
        invariance = np.nan if follow.invariance is None else follow.invariance
        layers.setdefault(follow.name, {})[follow.shift] = invariance
    out["invariance"] = {name: np.asarray([by_shift[s] for s in SHIFTS]) for name, by_shift in layers.items()}
    return out


def photo_inputs(mnist, indices, info) -> list[np.ndarray]:
    """The test digits as photos of paper, saved as JPEG and read as `cnnviz predict` reads them."""
    from cnnviz.core.digit_styles import save_style
    from cnnviz.core.model_input import prepare_file

    with tempfile.TemporaryDirectory() as folder:
        paths = [save_style(folder, "photo", mnist.x_test[i], 9 * 100_003 + int(i), f"photo_{i}") for i in indices]
        return [prepare_file(path, info).array[..., 0] for path in paths]


def mean_curves(runs: list[dict]) -> dict:
    summary = {key: np.mean([run[key] for run in runs], axis=0) for key in runs[0] if key != "invariance"}
    summary["invariance"] = {name: np.nanmean([run["invariance"][name] for run in runs], axis=0)
                             for name in runs[0]["invariance"]}
    return summary


def print_accuracies(title: str, summaries: dict, axes_values: dict) -> None:
    picks = {"dx": (-6, -4, -2, 2, 4, 6), "dy": (-6, -4, 4, 6), "degrees": (-30, -20, 20, 30),
             "factor": (0.6, 0.8, 1.2, 1.4)}
    print(title)
    print(f"{'model':<22}{'as is':>7}" + "".join(f"{key}={value:g}".rjust(11) for key, values in picks.items()
                                                for value in values))
    for label, summary in summaries.items():
        cells = "".join(f"{summary[key + '_right'][list(axes_values[key]).index(value)]:>11.1%}"
                        for key, values in picks.items() for value in values)
        print(f"{label:<22}{summary['dx_right'][list(axes_values['dx']).index(0)]:>7.1%}{cells}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--out", type=Path, default=Path("docs/images/robustness.png"))
    args = parser.parse_args()

    from cnnviz.core.data import load_mnist
    from cnnviz.core.model_files import open_model
    from cnnviz.core.robustness import ROTATIONS, SCALES, SHIFTS, RobustnessProbe, probe_robustness

    mnist = load_mnist(allow_download=False)
    indices = np.random.default_rng(args.seed).choice(len(mnist.x_test), args.count, replace=False)
    labels = [int(mnist.y_test[i]) for i in indices]
    stored = [mnist.x_test[i].astype(np.float32) / 255.0 for i in indices]
    photos = None
    summaries, photo = {}, {}
    for label, path in model_paths().items():
        model, info = open_model(path)
        photos = photos if photos is not None else photo_inputs(mnist, indices, info)
        probe = RobustnessProbe(model)
        summaries[label] = mean_curves([curves(probe_robustness(probe, image), digit)
                                        for image, digit in zip(stored, labels)])
        photo[label] = mean_curves([curves(probe_robustness(probe, image), digit)
                                    for image, digit in zip(photos, labels)])
        print(f"{label}: done", file=sys.stderr, flush=True)

    axes_values = {"dx": SHIFTS, "dy": SHIFTS, "degrees": ROTATIONS, "factor": SCALES}
    print_accuracies(f"Accuracy on {args.count} MNIST test digits (seed {args.seed}) moved:", summaries, axes_values)
    print_accuracies("The same digits as photos of paper, read as `cnnviz predict` reads them, moved:", photo,
                     axes_values)
    plot(summaries, photo, axes_values, args)
    print(f"Wrote {args.out}")
    return 0


def plot(summaries, photo, axes_values, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {"dx": "shift right (px)", "dy": "shift down (px)", "degrees": "turn (degrees, counter-clockwise)",
              "factor": "scale"}
    figure, grid = plt.subplots(2, 5, figsize=(19, 7.2))
    for row, (data, what) in enumerate(((summaries, f"mean over {args.count} test digits"),
                                        (photo, "the same digits as photos"))):
        for column, key in enumerate(axes_values):
            ax = grid[row, column]
            for label, values in data.items():
                ax.plot(axes_values[key], values[key], marker="o", markersize=3, color=COLOURS[label], label=label)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(titles[key])
            ax.grid(alpha=0.3)
            if column == 0:
                ax.set_ylabel(f"probability of the true digit\n({what})")
        ax = grid[row, 4]
        for label, values in data.items():
            for name, style in (("conv2d_1", ":"), ("conv2d_3", "-")):
                if name in values["invariance"]:
                    ax.plot(axes_values["dx"], values["invariance"][name], style, color=COLOURS[label])
        ax.set_xlabel("shift right (px)")
        ax.set_ylabel("maps like the unshifted ones (correlation)")
        ax.set_title("conv2d_1 dotted, conv2d_3 solid", fontsize=10)
        ax.set_ylim(-0.05, 1.02)
        ax.grid(alpha=0.3)
    handles, labels = grid[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=90)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
