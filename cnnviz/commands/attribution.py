"""`cnnviz attribution`: where the network looks for one image (Grad-CAM or occlusion), as a PNG overlay."""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np

from cnnviz.commands.common import (CliError, add_input_args, add_model_arg, model_input_or_fail, positive_int,
                                    scale_factor)
from cnnviz.core.limits import dumps_strict

METHODS = ("gradcam", "occlusion")
DEFAULT_SCALE = 10


def add_parser(subparsers) -> None:
    from cnnviz.core.occlusion import DEFAULT_FILL, DEFAULT_PATCH, DEFAULT_STRIDE, FILLS

    parser = subparsers.add_parser(
        "attribution", help="where the network looks: Grad-CAM or occlusion map of one image",
        description="Explain one prediction with a heat map over the input. Grad-CAM: the gradient of the "
                    "class's pre-softmax score weights the maps of a conv layer (default the last one); "
                    "their weighted sum, clipped at zero, is a map at that layer's resolution (3×3 at "
                    "conv2d_3, 11×11 at conv2d_2). Occlusion: a patch slides over the input and the map "
                    "shows how much the class probability drops with each place covered. Writes the "
                    "overlay PNG (--out) and, with --npy, the raw map.")
    add_input_args(parser, "an image file (PNG, JPEG, GIF, BMP), prepared as `cnnviz predict` does")
    parser.add_argument("--method", choices=METHODS, default="gradcam", help="gradcam (default) or occlusion")
    parser.add_argument("--layer", metavar="NAME",
                        help="Grad-CAM: the conv or pooling layer to explain at (default: the last conv layer)")
    parser.add_argument("--class", dest="class_index", type=int, metavar="K",
                        help="the class to explain (default: the predicted one)")
    add_model_arg(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="PATH.png", help="the overlay picture to write")
    parser.add_argument("--npy", type=Path, metavar="PATH.npy",
                        help="also write the raw map (float32): Grad-CAM at the layer's resolution before any "
                             "upsampling or scaling; occlusion per input pixel")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: method, layer, class, map (the raw map as nested lists), "
                             "predicted, probabilities, files")
    parser.add_argument("--patch", type=positive_int, metavar="P",
                        help=f"occlusion: the patch's side in pixels (default {DEFAULT_PATCH})")
    parser.add_argument("--stride", type=positive_int, metavar="S",
                        help=f"occlusion: pixels between patch positions (default {DEFAULT_STRIDE})")
    parser.add_argument("--fill", choices=tuple(FILLS), default=DEFAULT_FILL,
                        help=f"occlusion: the patch's colour (default {DEFAULT_FILL})")
    parser.add_argument("--scale", type=scale_factor, default=DEFAULT_SCALE, metavar="K",
                        help=f"each input pixel becomes K×K in the PNG, 1 to 64 (default {DEFAULT_SCALE})")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import check_writable, command_inputs, open_model_or_fail

    _check_options(args)
    inputs = command_inputs(args, "model", "image", "data")
    for label, path in (("--out", args.out), ("--npy", args.npy)):
        if path is not None:
            check_writable(path, inputs, label)
    model, info = open_model_or_fail(args.model)
    if args.class_index is not None and not 0 <= args.class_index < info.num_classes:
        raise CliError(f"--class must be from 0 to {info.num_classes - 1}, not {args.class_index}")
    image = model_input_or_fail(args, info, purpose="explain")
    result = _explain(args, model, image)
    display = image / np.float32(info.input_scale)
    _write_outputs(args, display, result)
    probabilities = [_finite_or_none(p) for p in result["probabilities"]]
    if args.json:
        print(dumps_strict({
            "method": args.method, "layer": result["layer"], "class": result["class"],
            "class_name": info.class_names[result["class"]], "predicted": result["predicted"],
            "probabilities": probabilities, "map": _nested(result["map"]),
            "map_shape": list(result["map"].shape), **result["extra"],
            "png": str(args.out), "npy": None if args.npy is None else str(args.npy)}))
    else:
        name = "Grad-CAM" if args.method == "gradcam" else "Occlusion"
        where = f" at {result['layer']}" if result["layer"] else ""
        confidence = "" if probabilities[result["predicted"]] is None else f", {probabilities[result['predicted']]:.1%}"
        shape = "×".join(str(d) for d in result["map"].shape)
        files = ", ".join(str(p) for p in (args.out, args.npy) if p is not None)
        print(f"{name} of class {info.class_names[result['class']]}{where} ({shape} map; predicted "
              f"{info.class_names[result['predicted']]}{confidence}): wrote {files}")
    return 0


def _check_options(args: argparse.Namespace) -> None:
    """Options that do not fit the method: one-line errors before anything is loaded."""
    if args.method == "occlusion" and args.layer is not None:
        raise CliError("--layer is for Grad-CAM; occlusion covers the input itself")
    if args.method == "gradcam" and (args.patch is not None or args.stride is not None):
        raise CliError("--patch and --stride are for --method occlusion")
    if args.npy is not None and args.npy.resolve() == args.out.resolve():
        raise CliError(f"--npy and --out name the same file ({args.out}); the map and the picture need "
                       "a file each (e.g. --npy map.npy)")


def _explain(args: argparse.Namespace, model, image: np.ndarray) -> dict:
    """The method's raw map, the class explained, the prediction and method-specific JSON keys."""
    if args.method == "gradcam":
        from cnnviz.core.gradcam import GradCam
        from cnnviz.core.layer_choice import LayerChoiceError

        try:
            result = GradCam(model, args.layer)(image, args.class_index)
        except (LayerChoiceError, ValueError) as exc:
            raise CliError(str(exc)) from exc
        return {"map": result.heatmap, "layer": result.layer, "class": result.class_index,
                "predicted": result.predicted, "probabilities": result.probabilities,
                "extra": {"channel_weights": [_finite_or_none(w) for w in result.channel_weights]}}
    from cnnviz.core.occlusion import DEFAULT_PATCH, DEFAULT_STRIDE, FILLS, occlusion_map

    patch, stride = args.patch or DEFAULT_PATCH, args.stride or DEFAULT_STRIDE
    try:
        result = occlusion_map(model, image, args.class_index, patch, stride, FILLS[args.fill])
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    return {"map": result.pixel_map, "layer": None, "class": result.class_index, "predicted": result.predicted,
            "probabilities": result.probabilities,
            "extra": {"patch": patch, "stride": stride, "fill": args.fill, "drops": _nested(result.drops),
                      "patch_tops": result.tops.tolist(), "patch_lefts": result.lefts.tolist()}}


def _write_outputs(args: argparse.Namespace, display: np.ndarray, result: dict) -> None:
    """The overlay PNG (Pillow) and the raw map (.npy), each written atomically."""
    from PIL import Image

    from cnnviz.core.atomic import atomic_path, write_bytes_atomic
    from cnnviz.core.gradcam import overlay

    picture = overlay(display, np.nan_to_num(result["map"]), scale=args.scale)
    target = args.out
    try:
        with atomic_path(target) as tmp:
            Image.fromarray(picture).save(tmp, format="PNG")
        if args.npy is not None:
            target = args.npy
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(result["map"], np.float32))
            write_bytes_atomic(target, buffer.getvalue())
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror}") from exc


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _nested(array: np.ndarray) -> list:
    """A 2-D map as nested lists of floats (non-finite values as null, so the JSON stays valid)."""
    return [[_finite_or_none(v) for v in row] for row in np.asarray(array)]
