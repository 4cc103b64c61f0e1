"""`cnnviz predict IMAGE ...`: the class of each image file, prepared as the app does (any image classifier)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def add_parser(subparsers) -> None:
    from cnnviz.commands.common import add_model_arg
    from cnnviz.core.model_input import PREPARATIONS

    parser = subparsers.add_parser(
        "predict", help="predict the class of image files",
        description="Read each image (PNG, JPEG, GIF, BMP) and print the model's prediction with every class "
                    "probability, one line per image. For digit models the image is prepared as MNIST was "
                    "made (ink found on either paper, its box scaled into 20×20, centred by mass in 28×28); "
                    "for other models it is resized to the model's input, in grey or colour as it wants.")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files to read")
    add_model_arg(parser)
    parser.add_argument("--json", action="store_true",
                        help='one JSON object a line: {"path", "digit" (the class index), "class" (its name), '
                             '"probabilities"} (null when there is no digit or the output is not a number)')
    parser.add_argument("--preprocess", choices=PREPARATIONS, default="auto",
                        help="digit: MNIST's recipe (28×28 grey models only); resize: the image as it is, "
                             "resized; auto (default): digit for digit models, resize for others")
    parser.add_argument("--ablate", action="append", default=[], metavar="LAYER:C1,C2",
                        help="switch filters off: predict with these channels of LAYER set to zero after their "
                             "activation, so every later layer sees zeros (repeatable), e.g. conv2d_1:3,7")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import CliError, display_path, one_line, open_model_or_fail
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.images import ImageFileError
    from cnnviz.core.model_input import choose_preparation, prepare_file

    model, info = open_model_or_fail(args.model)
    try:
        choose_preparation(info, args.preprocess)
    except ValueError as exc:
        raise CliError(f"--preprocess {args.preprocess}: {exc}") from exc
    if info.outputs_logits:
        scores = "logits" if info.output_activation == "linear" else f"{info.output_activation} scores"
        print(f"cnnviz predict: the model outputs {scores}, not probabilities; cnnviz applies softmax to them.",
              file=sys.stderr)
    probe = ActivationProbe(model, info)
    probabilities_of = _switched_off(model, args.ablate) if args.ablate else probe.probabilities
    failures = 0
    for path in args.images:
        try:
            prepared = prepare_file(path, info, args.preprocess)
        except ImageFileError as exc:
            print(f"cnnviz predict: {one_line(str(exc))}", file=sys.stderr)
            failures += 1
            continue
        probabilities = None
        if prepared.array is not None:
            values = probabilities_of(prepared.array)
            probabilities = [float(p) for p in values] if np.isfinite(values).all() else "not finite"
        print(_format_line(display_path(path), probabilities, info.class_names, args.json), flush=True)
    return 1 if failures else 0


def _switched_off(model, texts: list[str]):
    """probabilities(image) with the --ablate channels zeroed after their activation."""
    from cnnviz.commands.common import CliError
    from cnnviz.core.ablation import AblatedProbe, check_switched_off, parse_switched_off
    from cnnviz.core.layer_choice import LayerChoiceError
    from cnnviz.core.network import layer_specs

    try:
        off = parse_switched_off(texts)
        check_switched_off(layer_specs(model), off)
    except LayerChoiceError as exc:
        raise CliError(f"--ablate: {exc}") from exc
    probe = AblatedProbe(model)
    return lambda image: probe.probabilities(image, off)


def _format_line(path: str, probabilities, class_names, as_json: bool) -> str:
    """One output line; a blank image says "no digit" rather than guessing, NaN outputs say so."""
    not_finite = probabilities == "not finite"
    if not_finite:
        probabilities = None
    index = None if probabilities is None else max(range(len(probabilities)), key=probabilities.__getitem__)
    name = None if index is None else class_names[index]
    if as_json:
        record = {"path": path, "digit": index, "class": name, "probabilities": probabilities}
        if not_finite:
            record["error"] = "the model's outputs are not finite numbers"
        return json.dumps(record, allow_nan=False)
    if not_finite:
        return f"{path}\tno prediction (the model's outputs are not finite numbers)"
    if probabilities is None:
        return f"{path}\tno digit (the image is blank)"
    listed = " ".join(f"{p:.4f}" for p in probabilities)
    return f"{path}\t{name}\t{probabilities[index]:.1%}\t{listed}"
