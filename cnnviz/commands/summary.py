"""`cnnviz summary`: the layer table of a model."""

from __future__ import annotations

import argparse

from cnnviz.commands.common import CliError, add_model_arg, load_model_or_fail
from cnnviz.core.architectures import ARCHITECTURES
from cnnviz.core.limits import dumps_strict


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("summary", help="print the layer table",
                                   description="Print each layer's name, type, output shape, parameter "
                                               "count, receptive field (the box of input pixels one unit "
                                               "sees) and jump (input pixels between neighbouring units), "
                                               "with the total.")
    add_model_arg(parser)
    parser.add_argument("--untrained", action="store_true", help="describe a freshly built seed model instead")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per layer and line: name, type, output_shape, params, "
                             "receptive_field and jump (null for layers that see the whole input)")
    parser.add_argument("--architecture", metavar="NAME",
                        help="describe a freshly built variant of the architecture lab: "
                             + ", ".join(ARCHITECTURES))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.core.model import build_seed_model
    from cnnviz.core.network import input_shape_of, layer_specs

    if args.architecture:
        model = _architecture_model(args)
    else:
        model = build_seed_model() if args.untrained else load_model_or_fail(args.model, allow_non_finite=True)
    rows = layer_rows(layer_specs(model), input_shape_of(model))
    if args.json:
        for row in rows:
            print(dumps_strict(row))
        return 0
    print(f"Model: {model.name}")
    from cnnviz.core.paths import default_model_path

    print(_model_line(model, None if args.untrained or args.architecture else args.model or default_model_path()))
    print(format_layer_rows(rows))
    return 0


def _model_line(model, path) -> str:
    """What the model takes and gives, e.g. "28×28 grey input → 10 classes (softmax)", and class names."""
    from cnnviz.core.model_files import model_info

    info = model_info(model, path)
    named = info.class_names != tuple(str(i) for i in range(info.num_classes))
    return info.describe() + (f"; classes: {', '.join(info.class_names)}" if named else "")


def layer_rows(specs, input_shape) -> list[dict]:
    """One JSON-able row per layer: the `--json` keys (receptive field and jump from the core)."""
    from cnnviz.core.receptive_field import geometries

    rows = []
    for spec, geometry in zip(specs, geometries(specs, input_shape)):
        field = None if geometry is None else (geometry.size_y, geometry.size_x)
        jump = None if geometry is None else (geometry.jump_y, geometry.jump_x)
        rows.append({"name": spec.name, "type": spec.kind, "output_shape": list(spec.output_shape),
                     "params": spec.num_params,
                     "receptive_field": None if field is None else max(field),
                     "jump": None if jump is None else max(jump),
                     "receptive_field_hw": None if field is None else list(field),
                     "jump_hw": None if jump is None else list(jump),
                     "offset": None if geometry is None else [geometry.offset_y, geometry.offset_x],
                     "spatial": spec.is_spatial})
    return rows


def format_layer_rows(rows: list[dict]) -> str:
    """The rows as an aligned text table with the total parameter count, like Keras's `model.summary()`."""
    columns = ("Layer", "Type", "Output shape", "Params", "Receptive field", "Jump")
    numeric = {"Params", "Jump"}
    cells = [(row["name"], row["type"], " × ".join(map(str, row["output_shape"])), f"{row['params']:,}",
              _pair_text(row["receptive_field_hw"], "?" if row["spatial"] else "all"),
              _pair_text(row["jump_hw"], "—", square_as_one=True))
             for row in rows]
    widths = [max(len(text) for text in column) for column in zip(columns, *cells)]

    def aligned(texts) -> str:
        return "  ".join(text.rjust(width) if name in numeric else text.ljust(width)
                         for name, text, width in zip(columns, texts, widths)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    total = sum(row["params"] for row in rows)
    return "\n".join([aligned(columns), rule, *(aligned(c) for c in cells), rule, f"Total params: {total:,}"])


def _pair_text(pair: list[int] | None, missing: str, square_as_one: bool = False) -> str:
    """"18×18" (or "4" for an equal jump); `missing` for layers without one ("all": they see the whole input)."""
    if pair is None:
        return missing
    if square_as_one and pair[0] == pair[1]:
        return str(pair[0])
    return "×".join(map(str, pair))


def _architecture_model(args: argparse.Namespace):
    """The untrained variant named by --architecture (which excludes --model and --untrained)."""
    from cnnviz.core.architectures import build_architecture

    if args.model or args.untrained:
        raise CliError("--architecture describes a freshly built variant: leave out --model and --untrained")
    try:
        return build_architecture(args.architecture)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
