"""`cnnviz filters`: what each filter of a layer wants: its pattern (gradient ascent) and its top test digits."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from cnnviz.commands.common import (CliError, add_data_arg, add_model_arg, check_output_folder, check_writable,
                                    command_inputs, positive_int, scale_factor, test_set_or_fail)

DEFAULT_SCALE = 4
GRID_CELL = 84  # about this many pixels a side for each filter's cell in the grid pictures
GAP_COLOUR = (70, 110, 170)  # between the digits of one filter's mosaic: neither ink nor paper


def add_parser(subparsers) -> None:
    from cnnviz.core.filter_patterns import PatternSettings
    from cnnviz.core.top_activations import TOP_COUNT

    parser = subparsers.add_parser(
        "filters", help="each filter's pattern and the test digits that excite it most",
        description="For every filter (channel) of a conv or pooling layer, write the input that excites it "
                    "most, found by gradient ascent from a small random start (cached per model), and the "
                    f"{TOP_COUNT} test digits whose maximum activation in that channel is highest, with the "
                    "patches its units saw. Files in --out: pattern_NN.png per filter, patterns.npy "
                    "(C, H, W) float32 in [0, 1], top_digits.json, and the grids patterns_grid.png, "
                    "top_digits_grid.png, top_patches_grid.png.")
    parser.add_argument("--layer", required=True, metavar="NAME", help="the layer, e.g. conv2d_2 (see cnnviz summary)")
    add_model_arg(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder to write into")
    parser.add_argument("--steps", type=positive_int, default=PatternSettings.steps, metavar="N",
                        help=f"gradient-ascent steps (default {PatternSettings.steps})")
    add_data_arg(parser)
    parser.add_argument("--dataset", choices=("mnist", "fashion-mnist"),
                        help="the test images to rank (default: the dataset the model's classes match)")
    parser.add_argument("--scale", type=scale_factor, default=DEFAULT_SCALE, metavar="K",
                        help=f"each pixel of a pattern_NN.png becomes K×K, 1 to 64 (default {DEFAULT_SCALE})")
    parser.add_argument("--no-cache", dest="use_cache", action="store_false",
                        help="compute the patterns and top digits again instead of reusing cached ones")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import open_model_or_fail
    from cnnviz.core.layer_choice import LayerChoiceError, spatial_layer
    from cnnviz.core.network import layer_specs

    model, info = open_model_or_fail(args.model)
    specs = layer_specs(model)
    try:
        spatial_layer(specs, args.layer, "cnnviz filters")
    except LayerChoiceError as exc:
        raise CliError(str(exc)) from exc
    images = test_set_or_fail(args, info, "top digits").x_test  # before the long part, so a missing dataset fails fast
    check_output_folder(args.out)
    _make_folder(args.out)   # once the arguments are known to be good: a refused run leaves no empty folder

    from cnnviz.core.filter_patterns import PatternSettings, filter_patterns, pattern_cache_path
    from cnnviz.core.top_activations import top_activations, top_patches

    settings = PatternSettings(steps=args.steps)
    cached = args.use_cache and pattern_cache_path(model, args.layer, settings).is_file()
    started = time.perf_counter()
    patterns = filter_patterns(model, args.layer, settings, use_cache=args.use_cache)
    how = "reused from the cache" if cached else f"{args.steps} steps, {time.perf_counter() - started:.1f} s"
    scale = info.input_scale / 255.0
    top = top_activations(model, images, [args.layer], scale=scale, use_cache=args.use_cache)[args.layer]
    patches = top_patches(images, top, specs, info.input_shape, scale) / np.float32(info.input_scale)
    _write_files(args, patterns, top, np.asarray(images[top.indices]) / 255.0, patches)
    print(f"Wrote the patterns of the {len(patterns)} filters of {args.layer} ({how}) and each filter's "
          f"top {top.indices.shape[1]} test digits to {args.out}")
    return 0


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder")


def _write_files(args: argparse.Namespace, patterns: np.ndarray, top, top_images: np.ndarray,
                 patches: np.ndarray) -> None:
    """Every file, each written atomically."""
    from cnnviz.core.atomic import write_bytes_atomic, write_text_atomic
    from cnnviz.core.export_files import npy_bytes, png_bytes
    from cnnviz.core.figures import grid_figure
    from cnnviz.core.tiling import upscale

    out, layer = args.out, args.layer
    labels = [f"{c}" for c in range(len(patterns))]
    inputs = command_inputs(args, "model", "data")
    names = [f"pattern_{c:0{len(str(len(patterns) - 1))}d}.png" for c in range(len(patterns))]
    for name in (*names, "patterns.npy", "top_digits.json", "patterns_grid.png", "top_digits_grid.png",
                 "top_patches_grid.png"):
        check_writable(out / name, inputs)
    try:
        for name, pattern in zip(names, patterns):
            write_bytes_atomic(out / name, png_bytes(upscale(_to_uint8(pattern), args.scale)))
        write_bytes_atomic(out / "patterns.npy", npy_bytes(patterns))
        rows = [f'  "{c}": {json.dumps([int(i) for i in row])}' for c, row in enumerate(top.indices)]
        write_text_atomic(out / "top_digits.json", "{\n" + ",\n".join(rows) + "\n}\n")  # a channel a line
        figures = {
            "patterns_grid.png": ([_to_uint8(p) for p in patterns],
                                  f"{layer}: the input that excites each filter most (gradient ascent)"),
            "top_digits_grid.png": ([_mosaic(row) for row in top_images],
                                    f"{layer}: the {top.indices.shape[1]} test digits that excite each filter most"),
            "top_patches_grid.png": ([_mosaic(row) for row in patches],
                                     f"{layer}: the part of each top digit the peak unit saw"),
        }
        for name, (cells, title) in figures.items():
            scale = max(1, round(GRID_CELL / max(cells[0].shape[:2])))
            figure = grid_figure([_rgb(cell) for cell in cells], scale, cell_labels=labels, title=title)
            write_bytes_atomic(out / name, figure.data)
    except OSError as exc:
        raise CliError(f"cannot write into {out}: {exc.strerror}") from exc


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)


def _rgb(cell: np.ndarray) -> np.ndarray:
    return np.repeat(cell[..., None], 3, axis=-1) if cell.ndim == 2 else cell


def _mosaic(images: np.ndarray, columns: int = 3, gap: int = 1) -> np.ndarray:
    """(k, h, w[, 3]) images in [0, 1] -> one RGB uint8 image, `columns` a row, blue-grey gaps between them."""
    count, height, width = images.shape[:3]
    rows = -(-count // columns)
    sheet = np.empty((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), np.uint8)
    sheet[:] = GAP_COLOUR
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = r * (height + gap), c * (width + gap)
        sheet[top:top + height, left:left + width] = _rgb(_to_uint8(image))
    return sheet
