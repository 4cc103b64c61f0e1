"""`cnnviz sanity`: do the explanations of one digit change when the model's weights are randomised?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from cnnviz.commands.common import (CliError, add_image_or_test_index, add_model_arg, require_one_input, scale_factor,
                                    seed_number, whole_number)

STRIP_CELL = 4     # --out's strip: each map pixel becomes at least this many pixels


def add_parser(subparsers) -> None:
    from cnnviz.core.sanity_check import DEFAULT_MODE, DEFAULT_SEED, METHODS, MODES

    parser = subparsers.add_parser(
        "sanity", help="sanity check for explanations: randomise layers, see whether the maps change",
        description="Explain one digit with Grad-CAM, occlusion and the plain gradient (|∂ score/∂ pixel|), then "
                    "randomise the model's layers (re-initialised as before training, seeded) and explain it "
                    "again at every step: cascading (default) randomises from the output layer down, one more "
                    "layer each step; independent randomises one layer at a time. Each step's similarity to "
                    "the trained model's map is Spearman's rank correlation over the input's pixels (Grad-CAM "
                    "upsampled as the overlay shows it; null when a map is constant). An explanation that "
                    "barely changes shows the input more than what the model learned.")
    add_image_or_test_index(parser, "an image file (PNG, JPEG, GIF, BMP), prepared as `cnnviz predict` does")
    parser.add_argument("--mode", choices=MODES, default=DEFAULT_MODE,
                        help="cascading (default: from the top down, layers stay random) or independent")
    parser.add_argument("--seed", type=seed_number, default=DEFAULT_SEED, metavar="S",
                        help=f"the random weights' seed (default {DEFAULT_SEED})")
    parser.add_argument("--class", dest="class_index", type=whole_number, metavar="K",
                        help="the class to explain (default: the one the trained model predicts)")
    parser.add_argument("--layer", metavar="NAME", help="Grad-CAM's layer (default: the last conv layer)")
    add_model_arg(parser)
    parser.add_argument("--json", action="store_true",
                        help='one JSON object: {"methods": {"gradcam": […], "occlusion": […], "gradient": […]}, …}, '
                             'each list one {"randomised_down_to" (independent: "randomised_layer"), "spearman"} '
                             "per step")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help=f"write sanity_strip.png (a row per method: the trained model's map, then each step) "
                             f"and each method's maps as METHOD.npy (steps + 1, H, W) into DIR ({', '.join(METHODS)})")
    parser.add_argument("--scale", type=scale_factor, default=STRIP_CELL, metavar="K",
                        help=f"--out: each map pixel becomes K×K in the strip (default {STRIP_CELL})")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import (check_output_folder, check_writable, command_inputs,
                                        image_or_test_input_or_fail, open_model_or_fail)
    from cnnviz.core.layer_choice import LayerChoiceError
    from cnnviz.core.sanity_check import METHODS, sanity_check

    require_one_input(args)
    if args.out is not None:
        inputs = command_inputs(args, "model", "image", "data")
        check_output_folder(args.out, inputs)
        for name in ("sanity_strip.png", *(f"{m}.npy" for m in METHODS)):
            check_writable(args.out / name, inputs)
    model, info = open_model_or_fail(args.model)
    if args.class_index is not None and not 0 <= args.class_index < info.num_classes:
        raise CliError(f"--class must be from 0 to {info.num_classes - 1}, not {args.class_index}")
    image = image_or_test_input_or_fail(args, info, purpose="explain")
    try:
        result = sanity_check(model, image, args.mode, args.seed, args.class_index, args.layer)
    except (LayerChoiceError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    for method, why in result.skipped.items():
        print(f"cnnviz sanity: {method} left out: {why}", file=sys.stderr)
    record = _record(result, info)
    if args.out is not None:
        record["files"] = _write_outputs(args.out, result, args.scale)
    print(json.dumps(record, allow_nan=False) if args.json else _table(record), flush=True)
    return 0


def _record(result, info) -> dict:
    """The JSON object: per method one {"randomised_down_to" | "randomised_layer", "randomised", "spearman"} a step."""
    from cnnviz.core.sanity_check import METHODS

    key = "randomised_down_to" if result.mode == "cascading" else "randomised_layer"
    methods = {method: [] if method in result.skipped else
               [{key: step.layer, "randomised": list(step.randomised), "spearman": step.spearman[method]}
                for step in result.steps] for method in METHODS}
    return {"methods": methods, "mode": result.mode, "seed": result.seed, "class": result.class_index,
            "predicted": result.predicted, "gradcam_layer": result.gradcam_layer, "model": str(info.path),
            "layers": [step.layer for step in result.steps], "skipped": dict(result.skipped)}


def _table(record: dict) -> str:
    """A step a line, a column per method."""
    from cnnviz.core.sanity_check import METHODS

    how = "from the top down" if record["mode"] == "cascading" else "one layer at a time"
    lines = [f"Spearman rank correlation with the trained model's map, layers randomised {how} "
             f"(seed {record['seed']}); class {record['class']} (the trained model predicts {record['predicted']})",
             f"{'randomised ' + ('down to' if record['mode'] == 'cascading' else 'layer'):<22}"
             + "".join(f"{m:>11}" for m in METHODS)]
    for i, layer in enumerate(record["layers"]):
        cells = []
        for method in METHODS:
            steps = record["methods"][method]
            value = steps[i]["spearman"] if steps else None
            cells.append(f"{'n/a' if value is None else format(value, '.3f'):>11}")
        lines.append(f"{layer:<22}" + "".join(cells))
    lines += [f"wrote {path}" for path in record.get("files", [])]
    return "\n".join(lines)


def _write_outputs(folder: Path, result, scale: int) -> list[str]:
    """sanity_strip.png and METHOD.npy (trained map first, then one per step), each written atomically."""
    from cnnviz.commands.common import write_files
    from cnnviz.core.colormaps import DIVERGING_COLORMAP, centred_levels, colorize
    from cnnviz.core.export_files import npy_bytes
    from cnnviz.core.figures import grid_figure

    methods = list(result.original)
    cells, labels, files = [], [], {}
    for method in methods:
        maps = [result.original[method], *(step.maps[method] for step in result.steps)]
        files[folder / f"{method}.npy"] = npy_bytes(np.stack(maps))
        for column, values in enumerate(maps):
            if method == "occlusion":     # drops can be negative: diverging, 0 white
                cells.append(colorize(values, *centred_levels(values), DIVERGING_COLORMAP))
            else:                         # each map scaled to its own peak, as the overlay shows it
                cells.append(colorize(values, 0.0, float(values.max()) or 1.0, "inferno"))
            score = None if column == 0 else result.steps[column - 1].spearman[method]
            where = "trained" if column == 0 else result.steps[column - 1].layer
            labels.append(f"{method}: {where}" if column == 0 else
                          f"{where} ρ {'n/a' if score is None else format(score, '.2f')}")
    mode = "cascading from the top" if result.mode == "cascading" else "one layer at a time"
    title = f"Sanity check: class {result.class_index}, layers randomised {mode} (seed {result.seed})"
    figure = grid_figure(cells, scale, cell_labels=labels, columns=len(result.steps) + 1, title=title,
                         subtitle="rows: " + ", ".join(methods) + "; ρ: Spearman rank correlation with the trained map")
    files[folder / "sanity_strip.png"] = figure.data
    write_files(files)
    return [str(path) for path in files]
