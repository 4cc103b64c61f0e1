"""`cnnviz predict IMAGE ...`: the class of each image file, prepared as the app does (any image classifier)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from cnnviz.core.limits import dumps_strict


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
    parser.add_argument("--edit", action="append", default=[], metavar="LAYER:C=PRESET",
                        help="kernel surgery: predict with filter C of LAYER edited (repeatable, applied in order), "
                             "e.g. conv2d_1:5=vertical-edge. PRESET: vertical-edge, horizontal-edge, blur, identity "
                             "(3×3 conv filters: every input channel's 3×3 slice set to the preset, bias 0), zero "
                             "(kernel slice and bias 0) or scale:F (both times F); Conv2D filters and Dense units. "
                             "--json adds the edits and the edited filters' weights")
    parser.add_argument("--save-copy", type=Path, metavar="PATH.keras",
                        help="with --edit: also save the edited model as a new .keras file (the model read stays "
                             "as it is), e.g. to export its maps")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import CliError, display_path, one_line, open_model_or_fail
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.images import ImageFileError
    from cnnviz.core.model_input import choose_preparation, prepare_file

    model, info = open_model_or_fail(args.model, allow_non_finite=True)
    try:
        choose_preparation(info, args.preprocess)
    except ValueError as exc:
        raise CliError(f"--preprocess {args.preprocess}: {exc}") from exc
    if info.outputs_logits:
        scores = "logits" if info.output_activation == "linear" else f"{info.output_activation} scores"
        print(f"cnnviz predict: the model outputs {scores}, not probabilities; cnnviz applies softmax to them.",
              file=sys.stderr)
    edited = _edit_kernels(model, args) if args.edit or args.save_copy else {}
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
        print(_format_line(display_path(path), _probabilities(prepared, info, probabilities_of), info.class_names,
                           args.json, edited), flush=True)
    return 1 if failures else 0


def _edit_kernels(model, args: argparse.Namespace) -> dict:
    """Apply the --edit specs to the loaded model (never to its file); save --save-copy; the JSON keys
    they add: "edits" (the specs in order) and "edited_filters" (each edited filter's weights now)."""
    from cnnviz.commands.common import CliError, check_writable, command_inputs, write_files
    from cnnviz.core.kernel_edit import KernelEditError, KernelEditor, parse_edit

    if args.save_copy is not None:
        if not args.edit:
            raise CliError("--save-copy saves the edited model: give at least one --edit")
        if args.save_copy.suffix != ".keras":
            raise CliError(f"--save-copy writes a .keras file, not {args.save_copy.name}")
        check_writable(args.save_copy, command_inputs(args, "model", "images"), "--save-copy")
    editor = KernelEditor(model)
    try:
        editor.extend(parse_edit(text) for text in args.edit)
    except KernelEditError as exc:
        raise CliError(f"--edit: {exc}") from exc
    if args.save_copy is not None:
        write_files({args.save_copy: model})
    print(f"cnnviz predict: with {len(editor.edits)} kernel edit{'s' if len(editor.edits) > 1 else ''}: "
          f"{', '.join(e.label for e in editor.edits)}", file=sys.stderr)
    return {"edits": [e.label for e in editor.edits],
            "edited_filters": [{"layer": f.layer, "channel": f.channel, "kernel_shape": list(f.kernel.shape),
                                "kernel": _finite_or_null(f.kernel), "bias": f.bias} for f in editor.filter_weights()]}


def _finite_or_null(array: np.ndarray) -> list:
    """Nested lists of floats, NaN and ±Inf as None (null), so the JSON stays valid."""
    values = np.asarray(array, np.float64)
    return np.where(np.isfinite(values), values, None).tolist()


def _probabilities(prepared, info, probabilities_of):
    """The class probabilities for one prepared image (a list), None for a blank image, or why there are none
    (a `NoPrediction`): weights that are not finite numbers answer nothing, whatever the output is."""
    from cnnviz.commands.common import non_finite_names

    if prepared.array is None:
        return None
    if info.non_finite_layers:
        return NoPrediction(f"the model's weights are not finite numbers (NaN or infinite in "
                            f"{non_finite_names(info)})")
    values = probabilities_of(prepared.array)
    if not np.isfinite(values).all():   # finite weights whose outputs overflow
        return NoPrediction("the model's outputs are not finite numbers")
    return [float(p) for p in values]


class NoPrediction(str):
    """Why an image has no prediction although it has a digit."""


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


def _format_line(path: str, probabilities, class_names, as_json: bool, extra: dict | None = None) -> str:
    """One output line; a blank image says "no digit" rather than guessing, a model with no answer says why."""
    why_not = probabilities if isinstance(probabilities, NoPrediction) else None
    if why_not is not None:
        probabilities = None
    index = None if probabilities is None else max(range(len(probabilities)), key=probabilities.__getitem__)
    name = None if index is None else class_names[index]
    if as_json:
        record = {"path": path, "digit": index, "class": name, "probabilities": probabilities, **(extra or {})}
        if why_not is not None:
            record["error"] = str(why_not)
        return dumps_strict(record)
    if why_not is not None:
        return f"{path}\tno prediction ({why_not})"
    if probabilities is None:
        return f"{path}\tno digit (the image is blank)"
    listed = " ".join(f"{p:.4f}" for p in probabilities)
    return f"{path}\t{name}\t{probabilities[index]:.1%}\t{listed}"
