"""`cnnviz gui` (and plain `cnnviz`): open the desktop app."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnviz.commands.common import add_model_arg


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("gui", help="open the desktop app (the default)",
                                   description="Open the desktop app.")
    add_model_arg(parser)
    parser.add_argument("--screenshot", metavar="PNG", type=Path, help=argparse.SUPPRESS)  # testing hook
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.gui.app import run as run_app

    return run_app(model_path=getattr(args, "model", None), screenshot=getattr(args, "screenshot", None))
