"""`cnnviz gui` (and plain `cnnviz`): open the desktop app."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnviz.commands.common import CliError, add_model_arg

LESSONS_HELP = "open the app with this lesson pack (a folder of lesson files, docs/LESSONS.md)"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("gui", help="open the desktop app (the default)",
                                   description="Open the desktop app.")
    add_model_arg(parser)
    parser.add_argument("--lessons", metavar="DIR", type=Path, help=LESSONS_HELP)
    parser.add_argument("--screenshot", metavar="PNG", type=Path, help=argparse.SUPPRESS)  # testing hook
    parser.set_defaults(handler=run)


def add_app_options(parser: argparse.ArgumentParser) -> None:
    """The app's options that `cnnviz` takes without the word `gui` (`cnnviz --lessons DIR`)."""
    parser.add_argument("--lessons", metavar="DIR", type=Path, dest="app_lessons", help=LESSONS_HELP)


def run(args: argparse.Namespace) -> int:
    from cnnviz.gui.app import run as run_app

    options = {"model_path": getattr(args, "model", None), "screenshot": getattr(args, "screenshot", None)}
    lessons = getattr(args, "lessons", None) or getattr(args, "app_lessons", None)
    if lessons is not None:
        checked_pack(lessons)   # a pack the app could not open is refused here, in one line
        options["lessons_dir"] = lessons
    return run_app(**options)


def checked_pack(folder: Path) -> None:
    """Refuse, in one line, a pack the app could not open (missing, hostile, with problems)."""
    from cnnviz.core.lessons.pack import PackError, read_pack

    try:
        pack = read_pack(folder)
    except PackError as exc:
        raise CliError(f"--lessons: {exc}") from None
    if pack.problems:
        more = len(pack.problems) - 1
        raise CliError(f"--lessons: {pack.problems[0]}" + (f" (and {more} more: cnnviz lessons --check {folder})"
                                                           if more else ""))
