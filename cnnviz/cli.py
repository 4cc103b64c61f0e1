"""The `cnnviz` command: the desktop app with no arguments, headless tools as subcommands.

Every command lives in its own module under `cnnviz/commands/` with `add_parser(subparsers)`
(which sets `handler=run` as a default) and `run(args) -> int`. Keep their top-level imports
cheap: no TensorFlow until `run`. Raise `CliError` for a one-line error (exit code 2).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cnnviz import __version__
from cnnviz.commands.common import CliError

# The order is the order of `cnnviz --help`.
COMMAND_MODULES: tuple[str, ...] = ("gui", "summary", "train", "evaluate", "data", "predict", "export", "compare", "unit",
                                   "attribution", "filters")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand (`cnnviz COMMAND --help`)."""
    parser = argparse.ArgumentParser(
        prog="cnnviz",
        description="Make the MNIST convnet of Deep Learning with Python (ch. 5) visible. "
                    "With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"cnnviz {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"cnnviz.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cnnviz` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "gui"
    if args.command is None:
        parser.parse_args(["gui"], namespace=args)
    try:
        return args.handler(args)
    except CliError as exc:
        print(f"cnnviz {command}: {exc}", file=sys.stderr)
        return 2


__all__ = ["CliError", "build_parser", "main"]
