"""`cnnviz attack`: an adversarial example of one digit (FGSM or PGD), and how far each layer's maps moved."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from cnnviz.commands.common import (CliError, add_image_or_test_index, positive_int, require_one_input, scale_factor,
                                    whole_number)

OUTPUT_NAMES = ("perturbed.npy", "perturbed.png", "perturbation.npy", "perturbation.png")


def intensity(text: str | None, option: str) -> float | None:
    """`--epsilon`/`--max-epsilon` as a number from 0 to 1 (None when not given); CliError (one line) otherwise."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise CliError(f"{option} must be a number from 0 to 1, not {text!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise CliError(f"{option} must be from 0 to 1 (intensity units), not {text}")
    return value


def add_parser(subparsers) -> None:
    from cnnviz.core.adversarial import DEFAULT_EPSILON, METHODS, PGD_STEPS, SWEEP_MAX_EPSILON

    parser = subparsers.add_parser(
        "attack", help="adversarial example: the smallest pixel change that flips a prediction (FGSM, PGD)",
        description="Attack one digit: move every pixel by at most ε (intensity units, 0-1; the result stays "
                    "in [0, 1]) in the direction that raises the loss of the predicted class (untargeted) or "
                    "lowers the loss of --target. fgsm: one step of the gradient's sign; pgd: --steps steps of "
                    "2.5·ε/steps, each projected back into the ε ball. Prints the prediction before and after "
                    "and, per layer, how far its output moved (‖Δa‖/‖a‖). --sweep finds the smallest ε that "
                    "flips the prediction: the attack at ε = 0.01, 0.02, … --max-epsilon, then twice the "
                    "nine ε that cut the interval between the last that failed and the first that worked into "
                    "tenths (within 0.0001 of the smallest on that search).")
    add_image_or_test_index(parser, "an image file (PNG, JPEG, GIF, BMP), prepared as `cnnviz predict` does")
    parser.add_argument("--method", choices=METHODS, default="fgsm", help="fgsm (default) or pgd")
    parser.add_argument("--target", type=whole_number, metavar="CLASS",
                        help="make the model read this class (default: any class but the predicted one)")
    parser.add_argument("--epsilon", metavar="E",
                        help=f"the largest change of a pixel, 0 to 1 (default {DEFAULT_EPSILON})")
    parser.add_argument("--steps", type=positive_int, metavar="N", help=f"pgd: how many steps (default {PGD_STEPS})")
    parser.add_argument("--sweep", action="store_true", help="find the smallest ε that flips the prediction")
    parser.add_argument("--max-epsilon", metavar="E",
                        help=f"--sweep: the largest ε to try (default {SWEEP_MAX_EPSILON})")
    parser.add_argument("--model", action="append", type=Path, metavar="PATH",
                        help="a .keras or .h5 model file (default: the shipped model); repeat it to attack "
                             "several models the same way, one result each")
    parser.add_argument("--json", action="store_true",
                        help='one JSON object per model: {"method", "epsilon", "target", "before": {"class", '
                             '"probability"}, "after": {…}, "perturbation_linf", "layers": [{"name", '
                             '"relative_change"}], …}')
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write perturbed.png/.npy (the attacked input, in [0, 1]) and perturbation.png/.npy "
                             "(attacked − original; the PNG blue below 0, red above, white at 0, ±ε at the ends) "
                             "into DIR (one folder per model when there are several)")
    parser.add_argument("--scale", type=scale_factor, default=1, metavar="K",
                        help="--out: each pixel becomes K×K in the PNGs, 1 to 64 (default 1; the .npy files are "
                             "always the model's size)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import check_output_folder, check_writable, command_inputs
    from cnnviz.core.paths import default_model_path

    _check_options(args)
    paths = args.model or [None]
    folders = _output_folders(args.out, paths)
    inputs = command_inputs(args, "image", "data")
    inputs.update({f"--model {path or 'the shipped model'}": Path(path or default_model_path()) for path in paths})
    for folder in folders:
        if folder is not None:
            check_output_folder(folder, inputs)
            for name in OUTPUT_NAMES:
                check_writable(folder / name, inputs)
    for path, folder in zip(paths, folders, strict=True):
        record, result = _attack_one(args, path)
        if folder is not None:
            record["files"] = _write_outputs(folder, result, args.scale)
        print(json.dumps(record, allow_nan=False) if args.json else _text(record), flush=True)
    return 0


def _check_options(args: argparse.Namespace) -> None:
    """Options that are out of range or do not go together: one line, before anything is loaded."""
    require_one_input(args)
    args.epsilon = intensity(args.epsilon, "--epsilon")
    args.max_epsilon = intensity(args.max_epsilon, "--max-epsilon")
    if args.sweep and args.epsilon is not None:
        raise CliError("--sweep finds ε itself; leave out --epsilon (--max-epsilon bounds the search)")
    if args.max_epsilon is not None and not args.sweep:
        raise CliError("--max-epsilon bounds --sweep; without --sweep give --epsilon")
    if args.max_epsilon == 0:
        raise CliError("--max-epsilon must be above 0")
    if args.steps is not None and args.method != "pgd":
        raise CliError("--steps is for --method pgd (fgsm takes one step)")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise CliError(f"--out names a folder; {args.out} is a file")


def _output_folders(out: Path | None, paths: list) -> list:
    """Where each model's files go: `out` itself for one model, `out/N-<model name>` for several."""
    if out is None:
        return [None] * len(paths)
    if len(paths) == 1:
        return [out]
    return [out / f"{n}-{Path(path).stem if path else 'shipped'}" for n, path in enumerate(paths, 1)]


def _attack_one(args: argparse.Namespace, path: Path | None):
    """(the JSON record, the core AttackResult) of one model."""
    from cnnviz.commands.common import image_or_test_input_or_fail, open_model_or_fail
    from cnnviz.core.adversarial import DEFAULT_EPSILON, PGD_STEPS, SWEEP_MAX_EPSILON, Attacker

    model, info = open_model_or_fail(path)
    if args.target is not None and not 0 <= args.target < info.num_classes:
        raise CliError(f"--target must be a class from 0 to {info.num_classes - 1}, not {args.target}")
    image = image_or_test_input_or_fail(args, info, purpose="attack")
    steps = args.steps or PGD_STEPS
    try:
        attacker = Attacker(model)
        if args.sweep:
            sweep = attacker.sweep(image, args.method, args.target, args.max_epsilon or SWEEP_MAX_EPSILON, steps)
            result = sweep.result
        else:
            sweep = None
            result = attacker.attack(image, args.method, DEFAULT_EPSILON if args.epsilon is None else args.epsilon,
                                     args.target, steps)
    except ValueError as exc:   # a class head cnnviz cannot read the scores of, and the like
        raise CliError(str(exc)) from exc
    record = {
        "model": str(info.path), "method": result.method,
        "epsilon": (sweep.epsilon if sweep is not None else result.epsilon), "target": result.target,
        "steps": result.steps,
        "before": {"class": result.before_class, "probability": _number(result.before_probability)},
        "after": {"class": result.after_class, "probability": _number(result.after_probability)},
        "flipped": result.succeeded, "perturbation_linf": _number(result.perturbation_linf),
        "layers": [{"name": c.name, "relative_change": _number(c.relative_change)} for c in result.layers],
        "class_names": list(info.class_names)}
    if sweep is not None:
        record["sweep"] = {
            "max_epsilon": float(sweep.curve.epsilons[-1]), "attacks_run": sweep.attacks_run,
            "curve": [{"epsilon": round(float(e), 6), "class": int(p.argmax()), "probability": _number(p.max()),
                       "probability_before_class": _number(p[result.before_class])}
                      for e, p in zip(sweep.curve.epsilons, sweep.curve.probabilities, strict=True)]}
    return record, result


def _number(value) -> float | None:
    """A JSON number (None for a missing or non-finite value)."""
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _write_outputs(folder: Path, result, scale: int) -> list[str]:
    """perturbed.png/.npy and perturbation.png/.npy, each atomically; the paths written."""
    from cnnviz.commands.common import write_files
    from cnnviz.core.colormaps import DIVERGING_COLORMAP, colorize
    from cnnviz.core.export_files import npy_bytes, png_bytes
    from cnnviz.core.tiling import upscale

    perturbed, perturbation = result.perturbed_intensity, result.perturbation
    if perturbed.shape[-1] == 1:
        perturbed, perturbation = perturbed[..., 0], perturbation[..., 0]
    radius = result.epsilon if result.epsilon > 0 else 1.0
    shown = perturbation if perturbation.ndim == 2 else perturbation.mean(axis=-1)
    files = {
        folder / "perturbed.npy": npy_bytes(perturbed),
        folder / "perturbed.png": png_bytes(upscale(np.round(perturbed * 255).astype(np.uint8), scale)),
        folder / "perturbation.npy": npy_bytes(perturbation),
        folder / "perturbation.png": png_bytes(upscale(colorize(shown, -radius, radius, DIVERGING_COLORMAP), scale)),
    }
    write_files(files)
    return [str(path) for path in files]


def _fraction(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _text(record: dict) -> str:
    """The record as a few lines for people."""
    before, after = record["before"], record["after"]
    method = record["method"].upper()
    aim = "untargeted" if record["target"] is None else f"towards {record['target']}"
    if "sweep" in record:
        found = record["epsilon"]
        head = (f"{method} ({aim}): smallest ε that flips the prediction: {found:.4f}" if found is not None else
                f"{method} ({aim}): nothing up to ε = {record['sweep']['max_epsilon']:g} flips the prediction")
    else:
        head = f"{method} ({aim}), ε = {record['epsilon']:g}"
    verdict = "flipped" if record["flipped"] else "not flipped"
    lines = [f"{head}: {before['class']} ({before['probability']:.1%}) → {after['class']} "
             f"({after['probability']:.1%}), {verdict}; largest pixel change {record['perturbation_linf']:.4f}",
             "  how far each layer moved (‖Δa‖/‖a‖): " + ", ".join(
                 f"{layer['name']} {_fraction(layer['relative_change'])}" for layer in record["layers"])]
    lines += [f"  wrote {path}" for path in record.get("files", [])]
    return "\n".join(lines)
