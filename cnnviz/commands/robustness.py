"""`cnnviz robustness`: the prediction for one input shifted, turned and scaled, and how each layer follows a shift."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cnnviz.commands.common import CliError, add_data_arg, add_model_arg, whole_number


def add_parser(subparsers) -> None:
    from cnnviz.core.data import DATASET_NAMES

    parser = subparsers.add_parser(
        "robustness", help="move an input: prediction under shifts, turns, scales; maps under shifts",
        description="Show how translation invariant the network is for one input (a picture, read as "
                    "`cnnviz predict` reads it, or a test digit as stored): the prediction with the input "
                    "shifted by -6 to +6 whole pixels in x and y (dx > 0 right, dy > 0 down, the uncovered "
                    "pixels background), turned by -30 to +30 degrees (counter-clockwise) and scaled by 0.6 "
                    "to 1.4, all in one batched pass; and for each conv and pooling layer the correlation "
                    "between the maps of the input shifted right and the original's maps shifted along "
                    "(equivariance), and with the original's maps unshifted (invariance).")
    parser.add_argument("image", nargs="?", type=Path, metavar="IMAGE",
                        help="an image file (PNG, JPEG, GIF, BMP); or give --test-index")
    parser.add_argument("--test-index", type=whole_number, metavar="N",
                        help="test image N (0 to 9999) of the model's dataset, scaled to [0, 1] and shifted "
                             "without resampling")
    add_model_arg(parser)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: baseline {class, probability}, target (the test digit's "
                             "label, or the baseline class), shifts [{dx, dy, class, probability, "
                             "target_probability}], rotations [{degrees, ...}], scales [{factor, ...}], layers "
                             "[{name, shift, map_shift, correlation, invariance}]")
    add_data_arg(parser)
    parser.add_argument("--dataset", choices=DATASET_NAMES,
                        help="the dataset of --test-index (default: the one the model's classes match)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import image_input_or_fail, open_model_or_fail, test_input_or_fail, test_set_or_fail
    from cnnviz.core.robustness import probe_robustness

    if (args.image is None) == (args.test_index is None):
        raise CliError("give an IMAGE file or --test-index N (one of them)")
    model, info = open_model_or_fail(args.model)
    if args.image is not None:
        image, description = image_input_or_fail(args.image, info, "auto", "move")[1].array, f"image {args.image}"
        target = None
    else:
        image, description = test_input_or_fail(args, info)
        target = int(test_set_or_fail(args, info).y_test[args.test_index])
    result = probe_robustness(model, image)
    report = result.to_json(target)
    if args.json:
        print(json.dumps(report, allow_nan=False))
    else:
        print(_text(report, description, info.class_names))
    return 0


def _text(report: dict, description: str, class_names) -> str:
    """A short read-out: the target's probability along each axis, the turns, the scales, the layers."""
    def cells(entries, key, fmt) -> str:
        return "  ".join(f"{fmt.format(e[key])}:{_percent(e['target_probability'])}"
                         f"{'' if e['class'] == report['target'] else '(' + class_names[e['class']] + ')'}"
                         for e in entries)

    baseline = report["baseline"]
    target = report["target"]
    lines = [f"{description}: {class_names[baseline['class']]} ({_percent(baseline['probability'])}); "
             f"the probability of {class_names[target]} moved (another prediction in brackets):",
             "  right (dx): " + cells([e for e in report["shifts"] if e["dy"] == 0], "dx", "{:+d}"),
             "  down (dy):  " + cells([e for e in report["shifts"] if e["dx"] == 0], "dy", "{:+d}"),
             "  turned:     " + cells(report["rotations"], "degrees", "{:+.0f}°"),
             "  scaled:     " + cells(report["scales"], "factor", "×{:.1f}"),
             "How the maps follow a shift right by 1…6 px (correlation with the original's maps moved along / "
             "left where they were):"]
    names = list(dict.fromkeys(entry["name"] for entry in report["layers"]))
    for name in names:
        row = [e for e in report["layers"] if e["name"] == name and e["shift"] > 0]
        lines.append(f"  {name:<18}" + "  ".join(f"{_number(e['correlation'])}/{_number(e['invariance'])}"
                                                  for e in row))
    return "\n".join(lines)


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"
