"""`cnnviz export`: feature-map PNGs, the exact activations and a manifest for one image (any model)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from cnnviz.commands.common import add_input_args, add_model_arg, image_input_or_fail, test_input_or_fail
from cnnviz.core.colormaps import COLORMAPS, DEFAULT_COLORMAP, DEFAULT_NORMALISATION, NORMALISATIONS
from cnnviz.core.export import DEFAULT_FIGURE_FORMAT, DEFAULT_SCALE, FIGURE_FORMATS, MAX_SCALE


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="write feature-map images and activations for one digit",
        description="Run one digit through the model and write, into a new folder, every layer's "
                    "activations (.npy), one PNG per feature map, one grid figure per convolution or "
                    "pooling layer, a strip figure per dense layer (PNG, SVG or PDF: --figure-format) "
                    "and manifest.json. Nothing is written "
                    "if anything fails; an existing non-empty folder is kept unless --overwrite.")
    add_input_args(parser, "an image file (PNG, JPEG, GIF, BMP), prepared as MNIST was made for digit "
                           "models, resized for others (see --preprocess)")
    add_model_arg(parser)
    parser.add_argument("--preprocess", choices=("auto", "digit", "resize"), default="auto",
                        help="how --image becomes the model input: digit (MNIST's recipe), resize (as it "
                             "is), auto (default: digit for digit models)")
    parser.add_argument("--out", type=Path, metavar="DIR", required=True, help="the folder to create")
    parser.add_argument("--layers", nargs="+", metavar="NAME",
                        help="only these layers, e.g. conv2d_1 max_pooling2d_1 (default: all)")
    parser.add_argument("--channel", type=int, metavar="C",
                        help="only channel C of the one layer given with --layers")
    parser.add_argument("--scale", type=int, default=DEFAULT_SCALE, metavar="K",
                        help=f"each activation becomes a K×K square, 1 to {MAX_SCALE} (default {DEFAULT_SCALE})")
    parser.add_argument("--colormap", default=DEFAULT_COLORMAP, metavar="NAME",
                        help=f"{', '.join(COLORMAPS)} (default {DEFAULT_COLORMAP})")
    parser.add_argument("--normalisation", default=DEFAULT_NORMALISATION, metavar="MODE",
                        help=f"{' or '.join(NORMALISATIONS)}: colours scaled per channel (each map "
                             f"to its own range) or per layer (one range for all its maps) "
                             f"(default {DEFAULT_NORMALISATION})")
    parser.add_argument("--no-colorbar", dest="colorbar", action="store_false",
                        help="no colour bar on grid images")
    parser.add_argument("--no-labels", dest="labels", action="store_false",
                        help="no title and channel numbers on grid images")
    parser.add_argument("--figure-format", default=DEFAULT_FIGURE_FORMAT, metavar="FORMAT",
                        help=f"{', '.join(FIGURE_FORMATS)}: the file type of the grid, strip and channel "
                             f"figures (default {DEFAULT_FIGURE_FORMAT}); per-map images are always PNG")
    parser.add_argument("--kernels", action="store_true",
                        help="also draw the learned weights of the convolution layers among --layers (all "
                             "of them without --layers): the kernel and bias as .npy, one PNG per filter "
                             "(a deeper filter: its 3×3 patches, one per input channel) and a grid figure, "
                             "in a diverging colormap centred on 0")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing, non-empty --out folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import CliError, check_output_folder, command_inputs, open_model_or_fail
    from cnnviz.core.export import (ExportError, ExportOptions, TargetExistsError, check_target,
                                    export_activations)
    from cnnviz.core.paths import default_model_path

    options = ExportOptions(scale=args.scale, colormap=args.colormap, normalisation=args.normalisation,
                            colorbar=args.colorbar, labels=args.labels, figure_format=args.figure_format)
    try:  # cheap checks first, before TensorFlow starts
        options.check()
        check_target(args.out, args.overwrite)
        check_output_folder(args.out, command_inputs(args, "model", "image", "data"))
    except TargetExistsError as exc:
        raise CliError(f"{exc} (--overwrite)") from exc
    except ExportError as exc:
        raise CliError(str(exc)) from exc
    if args.channel is not None and (not args.layers or len(args.layers) != 1):
        raise CliError("--channel needs exactly one layer in --layers")
    if args.kernels and args.channel is not None:
        raise CliError("--kernels draws whole layers: leave out --channel")

    from cnnviz.core.activations import ActivationProbe

    model_path = args.model or default_model_path()
    model, info = open_model_or_fail(model_path)
    if args.image is not None:
        source_image, prepared, source = image_input_or_fail(args.image, info, args.preprocess, "export")
        image = prepared.array
    else:
        source_image, (image, source) = None, test_input_or_fail(args, info)
    probe = ActivationProbe(model, info)
    outputs = probe(image)
    probabilities = probe.probabilities_from(outputs)
    if not all(np.isfinite(output).all() for output in outputs):   # finite weights, outputs that overflow
        raise CliError("the model's outputs for this input are not finite numbers; nothing was exported")
    kernels = _conv_weights(model, probe.layer_names, probe.layer_kinds, args.layers) if args.kernels else None
    try:
        result = export_activations(
            args.out, image, outputs, probe.layer_names, probe.layer_kinds, source_image=source_image,
            source=source, model_path=model_path, options=options, layers=args.layers, channel=args.channel,
            overwrite=args.overwrite, probabilities=probabilities, class_names=info.class_names,
            input_scale=info.input_scale, kernels=kernels)
    except ExportError as exc:
        raise CliError(str(exc)) from exc
    prediction = result.manifest["prediction"]
    confidence = prediction["probabilities"][prediction["digit"]]
    if kernels:
        names = ", ".join(entry["name"] for entry in result.manifest["kernels"])
        print(f"Kernels of {names}: {sum(1 for f in result.files if '_kernels/' in f)} filter pictures.")
    print(f"Wrote {len(result.files)} files to {result.folder} "
          f"(predicted {info.class_names[prediction['digit']]}, {confidence:.1%}).", file=sys.stdout)
    return 0




def _conv_weights(model, layer_names: list[str], layer_kinds: list[str], wanted) -> dict[int, list] | None:
    """{layer index: weights} of the Conv2D layers among `wanted` (names; None: every layer); a
    one-line error when there is none."""
    from cnnviz.commands.common import CliError

    if wanted and any(name not in layer_names for name in wanted):
        return None   # the exporter names the unknown layer
    chosen = [i for i, name in enumerate(layer_names) if wanted is None or name in wanted]
    convs = {i: model.get_layer(layer_names[i]).get_weights() for i in chosen if layer_kinds[i] == "Conv2D"}
    if not convs:
        among = "among --layers " if wanted else ""
        raise CliError(f"--kernels: there is no convolution layer {among}(the model's are "
                       f"{', '.join(n for n, k in zip(layer_names, layer_kinds) if k == 'Conv2D') or 'none'})")
    return convs
