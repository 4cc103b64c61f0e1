"""`cnnviz predict IMAGE ...`: the digit in each image file, preprocessed as the app does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict the digit in image files",
        description="Read each image (PNG, JPEG, GIF, BMP; dark-on-light or light-on-dark), prepare it "
                    "as MNIST was made (ink box scaled into 20×20, centred by mass in 28×28) and print "
                    "the predicted digit with the ten probabilities, one line per image.")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files to read")
    parser.add_argument("--model", metavar="PATH", type=Path,
                        help="a .keras model file (default: the shipped, pre-trained model)")
    parser.add_argument("--json", action="store_true",
                        help='one JSON object a line: {"path", "digit", "probabilities"} (null for no digit)')
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import load_model_or_fail
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.images import ImageFileError, read_image
    from cnnviz.core.preprocess import image_on_canvas, model_input

    probe = ActivationProbe(load_model_or_fail(args.model))
    failures = 0
    for path in args.images:
        try:
            image = model_input(image_on_canvas(read_image(path)))  # exactly as the app does
        except ImageFileError as exc:
            print(f"cnnviz predict: {exc}", file=sys.stderr)
            failures += 1
            continue
        probabilities = None if image is None else [float(p) for p in probe.probabilities(image)]
        print(_format_line(str(path), probabilities, args.json), flush=True)
    return 1 if failures else 0


def _format_line(path: str, probabilities: list[float] | None, as_json: bool) -> str:
    """One output line; a blank image says "no digit" rather than guessing."""
    digit = None if probabilities is None else max(range(10), key=probabilities.__getitem__)
    if as_json:
        return json.dumps({"path": path, "digit": digit, "probabilities": probabilities})
    if probabilities is None:
        return f"{path}\tno digit (the image is blank)"
    listed = " ".join(f"{p:.4f}" for p in probabilities)
    return f"{path}\t{digit}\t{probabilities[digit]:.1%}\t{listed}"
