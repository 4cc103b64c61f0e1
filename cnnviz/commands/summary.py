"""`cnnviz summary`: the layer table of a model."""

from __future__ import annotations

import argparse

from cnnviz.commands.common import CliError, add_model_arg, load_model_or_fail
from cnnviz.core.architectures import ARCHITECTURES


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("summary", help="print the layer table",
                                   description="Print each layer's name, type, output shape and parameter "
                                               "count, with the total.")
    add_model_arg(parser)
    parser.add_argument("--untrained", action="store_true", help="describe a freshly built seed model instead")
    parser.add_argument("--architecture", metavar="NAME",
                        help="describe a freshly built variant of the architecture lab: "
                             + ", ".join(ARCHITECTURES))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.core.model import build_seed_model, format_layer_table

    if args.architecture:
        model = _architecture_model(args)
    else:
        model = build_seed_model() if args.untrained else load_model_or_fail(args.model)
    print(f"Model: {model.name}")
    print(format_layer_table(model))
    return 0


def _architecture_model(args: argparse.Namespace):
    """The untrained variant named by --architecture (which excludes --model and --untrained)."""
    from cnnviz.core.architectures import build_architecture

    if args.model or args.untrained:
        raise CliError("--architecture describes a freshly built variant: leave out --model and --untrained")
    try:
        return build_architecture(args.architecture)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
