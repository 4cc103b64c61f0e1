"""`cnnviz summary`: the layer table of a model."""

from __future__ import annotations

import argparse

from cnnviz.commands.common import add_model_arg, load_model_or_fail


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("summary", help="print the layer table",
                                   description="Print each layer's name, type, output shape and parameter "
                                               "count, with the total.")
    add_model_arg(parser)
    parser.add_argument("--untrained", action="store_true", help="describe a freshly built seed model instead")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.core.model import build_seed_model, format_layer_table

    model = build_seed_model() if args.untrained else load_model_or_fail(args.model)
    print(f"Model: {model.name}")
    print(format_layer_table(model))
    return 0
